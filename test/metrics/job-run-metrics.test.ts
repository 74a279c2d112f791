import { describe, it, expect, beforeAll, jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { defineJobs, jobRunner } from '../../lib/jobs/index.js';
import { METRICS } from '../../lib/metrics/names.js';
import { createTestOutboxTable, lambdaContext, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;

beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'metrics-jobs');
});

async function emfLines(fn: () => Promise<unknown>): Promise<any[]> {
  const written: string[] = [];
  const spy = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: any) => (written.push(String(chunk)), true));
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return written
    .flatMap((w) => w.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l));
}

describe('job run metrics (EMF on stdout)', () => {
  it('a succeeded run: JobRuns with service+outcome, duration and attempts with service only', async () => {
    const key = `noop-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'noop', payload: {}, delay: 60, key }));
    const handler = jobRunner({
      jobs: defineJobs({ noop: async () => undefined }),
      outboxTable: outbox,
      client: doc,
      logger: memoryLogger(),
      metrics: { namespace: 'Test/Jobs', service: 'orders' },
    });
    const delivery = await deliveryFor(doc, outbox, key);
    let outcome: string | undefined;
    const docs = await emfLines(async () => {
      outcome = (await handler(delivery, lambdaContext())).outcome;
    });
    expect(outcome).toBe('succeeded');
    const byMetric = new Map<string, any>();
    for (const d of docs) for (const m of d._aws.CloudWatchMetrics[0].Metrics) byMetric.set(m.Name, d);
    const runs = byMetric.get(METRICS.jobRuns.name);
    expect(runs._aws.CloudWatchMetrics[0].Dimensions).toEqual([[...METRICS.jobRuns.dimensions]]);
    expect(runs._aws.CloudWatchMetrics[0].Namespace).toBe('Test/Jobs');
    expect(runs).toMatchObject({ service: 'orders', outcome: 'succeeded', [METRICS.jobRuns.name]: 1 });
    const rest = byMetric.get(METRICS.jobRunDurationMs.name);
    expect(rest._aws.CloudWatchMetrics[0].Dimensions).toEqual([[...METRICS.jobRunDurationMs.dimensions]]);
    expect(rest.outcome).toBeUndefined();
    expect(rest[METRICS.jobRunAttempts.name]).toBe(1);
    expect(rest[METRICS.jobRunDurationMs.name]).toBeGreaterThan(0);
    expect(byMetric.has(METRICS.jobsDead.name)).toBe(false);
  });
});
