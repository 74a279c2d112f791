import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DeleteItemCommand, DynamoDBClient, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { marshall } from '@aws-sdk/util-dynamodb';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { TransactionalOutbox } from '../../cdk/index.js';
import { JOB_STATUS, type JobRecord, jobRecordKey } from '../../lib/jobs/record.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { type EventPattern, matchesPattern } from '../../lib/local/event-pattern.js';
import { createOutboxTable } from '../../lib/local/outbox-table.js';
import { toLambdaRecord } from '../../lib/local/stream-record.js';
import { encodeOutboxItems } from '../../lib/outbox/encode.js';
import type { OutboxMessage } from '../../lib/outbox/messages.js';
import { OUTBOX_SCHEMA, OUTBOX_STREAM_FILTER_PATTERN } from '../../lib/outbox/schema.js';
import { FIXTURE_ENTRY, testApp, testRunner } from './helpers.js';

// The pattern is taken from the synthesized template, not from the library: what Lambda will apply.
const stack = new Stack(testApp(), 'FilterPattern');
new TransactionalOutbox(stack, 'Outbox', { jobRunner: testRunner(stack), dispatcherEntry: FIXTURE_ENTRY });
const mapping = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping'))[0]!;
const filters = mapping.Properties.FilterCriteria.Filters as { Pattern: string }[];
const pattern = JSON.parse(filters[0]!.Pattern) as EventPattern;
/** Lambda event filtering: a record reaches the function when it matches any filter (here: the only one). */
const dispatched = (record: DynamoDBRecord): boolean => filters.some((f) => matchesPattern(JSON.parse(f.Pattern) as EventPattern, record));

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/2026-11-22T00:00:00.000';
let sequence = 1000;

/** A stream record as Lambda delivers it (NEW_IMAGE view: REMOVE records carry keys only). */
function record(eventName: 'INSERT' | 'MODIFY' | 'REMOVE', item: object, extra: Partial<DynamoDBRecord> = {}): DynamoDBRecord {
  const image = marshall(item as Record<string, unknown>, { removeUndefinedValues: true }) as NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
  const keys = { [OUTBOX_SCHEMA.partitionKey]: image[OUTBOX_SCHEMA.partitionKey]!, [OUTBOX_SCHEMA.sortKey]: image[OUTBOX_SCHEMA.sortKey]! };
  return {
    eventID: randomUUID(),
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    dynamodb: {
      ApproximateCreationDateTime: 1795000000,
      Keys: keys,
      ...(eventName === 'REMOVE' ? {} : { NewImage: image }),
      SequenceNumber: String(sequence++),
      SizeBytes: 200,
      StreamViewType: 'NEW_IMAGE',
    },
    eventSourceARN: STREAM_ARN,
    ...extra,
  };
}

const event = (type: string, data: unknown): OutboxMessage => ({
  kind: 'event',
  event: { specversion: '1.0', id: randomUUID(), source: 'orders', type, time: '2026-11-22T10:00:00.000Z', datacontenttype: 'application/json', data },
});
const scheduleJob = (key: string): OutboxMessage => ({
  kind: 'job.schedule',
  job: { jobId: randomUUID(), key, name: 'expire-unpaid-order', version: 1, payload: { orderId: key }, scheduleName: key },
  schedule: { at: '2026-11-22T10:15:00Z' },
  maxAttempts: 3,
});

const jobRecord = (key: string, status: JobRecord['jobStatus'], version: number): JobRecord => ({
  ...jobRecordKey(key),
  _kind: OUTBOX_SCHEMA.jobKind,
  jobId: randomUUID(),
  jobKey: key,
  jobName: 'expire-unpaid-order',
  payload: JSON.stringify({ orderId: key }),
  schedule: { at: '2026-11-22T10:15:00Z' },
  scheduleName: key,
  jobStatus: status,
  version,
  attempts: version - 1,
  maxAttempts: 3,
  createdAt: '2026-11-22T10:00:00.000Z',
  jobUpdatedAt: '2026-11-22T10:15:01.000Z',
  nextRunAt: '2026-11-22T10:15:00Z',
});

