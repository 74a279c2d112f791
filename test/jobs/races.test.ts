import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { JobLeaseHeldError } from '../../lib/errors.js';
import { jobRunner, type JobContext } from '../../lib/jobs/index.js';
import { createBusinessTable, createTestOutboxTable, getItem, localClients } from '../support/ddb.js';
import { deliveryFor, gate, inUnitOfWork, jobRecord, memoryLogger, messagesAbout, sleep } from '../support/jobs.js';

const { raw, doc } = localClients();
let counters: string;
let outbox: string;

beforeAll(async () => {
  [counters, outbox] = await Promise.all([
    createBusinessTable(raw, 'counters'),
    createTestOutboxTable(raw, 'jobs-outbox'),
  ]);
});

function countingRunner(hold?: Promise<void>, extra: Record<string, unknown> = {}) {
  const runs: string[] = [];
  const logger = memoryLogger();
  const handler = jobRunner({
    jobs: {
      count: async (payload: { id: string }, { uow, job }: JobContext) => {
        runs.push(job.scheduledTime);
        if (hold) await hold;
        uow.update({
          TableName: counters,
          Key: { pk: payload.id },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
          label: 'count',
        });
        uow.publish({ type: 'Counted', data: { id: payload.id } });
      },
      failing: () => {
        throw new Error('occurrence failed');
      },
    },
    outboxTable: outbox,
    client: doc,
    source: 'jobs-test',
    logger,
    ...extra,
  });
  return { handler, runs, logger };
}

