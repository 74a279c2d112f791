import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { defineJobs, jobRunner } from '../../lib/jobs/index.js';
import { METRICS } from '../../lib/metrics/names.js';
import { createTestOutboxTable, lambdaContext, localClients } from '../support/ddb.js';
import { emfLines, emfSum } from '../support/emf.js';
import { deliveryFor, inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;

beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'metrics-jobs');
});

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
    expect(byMetric.has(METRICS.jobLeasesExpired.name)).toBe(false);
  });

  it('a run that reclaims a job found RUNNING past its lease counts one JobLeasesExpired', async () => {
    const key = `crashed-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'noop', payload: {}, delay: 60, key }));
    const delivery = await deliveryFor(doc, outbox, key);
    // A runner claimed it and crashed: RUNNING, attempt 1 started, its lease over a second ago.
    await doc.send(
      new UpdateCommand({
        TableName: outbox,
        Key: { pk: `job#${key}`, sk: 'job' },
        UpdateExpression: 'SET jobStatus = :running, leaseUntil = :past, leaseToken = :token, attempts = :one',
        ExpressionAttributeValues: { ':running': 'RUNNING', ':past': Date.now() - 1000, ':token': 't', ':one': 1 },
      }),
    );
    const handler = jobRunner({
      jobs: defineJobs({ noop: async () => undefined }),
      outboxTable: outbox,
      client: doc,
      logger: memoryLogger(),
      metrics: { namespace: 'Test/Jobs', service: 'orders' },
    });
    let result: Awaited<ReturnType<typeof handler>> | undefined;
    const docs = await emfLines(async () => {
      result = await handler(delivery, lambdaContext());
    });
    expect(result).toMatchObject({ outcome: 'succeeded', attempt: 2, leaseExpired: true });
    expect(emfSum(docs, METRICS.jobLeasesExpired.name)).toBe(1);
    expect((await jobRecord(doc, outbox, key))?.claimedFrom).toBe('RUNNING');
  });
});
