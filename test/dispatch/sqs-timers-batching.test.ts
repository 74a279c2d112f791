/**
 * One stream batch of 100 outbox items, each with a job due in a minute: with `timerQueueUrl` the timers of the
 * whole batch go out in 10 SendMessageBatch calls (not 100 CreateSchedule); without it, 100 schedules. DynamoDB
 * Local, local Scheduler and SQS, real SDK clients; the figures are logged for docs/jobs.md.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { lambdaContext } from '../support/ddb.js';
import { startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';
import { outboxStreamRecord } from '../support/stream-records.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true }, timers: { visibilityTimeoutSeconds: 30 } });
});
afterAll(async () => {
  await stack?.stop();
});

const uid = (): string => Math.random().toString(36).slice(2, 10);

/** `n` job records due in 60 s and the stream records of their `job.schedule` messages. */
async function batch(n: number): Promise<DynamoDBRecord[]> {
  const at = new Date(Math.ceil((Date.now() + 60_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const records: DynamoDBRecord[] = [];
  for (let i = 0; i < n; i++) {
    const key = `batch-${i}-${uid()}`;
    const jobId = `job-${uid()}`;
    const now = new Date().toISOString();
    await stack.doc.send(
      new PutCommand({
        TableName: stack.tableName,
        Item: {
          ...{ pk: `job#${key}`, sk: 'job', _kind: 'job', jobId, jobKey: key, jobName: 'remind', payload: '{}' },
          ...{ schedule: { at }, scheduleName: key, jobStatus: 'SCHEDULED', version: 1, attempts: 0, maxAttempts: 3 },
          ...{ createdAt: now, jobUpdatedAt: now },
        },
      }),
    );
    const job = { jobId, key, name: 'remind', version: 1, payload: {}, scheduleName: key };
    records.push(
      outboxStreamRecord(
        stack.streamArn,
        [{ kind: 'job.schedule', job, schedule: { at }, maxAttempts: 3 }],
        String(i).padStart(21, '0'),
      ),
    );
  }
  return records;
}

const count = (calls: readonly { operation: string }[], operation: string) =>
  calls.filter((c) => c.operation === operation).length;

describe('timers of one stream batch are batched across its records', () => {
  it('100 records → 10 SendMessageBatch calls, no Scheduler call; the Scheduler path makes 100 CreateSchedule', async () => {
    const records = await batch(100);
    // concurrency 100: every record of the batch is in flight at once (at the default 16 they come in waves: ~13 calls)
    const viaSqs = testDispatcher(stack, {
      concurrency: 100,
      timerQueueUrl: stack.timers!.queueUrl,
      clients: { ...stack.clients, sqs: stack.timers!.client },
    });
    const [sqsBefore, schedBefore] = [stack.timers!.sqs.calls.length, stack.scheduler.calls.length];
    let started = performance.now();
    expect(await viaSqs({ Records: records }, lambdaContext())).toEqual({ batchItemFailures: [] });
    const sqsMs = performance.now() - started;
    const sqsCalls = stack.timers!.sqs.calls.slice(sqsBefore);
    expect(count(sqsCalls, 'SendMessageBatch')).toBe(10);
    expect(stack.timers!.sqs.counts(stack.timers!.queueName).delayed).toBe(100);
    expect(stack.scheduler.calls.length).toBe(schedBefore);

    const again = await batch(100);
    const viaScheduler = testDispatcher(stack, { concurrency: 100 });
    started = performance.now();
    expect(await viaScheduler({ Records: again }, lambdaContext())).toEqual({ batchItemFailures: [] });
    const schedulerMs = performance.now() - started;
    expect(count(stack.scheduler.calls.slice(schedBefore), 'CreateSchedule')).toBe(100);
    console.log(
      `100 job records: SQS ${count(sqsCalls, 'SendMessageBatch')} SendMessageBatch calls in ${Math.round(sqsMs)} ms; ` +
        `Scheduler 100 CreateSchedule calls in ${Math.round(schedulerMs)} ms`,
    );
  }, 60_000);
});
