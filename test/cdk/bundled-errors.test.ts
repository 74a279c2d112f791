/**
 * Error names survive the construct's bundling: the shipped dispatcher and a job runner are bundled with the
 * esbuild options `FUNCTION_BUNDLING` gives NodejsFunction (minified ESM, everything inlined), run in a fresh
 * Node process as Lambda would, and the names they throw and store (`lastError` of the job record) are the
 * literal class names, branded for `isUnitOfWorkError`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { build, type BuildOptions } from 'esbuild';
import { FUNCTION_BUNDLING } from '../../cdk/dispatcher.js';
import { createBusinessTable, createTestOutboxTable, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, jobRecord } from '../support/jobs.js';

const run = promisify(execFile);

/** The esbuild options NodejsFunction derives from {@link FUNCTION_BUNDLING} (aws-cdk-lib's Bundling class). */
function esbuildOptionsOfTheConstruct(): BuildOptions {
  const b = FUNCTION_BUNDLING;
  return {
    bundle: true,
    platform: 'node',
    format: b.format === 'esm' ? 'esm' : 'cjs',
    target: b.target,
    mainFields: b.mainFields,
    banner: b.banner ? { js: b.banner } : undefined,
    external: b.externalModules,
    minify: b.minify,
    keepNames: b.keepNames,
    sourcemap: b.sourceMap,
    sourcesContent: b.sourcesContent,
    logLevel: 'error',
  };
}

/** Runs `import(bundle)` and then `handler(event)` in a fresh Node process; reports what was thrown or returned. */
const DRIVER = `
const [bundle, event] = process.argv.slice(2);
const brand = Symbol.for('lambda-unit-of-work.error');
const describe = (e) => ({ name: e?.name, constructor: e?.constructor?.name, branded: e?.[brand] === true });
let out;
try {
  const { handler } = await import(bundle);
  try {
    out = { returned: await handler(JSON.parse(event), undefined) };
  } catch (e) {
    out = { thrown: describe(e) };
  }
} catch (e) {
  out = { importThrew: describe(e) };
}
process.stdout.write(JSON.stringify(out));
`;

const dir = mkdtempSync(join(tmpdir(), 'uow-bundled-errors-'));

async function bundleLikeTheConstruct(entry: string, name: string): Promise<string> {
  const outfile = join(dir, `${name}.mjs`);
  await build({ ...esbuildOptionsOfTheConstruct(), entryPoints: [resolve(entry)], outfile });
  return outfile;
}

async function runInFreshProcess(
  bundle: string,
  event: unknown,
  env: Record<string, string>,
): Promise<Record<string, any>> {
  const driver = join(dir, 'driver.mjs');
  writeFileSync(driver, DRIVER);
  const { stdout } = await run(process.execPath, ['--enable-source-maps', driver, bundle, JSON.stringify(event)], {
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      ...env,
    },
  });
  return JSON.parse(stdout);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('error names in bundles built like the construct builds them', () => {
  let runnerBundle: string;
  let dispatcherBundle: string;

  beforeAll(async () => {
    [runnerBundle, dispatcherBundle] = await Promise.all([
      bundleLikeTheConstruct('examples/orders/functions/job-runner.ts', 'job-runner'),
      bundleLikeTheConstruct('functions/outbox-dispatcher.ts', 'outbox-dispatcher'),
    ]);
  }, 60_000);

  it('the bundles are minified (local names mangled): what the names below survive', () => {
    const code = readFileSync(runnerBundle, 'utf8');
    expect(FUNCTION_BUNDLING.minify).toBe(true);
    expect(code).not.toContain('function runDelivery(');
    expect(code).not.toContain('function recordFailure(');
  });

  it('the job runner stores and returns UnknownJobError for a job it does not know', async () => {
    const { raw, doc } = localClients();
    const outbox = await createTestOutboxTable(raw);
    const orders = await createBusinessTable(raw, 'orders');
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'no-such-job', payload: { n: 1 }, delay: 60, key: 'bundled-unknown' }),
    );
    const event = await deliveryFor(doc, outbox, 'bundled-unknown');
    const out = await runInFreshProcess(runnerBundle, event, {
      UOW_OUTBOX_TABLE: outbox,
      ORDERS_TABLE: orders,
      DYNAMODB_ENDPOINT: process.env.DYNAMODB_ENDPOINT!,
    });
    expect(out.returned?.error?.name).toBe('UnknownJobError');
    const record = await jobRecord(doc, outbox, 'bundled-unknown');
    expect(record?.lastError?.name).toBe('UnknownJobError');
  });

  it('the dispatcher, configured without its environment, throws a branded ConfigurationError at cold start', async () => {
    const out = await runInFreshProcess(dispatcherBundle, {}, {});
    expect(out.importThrew).toEqual({ name: 'ConfigurationError', constructor: 'ConfigurationError', branded: true });
  });

  it('the job runner refuses a delivery that is not one with a branded InvalidOperationError', async () => {
    const out = await runInFreshProcess(
      runnerBundle,
      { not: 'a delivery' },
      { UOW_OUTBOX_TABLE: 'outbox', ORDERS_TABLE: 'orders' },
    );
    expect(out.thrown).toEqual({ name: 'InvalidOperationError', constructor: 'InvalidOperationError', branded: true });
  });
});
