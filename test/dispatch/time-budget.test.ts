/**
 * The dispatcher checks the invocation's remaining time before starting each record: with low
 * concurrency and slow calls, the records it cannot start in time are reported failed untouched (never
 * half-done) and the invocation ends before its deadline. DynamoDB Local, local Scheduler, real SDK clients.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { lambdaContext } from '../support/ddb.js';
import { startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';
import { outboxStreamRecord } from '../support/stream-records.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true } });
});
afterAll(async () => {
  await stack?.stop();
});

const uid = (): string => Math.random().toString(36).slice(2, 10);

describe('time left before each record', () => {
  it.each([1, 2])(
    'concurrency %i: records that cannot start in time are failed untouched; the invocation ends before its deadline',
    async (concurrency) => {
      const keys = Array.from({ length: 8 }, (_, i) => `budget-${concurrency}-${i}-${uid()}`);
      const records = [];
      for (const [i, key] of keys.entries()) {
        const jobId = `job-${uid()}`;
        await stack.doc.send(
          new PutCommand({
            TableName: stack.tableName,
            Item: {
              pk: `job#${key}`,
              sk: 'job',
              _kind: 'job',
              jobId,
              jobKey: key,
              jobName: 'remind',
              payload: '{}',
              schedule: { at: '2030-01-01T00:00:00Z' },
              scheduleName: key,
              jobStatus: 'SCHEDULED',
              version: 1,
              attempts: 0,
              maxAttempts: 3,
              createdAt: new Date().toISOString(),
              jobUpdatedAt: new Date().toISOString(),
            },
          }),
        );
        const job = { jobId, key, name: 'remind', version: 1, payload: {}, scheduleName: key };
        records.push(
          outboxStreamRecord(
            stack.streamArn,
            [{ kind: 'job.schedule', job, schedule: { at: '2030-01-01T00:00:00Z' }, maxAttempts: 3 }],
            String(9000 + i).padStart(21, '0'),
          ),
        );
      }
      // every Scheduler call takes 300 ms: 8 records need far more than the 0.7 s the invocation has beyond the margin
      const slow = new SchedulerClient({ endpoint: stack.scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
      slow.middlewareStack.add((next) => async (args) => (await new Promise((r) => setTimeout(r, 300)), next(args)), {
        step: 'initialize',
        name: 'slowCalls',
      });
      const d = testDispatcher(stack, {
        concurrency,
        retry: { safetyMarginMs: 700 },
        clients: { dynamodb: stack.clients.dynamodb, scheduler: slow, eventBridge: stack.clients.eventBridge },
      });
      const deadline = Date.now() + 1400;
      const context = { ...lambdaContext(), getRemainingTimeInMillis: () => deadline - Date.now() };

      const response = await d({ Records: records }, context);
      expect(Date.now()).toBeLessThanOrEqual(deadline);
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      expect(failed.size).toBeGreaterThan(0);
      expect(failed.size).toBeLessThan(keys.length);
      for (const [i, key] of keys.entries()) {
        const calls = stack.scheduler.calls.filter((c) => c.name === key);
        if (failed.has(records[i]!.dynamodb!.SequenceNumber!))
          expect(calls).toEqual([]); // not started: untouched
        else expect(stack.scheduler.getSchedule(key)).toBeDefined(); // started: done
      }
      const notStarted = d.logger.entries.filter((e) => e.level === 'error').map((e) => e.attributes.reason as string);
      expect(
        notStarted.every((r) =>
          /^stream record \d+: not started: \d+ ms left in the invocation, less than retry.safetyMarginMs \(700 ms\)/.test(
            r,
          ),
        ),
      ).toBe(true);
    },
  );
});
