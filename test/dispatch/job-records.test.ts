/**
 * The batched job-record reader on paths DynamoDB Local never takes (UnprocessedKeys): aws-sdk-client-mock.
 * Its normal path runs against DynamoDB Local in dispatcher.test.ts and e2e.test.ts.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { BatchGetItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { createCaller, newStats } from '../../lib/dispatch/calls.js';
import { createLimiter } from '../../lib/dispatch/limiter.js';
import { createJobRecordReader } from '../../lib/dispatch/job-records.js';
import type { RetryClock } from '../../lib/dispatch/retry.js';
import { DispatchError } from '../../lib/errors.js';

const ddb = mockClient(DynamoDBClient);
afterEach(() => {
  ddb.reset();
});

const clock: RetryClock = { remainingMs: () => 60_000, sleep: async () => undefined, random: () => 0.5 };
const policy = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, safetyMarginMs: 0 };
const record = (key: string) => marshall({ pk: `job#${key}`, sk: 'job', jobId: `id-${key}`, jobKey: key, version: 1 });
const keyOf = (key: string) => marshall({ pk: `job#${key}`, sk: 'job' });

describe('job record reader', () => {
  it('reads the keys asked for in one tick with one consistent BatchGetItem, and re-reads UnprocessedKeys', async () => {
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({ Responses: { t: [record('a')] }, UnprocessedKeys: { t: { Keys: [keyOf('b')] } } })
      .resolvesOnce({ Responses: { t: [record('b')] } });
    const reader = createJobRecordReader(
      new DynamoDBClient({ region: 'us-east-1' }),
      createCaller(createLimiter(4), policy, clock, newStats()),
    );
    const [a, b, missing, aAgain] = await Promise.all([
      reader.read('t', 'a'),
      reader.read('t', 'b'),
      reader.read('t', 'c'),
      reader.read('t', 'a'),
    ]);
    expect(a).toMatchObject({ jobId: 'id-a' });
    expect(aAgain).toMatchObject({ jobId: 'id-a' });
    expect(b).toMatchObject({ jobId: 'id-b' });
    expect(missing).toBeUndefined();
    const calls = ddb.commandCalls(BatchGetItemCommand);
    expect(calls).toHaveLength(2);
    expect(calls[0]!.args[0].input.RequestItems!.t).toEqual({
      Keys: [keyOf('a'), keyOf('b'), keyOf('c')],
      ConsistentRead: true,
    });
    expect(calls[1]!.args[0].input.RequestItems!.t!.Keys).toEqual([keyOf('b')]);
  });

  it('gives up on keys that stay unprocessed after its attempts', async () => {
    ddb.on(BatchGetItemCommand).resolves({ Responses: { t: [] }, UnprocessedKeys: { t: { Keys: [keyOf('x')] } } });
    const reader = createJobRecordReader(
      new DynamoDBClient({ region: 'us-east-1' }),
      createCaller(createLimiter(4), policy, clock, newStats()),
    );
    await expect(reader.read('t', 'x')).rejects.toBeInstanceOf(DispatchError);
    expect(ddb.commandCalls(BatchGetItemCommand)).toHaveLength(3);
  });

  it('splits 250 distinct keys (each asked twice) into BatchGetItem calls of ≤ 100 in first-asked order', async () => {
    ddb
      .on(BatchGetItemCommand)
      .callsFake((input: { RequestItems: Record<string, { Keys: { pk: { S: string } }[] }> }) => ({
        Responses: { t: input.RequestItems.t!.Keys.map((k) => record(k.pk.S.slice('job#'.length))) },
      }));
    const reader = createJobRecordReader(
      new DynamoDBClient({ region: 'us-east-1' }),
      createCaller(createLimiter(4), policy, clock, newStats()),
    );
    const names = Array.from({ length: 250 }, (_, i) => `k${i}`);
    const asked = [...names, ...names.slice().reverse()];
    const records = await Promise.all(asked.map((k) => reader.read('t', k)));
    expect(records.map((r) => r?.jobKey)).toEqual(asked);
    const sent = ddb.commandCalls(BatchGetItemCommand).map((c) => c.args[0].input.RequestItems!.t!.Keys);
    expect(sent.map((keys) => keys!.length)).toEqual([100, 100, 50]);
    expect(sent.flat()).toEqual(names.map(keyOf));
  });
});
