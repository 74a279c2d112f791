/**
 * `redrive stream-dlq`: the outbox dispatcher's on-failure destination holds Lambda's invocation records
 * (stream coordinates, not items). For each one the stream records in that range are read, each outbox item is
 * loaded from the table by its key (consistent read) and handed to the dispatcher again; the message is deleted
 * only when every item was dispatched. Safe to repeat: events keep their ids, schedules have deterministic names
 * and converge to the job record.
 */
import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { Message } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { tableNameFromStreamArn } from '../dispatch/config.js';
import { toLambdaImage } from '../local/stream-record.js';
import { OUTBOX_KEYS, OUTBOX_SCHEMA } from '../outbox/schema.js';
import { redriveQueue, type DlqOptions, type RedriveSummary } from './dlq.js';

/** Lambda's `DDBStreamBatchInfo` of an on-failure record. */
export interface StreamBatchInfo {
  readonly shardId: string;
  readonly startSequenceNumber: string;
  readonly endSequenceNumber: string;
  readonly streamArn: string;
  readonly batchSize?: number;
}

/** Options of {@link redriveStreamDlq}. */
export interface StreamDlqRedriveOptions extends DlqOptions {
  /** The outbox dispatcher (an `outboxDispatcher(...)` handler) that dispatches the items again. */
  readonly dispatcher: (event: DynamoDBStreamEvent, context?: Context) => Promise<DynamoDBBatchResponse>;
  readonly streams: DynamoDBStreamsClient;
  readonly dynamodb: DynamoDBClient;
  /** @default the table of the record's stream ARN */
  readonly outboxTable?: string;
}

/** What happened to one on-failure message. */
export interface StreamDlqReport {
  readonly messageId: string;
  readonly outcome: 'dispatched' | 'would-dispatch' | 'failed' | 'incomplete' | 'unreadable';
  readonly shardId?: string;
  readonly range?: string;
  /** Outbox items found at the coordinates (keys `pk/sk`). */
  readonly items: readonly string[];
  /** Items no longer in the table (expired by TTL): they cannot be dispatched again. */
  readonly missing: readonly string[];
  readonly reason?: string;
}