describe('the synthesized stream filter', () => {
  it('is OUTBOX_STREAM_FILTER_PATTERN, the one definition the library shares, and the only filter', () => {
    expect(filters).toHaveLength(1);
    expect(pattern).toEqual(OUTBOX_STREAM_FILTER_PATTERN);
  });

  it('passes the INSERT of every item encodeOutboxItems writes (any messages, any number of parts)', () => {
    const message = fc.oneof(
      fc.tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue()).map(([type, data]) => event(type, data)),
      fc.string({ minLength: 1, maxLength: 40 }).map(scheduleJob),
      fc.string({ minLength: 1, maxLength: 40 }).map((key): OutboxMessage => ({ kind: 'job.cancel', key, scheduleName: key })),
    );
    fc.assert(
      fc.property(fc.uuid(), fc.array(message, { minLength: 1, maxLength: 8 }), fc.integer({ min: 600, max: 4000 }), (commitId, messages, maxBytes) => {
        let items: Record<string, unknown>[];
        try {
          items = encodeOutboxItems({ commitId, messages, now: new Date('2026-11-22T10:00:00Z'), retentionSeconds: 604800, correlationId: 'req-1', maxMessagesBytes: maxBytes });
        } catch {
          return true; // a message larger than maxBytes is refused before any item exists
        }
        return items.length > 0 && items.every((item) => dispatched(record('INSERT', item)));
      }),
      { numRuns: 200 },
    );
  });

  it('rejects job records: their INSERT (uow.schedule) and every MODIFY (claim, retry, cancel)', () => {
    expect(dispatched(record('INSERT', jobRecord('expire-1', JOB_STATUS.SCHEDULED, 1)))).toBe(false);
    for (const status of Object.values(JOB_STATUS)) {
      expect(dispatched(record('MODIFY', { ...jobRecord('expire-1', status, 2), leaseUntil: 1795000000000 }))).toBe(false);
    }
  });

  it('rejects TTL deletes of outbox items and job records, and any other REMOVE or MODIFY', () => {
    const [item] = encodeOutboxItems({ commitId: randomUUID(), messages: [event('OrderPlaced', { orderId: '1' })], now: new Date(), retentionSeconds: 1 });
    const ttl = { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } as Partial<DynamoDBRecord>;
    expect(dispatched(record('INSERT', item!))).toBe(true); // the same item, inserted, does pass
    expect(dispatched(record('REMOVE', item!, ttl))).toBe(false);
    expect(dispatched(record('REMOVE', { ...jobRecord('expire-2', JOB_STATUS.SUCCEEDED, 2), ttl: 1 }, ttl))).toBe(false);
    expect(dispatched(record('REMOVE', item!))).toBe(false);
    expect(dispatched(record('MODIFY', item!))).toBe(false);
  });

  it('rejects items without the outbox marker', () => {
    expect(dispatched(record('INSERT', { pk: 'order#1', sk: 'order', status: 'PENDING' }))).toBe(false);
    expect(dispatched(record('INSERT', { pk: 'outbox#x', sk: 'part#001', _kind: 'Outbox', messages: '[]' }))).toBe(false);
    expect(dispatched(record('INSERT', { pk: 'outbox#x', sk: 'part#001', _kind: OUTBOX_SCHEMA.jobKind, messages: '[]' }))).toBe(false);
  });
});

describe('the synthesized stream filter on the records DynamoDB really emits', () => {
  const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG });
  const streams = new DynamoDBStreamsClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG });
  const tableName = `outbox-filter-${randomUUID()}`;
  let streamArn = '';

  beforeAll(async () => {
    ({ streamArn } = await createOutboxTable(client, tableName));
  });
  afterAll(() => {
    client.destroy();
    streams.destroy();
  });

  async function readStream(): Promise<_Record[]> {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    const records: _Record[] = [];
    for (const shard of StreamDescription?.Shards ?? []) {
      let { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      while (ShardIterator) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
        records.push(...(page.Records ?? []));
        if (!page.Records?.length) break;
        ShardIterator = page.NextShardIterator;
      }
    }
    return records;
  }

  it('passes only the outbox INSERTs of a commit, not the job record, its update or a delete', async () => {
    const commitId = randomUUID();
    const items = encodeOutboxItems({
      commitId,
      messages: [event('OrderPlaced', { orderId: '7', note: 'x'.repeat(700) }), scheduleJob('expire-7'), event('OrderNoted', { orderId: '7', note: 'y'.repeat(700) })],
      now: new Date(),
      retentionSeconds: 604800,
      maxMessagesBytes: 1200,
    });
    expect(items.length).toBeGreaterThan(1);
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          ...items.map((item) => ({ Put: { TableName: tableName, Item: marshall(item) } })),
          { Put: { TableName: tableName, Item: marshall(jobRecord('expire-7', JOB_STATUS.SCHEDULED, 1), { removeUndefinedValues: true }) } },
        ],
      }),
    );
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: marshall(jobRecordKey('expire-7')),
        UpdateExpression: 'SET jobStatus = :running, version = version + :one',
        ExpressionAttributeValues: marshall({ ':running': JOB_STATUS.RUNNING, ':one': 1 }),
      }),
    );
    await client.send(new DeleteItemCommand({ TableName: tableName, Key: marshall({ pk: items[0]!.pk, sk: items[0]!.sk }) }));

    const lambdaRecords = (await readStream()).map((r) => toLambdaRecord(r, streamArn, 'eu-west-1'));
    expect(lambdaRecords.map((r) => r.eventName).sort()).toEqual([...items.map(() => 'INSERT'), 'INSERT', 'MODIFY', 'REMOVE'].sort());
    const passed = lambdaRecords.filter(dispatched).map((r) => `${r.eventName} ${r.dynamodb?.Keys?.pk?.S} ${r.dynamodb?.Keys?.sk?.S}`);
    expect(passed.sort()).toEqual(items.map((item) => `INSERT ${item.pk} ${item.sk}`).sort());
  });
});
