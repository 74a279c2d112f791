/**
 * What a handler's bundle links and does at import (issue #12, lean entry points): the handler of
 * `npm run bench -- bundle` is bundled the way a user's NodejsFunction would (esbuild, ESM, minified,
 * `@aws-sdk/*` external). A module that only a failure path needs is not linked at cold start, and the
 * reserved-word list ships front-coded and is decoded on first use, not at import.
 */
import { readFileSync } from 'node:fs';
import { describe, it, expect, beforeAll } from '@jest/globals';
import { bundleHandler, WRAPPED_HANDLER } from '../../bench/bundle.js';

let code = '';

beforeAll(async () => {
  code = readFileSync((await bundleHandler('test-handler-bundle', WRAPPED_HANDLER)).file, 'utf8');
});

describe('the bundle of a handler wrapped in unitOfWork()', () => {
  it('links @aws-sdk/util-dynamodb only when a condition fails (a static ESM import costs every cold start)', () => {
    // A static import of the CommonJS package makes Node lex it for named exports at every cold start.
    expect(code).not.toMatch(/from\s*"@aws-sdk\/util-dynamodb"/);
    expect(code).toMatch(/import\(\s*"@aws-sdk\/util-dynamodb"\s*\)/);
  });

  it('ships the reserved words front-coded, with no set of them built at import', () => {
    expect(code).not.toContain('ABORT ABSOLUTE');
    expect(code).toContain('0ABORT2SOLUTE');
    expect(code).not.toMatch(/new Set\([^)]*\.split\(/);
  });
});