/** Parses an on-failure message body; `undefined` when it is not Lambda's stream on-failure record. */
export function streamBatchInfoOf(body: string | undefined): StreamBatchInfo | undefined {
  try {
    const info = (JSON.parse(body ?? '') as { DDBStreamBatchInfo?: Partial<StreamBatchInfo> }).DDBStreamBatchInfo;
    return info &&
      typeof info.shardId === 'string' &&
      typeof info.startSequenceNumber === 'string' &&
      typeof info.endSequenceNumber === 'string' &&
      typeof info.streamArn === 'string'
      ? (info as StreamBatchInfo)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The stream records from `start` to `end` (inclusive) of one shard. */
export async function readStreamRange(streams: DynamoDBStreamsClient, info: StreamBatchInfo): Promise<StreamRecord[]> {
  const end = BigInt(info.endSequenceNumber);
  let iterator = (
    await streams.send(
      new GetShardIteratorCommand({
        StreamArn: info.streamArn,
        ShardId: info.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: info.startSequenceNumber,
      }),
    )
  ).ShardIterator;
  const records: StreamRecord[] = [];
  for (let page = 0; iterator && page < 10_000; page++) {
    const out = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    for (const r of out.Records ?? []) {
      if (BigInt(r.dynamodb?.SequenceNumber ?? '0') > end) return records;
      records.push(r);
    }
    if ((out.Records ?? []).length === 0) break; // an open shard with nothing more: the range is read
    iterator = out.NextShardIterator;
  }
  return records;
}

const keyText = (key: Record<string, AttributeValue>): string =>
  `${key[OUTBOX_SCHEMA.partitionKey]?.S ?? '?'}/${key[OUTBOX_SCHEMA.sortKey]?.S ?? '?'}`;

/** The INSERTs of outbox items among stream records (the only ones the dispatcher acts on), one per key. */
function outboxKeys(records: readonly StreamRecord[]): Record<string, AttributeValue>[] {
  const keys = new Map<string, Record<string, AttributeValue>>();
  for (const r of records) {
    const key = r.dynamodb?.Keys as Record<string, AttributeValue> | undefined;
    if (r.eventName === 'INSERT' && key?.[OUTBOX_SCHEMA.partitionKey]?.S?.startsWith(OUTBOX_KEYS.outboxPk('')))
      keys.set(keyText(key), key);
  }
  return [...keys.values()];
}

/** A stream record as Lambda would deliver it, built from the item as it is in the table now. */
function insertRecord(
  info: StreamBatchInfo,
  key: Record<string, AttributeValue>,
  item: Record<string, AttributeValue>,
  index: number,
): DynamoDBRecord {
  return {
    eventID: `redrive-${info.shardId}-${index}`,
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: info.streamArn.split(':')[3] ?? 'us-east-1',
    eventSourceARN: info.streamArn,
    dynamodb: {
      Keys: toLambdaImage(key as never),
      NewImage: toLambdaImage(item as never),
      SequenceNumber: `${info.startSequenceNumber}-${index}`,
      StreamViewType: 'NEW_IMAGE',
      ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
    },
  } as DynamoDBRecord;
}

/**
 * Redrives the outbox dispatcher's on-failure destination queue: see the module comment. A message that is not
 * an on-failure record, whose items are partly gone, or whose dispatch failed again is kept (and reported).
 *
 * @example
 * ```ts
 * const summary = await redriveStreamDlq({ sqs, queueUrl, streams, dynamodb, dispatcher: outboxDispatcher() });
 * console.log(summary.deleted, summary.kept);
 * ```
 */
export async function redriveStreamDlq(options: StreamDlqRedriveOptions): Promise<RedriveSummary<StreamDlqReport>> {
  return redriveQueue<StreamDlqReport>(options, async (message: Message) => {
    const messageId = message.MessageId!;
    const info = streamBatchInfoOf(message.Body);
    if (!info)
      return {
        delete: false,
        report: {
          messageId,
          outcome: 'unreadable',
          items: [],
          missing: [],
          reason: 'not a Lambda stream on-failure record (no DDBStreamBatchInfo)',
        },
      };
    const where = { shardId: info.shardId, range: `${info.startSequenceNumber}..${info.endSequenceNumber}` };
    let records: StreamRecord[];
    try {
      records = await readStreamRange(options.streams, info);
    } catch (error) {
      return {
        delete: false,
        report: {
          messageId,
          ...where,
          outcome: 'unreadable',
          items: [],
          missing: [],
          reason: `the stream records cannot be read: ${(error as Error).message}`,
        },
      };
    }
    const table = options.outboxTable ?? tableNameFromStreamArn(info.streamArn);
    const keys = outboxKeys(records);
    const loaded = await Promise.all(
      keys.map(async (key) => ({
        key,
        item: (await options.dynamodb.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true })))
          .Item,
      })),
    );
    const items = loaded.map((l) => keyText(l.key));
    const missing = loaded.filter((l) => !l.item).map((l) => keyText(l.key));
    if (missing.length > 0)
      return {
        delete: false,
        report: {
          messageId,
          ...where,
          outcome: 'incomplete',
          items,
          missing,
          reason: `${missing.length} of ${keys.length} outbox items are no longer in the table`,
        },
      };
    if (options.dryRun)
      return { delete: false, report: { messageId, ...where, outcome: 'would-dispatch', items, missing } };
    const event: DynamoDBStreamEvent = { Records: loaded.map((l, i) => insertRecord(info, l.key, l.item!, i)) };
    const response = await options.dispatcher(event);
    const failed = response.batchItemFailures
      .map((f) => event.Records.find((r) => r.dynamodb?.SequenceNumber === f.itemIdentifier))
      .map((r) => (r ? keyText(r.dynamodb!.Keys as never) : '?'));
    if (failed.length > 0)
      return {
        delete: false,
        report: {
          messageId,
          ...where,
          outcome: 'failed',
          items,
          missing,
          reason: `not dispatched: ${failed.join(', ')}`,
        },
      };
    return { delete: true, report: { messageId, ...where, outcome: 'dispatched', items, missing } };
  });
}
