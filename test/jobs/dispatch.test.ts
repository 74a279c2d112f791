/**
 * The job lifecycle through the whole after-commit path: commit → stream poller → outbox dispatcher →
 * local Scheduler (manual clock) → job runner → commit → … → local EventBridge.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { jobRunner, type JobContext, type JobRunResult, type JobRunnerInput } from '../../lib/jobs/index.js';
import type { Delivery, LocalTarget } from '../../lib/local/scheduler-store.js';
import { createBusinessTable, getItem } from '../support/ddb.js';
import { gate, inUnitOfWork, jobRecord, memoryLogger, sleep } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
let mainTarget: LocalTarget;
let counters: string;
const runs: { key: string; attempt: number; scheduledTime: string }[] = [];
const holds = new Map<string, Promise<void>>();
const failUntil = new Map<string, number>();

const jobs = {
  count: async (payload: { id: string; followUp?: boolean }, { uow, job }: JobContext) => {
    runs.push({ key: job.key, attempt: job.attempt, scheduledTime: job.scheduledTime });
    await holds.get(job.key);
    uow.update({
      TableName: counters,
      Key: { pk: payload.id },
      UpdateExpression: 'ADD n :one',
      ExpressionAttributeValues: { ':one': 1 },
      label: 'count',
    });
    uow.publish({ type: 'Counted', data: { id: payload.id, key: job.key, attempt: job.attempt } });
    if (payload.followUp)
      uow.schedule({
        job: 'count',
        payload: { id: `${payload.id}-child` },
        at: new Date(stack.scheduler.clock.now() + 120_000),
        key: `${job.key}-child`,
      });
    if (job.attempt <= (failUntil.get(job.key) ?? 0)) throw new Error(`attempt ${job.attempt} of ${job.key} failed`);
  },
};

beforeAll(async () => {
  stack = await startTestStack();
  counters = await createBusinessTable(stack.clients.dynamodb, 'counters');
  const runner = jobRunner({
    jobs,
    outboxTable: stack.tableName,
    client: stack.doc,
    source: 'jobs-e2e',
    logger: memoryLogger(),
    clock: () => stack.scheduler.clock.now(),
  });
  mainTarget = (event, context) =>
    runner(event as JobRunnerInput, { awsRequestId: context.executionId, getRemainingTimeInMillis: () => 30_000 });
  stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, mainTarget);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

/** Commits a job `seconds` after the Scheduler's clock and waits until the dispatcher created its schedule. */
async function scheduleCount(
  key: string,
  seconds: number,
  extra: Record<string, unknown> = {},
  payload: Record<string, unknown> = {},
): Promise<string> {
  const id = randomUUID();
  await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
    uow.schedule({
      job: 'count',
      payload: { id, ...payload },
      at: new Date(stack.scheduler.clock.now() + seconds * 1000),
      key,
      ...extra,
    }),
  );
  await stack.drain();
  return id;
}

const deliveriesOf = (key: string): Delivery[] => stack.scheduler.deliveries.filter((d) => d.scheduleName === key);
const resultOf = (d: Delivery | undefined): JobRunResult => d?.result as JobRunResult;
const eventsAbout = (id: string) => stack.eventBridge.events.filter((e) => JSON.stringify(e.detail).includes(id));
const runsOf = (key: string) => runs.filter((r) => r.key === key);

