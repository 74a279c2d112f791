/**
 * The SQS timer transport end to end on DynamoDB Local: commit → stream poller → outboxDispatcher
 * (`timerQueueUrl`) → SendMessageBatch with per-message delays on the local SQS → its event source mapping
 * player → jobQueueRunner (real clocks: the delays are real seconds).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { SQSClient, SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { RetryAfterError } from '../../lib/errors.js';
import { defineJobs, jobQueueRunner } from '../../lib/jobs/index.js';
import { scheduleNameFor } from '../../lib/job-record/schedule-name.js';
import { createBusinessTable, getItem } from '../support/ddb.js';
import { inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';
import { startTestStack, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
let counters: string;
/** Every entry the dispatcher sent, in order. */
const sent: SendMessageBatchRequestEntry[] = [];
/** SendMessageBatch calls still to fail after the queue accepted them (the answer is lost). */
let failAfterSend = 0;
/** Stream batches handed to two dispatcher invocations at once (a duplicate delivery). */
let duplicateBatches = false;
/** When each job ran (handler start, epoch ms), by payload id. */
const runs = new Map<string, number[]>();
const runnerLog = memoryLogger();

beforeAll(async () => {
  stack = await startTestStack({
    timers: { visibilityTimeoutSeconds: 1, poller: { batchSize: 1, maximumConcurrency: 3, waitTimeSeconds: 1 } },
    poller: {
      handler: async (event: DynamoDBStreamEvent, context) => {
        if (!duplicateBatches) return stack.dispatcher(event, context);
        const [first] = await Promise.all([stack.dispatcher(event, context), stack.dispatcher(event, context)]);
        return first;
      },
    },
  });
  injectSendFaults(stack.timers!.client);
  counters = await createBusinessTable(stack.clients.dynamodb, `timer-counters-${randomUUID()}`);
  stack.timers!.consume(
    jobQueueRunner({
      jobs: defineJobs({
        count: async (p: { id: string; holdMs?: number; failFirst?: boolean }, { uow }) => {
          runs.set(p.id, [...(runs.get(p.id) ?? []), Date.now()]);
          if (p.failFirst && runs.get(p.id)!.length === 1) throw new RetryAfterError(1, 'not yet');
          if (p.holdMs) await new Promise((r) => setTimeout(r, p.holdMs));
          uow.update({
            TableName: counters,
            Key: { pk: p.id },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
          });
        },
      }),
      outboxTable: stack.tableName,
      client: stack.doc,
      logger: runnerLog,
    }),
  );
}, 30_000);
afterAll(async () => {
  await stack?.stop();
});

/** On the dispatcher's SQS client: records the entries sent, and fails a call after the send on demand. */
function injectSendFaults(client: SQSClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (context.commandName === 'SendMessageBatchCommand') {
        sent.push(...((args.input as { Entries: SendMessageBatchRequestEntry[] }).Entries ?? []));
        if (failAfterSend > 0) {
          failAfterSend--;
          throw Object.assign(new Error('injected: the connection dropped after SQS accepted the batch'), {
            name: 'InjectedFault',
          });
        }
      }
      return out;
    },
    { step: 'initialize', name: 'injectSendFault' },
  );
}

const sentFor = (id: string) => sent.filter((e) => e.MessageBody!.includes(id));
const schedulerCallsFor = (key: string) =>
  stack.scheduler.calls.filter((c) => c.name === scheduleNameFor(key)).map((c) => c.operation);

async function schedule(id: string, when: { delay: number }, holdMs?: number): Promise<string> {
  const key = `timer-${id}`;
  await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
    uow.schedule({ job: 'count', payload: { id, ...(holdMs ? { holdMs } : {}) }, ...when, key }),
  );
  return key;
}

/** Waits until the dispatcher handled every commit and every timer ran, was skipped or dead-lettered. */
async function settle(timeoutMs = 15_000): Promise<void> {
  await stack.drain();
  await stack.timers!.drain(timeoutMs);
}

