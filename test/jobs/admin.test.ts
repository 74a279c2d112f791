import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvalidOperationError } from '../../lib/errors.js';
import { retryJob } from '../../lib/jobs/admin.js';
import { jobRunner, type JobContext } from '../../lib/jobs/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { createBusinessTable, localClients } from '../support/ddb.js';
import { inUnitOfWork, jobRecord, messagesAbout } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';

const { raw } = localClients();
let stack: TestStack;
let counters: string;
const failing = new Set<string>();

beforeAll(async () => {
  stack = await startTestStack();
  counters = await createBusinessTable(raw, 'admin-counters');
  stack.scheduler.registerTarget(
    LOCAL_ARNS.jobRunner,
    jobRunner({
      jobs: {
        count: async (payload: { id: string }, { uow }: JobContext) => {
          if (failing.has(payload.id)) throw new Error('injected failure');
          uow.update({
            TableName: counters,
            Key: { pk: payload.id },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
            label: 'count',
          });
        },
      },
      outboxTable: stack.tableName,
      client: stack.doc,
      source: 'admin-test',
      logger: stack.logger,
    }) as never,
  );
}, 30_000);

afterAll(() => stack?.stop());

/** A job that ran once and failed with maxAttempts 1: DEAD. */
async function deadJob(): Promise<{ id: string; key: string }> {
  const id = randomUUID();
  const key = `count-${id}`;
  failing.add(id);
  await inUnitOfWork(stack.doc, stack.tableName, (uow) =>
    uow.schedule({ job: 'count', key, payload: { id }, delay: 60, maxAttempts: 1 }),
  );
  await stack.drain();
  await stack.scheduler.advanceToNext(key);
  expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'DEAD', attempts: 1 });
  await stack.drain();
  return { id, key };
}

describe('retryJob on DynamoDB Local when the SDK loses the answer', () => {
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
      // The library resolves the lost answer (the commit landed): success, not a second revival.
      await expect(retryJob(key, { outboxTable: stack.tableName, client })).resolves.toMatchObject({
        action: 'retried',
        after: { status: 'SCHEDULED' },
      });
    } finally {
      client.destroy();
    }
    expect(await jobRecord(stack.doc, stack.tableName, key)).toMatchObject({ jobStatus: 'SCHEDULED', attempts: 0 });
    await expect(retryJob(key, { outboxTable: stack.tableName, client: stack.doc })).rejects.toThrow(
      new InvalidOperationError(
        `retryJob(${key})`,
        'the job is SCHEDULED; only a DEAD job can be retried (reschedule or cancel a pending one)',
      ),
    );
    expect(
      (await messagesAbout(stack.doc, stack.tableName, key)).filter((m) => m.kind === 'job.reschedule'),
    ).toHaveLength(1);
  });
});