describe('jobs through the dispatcher and the local Scheduler', () => {
  it('fire ⇒ SUCCEEDED with its write, and its event published after the commit', async () => {
    const key = `fire-${randomUUID()}`;
    const id = await scheduleCount(key, 60);
    expect(stack.scheduler.getSchedule(key)?.Target.Input).toContain('"version":1');
    await stack.scheduler.advanceToNext(key);
    expect(resultOf(deliveriesOf(key)[0])).toMatchObject({ outcome: 'succeeded' });
    await stack.drain();
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
    expect(eventsAbout(id).map((e) => e.detailType)).toEqual(['Counted']);
    expect(stack.scheduler.getSchedule(key)).toBeUndefined(); // a one-time schedule deletes itself
  });

  it('a failing job ⇒ FAILED, none of its effects, a retry scheduled by the dispatcher at the backoff time; the retry succeeds', async () => {
    const key = `retry-${randomUUID()}`;
    failUntil.set(key, 1);
    const id = await scheduleCount(key, 60);
    await stack.scheduler.advanceToNext(key);
    const failed = resultOf(deliveriesOf(key)[0]);
    expect(failed).toMatchObject({ outcome: 'failed', attempt: 1, error: { message: `attempt 1 of ${key} failed` } });
    expect(Date.parse(failed.retryAt!) - stack.scheduler.clock.now()).toBeGreaterThanOrEqual(59_000);
    await stack.drain();
    const retry = stack.scheduler.getSchedule(key);
    expect(retry?.ScheduleExpression).toBe(`at(${failed.retryAt!.replace('Z', '')})`);
    expect(JSON.parse(retry!.Target.Input!)).toMatchObject({ key, version: failed.retryVersion });
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({
      jobStatus: 'FAILED',
      attempts: 1,
      version: failed.retryVersion,
    });
    expect(await getItem(stack.doc, counters, { pk: id })).toBeUndefined();
    expect(eventsAbout(id)).toHaveLength(0);

    await stack.scheduler.advanceToNext(key);
    expect(resultOf(deliveriesOf(key)[1])).toMatchObject({
      outcome: 'succeeded',
      attempt: 2,
      version: failed.retryVersion,
    });
    await stack.drain();
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
    expect(eventsAbout(id).map((e) => (e.detail as any).data.attempt)).toEqual([2]);
  });

  it('attempts exhausted ⇒ DEAD and JobFailed published on the bus', async () => {
    const key = `dead-${randomUUID()}`;
    failUntil.set(key, 99);
    const id = await scheduleCount(key, 60, { maxAttempts: 2 });
    await stack.scheduler.advanceToNext(key);
    await stack.drain();
    await stack.scheduler.advanceToNext(key);
    expect(deliveriesOf(key).map((d) => resultOf(d).outcome)).toEqual(['failed', 'dead']);
    await stack.drain();
    const failed = stack.eventBridge.events.filter(
      (e) => e.detailType === 'JobFailed' && (e.detail as any).subject === key,
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]!.detail).toMatchObject({
      source: 'jobs-e2e',
      data: { key, attempts: 2, maxAttempts: 2, error: { message: `attempt 2 of ${key} failed` }, payload: { id } },
    });
    expect(eventsAbout(id).filter((e) => e.detailType === 'Counted')).toHaveLength(0);
  });

  it('cancelled before firing ⇒ the schedule is deleted; a delivery that raced the cancel finds it CANCELLED and skips', async () => {
    const key = `cancel-${randomUUID()}`;
    await scheduleCount(key, 60);
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.cancelJob(key));
    const racing = await stack.scheduler.fire(key); // fired before the dispatcher deleted it
    expect(resultOf(racing)).toMatchObject({ outcome: 'skipped', reason: 'the job was CANCELLED' });
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)).toBeUndefined();
    await stack.scheduler.advance(120_000);
    expect(deliveriesOf(key)).toHaveLength(1);
    expect(runsOf(key)).toHaveLength(0);
  });

  it('rescheduled ⇒ only the new time runs, also when the old time fires before the reschedule is dispatched', async () => {
    const key = `resched-${randomUUID()}`;
    const id = await scheduleCount(key, 60);
    stack.poller.pause();
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.rescheduleJob(key, { at: new Date(stack.scheduler.clock.now() + 600_000) }),
    );
    await stack.scheduler.advanceToNext(key); // the old schedule fires: stale version
    expect(resultOf(deliveriesOf(key)[0])).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringMatching(/^stale delivery: schedule version 1/),
    });
    stack.poller.resume();
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)?.ScheduleExpression).toMatch(/^at\(/);
    await stack.scheduler.advanceToNext(key);
    expect(deliveriesOf(key).map((d) => resultOf(d).outcome)).toEqual(['skipped', 'succeeded']);
    expect(runsOf(key)).toHaveLength(1);
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
  });

  it('two concurrent deliveries of one occurrence ⇒ effects once: the one during the run fails (JobLeaseHeldError), its retry skips', async () => {
    const key = `dup-${randomUUID()}`;
    const id = await scheduleCount(key, 60);
    const at = new Date(stack.scheduler.getSchedule(key)!.nextAt!);
    const hold = gate();
    holds.set(key, hold.promise);
    const first = stack.scheduler.fire(key, { scheduledTime: at });
    while (runsOf(key).length === 0) await sleep(5);
    const during = await stack.scheduler.fire(key, { scheduledTime: at, attemptNumber: 2 });
    expect(during).toMatchObject({ outcome: 'failed', error: { name: 'JobLeaseHeldError' } }); // a retry is pending
    hold.open();
    expect(resultOf(await first).outcome).toBe('succeeded');
    await stack.scheduler.advance(5_000); // the retry of the failed delivery (2 s later), before the schedule itself is due
    expect(deliveriesOf(key).map((d) => d.outcome)).toEqual(['failed', 'succeeded', 'succeeded']);
    expect(resultOf(deliveriesOf(key)[2])).toMatchObject({ outcome: 'skipped', reason: 'the job already SUCCEEDED' });
    expect(runsOf(key)).toHaveLength(1);
    await stack.drain();
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
    expect(eventsAbout(id)).toHaveLength(1);
  });

  it('a job that schedules a follow-up job and publishes an event ⇒ both dispatched after its commit only, never when it fails', async () => {
    const key = `parent-${randomUUID()}`;
    const id = await scheduleCount(key, 60, {}, { followUp: true });
    const hold = gate();
    holds.set(key, hold.promise);
    const firing = stack.scheduler.advanceToNext(key);
    while (runsOf(key).length === 0) await sleep(5);
    await stack.drain();
    expect(eventsAbout(id)).toHaveLength(0);
    expect(stack.scheduler.getSchedule(`${key}-child`)).toBeUndefined();
    expect(await jobRecord(stack.doc, stack.tableName, `${key}-child`)).toBeUndefined();
    hold.open();
    await firing;
    await stack.drain();
    expect(eventsAbout(id).filter((e) => (e.detail as any).data.id === id)).toHaveLength(1);
    expect(stack.scheduler.getSchedule(`${key}-child`)?.Target.Input).toContain(`${id}-child`);
    await stack.scheduler.advanceToNext(`${key}-child`);
    expect(runsOf(`${key}-child`)).toHaveLength(1);
    await stack.drain();
    expect(await getItem(stack.doc, counters, { pk: `${id}-child` })).toMatchObject({ n: 1 });

    const failing = `failing-parent-${randomUUID()}`;
    failUntil.set(failing, 1);
    const failingId = await scheduleCount(failing, 60, { maxAttempts: 1 }, { followUp: true });
    await stack.scheduler.advanceToNext(failing);
    await stack.drain();
    expect(resultOf(deliveriesOf(failing)[0])).toMatchObject({ outcome: 'dead' });
    expect(eventsAbout(failingId).map((e) => e.detailType)).toEqual(['JobFailed']);
    expect(stack.scheduler.getSchedule(`${failing}-child`)).toBeUndefined();
    expect(await jobRecord(stack.doc, stack.tableName, `${failing}-child`)).toBeUndefined();
  });

  it('a recurring job ⇒ one run per occurrence, each in its own unit of work, even when an occurrence is delivered twice', async () => {
    const key = `every-minute-${randomUUID()}`;
    const id = randomUUID();
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, rate: '1 minute', key }),
    );
    await stack.drain();
    const first = await stack.scheduler.advanceToNext(key);
    const occurrence = new Date(first.find((d) => d.scheduleName === key)!.scheduledTime);
    await stack.scheduler.fire(key, { scheduledTime: occurrence, attemptNumber: 2 }); // the same occurrence again
    await stack.scheduler.advanceToNext(key);
    expect(deliveriesOf(key).map((d) => resultOf(d).outcome)).toEqual(['succeeded', 'skipped', 'succeeded']);
    expect(resultOf(deliveriesOf(key)[1]).reason).toMatch(/already ran/);
    await stack.drain();
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 2 });
    const counted = eventsAbout(id);
    expect(counted).toHaveLength(2);
    const record = await jobRecord(stack.doc, stack.tableName, key);
    expect(record).toMatchObject({
      jobStatus: 'SCHEDULED',
      lastOutcome: 'SUCCEEDED',
      attempts: 2,
      lastOccurrence: deliveriesOf(key)[2]!.scheduledTime,
    });
    expect(stack.scheduler.getSchedule(key)).toBeDefined();
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.cancelJob(key));
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)).toBeUndefined();
  });

  it('a timed-out run (Lambda killed, the Scheduler retries) ⇒ the retry reclaims the expired lease and the job runs once', async () => {
    const key = `crash-${randomUUID()}`;
    const id = await scheduleCount(key, 60);
    const hold = gate();
    holds.set(key, hold.promise);
    const runner = jobRunner({
      jobs,
      outboxTable: stack.tableName,
      client: stack.doc,
      source: 'jobs-e2e',
      logger: memoryLogger(),
      leaseMarginMs: 0,
      clock: () => stack.scheduler.clock.now(),
    });
    let stale: Promise<JobRunResult> | undefined;
    const unregister = stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, async (event) => {
      if (!stale) {
        stale = runner(event as JobRunnerInput, { getRemainingTimeInMillis: () => 500 });
        while (runsOf(key).length === 0) await sleep(5);
        throw Object.assign(new Error('Task timed out after 0.5 seconds'), { name: 'TimeoutError' });
      }
      holds.delete(key);
      return runner(event as JobRunnerInput, { getRemainingTimeInMillis: () => 30_000 });
    });
    try {
      await stack.scheduler.advanceToNext(key);
      await stack.scheduler.advance(1_000); // the Scheduler's retry, after the lease (500 ms) expired
    } finally {
      unregister();
      stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, mainTarget);
    }
    expect(deliveriesOf(key).map((d) => [d.attemptNumber, d.outcome])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
    expect(resultOf(deliveriesOf(key)[1])).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    hold.open();
    expect(await stale).toMatchObject({ outcome: 'lost' });
    await stack.drain();
    expect(await getItem(stack.doc, counters, { pk: id })).toMatchObject({ n: 1 });
    expect(eventsAbout(id)).toHaveLength(1);
  });
});
