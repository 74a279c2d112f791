/**
 * Flow control under a Scheduler request quota: several dispatcher invocations (one per shard, each its own
 * container) offer far more than the quota at once; throttled calls back off and retry while the invocation
 * has time, so every record is dispatched and none is reported failed. DynamoDB Local, local Scheduler with a
 * token-bucket quota answering ThrottlingException, real SDK clients, real sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { tokenBucketQuota } from '../../lib/local/quota.js';
import { lambdaContext } from '../support/ddb.js';
import { startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';
import { outboxStreamRecord } from '../support/stream-records.js';

const quota = tokenBucketQuota({ requestsPerSecond: 40, burst: 10 });
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true }, scheduler: { clock: 'manual', quota } });
});
afterAll(async () => {
  await stack?.stop();
});

const uid = (): string => Math.random().toString(36).slice(2, 10);

async function shardBatch(shard: number, n: number): Promise<{ keys: string[]; records: DynamoDBRecord[] }> {
  const keys: string[] = [];
  const records: DynamoDBRecord[] = [];
  for (let i = 0; i < n; i++) {
    const key = `quota-${shard}-${i}-${uid()}`;
    const jobId = `job-${uid()}`;
    const now = new Date().toISOString();
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
          createdAt: now,
          jobUpdatedAt: now,
        },
      }),
    );
    const job = { jobId, key, name: 'remind', version: 1, payload: {}, scheduleName: key };
    records.push(
      outboxStreamRecord(
        stack.streamArn,
        [{ kind: 'job.schedule', job, schedule: { at: '2030-01-01T00:00:00Z' }, maxAttempts: 3 }],
        String(1000 * shard + i).padStart(21, '0'),
      ),
    );
    keys.push(key);
  }
  return { keys, records };
}

describe('dispatch over a Scheduler request quota', () => {
  it('4 concurrent invocations offering ~4× the quota dispatch every record: 0 failed, every schedule created once', async () => {
    const shards = await Promise.all([0, 1, 2, 3].map((s) => shardBatch(s, 20)));
    quota.resetStats();
    const deadline = Date.now() + 15_000;
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => deadline - Date.now() };
    // real sleeps: the backoff is what spreads the load under the quota
    const clock = { sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
    const dispatchers = shards.map(() => testDispatcher(stack, { clock }));
    const responses = await Promise.all(shards.map((s, i) => dispatchers[i]!({ Records: s.records }, context)));

    expect(responses.map((r) => r.batchItemFailures)).toEqual([[], [], [], []]);
    expect(quota.stats.throttled).toBeGreaterThan(0); // the quota did bind
    for (const key of shards.flatMap((s) => s.keys)) {
      expect(stack.scheduler.getSchedule(key)).toBeDefined();
      expect(
        stack.scheduler.calls.filter((c) => c.name === key && c.operation === 'CreateSchedule').length,
      ).toBeGreaterThanOrEqual(1);
    }
    const retries = dispatchers.flatMap((d) => d.logger.entries.map((e) => e.attributes.retries as number));
    expect(retries.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 30_000);
});
