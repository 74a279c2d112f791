import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  DeleteItemCommand,
  DynamoDBClient,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import { marshall } from '@aws-sdk/util-dynamodb';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { TransactionalOutbox } from '../../cdk/index.js';
import { JOB_STATUS, type JobRecord, jobRecordKey } from '../../lib/job-record/record.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { type EventPattern, matchesPattern } from '../../lib/local/event-pattern.js';
import { createOutboxTable } from '../../lib/local/outbox-table.js';
import { toLambdaRecord } from '../../lib/local/stream-record.js';
import { encodeOutboxItems } from '../../lib/outbox/encode.js';
import type { OutboxMessage } from '../../lib/outbox/messages.js';
import { newJobRecord } from '../../lib/job-record/writes.js';
import {
  OUTBOX_SCHEMA,
  OUTBOX_STREAM_FILTER_PATTERN,
  originRegion,
  originRegionFilterPattern,
} from '../../lib/outbox/schema.js';
import { FIXTURE_ENTRY, testApp, testRunner } from './helpers.js';

// The pattern is taken from the synthesized template, not from the library: what Lambda will apply.
const stack = new Stack(testApp(), 'FilterPattern');
new TransactionalOutbox(stack, 'Outbox', { jobRunner: testRunner(stack), dispatcherEntry: FIXTURE_ENTRY });
const mapping = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping'))[0]!;
const filters = mapping.Properties.FilterCriteria.Filters as { Pattern: string }[];
const pattern = JSON.parse(filters[0]!.Pattern) as EventPattern;
/** Lambda event filtering: a record reaches the function when it matches any filter (here: the only one). */
const dispatched = (record: DynamoDBRecord): boolean =>
  filters.some((f) => matchesPattern(JSON.parse(f.Pattern) as EventPattern, record));

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/2026-11-22T00:00:00.000';
let sequence = 1000;

