/** The stream poller's ParallelizationFactor on DynamoDB Local: concurrency per shard, order per partition key. */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigurationError } from '../../lib/errors.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { createOutboxTable } from '../../lib/local/outbox-table.js';
import { startStreamPoller } from '../../lib/local/stream-poller.js';

const endpoint = process.env.DYNAMODB_ENDPOINT!;
const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
afterAll(() => client.destroy());

const KEYS = 8;
const VERSIONS = 5;
const keyOf = (r: DynamoDBRecord): string => r.dynamodb!.Keys!.pk!.S!;
const versionOf = (r: DynamoDBRecord): number => Number(r.dynamodb!.NewImage!.v!.N);

/**
 * Writes VERSIONS puts to each of KEYS items (interleaved), then polls with `factor`. The handler sleeps, records
 * how many invocations overlap and which keys are in flight, processes records in order and stops at the first
 * failure (reporting it and the rest as failed, like the dispatcher), failing `k3` v2 once.
 */
async function run(factor: number) {
  const name = `parallel-${randomUUID()}`;
  const { streamArn } = await createOutboxTable(client, name);
  for (let v = 0; v < VERSIONS; v++) {
    for (let k = 0; k < KEYS; k++) {
      await client.send(
        new PutItemCommand({ TableName: name, Item: { pk: { S: `k${k}` }, sk: { S: 'item' }, v: { N: String(v) } } }),
      );
    }
  }
  let inFlight = 0;
  let maxInFlight = 0;
  const keysInFlight = new Map<string, number>();
  const overlapping: string[] = [];
  const processed = new Map<string, number[]>();
  let failedOnce = false;
  const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const keys = new Set(event.Records.map(keyOf));
    for (const k of keys) {
      if (keysInFlight.get(k)) overlapping.push(k);
      keysInFlight.set(k, (keysInFlight.get(k) ?? 0) + 1);
    }
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    await new Promise((resolve) => setTimeout(resolve, 40));
    inFlight--;
    for (const k of keys) keysInFlight.set(k, keysInFlight.get(k)! - 1);
    for (const [i, record] of event.Records.entries()) {
      if (!failedOnce && keyOf(record) === 'k3' && versionOf(record) === 2) {
        failedOnce = true;
        return {
          batchItemFailures: event.Records.slice(i).map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })),
        };
      }
      processed.set(keyOf(record), [...(processed.get(keyOf(record)) ?? []), versionOf(record)]);
    }
    return { batchItemFailures: [] };
  };
  const poller = startStreamPoller({
    endpoint,
    streamArn,
    handler,
    filterPatterns: [],
    batchSize: 2,
    parallelizationFactor: factor,
    pollIntervalMs: 10,
    retryDelayMs: 10,
  });
  try {
    await poller.drain(20000);
  } finally {
    await poller.stop();
  }
  return { maxInFlight, overlapping, processed, failedOnce, failures: poller.failures };
}

describe('stream poller parallelizationFactor', () => {
  it('runs up to N batches of one shard at once, each key in order, never in two concurrent batches', async () => {
    const { maxInFlight, overlapping, processed, failedOnce, failures } = await run(4);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    expect(overlapping).toEqual([]);
    expect(failedOnce).toBe(true);
    expect(failures).toEqual([]);
    // Every version of every key handled exactly once, in order, although k3 v2 failed and was redelivered.
    const expected = Array.from({ length: VERSIONS }, (_, v) => v);
    for (let k = 0; k < KEYS; k++) expect(processed.get(`k${k}`)).toEqual(expected);
  });

  it('runs one batch per shard at a time by default', async () => {
    const { maxInFlight, processed } = await run(1);
    expect(maxInFlight).toBe(1);
    expect(processed.get('k3')).toEqual([0, 1, 2, 3, 4]);
  });

  it('refuses a factor outside 1..10, naming the option', () => {
    for (const bad of [0, 11, 1.5]) {
      expect(() =>
        startStreamPoller({ endpoint, streamArn: 'arn:x', handler: async () => {}, parallelizationFactor: bad }),
      ).toThrow(ConfigurationError);
      expect(() =>
        startStreamPoller({ endpoint, streamArn: 'arn:x', handler: async () => {}, parallelizationFactor: bad }),
      ).toThrow(/parallelizationFactor must be an integer from 1 to 10/);
    }
  });
});
