/**
 * retryJob / cancelJob (lib/jobs/admin.ts) on DynamoDB Local and the local stack: a DEAD job revived through a
 * unit of work is re-scheduled by the dispatcher and runs; concurrent duplicate revivals revive it once.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidOperationError, JobNotFoundError } from '../../lib/errors.js';
import { cancelJob, retryJob } from '../../lib/jobs/admin.js';
import { jobRunner, type JobRunResult, type JobRunnerInput } from '../../lib/jobs/index.js';
import type { Delivery } from '../../lib/local/scheduler-store.js';
import { inUnitOfWork, jobRecord, memoryLogger, messagesAbout } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
const failing = new Set<string>();
const runs: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  const runner = jobRunner({
    jobs: {
      work: async (_p: unknown, { job }) => {
        runs.push(job.key);
        if (failing.has(job.key)) throw new Error(`${job.key} fails`);
      },
    },
    outboxTable: stack.tableName,
    client: stack.doc,
    source: 'admin-test',
    logger: memoryLogger(),
    clock: () => stack.scheduler.clock.now(),
  });
  stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, (event, context) =>
    runner(event as JobRunnerInput, { awsRequestId: context.executionId, getRemainingTimeInMillis: () => 30_000 }),
  );
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const opts = () => ({ outboxTable: stack.tableName, client: stack.doc });
const outcomes = (key: string) =>
  stack.scheduler.deliveries
    .filter((d: Delivery) => d.scheduleName === key)
    .map((d) => (d.result as JobRunResult).outcome);

async function deadJob(): Promise<string> {
  const key = `dead-${randomUUID()}`;
  failing.add(key);
  await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
    uow.schedule({ job: 'work', payload: {}, key, at: new Date(stack.scheduler.clock.now() + 60_000), maxAttempts: 1 }),
  );
  await stack.drain();
  await stack.scheduler.advanceToNext(key);
  await stack.drain();
  expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'DEAD', attempts: 1 });
  return key;
}

describe('retryJob', () => {
  it('revives a DEAD job in one transaction: SCHEDULED, new version, attempts 0, no TTL; the dispatcher re-creates the schedule; it runs', async () => {
    const key = await deadJob();
    const dead = await jobRecord(stack.doc, stack.tableName, key);
    expect(dead?.ttl).toBeDefined();
    failing.delete(key);
    const at = new Date(stack.scheduler.clock.now() + 30_000);
    const result = await retryJob(key, { ...opts(), at });
    expect(result).toMatchObject({
      action: 'retried',
      dryRun: false,
      before: { status: 'DEAD' },
      after: { status: 'SCHEDULED', attempts: 0 },
    });
    const revived = await jobRecord(stack.doc, stack.tableName, key);
    expect(revived!.version).toBeGreaterThan(dead!.version);
    expect(revived?.ttl).toBeUndefined();
    expect(revived?.lastError).toEqual(dead?.lastError); // history kept
    expect((await messagesAbout(stack.doc, stack.tableName, key)).filter((m) => m.kind === 'job.reschedule')).toEqual([
      expect.objectContaining({
        kind: 'job.reschedule',
        key,
        schedule: { at: at.toISOString().replace('.000Z', 'Z') },
      }),
    ]);
    await stack.drain();
    expect(JSON.parse(stack.scheduler.getSchedule(key)!.Target.Input!)).toMatchObject({
      key,
      version: revived!.version,
    });
    await stack.scheduler.advanceToNext(key);
    expect(outcomes(key)).toEqual(['dead', 'succeeded']);
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'SUCCEEDED', attempts: 1 });
  });

  it('concurrent duplicate revivals revive it once: one commit wins, the others are refused, one run', async () => {
    const key = await deadJob();
    failing.delete(key);
    const at = new Date(stack.scheduler.clock.now() + 30_000);
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => retryJob(key, { ...opts(), at })));
    const won = settled.filter((s) => s.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const s of settled.filter((x) => x.status === 'rejected'))
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(InvalidOperationError);
    expect(
      (await messagesAbout(stack.doc, stack.tableName, key)).filter((m) => m.kind === 'job.reschedule'),
    ).toHaveLength(1);
    await stack.drain();
    await stack.scheduler.advanceToNext(key);
    await stack.scheduler.advance(120_000);
    expect(outcomes(key)).toEqual(['dead', 'succeeded']);
  });

  it('revives a DEAD job whose version came from a clock ahead of ours (a runner on another machine)', async () => {
    const key = await deadJob();
    failing.delete(key);
    const ahead = Date.now() + 3_600_000;
    await stack.doc.send(
      new UpdateCommand({
        TableName: stack.tableName,
        Key: { pk: `job#${key}`, sk: 'job' },
        UpdateExpression: 'SET version = :v',
        ExpressionAttributeValues: { ':v': ahead },
      }),
    );
    const { after } = await retryJob(key, opts());
    expect(after).toMatchObject({ status: 'SCHEDULED', version: ahead + 1 });
    const message = (await messagesAbout(stack.doc, stack.tableName, key)).find((m) => m.kind === 'job.reschedule');
    // The message carries no version: the dispatcher applies the record's (version + 1, docs/jobs.md).
    expect(message).toMatchObject({ kind: 'job.reschedule', key });
    expect(message).not.toHaveProperty('version');
  });

  it('refuses a job that is not DEAD and a missing key, writing nothing; --dry-run writes nothing', async () => {
    const key = `live-${randomUUID()}`;
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.schedule({ job: 'work', payload: {}, key, at: new Date(stack.scheduler.clock.now() + 60_000) }),
    );
    await expect(retryJob(key, opts())).rejects.toThrow(/the job is SCHEDULED; only a DEAD job can be retried/);
    await expect(retryJob(`missing-${randomUUID()}`, opts())).rejects.toBeInstanceOf(JobNotFoundError);
    const dead = await deadJob();
    const before = await jobRecord(stack.doc, stack.tableName, dead);
    expect(await retryJob(dead, { ...opts(), dryRun: true })).toMatchObject({
      dryRun: true,
      before: { status: 'DEAD' },
    });
    expect(await jobRecord(stack.doc, stack.tableName, dead)).toEqual(before);
  });
});

describe('cancelJob', () => {
  it('cancels a SCHEDULED job through a unit of work: CANCELLED, schedule deleted, a late delivery skips', async () => {
    const key = `cancel-${randomUUID()}`;
    await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
      uow.schedule({ job: 'work', payload: {}, key, at: new Date(stack.scheduler.clock.now() + 60_000) }),
    );
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)).toBeDefined();
    const result = await cancelJob(key, opts());
    expect(result).toMatchObject({
      action: 'cancelled',
      before: { status: 'SCHEDULED' },
      after: { status: 'CANCELLED' },
    });
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)).toBeUndefined();
    await expect(cancelJob(key, opts())).rejects.toThrow(/already CANCELLED/);
    expect(runs).not.toContain(key);
  });
});
