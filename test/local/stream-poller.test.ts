/** The stream poller on DynamoDB Local's stream, and createOutboxTable. */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { TRANSACTIONAL_OUTBOX_DEFAULTS } from '../../cdk/props.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { createOutboxTable } from '../../lib/local/outbox-table.js';
import { startStreamPoller, type StreamFailure, type StreamPollerOptions } from '../../lib/local/stream-poller.js';
import { encodeOutboxItems } from '../../lib/outbox/encode.js';

const endpoint = process.env.DYNAMODB_ENDPOINT!;
const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });

afterAll(() => client.destroy());

async function table(): Promise<{ name: string; streamArn: string }> {
  const name = `poller-${randomUUID()}`;
  const { streamArn } = await createOutboxTable(client, name);
  return { name, streamArn };
}

/** Writes `n` outbox items (one event each), tagged 0..n-1 in `commitId`. */
async function writeOutbox(name: string, n: number, prefix = 'c'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const [item] = encodeOutboxItems({
      commitId: `${prefix}${String(i).padStart(3, '0')}`,
      messages: [
        {
          kind: 'event',
          event: {
            specversion: '1.0',
            id: `e${i}`,
            source: 's',
            type: 'T',
            time: new Date().toISOString(),
            datacontenttype: 'application/json',
            data: { i },
          },
        },
      ],
      now: new Date(),
      retentionSeconds: 3600,
    });
    await client.send(new PutItemCommand({ TableName: name, Item: marshall(item!) }));
  }
}

const tagOf = (r: DynamoDBRecord): string => r.dynamodb!.NewImage!.commitId!.S!;

function poll(streamArn: string, handler: StreamPollerOptions['handler'], o: Partial<StreamPollerOptions> = {}) {
  return startStreamPoller({ endpoint, streamArn, handler, pollIntervalMs: 10, retryDelayMs: 10, ...o });
}