/** A stream record as Lambda delivers it (NEW_IMAGE view: REMOVE records carry keys only). */
function record(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  item: object,
  extra: Partial<DynamoDBRecord> = {},
): DynamoDBRecord {
  const image = marshall(item as Record<string, unknown>, { removeUndefinedValues: true }) as NonNullable<
    NonNullable<DynamoDBRecord['dynamodb']>['NewImage']
  >;
  const keys = {
    [OUTBOX_SCHEMA.partitionKey]: image[OUTBOX_SCHEMA.partitionKey]!,
    [OUTBOX_SCHEMA.sortKey]: image[OUTBOX_SCHEMA.sortKey]!,
  };
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
  event: {
    specversion: '1.0',
    id: randomUUID(),
    source: 'orders',
    type,
    time: '2026-11-22T10:00:00.000Z',
    datacontenttype: 'application/json',
    data,
  },
});
const scheduleJob = (key: string): OutboxMessage => ({
  kind: 'job.schedule',
  job: {
    jobId: randomUUID(),
    key,
    name: 'expire-unpaid-order',
    version: 1,
    payload: { orderId: key },
    scheduleName: key,
  },
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
      fc
        .string({ minLength: 1, maxLength: 40 })
        .map((key): OutboxMessage => ({ kind: 'job.cancel', key, scheduleName: key })),
    );
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 600, max: 4000 }),
        (commitId, messages, maxBytes) => {
          let items: Record<string, unknown>[];
          try {
            items = encodeOutboxItems({
              commitId,
              messages,
              now: new Date('2026-11-22T10:00:00Z'),
              retentionSeconds: 604800,
              correlationId: 'req-1',
              maxMessagesBytes: maxBytes,
            });
          } catch {
            return true; // a message larger than maxBytes is refused before any item exists
          }
          return items.length > 0 && items.every((item) => dispatched(record('INSERT', item)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('rejects job records: their INSERT (uow.schedule) and every MODIFY (claim, retry, cancel)', () => {
    expect(dispatched(record('INSERT', jobRecord('expire-1', JOB_STATUS.SCHEDULED, 1)))).toBe(false);
    for (const status of Object.values(JOB_STATUS)) {
      expect(dispatched(record('MODIFY', { ...jobRecord('expire-1', status, 2), leaseUntil: 1795000000000 }))).toBe(
        false,
      );
    }
  });

  it('rejects TTL deletes of outbox items and job records, and any other REMOVE or MODIFY', () => {
    const [item] = encodeOutboxItems({
      commitId: randomUUID(),
      messages: [event('OrderPlaced', { orderId: '1' })],
      now: new Date(),
      retentionSeconds: 1,
    });
    const ttl = { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } as Partial<DynamoDBRecord>;
    expect(dispatched(record('INSERT', item!))).toBe(true); // the same item, inserted, does pass
    expect(dispatched(record('REMOVE', item!, ttl))).toBe(false);
    expect(dispatched(record('REMOVE', { ...jobRecord('expire-2', JOB_STATUS.SUCCEEDED, 2), ttl: 1 }, ttl))).toBe(
      false,
    );
    expect(dispatched(record('REMOVE', item!))).toBe(false);
    expect(dispatched(record('MODIFY', item!))).toBe(false);
  });

  it('rejects items without the outbox marker', () => {
    expect(dispatched(record('INSERT', { pk: 'order#1', sk: 'order', status: 'PENDING' }))).toBe(false);
    expect(dispatched(record('INSERT', { pk: 'outbox#x', sk: 'part#001', _kind: 'Outbox', messages: '[]' }))).toBe(
      false,
    );
    expect(
      dispatched(record('INSERT', { pk: 'outbox#x', sk: 'part#001', _kind: OUTBOX_SCHEMA.jobKind, messages: '[]' })),
    ).toBe(false);
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
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        }),
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
      messages: [
        event('OrderPlaced', { orderId: '7', note: 'x'.repeat(700) }),
        scheduleJob('expire-7'),
        event('OrderNoted', { orderId: '7', note: 'y'.repeat(700) }),
      ],
      now: new Date(),
      retentionSeconds: 604800,
      maxMessagesBytes: 1200,
    });
    expect(items.length).toBeGreaterThan(1);
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          ...items.map((item) => ({ Put: { TableName: tableName, Item: marshall(item) } })),
          {
            Put: {
              TableName: tableName,
              Item: marshall(jobRecord('expire-7', JOB_STATUS.SCHEDULED, 1), { removeUndefinedValues: true }),
            },
          },
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
    await client.send(
      new DeleteItemCommand({ TableName: tableName, Key: marshall({ pk: items[0]!.pk, sk: items[0]!.sk }) }),
    );

    const lambdaRecords = (await readStream()).map((r) => toLambdaRecord(r, streamArn, 'eu-west-1'));
    expect(lambdaRecords.map((r) => r.eventName).sort()).toEqual(
      [...items.map(() => 'INSERT'), 'INSERT', 'MODIFY', 'REMOVE'].sort(),
    );
    const passed = lambdaRecords
      .filter(dispatched)
      .map((r) => `${r.eventName} ${r.dynamodb?.Keys?.pk?.S} ${r.dynamodb?.Keys?.sk?.S}`);
    expect(passed.sort()).toEqual(items.map((item) => `INSERT ${item.pk} ${item.sk}`).sort());
  });
});

