import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConditionFailedError, InvalidOperationError } from '../../lib/errors.js';
import { cancelJobNow, retryJob } from '../../lib/jobs/admin.js';
import { jobRunner, type JobContext } from '../../lib/jobs/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { createBusinessTable, getItem, localClients } from '../support/ddb.js';
import { inUnitOfWork, jobRecord, messagesAbout } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';

const { raw } = localClients();
let stack: TestStack;
let counters: string;
const failing = new Set<string>();

beforeAll(async () => {
  stack = await startTestStack();
  counters = await createBusinessTable(raw, 'admin-counters');
  stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, jobRunner({
    jobs: {
      count: async (payload: { id: string }, { uow }: JobContext) => {
        if (failing.has(payload.id)) throw new Error('injected failure');
        uow.update({ TableName: counters, Key: { pk: payload.id }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 }, label: 'count' });
      },
    },
    outboxTable: stack.tableName,
    client: stack.doc,
    source: 'admin-test',
    logger: stack.logger,
  }) as never);
}, 30_000);

afterAll(() => stack?.stop());

/** A job that ran once and failed with maxAttempts 1: DEAD. */
async function deadJob(): Promise<{ id: string; key: string }> {
  const id = randomUUID();
  const key = `count-${id}`;
  failing.add(id);
  await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.schedule({ job: 'count', key, payload: { id }, delay: 60, maxAttempts: 1 }));
  await stack.drain();
  await stack.scheduler.advanceToNext(key);
  expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'DEAD', attempts: 1 });
  await stack.drain();
  return { id, key };
}

describe('retryJob / cancelJobNow on DynamoDB Local, through the dispatcher and the local Scheduler', () => {
  it('concurrent retries of a DEAD job: exactly one commits, one schedule, the job runs once', async () => {
    const { id, key } = await deadJob();
    failing.delete(id);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => retryJob(key, { outboxTable: stack.tableName, client: stack.doc })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf((r as PromiseRejectedResult).reason instanceof ConditionFailedError ? ConditionFailedError : InvalidOperationError);
    const { version, at } = (won[0] as PromiseFulfilledResult<{ version: number; at: string }>).value;
    expect((await messagesAbout(stack.doc, stack.tableName, key)).map((m) => m.kind)).toEqual(['job.schedule', 'event', 'job.reschedule']);
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'SCHEDULED', attempts: 0, version, nextRunAt: at, schedule: { at } });
    expect((await jobRecord(stack.doc, stack.tableName, key))?.ttl).toBeUndefined();

    await stack.drain();
    expect(JSON.parse(stack.scheduler.getSchedule(key)!.Target.Input!)).toMatchObject({ key, version });
    await stack.scheduler.advanceToNext(key);
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'SUCCEEDED', attempts: 1, version });
    expect(await getItem(stack.doc, counters, { pk: id })).toEqual({ pk: id, n: 1 });
  });

  it('a retry whose answer was lost (applied, then the SDK threw) is applied once; asking again names the status', async () => {
    const { key } = await deadJob();
    const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    client.middlewareStack.add(
      (next: any, context: any) => async (args: any) => {
        const result = await next(args);
        if (context.commandName !== 'TransactWriteItemsCommand') return result;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      },
      { step: 'initialize', name: 'lose-the-answer' },
    );
    try {
      await expect(retryJob(key, { outboxTable: stack.tableName, client })).rejects.toThrow();
    } finally {
      client.destroy();
    }
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'SCHEDULED', attempts: 0 });
    await expect(retryJob(key, { outboxTable: stack.tableName, client: stack.doc })).rejects.toThrow(
      new InvalidOperationError(`retryJob(${key})`, 'the job is SCHEDULED; only a DEAD job can be retried'),
    );
    expect((await messagesAbout(stack.doc, stack.tableName, key)).filter((m) => m.kind === 'job.reschedule')).toHaveLength(1);
  });

  it('refuses what does not apply, naming the operation and the status', async () => {
    const id = randomUUID();
    const key = `count-${id}`;
    const options = { outboxTable: stack.tableName, client: stack.doc };
    await expect(retryJob(`missing-${id}`, options)).rejects.toThrow(`retryJob(missing-${id}): there is no job with this key`);
    await expect(cancelJobNow(`missing-${id}`, options)).rejects.toThrow(`cancelJob(missing-${id}): there is no job with this key`);
    await inUnitOfWork(stack.doc, stack.tableName, (uow) => uow.schedule({ job: 'count', key, payload: { id }, delay: 60 }));
    await expect(retryJob(key, options)).rejects.toThrow(`retryJob(${key}): the job is SCHEDULED; only a DEAD job can be retried`);

    await cancelJobNow(key, options);
    await stack.drain();
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'CANCELLED' });
    expect(stack.scheduler.getSchedule(key)).toBeUndefined();
    await expect(cancelJobNow(key, options)).rejects.toThrow(`cancelJob(${key}): the job is CANCELLED; only SCHEDULED, FAILED or RUNNING jobs can be cancelled`);
  });
});