describe('createOutboxTable', () => {
  it('creates the table the construct deploys: keys, NEW_IMAGE stream, TTL and the sharded job-status index', async () => {
    const { name, streamArn } = await table();
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    expect(Table!.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table!.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_IMAGE' });
    expect(Table!.LatestStreamArn).toBe(streamArn);
    expect(Table!.GlobalSecondaryIndexes![0]).toMatchObject({
      IndexName: 'jobs-by-status-shard',
      KeySchema: [
        { AttributeName: 'jobIndexPk', KeyType: 'HASH' },
        { AttributeName: 'jobIndexSk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });
});

describe('stream poller', () => {
  it('delivers outbox INSERTs only, in the exact DynamoDBStreamEvent shape Lambda uses', async () => {
    const { name, streamArn } = await table();
    const events: DynamoDBStreamEvent[] = [];
    const poller = poll(streamArn, async (e) => void events.push(e));
    try {
      const message = { kind: 'job.cancel', key: 'k', scheduleName: 'k' } as const;
      const [outboxItem] = encodeOutboxItems({
        commitId: 'commit-1',
        messages: [message],
        now: new Date(),
        retentionSeconds: 60,
      });
      await client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: name, Item: marshall({ ...outboxItem!, blob: new Uint8Array([1, 2, 3]) }) } },
            {
              Put: {
                TableName: name,
                Item: marshall({ pk: 'job#k', sk: 'job', _kind: 'job', jobStatus: 'SCHEDULED' }),
              },
            },
            { Put: { TableName: name, Item: marshall({ pk: 'order#1', sk: 'order' }) } },
          ],
        }),
      );
      await client.send(
        new UpdateItemCommand({
          TableName: name,
          Key: marshall({ pk: 'job#k', sk: 'job' }),
          UpdateExpression: 'SET jobStatus = :s',
          ExpressionAttributeValues: marshall({ ':s': 'RUNNING' }),
        }),
      );
      await poller.drain();
    } finally {
      await poller.stop();
    }
    expect(events).toHaveLength(1);
    expect(events[0]!.Records).toHaveLength(1);
    const record = events[0]!.Records[0]!;
    expect(record).toEqual({
      eventID: expect.any(String),
      eventName: 'INSERT',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      eventSourceARN: streamArn,
      dynamodb: {
        ApproximateCreationDateTime: expect.any(Number),
        Keys: { pk: { S: 'outbox#commit-1' }, sk: { S: 'part#001' } },
        NewImage: expect.objectContaining({
          _kind: { S: 'outbox' },
          messages: { S: '[{"kind":"job.cancel","key":"k","scheduleName":"k"}]' },
          blob: { B: 'AQID' },
          part: { N: '1' },
        }),
        SequenceNumber: expect.stringMatching(/^\d+$/),
        SizeBytes: expect.any(Number),
        StreamViewType: 'NEW_IMAGE',
      },
    });
    expect(record.dynamodb!.ApproximateCreationDateTime).toBeGreaterThan(Date.now() / 1000 - 120);
  });

  it('makes batches of at most batchSize, in stream order', async () => {
    const { name, streamArn } = await table();
    await writeOutbox(name, 7);
    const sizes: number[] = [];
    const seen: string[] = [];
    const poller = poll(
      streamArn,
      async (e) => {
        sizes.push(e.Records.length);
        seen.push(...e.Records.map(tagOf));
      },
      { batchSize: 3 },
    );
    await poller.drain();
    await poller.stop();
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(['c000', 'c001', 'c002', 'c003', 'c004', 'c005', 'c006']);
  });

  it('retries from the lowest failed sequence number reported in batchItemFailures', async () => {
    const { name, streamArn } = await table();
    await writeOutbox(name, 5);
    const batches: string[][] = [];
    const poller = poll(streamArn, async (e): Promise<DynamoDBBatchResponse> => {
      batches.push(e.Records.map(tagOf));
      if (batches.length > 1) return { batchItemFailures: [] };
      // report records 3 and 2 (out of order): the checkpoint is the lowest, c002
      return {
        batchItemFailures: [e.Records[3]!, e.Records[2]!].map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })),
      };
    });
    await poller.drain();
    await poller.stop();
    expect(batches).toEqual([
      ['c000', 'c001', 'c002', 'c003', 'c004'],
      ['c002', 'c003', 'c004'],
    ]);
    expect(poller.failures).toEqual([]);
  });

  it('bisects a batch whose invocation throws, and sends the poison record alone to the on-failure sink', async () => {
    const { name, streamArn } = await table();
    await writeOutbox(name, 8);
    const handled = new Map<string, number>();
    const sink: StreamFailure[] = [];
    const poller = poll(
      streamArn,
      async (e) => {
        if (e.Records.some((r) => tagOf(r) === 'c004')) throw new Error('poison');
        for (const r of e.Records) handled.set(tagOf(r), (handled.get(tagOf(r)) ?? 0) + 1);
      },
      { maximumRetryAttempts: 3, onFailure: (f) => void sink.push(f) },
    );
    await poller.drain();
    await poller.stop();
    expect(sink).toHaveLength(1);
    expect(sink[0]!.records.map(tagOf)).toEqual(['c004']);
    expect(sink[0]).toMatchObject({
      version: '1.0',
      requestContext: {
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 4,
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:outbox-dispatcher',
      },
      responseContext: { functionError: 'Unhandled' },
      DDBStreamBatchInfo: {
        batchSize: 1,
        streamArn,
        startSequenceNumber: sink[0]!.records[0]!.dynamodb!.SequenceNumber,
      },
      error: 'poison',
    });
    expect([...handled.keys()].sort()).toEqual(['c000', 'c001', 'c002', 'c003', 'c005', 'c006', 'c007']);
    expect([...handled.values()].every((n) => n === 1)).toBe(true);
    expect(poller.invocations.filter((i) => i.error).length).toBe(4);
  });

  it('gives up on a record that keeps being reported failed after maximumRetryAttempts', async () => {
    const { name, streamArn } = await table();
    await writeOutbox(name, 3);
    const poller = poll(
      streamArn,
      async (e) => ({
        batchItemFailures: e.Records.filter((r) => tagOf(r) === 'c001').map((r) => ({
          itemIdentifier: r.dynamodb!.SequenceNumber!,
        })),
      }),
      { maximumRetryAttempts: 1 },
    );
    await poller.drain();
    await poller.stop();
    expect(poller.invocations.map((i) => [i.records, i.batchItemFailures])).toEqual([
      [3, 1],
      [2, 1],
    ]);
    expect(poller.failures).toHaveLength(1);
    expect(poller.failures[0]!.records.map(tagOf)).toEqual(['c001', 'c002']);
    expect(poller.failures[0]!.failedSequenceNumbers).toEqual([
      poller.failures[0]!.records[0]!.dynamodb!.SequenceNumber,
    ]);
  });

  it('by default retries a failing batch as often as the construct does (retryAttempts 5), then gives it up', async () => {
    expect(TRANSACTIONAL_OUTBOX_DEFAULTS.retryAttempts).toBe(5);
    const { name, streamArn } = await table();
    await writeOutbox(name, 1);
    const poller = poll(streamArn, async (e) => ({
      batchItemFailures: e.Records.map((r) => ({ itemIdentifier: r.dynamodb!.SequenceNumber! })),
    }));
    await poller.drain();
    await poller.stop();
    expect(poller.invocations).toHaveLength(1 + TRANSACTIONAL_OUTBOX_DEFAULTS.retryAttempts);
    expect(poller.failures).toHaveLength(1);
  });

  it.each([
    ['an empty itemIdentifier', ''],
    ['an itemIdentifier that is no record of the batch', '999999999999999999999'],
  ])(
    '%s makes the whole batch a failure (Lambda: services-ddb-batchfailurereporting)',
    async (_title, itemIdentifier) => {
      const { name, streamArn } = await table();
      await writeOutbox(name, 3);
      let calls = 0;
      const poller = poll(streamArn, async () =>
        ++calls === 1 ? { batchItemFailures: [{ itemIdentifier }] } : { batchItemFailures: [] },
      );
      await poller.drain();
      await poller.stop();
      expect(poller.invocations.map((i) => i.records)).toEqual([3, 3]); // retried from the first record
      expect(poller.failures).toHaveLength(0);
    },
  );

  it('starts at LATEST when asked, and counts down the function timeout in the context', async () => {
    const { name, streamArn } = await table();
    await writeOutbox(name, 2, 'old');
    const seen: string[] = [];
    let remaining = 0;
    const poller = poll(
      streamArn,
      async (e, context) => {
        remaining = context.getRemainingTimeInMillis();
        seen.push(...e.Records.map(tagOf));
      },
      { startingPosition: 'LATEST', functionTimeoutMs: 5000 },
    );
    await poller.drain();
    await writeOutbox(name, 1, 'new');
    await poller.drain();
    await poller.stop();
    expect(seen).toEqual(['new000']);
    expect(remaining).toBeGreaterThan(4000);
    expect(remaining).toBeLessThanOrEqual(5000);
  });
});
