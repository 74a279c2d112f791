/**
 * The version rule (docs/jobs.md, "Versions"): every commit that changes a job record sets
 * `version = version + 1` in DynamoDB, so no two commits give a job the same version and none lowers it,
 * whatever the writers' clocks say; the dispatcher applies the record, never the message.
 * Real units of work on DynamoDB Local; the dispatcher invoked with the committed outbox items.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { outboxDispatcher } from '../../lib/dispatch/dispatcher.js';
import type { OutboxMessage } from '../../lib/outbox/messages.js';
import { lambdaContext } from '../support/ddb.js';
import { inUnitOfWork, jobRecord, messagesAbout } from '../support/jobs.js';
import { startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';
import { outboxStreamRecord } from '../support/stream-records.js';

let stack: TestStack;
let seq = 1;
beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true } });
});
afterAll(async () => {
  jest.restoreAllMocks();
  await stack?.stop();
});

const uid = (): string => Math.random().toString(36).slice(2, 10);
const dispatch = (d: ReturnType<typeof outboxDispatcher>, m: OutboxMessage) =>
  d({ Records: [outboxStreamRecord(stack.streamArn, [m], String(seq++).padStart(21, '0'))] }, lambdaContext());

describe('job versions', () => {
  it('two reschedules in the same millisecond get versions 2 and 3; dispatched in reverse order the schedule is the record’s', async () => {
    const key = `same-ms-${uid()}`;
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.schedule({ job: 'remind', key, payload: {}, at: '2030-01-01T09:00:00Z' }),
    );
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2029-12-01T00:00:00.000Z'));
    try {
      await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.rescheduleJob(key, { at: '2030-01-01T10:00:00Z' }));
      await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.rescheduleJob(key, { at: '2030-01-01T12:00:00Z' }));
    } finally {
      now.mockRestore();
    }
    const record = await jobRecord(stack.doc, stack.tableName, key);
    expect(record).toMatchObject({ version: 3, schedule: { at: '2030-01-01T12:00:00Z' } });
    const [create, first, second] = await messagesAbout(stack.doc, stack.tableName, key);
    expect(first).not.toHaveProperty('version'); // the message says which job, the record says which version
    const d = testDispatcher(stack);
    for (const m of [create!, second!, first!]) expect(await dispatch(d, m)).toEqual({ batchItemFailures: [] });
    const schedule = stack.scheduler.getSchedule(key)!;
    expect(schedule.ScheduleExpression).toBe('at(2030-01-01T12:00:00)');
    expect(JSON.parse(schedule.Target.Input!)).toMatchObject({ jobId: record!.jobId, version: 3 });
  });

  it('concurrent reschedules and a cancel of one job, all in one millisecond, each get a version of their own', async () => {
    const key = `concurrent-${uid()}`;
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.schedule({ job: 'remind', key, payload: {}, at: '2030-01-01T09:00:00Z' }),
    );
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.parse('2029-12-01T00:00:00.000Z'));
    let outcomes: PromiseSettledResult<unknown>[];
    try {
      outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          inUnitOfWork(stack.doc, stack.tableName, (uow) =>
            uow.rescheduleJob(key, { at: `2030-01-0${1 + (i % 8)}T10:00:00Z` }),
          ),
        ),
      );
    } finally {
      now.mockRestore();
    }
    const committed = outcomes.filter((o) => o.status === 'fulfilled').length;
    expect(committed).toBeGreaterThan(0);
    for (const o of outcomes)
      if (o.status === 'rejected') expect((o.reason as Error).name).toMatch(/TransactionConflict|ConditionFailed/);
    expect((await jobRecord(stack.doc, stack.tableName, key))!.version).toBe(1 + committed); // one version per commit
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.cancelJob(key));
    expect((await jobRecord(stack.doc, stack.tableName, key))!).toMatchObject({
      version: 2 + committed,
      jobStatus: 'CANCELLED',
    });
  });
});