describe('SQS timers: one-time jobs due within 15 minutes', () => {
  it('delay 0 and delay 2 s: one SQS message each (one SendMessageBatch), no schedule, each runs once when due', async () => {
    const [now, later] = [randomUUID(), randomUUID()];
    const calls = stack.timers!.sqs.calls.filter((c) => c.operation === 'SendMessageBatch').length;
    const keys = await inUnitOfWork(stack.doc, stack.tableName, (uow) => [
      uow.schedule({ job: 'count', payload: { id: now }, delay: 0, key: `timer-${now}` }).key,
      uow.schedule({ job: 'count', payload: { id: later }, delay: 2, key: `timer-${later}` }).key,
    ]);
    await settle();
    const [due0, due2] = await Promise.all(
      keys.map(async (k) => Date.parse((await jobRecord(stack.doc, stack.tableName, k))!.schedule.at!)),
    );
    expect(sentFor(now)).toHaveLength(1);
    expect(sentFor(now)[0]!.DelaySeconds).toBeLessThanOrEqual(1); // `delay: 0` is due at the next whole second
    expect(sentFor(later)).toHaveLength(1);
    expect(sentFor(later)[0]!.DelaySeconds).toBeGreaterThanOrEqual(1); // ceil(seconds until due), after the dispatch
    expect(stack.timers!.sqs.calls.filter((c) => c.operation === 'SendMessageBatch').length - calls).toBe(1);
    expect(JSON.parse(sentFor(later)[0]!.MessageBody!)).toMatchObject({
      key: `timer-${later}`,
      version: 1,
      payload: { id: later },
      scheduledTime: new Date(due2).toISOString().replace('.000Z', 'Z'),
    });
    for (const k of keys) expect(schedulerCallsFor(k)).toEqual([]); // the Scheduler is not involved at all
    expect(runs.get(now)).toHaveLength(1);
    expect(runs.get(later)).toHaveLength(1);
    expect(runs.get(later)![0]!).toBeGreaterThanOrEqual(due2 - 1000); // not before its time (second precision)
    expect(runs.get(now)![0]!).toBeGreaterThanOrEqual(due0 - 1000);
    expect(await getItem(stack.doc, counters, { pk: later })).toMatchObject({ n: 1 });
    expect((await jobRecord(stack.doc, stack.tableName, keys[1]!))!.jobStatus).toBe('SUCCEEDED');
  }, 30_000);

  it('reschedule within the window: the old message is skipped, the new version runs once', async () => {
    const id = randomUUID();
    const key = await schedule(id, { delay: 2 });
    await stack.drain(); // v1's timer is sent
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.rescheduleJob(key, { delay: 4 }));
    await settle();
    expect(sentFor(id).map((e) => (JSON.parse(e.MessageBody!) as { version: number }).version)).toEqual([1, 2]);
    expect(runnerLog.lines.some((l) => l.message.includes(key) && l.message.includes('stale delivery'))).toBe(true);
    expect(runs.get(id)).toHaveLength(1);
    const record = (await jobRecord(stack.doc, stack.tableName, key))!;
    expect(record).toMatchObject({ jobStatus: 'SUCCEEDED', version: 2 });
    expect(runs.get(id)![0]!).toBeGreaterThanOrEqual(Date.parse(record.schedule.at!) - 1000); // the new time
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
  }, 30_000);

  it('a job due later goes to the Scheduler; rescheduled into the window it moves to SQS and its schedule is deleted', async () => {
    const id = randomUUID();
    const key = await schedule(id, { delay: 3600 });
    await stack.drain();
    expect(stack.scheduler.getSchedule(scheduleNameFor(key))).toBeDefined();
    expect(sentFor(id)).toEqual([]);
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.rescheduleJob(key, { delay: 1 }));
    await settle();
    expect(stack.scheduler.getSchedule(scheduleNameFor(key))).toBeUndefined();
    expect(sentFor(id)).toHaveLength(1);
    expect(runs.get(id)).toHaveLength(1);
  }, 30_000);

  it('cancel: nothing is sent, nothing runs, no Scheduler call', async () => {
    const id = randomUUID();
    const key = await schedule(id, { delay: 2 });
    await stack.drain();
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.cancelJob(key));
    await settle();
    expect(sentFor(id)).toHaveLength(1); // the schedule's timer only
    expect(schedulerCallsFor(key)).toEqual([]);
    expect(runs.get(id)).toBeUndefined();
    expect((await jobRecord(stack.doc, stack.tableName, key))!.jobStatus).toBe('CANCELLED');
    expect(runnerLog.lines.some((l) => l.message.includes(key) && l.message.includes('skipped'))).toBe(true);
  }, 30_000);

  it('duplicate stream records in concurrent dispatches: two messages run concurrently, the job runs once', async () => {
    const id = randomUUID();
    duplicateBatches = true;
    let key: string;
    try {
      key = await schedule(id, { delay: 0 }, 400);
      await stack.drain();
    } finally {
      duplicateBatches = false;
    }
    await settle();
    expect(sentFor(id)).toHaveLength(2);
    expect(runs.get(id)).toHaveLength(1);
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
    // the duplicate met the run under its lease: it was reported failed, redelivered, then skipped
    expect(runnerLog.lines.some((l) => l.message.includes(key) && l.message.includes('retried'))).toBe(true);
  }, 30_000);

  it('SendMessageBatch fails after the queue accepted it: the record fails, is redelivered, the job runs once', async () => {
    const id = randomUUID();
    const failuresBefore = stack.logger.entries.filter((e) => e.message === 'outbox item not dispatched').length;
    failAfterSend = 1;
    await schedule(id, { delay: 0 });
    await settle();
    expect(failAfterSend).toBe(0);
    expect(stack.logger.entries.filter((e) => e.message === 'outbox item not dispatched').length).toBe(
      failuresBefore + 1,
    );
    // The lost answer's message, and the redelivery's, unless the first message (delay 0) ran the job before the
    // redelivery read its record: a job already past SCHEDULED at this version gets no timer again.
    expect(sentFor(id).length).toBeGreaterThanOrEqual(1);
    expect(sentFor(id).length).toBeLessThanOrEqual(2);
    expect(runs.get(id)).toHaveLength(1);
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
  }, 30_000);

  it('a failed run is retried through SQS (the retry is due within the window) and then succeeds once', async () => {
    const id = randomUUID();
    const key = `timer-${id}`;
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.schedule({ job: 'count', payload: { id, failFirst: true }, delay: 0, key }),
    );
    await settle();
    for (let i = 0; i < 100 && (await jobRecord(stack.doc, stack.tableName, key))?.jobStatus !== 'SUCCEEDED'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await settle();
    }
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'SUCCEEDED', attempts: 2 });
    expect(sentFor(id).map((e) => (JSON.parse(e.MessageBody!) as { version: number }).version)).toEqual([1, 2]);
    expect(runs.get(id)).toHaveLength(2);
    expect(runs.get(id)![1]! - runs.get(id)![0]!).toBeGreaterThanOrEqual(500); // after the retry delay
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
    expect(schedulerCallsFor(key)).toEqual(['DeleteSchedule']); // a retry may follow a schedule: deleted, already gone
  }, 30_000);

  it('a recurring job still goes to the Scheduler', async () => {
    const key = `timer-rate-${randomUUID()}`;
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.schedule({ job: 'count', payload: { id: key }, rate: '5 minutes', key }),
    );
    await stack.drain();
    expect(stack.scheduler.getSchedule(scheduleNameFor(key))?.ScheduleExpression).toBe('rate(5 minutes)');
    expect(sentFor(key)).toEqual([]);
  });
});
