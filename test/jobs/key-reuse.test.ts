/** Key reuse after a finished job and `ifExists: 'replace'` (debounce), on DynamoDB Local, with concurrent deliveries. */
import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DuplicateJobError, InvalidOperationError } from '../../lib/index.js';
import { defineJobs, jobRunner } from '../../lib/jobs/index.js';
import { createTestOutboxTable, localClients } from '../support/ddb.js';
import { deliveryFor, gate, inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;

beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'job-key-reuse');
});

function recordingRunner(runs: unknown[], wait?: Promise<void>) {
  const jobs = defineJobs({
    work: async (payload: unknown) => {
      runs.push(payload);
      await wait;
    },
  });
  return jobRunner({ jobs, outboxTable: outbox, client: doc, source: 'jobs-test', logger: memoryLogger() });
}

describe('job key reuse and ifExists', () => {
  it('a CANCELLED key is reused in one commit; its stale v1 delivery, concurrent with the new one, never runs the new job', async () => {
    const key = `reuse-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'work', payload: { n: 1 }, delay: 0, key }));
    const stale = await deliveryFor(doc, outbox, key); // still pending at the Scheduler when the job is cancelled
    await inUnitOfWork(doc, outbox, (uow) => uow.cancelJob(key));
    const fresh = await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'work', payload: { n: 2 }, delay: 0, key }),
    );
    const delivery = await deliveryFor(doc, outbox, key);
    expect(delivery).toMatchObject({ jobId: fresh.jobId, version: 1 });
    expect(stale.version).toBe(1);
    expect(stale.jobId).not.toBe(fresh.jobId);

    const runs: unknown[] = [];
    const handler = recordingRunner(runs);
    const settled = await Promise.allSettled([
      handler(stale),
      handler(delivery),
      handler({ ...stale, executionId: 'dup' }),
      handler({ ...delivery, executionId: 'dup' }),
    ]);
    expect(runs).toEqual([{ n: 2 }]);
    const [a, , b] = settled;
    expect([a, b].map((r) => r!.status === 'fulfilled' && r.value.outcome)).toEqual(['skipped', 'skipped']);
    const fresh2 = [settled[1]!, settled[3]!];
    // the new job's own duplicate: skipped, or refused with JobLeaseHeldError while the other holds the lease
    const outcomes = fresh2.map((r) => (r.status === 'fulfilled' ? r.value.outcome : (r.reason as Error).name)).sort();
    expect(outcomes[outcomes.length - 1]).toBe('succeeded');
    expect(['JobLeaseHeldError', 'skipped']).toContain(outcomes[0]);
    expect(await jobRecord(doc, outbox, key)).toMatchObject({ jobId: fresh.jobId, jobStatus: 'SUCCEEDED' });
    // SUCCEEDED is finished too: the key is free again
    await expect(
      inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'work', payload: { n: 3 }, delay: 60, key })),
    ).resolves.toBeDefined();
  });

  it("ifExists: 'replace' replaces a SCHEDULED job (new id and payload; the old delivery skips); the default fails naming the status", async () => {
    const key = `debounce-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'work', payload: { n: 1 }, delay: 0, key }));
    const old = await deliveryFor(doc, outbox, key);
    const failed = inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'work', payload: { n: 9 }, delay: 0, key }));
    await expect(failed).rejects.toThrow(DuplicateJobError);
    await expect(failed).rejects.toMatchObject({
      status: 'SCHEDULED',
      message: expect.stringContaining("ifExists: 'replace'"),
    });

    const replaced = await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'work', payload: { n: 2 }, delay: 0, key, ifExists: 'replace' }),
    );
    expect(await jobRecord(doc, outbox, key)).toMatchObject({
      jobId: replaced.jobId,
      payload: '{"n":2}',
      jobStatus: 'SCHEDULED',
      attempts: 0,
    });
    const runs: unknown[] = [];
    const handler = recordingRunner(runs);
    const results = await Promise.all([handler(old), handler(await deliveryFor(doc, outbox, key))]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['skipped', 'succeeded']);
    expect(runs).toEqual([{ n: 2 }]);
  });

  it('a RUNNING job is never replaced: DuplicateJobError with status RUNNING, the run finishes with its own payload', async () => {
    const key = `running-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'work', payload: { n: 1 }, delay: 0, key }));
    const hold = gate();
    const runs: unknown[] = [];
    const run = recordingRunner(runs, hold.promise)(await deliveryFor(doc, outbox, key));
    while ((await jobRecord(doc, outbox, key))?.jobStatus !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
    const replace = inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'work', payload: { n: 2 }, delay: 0, key, ifExists: 'replace' }),
    );
    await expect(replace).rejects.toMatchObject({
      name: 'DuplicateJobError',
      status: 'RUNNING',
      message: expect.stringContaining('never replaced'),
    });
    hold.open();
    expect(await run).toMatchObject({ outcome: 'succeeded' });
    expect(runs).toEqual([{ n: 1 }]);
  });

  it('an unknown ifExists value is refused, naming it', async () => {
    await expect(
      inUnitOfWork(doc, outbox, (uow) =>
        uow.schedule({ job: 'work', payload: {}, delay: 0, ifExists: 'upsert' as never }),
      ),
    ).rejects.toThrow(new InvalidOperationError('schedule(work)', "ifExists upsert must be one of 'fail', 'replace'"));
  });
});