describe('job runner races on DynamoDB Local: cancel, reschedule, lease, recurrence', () => {
  it('cancelled before firing ⇒ never runs', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `c-${id}` }),
    );
    const delivery = await deliveryFor(doc, outbox, `c-${id}`);
    await inUnitOfWork(doc, outbox, (uow) => uow.cancelJob(`c-${id}`));
    const { handler, runs } = countingRunner();
    expect(await handler(delivery)).toMatchObject({ outcome: 'skipped', reason: 'the job was CANCELLED' });
    expect(runs).toEqual([]);
    expect(await getItem(doc, counters, { pk: id })).toBeUndefined();
    expect((await messagesAbout(doc, outbox, `c-${id}`)).map((m) => m.kind)).toEqual(['job.schedule', 'job.cancel']);
  });

  it('cancelled while it runs ⇒ its commit fails on the status condition and all of its work is discarded', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `cr-${id}` }),
    );
    const hold = gate();
    const { handler, runs, logger } = countingRunner(hold.promise);
    const running = handler(await deliveryFor(doc, outbox, `cr-${id}`));
    while (runs.length === 0) await sleep(10);
    expect(await jobRecord(doc, outbox, `cr-${id}`)).toMatchObject({ jobStatus: 'RUNNING', attempts: 1 });
    await inUnitOfWork(doc, outbox, (uow) => uow.cancelJob(`cr-${id}`));
    hold.open();
    expect(await running).toMatchObject({
      outcome: 'cancelled',
      reason: 'the job was CANCELLED while it ran; its work was discarded',
    });
    expect(await getItem(doc, counters, { pk: id })).toBeUndefined();
    expect((await messagesAbout(doc, outbox, id)).some((m) => m.kind === 'event')).toBe(false);
    expect(await jobRecord(doc, outbox, `cr-${id}`)).toMatchObject({ jobStatus: 'CANCELLED' });
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.includes('CANCELLED while it ran'))).toBe(true);
  });

  it('rescheduled ⇒ the delivery for the old time (old version) is skipped, only the new time runs', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `r-${id}` }),
    );
    const old = await deliveryFor(doc, outbox, `r-${id}`);
    await inUnitOfWork(doc, outbox, (uow) => uow.rescheduleJob(`r-${id}`, { delay: 600 }));
    const fresh = await deliveryFor(doc, outbox, `r-${id}`);
    expect(fresh.version).toBeGreaterThan(old.version);
    const { handler, runs } = countingRunner();
    expect(await handler(old)).toMatchObject({
      outcome: 'skipped',
      reason: `stale delivery: schedule version ${old.version}, job record version ${fresh.version}`,
    });
    expect(await handler(fresh)).toMatchObject({ outcome: 'succeeded', version: fresh.version });
    expect(runs).toEqual([fresh.scheduledTime]);
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
  });

  it('an expired lease (crashed runner) ⇒ reclaimed by a later delivery and run once; the stale runner cannot commit, even while the job is RUNNING', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `l-${id}` }),
    );
    const delivery = await deliveryFor(doc, outbox, `l-${id}`);
    const holdFirst = gate();
    const crashed = countingRunner(holdFirst.promise, { leaseMarginMs: 0 });
    const first = crashed.handler(delivery, { awsRequestId: 'r1', getRemainingTimeInMillis: () => 2000 });
    while (crashed.runs.length === 0) await sleep(10);
    const lease = (await jobRecord(doc, outbox, `l-${id}`))!.leaseUntil!;
    expect(lease - Date.now()).toBeLessThanOrEqual(2000);

    const holdSecond = gate();
    const retry = countingRunner(holdSecond.promise);
    const tooEarly = await Promise.race([
      retry.handler({ ...delivery, executionId: 'too-early' }).catch((e: Error) => e),
      sleep(1000).then(() => 'ran while the lease was valid'),
    ]);
    expect(tooEarly).toBeInstanceOf(JobLeaseHeldError); // not a skip: Lambda retries it, so a crashed run is always reclaimed
    expect(tooEarly).toMatchObject({ key: `l-${id}`, leaseUntil: lease });
    await sleep(Math.max(0, lease - Date.now()) + 20);
    const second = retry.handler({ ...delivery, executionId: 'after-lease' });
    while (retry.runs.length === 0)
      await Promise.race([
        sleep(10),
        second.then((r) => {
          throw new Error(`second delivery did not run: ${JSON.stringify(r)}`);
        }),
      ]);
    holdFirst.open(); // the crashed runner wakes up while the job is RUNNING under the new lease: same status and version, other token
    expect(await first).toMatchObject({
      outcome: 'lost',
      reason: expect.stringContaining('the lease was lost (now RUNNING'),
    });
    holdSecond.open();
    expect(await second).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
    expect((await messagesAbout(doc, outbox, id)).filter((m) => m.kind === 'event')).toHaveLength(1);
    expect(await jobRecord(doc, outbox, `l-${id}`)).toMatchObject({ jobStatus: 'SUCCEEDED', attempts: 2 });
  });

  it('a crashed last attempt is not run again: the reclaim makes the job DEAD', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `ld-${id}`, maxAttempts: 1 }),
    );
    const delivery = await deliveryFor(doc, outbox, `ld-${id}`);
    const hold = gate();
    const crashed = countingRunner(hold.promise, { leaseMarginMs: 0 });
    const first = crashed.handler(delivery, { getRemainingTimeInMillis: () => 200 });
    while (crashed.runs.length === 0) await sleep(10);
    await sleep(Math.max(0, (await jobRecord(doc, outbox, `ld-${id}`))!.leaseUntil! - Date.now()) + 20);
    const retry = countingRunner();
    expect(await retry.handler(delivery)).toMatchObject({ outcome: 'dead', error: { name: 'LeaseExpired' } });
    expect(retry.runs).toEqual([]);
    hold.open();
    expect((await first).outcome).toBe('lost');
    expect(await getItem(doc, counters, { pk: id })).toBeUndefined();
    expect((await messagesAbout(doc, outbox, `ld-${id}`)).map((m) => m.kind)).toEqual(['job.schedule', 'event']);
  });

  it('a recurring job ⇒ one run per occurrence even when an occurrence is delivered twice, each in its own unit of work; the record shows the last run', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, rate: '1 minute', key: `rec-${id}` }),
    );
    const { handler, runs } = countingRunner();
    const t1 = '2026-11-22T10:01:00Z';
    const t2 = '2026-11-22T10:02:00Z';
    const d1 = await deliveryFor(doc, outbox, `rec-${id}`, t1);
    const both = await Promise.allSettled([handler({ ...d1, executionId: 'x' }), handler({ ...d1, executionId: 'y' })]);
    const outcomes = both.map((r) => (r.status === 'fulfilled' ? r.value.outcome : (r.reason as Error).name)).sort();
    expect([
      ['JobLeaseHeldError', 'succeeded'],
      ['skipped', 'succeeded'],
    ]).toContainEqual(outcomes); // during the run (retried), or after it
    expect(await jobRecord(doc, outbox, `rec-${id}`)).toMatchObject({
      jobStatus: 'SCHEDULED',
      lastOccurrence: t1,
      lastOutcome: 'SUCCEEDED',
      attempts: 1,
      version: 1,
    });
    expect(await handler({ ...d1, executionId: 'late', scheduledTime: '2026-11-22T10:01:00.000Z' })).toMatchObject({
      outcome: 'skipped',
      reason: `occurrence ${t1} already ran (last occurrence ${t1})`,
    });
    expect(await handler({ ...d1, executionId: 'z', scheduledTime: t2 })).toMatchObject({
      outcome: 'succeeded',
      scheduledTime: t2,
    });
    expect(runs).toEqual([t1, t2]);
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 2 });
    const events = (await messagesAbout(doc, outbox, id)).filter((m) => m.kind === 'event');
    expect(new Set(events.map((e) => e.commitId)).size).toBe(2);
    const record = await jobRecord(doc, outbox, `rec-${id}`);
    expect(record).toMatchObject({ jobStatus: 'SCHEDULED', lastOccurrence: t2, lastOutcome: 'SUCCEEDED', attempts: 2 });
    expect(record!.ttl).toBeUndefined();
  });

  it('a failed occurrence of a recurring job is recorded, not retried: the next occurrence runs as scheduled', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'failing', payload: { id }, cron: '0 8 * * ? *', key: `recf-${id}`, maxAttempts: 1 }),
    );
    const { handler } = countingRunner();
    const d = await deliveryFor(doc, outbox, `recf-${id}`, '2026-11-23T08:00:00Z');
    expect(await handler(d)).toMatchObject({ outcome: 'failed', error: { message: 'occurrence failed' } });
    expect(await jobRecord(doc, outbox, `recf-${id}`)).toMatchObject({
      jobStatus: 'SCHEDULED',
      lastOutcome: 'FAILED',
      lastError: { message: 'occurrence failed' },
      version: 1,
    });
    expect(await handler({ ...d, scheduledTime: '2026-11-24T08:00:00Z' })).toMatchObject({ outcome: 'failed' });
    expect((await messagesAbout(doc, outbox, `recf-${id}`)).map((m) => m.kind)).toEqual(['job.schedule']);
  });
});
