import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { metricsTable } from '../../lib/metrics/table.js';

describe('docs/operate.md "Metrics"', () => {
  it('carries the table generated from lib/metrics/names.ts, unchanged', () => {
    expect(readFileSync('docs/operate.md', 'utf8')).toContain(metricsTable());
  });
});