describe('global tables: only the origin region dispatches', () => {
  /** The filters of a construct deployed with `globalTable` in `region`, as synthesized. */
  const filtersIn = (region: string) => {
    const s = new Stack(testApp(), `Global${region.replace(/-/g, '')}`, { env: { account: '123456789012', region } });
    new TransactionalOutbox(s, 'Outbox', {
      jobRunner: testRunner(s),
      dispatcherEntry: FIXTURE_ENTRY,
      globalTable: true,
    });
    const m = Object.values(Template.fromStack(s).findResources('AWS::Lambda::EventSourceMapping'))[0]!;
    const found = (m.Properties.FilterCriteria.Filters as { Pattern: string }[]).map(
      (f) => JSON.parse(f.Pattern) as EventPattern,
    );
    return { patterns: found, passes: (r: DynamoDBRecord) => found.some((p) => matchesPattern(p, r)) };
  };
  /** An outbox item as a writer in `region` commits it (the caller sets AWS_REGION through `withRegion`). */
  const writtenIn = (_region: string | undefined) =>
    encodeOutboxItems({
      commitId: randomUUID(),
      messages: [event('OrderPlaced', { orderId: '1' })],
      now: new Date(),
      retentionSeconds: 60,
    })[0]!;
  const withRegion = <T>(region: string | undefined, fn: () => T): T => {
    const saved = process.env.AWS_REGION;
    if (region === undefined) delete process.env.AWS_REGION;
    else process.env.AWS_REGION = region;
    try {
      return fn();
    } finally {
      if (saved === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved;
    }
  };

  it('stamps the writing region (AWS_REGION) on outbox items and job records', () => {
    const item = withRegion('eu-west-1', () => writtenIn('eu-west-1'));
    expect(item[OUTBOX_SCHEMA.regionAttribute]).toBe('eu-west-1');
    expect(withRegion(undefined, () => writtenIn(undefined))[OUTBOX_SCHEMA.regionAttribute]).toBeUndefined();
    const job = withRegion('eu-west-1', () =>
      newJobRecord({
        jobId: 'j',
        key: 'k',
        name: 'n',
        payloadJson: '{}',
        schedule: { at: '2026-12-01T00:00:00Z' },
        scheduleName: 'k',
        maxAttempts: 1,
        nowIso: '2026-12-01T00:00:00Z',
      }),
    ) as unknown as Record<string, unknown>;
    expect(job[OUTBOX_SCHEMA.regionAttribute]).toBe('eu-west-1');
  });

  it('is originRegionFilterPattern of the stack region, and lets each replica take only its own commits', () => {
    const europe = filtersIn('eu-west-1');
    const america = filtersIn('us-east-1');
    expect(europe.patterns).toEqual([originRegionFilterPattern('eu-west-1')]);
    const fromEurope = record(
      'INSERT',
      withRegion('eu-west-1', () => writtenIn('eu-west-1')),
    );
    const fromAmerica = record(
      'INSERT',
      withRegion('us-east-1', () => writtenIn('us-east-1')),
    );
    const unstamped = record(
      'INSERT',
      withRegion(undefined, () => writtenIn(undefined)),
    );
    expect([europe.passes(fromEurope), europe.passes(fromAmerica), europe.passes(unstamped)]).toEqual([
      true,
      false,
      false,
    ]);
    expect([america.passes(fromEurope), america.passes(fromAmerica)]).toEqual([false, true]);
    // Without globalTable the filter does not look at the region (single-region tables, items of any version).
    expect([fromEurope, fromAmerica, unstamped].every(dispatched)).toBe(true);
  });

  it('on the records DynamoDB Local emits: each region passes exactly its own outbox INSERTs, never a job record', async () => {
    const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG });
    const streams = new DynamoDBStreamsClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG });
    try {
      const { streamArn, tableName } = await createOutboxTable(client, `outbox-global-${randomUUID()}`);
      // What replication does: the same table receives the commits of both regions.
      for (const region of ['eu-west-1', 'us-east-1']) {
        const item = withRegion(region, () => writtenIn(region));
        const job = withRegion(region, () => ({
          ...jobRecord(`expire-${region}`, JOB_STATUS.SCHEDULED, 1),
          [OUTBOX_SCHEMA.regionAttribute]: originRegion(),
        }));
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: tableName, Item: marshall(item) } },
              { Put: { TableName: tableName, Item: marshall(job, { removeUndefinedValues: true }) } },
            ],
          }),
        );
      }
      const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
      const raw: _Record[] = [];
      for (const shard of StreamDescription?.Shards ?? []) {
        const it0 = await streams.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shard.ShardId,
            ShardIteratorType: 'TRIM_HORIZON',
          }),
        );
        let iterator = it0.ShardIterator;
        while (iterator) {
          const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
          raw.push(...(page.Records ?? []));
          if (!page.Records?.length) break;
          iterator = page.NextShardIterator;
        }
      }
      const records = raw.map((r) => toLambdaRecord(r, streamArn, 'eu-west-1'));
      expect(records).toHaveLength(4);
      for (const region of ['eu-west-1', 'us-east-1']) {
        const passed = records.filter(filtersIn(region).passes);
        expect(passed.map((r) => r.dynamodb?.NewImage?.[OUTBOX_SCHEMA.regionAttribute]?.S)).toEqual([region]);
        expect(passed.map((r) => r.dynamodb?.NewImage?._kind?.S)).toEqual(['outbox']);
      }
    } finally {
      client.destroy();
      streams.destroy();
    }
  });
});
