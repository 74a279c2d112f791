/**
 * The inbox's dedup record: one item per consumer and message key, in a table with the outbox table's key
 * schema (by default the outbox table itself; its `_kind` keeps it out of the dispatcher's stream filter).
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OUTBOX_SCHEMA } from '../outbox/schema.js';
import type { UowPutInput } from '../unit-of-work/types.js';

/** Attribute values of inbox records. */
export const INBOX_RECORD = {
  /** Value of the `_kind` attribute. */
  kind: 'inbox',
  /** Sort key value. */
  sortKey: 'inbox',
  /** Label of the record's Put in the commit (and in a `ConditionFailedError`). */
  label: 'inbox record',
  /** Default time a dedup record is kept: 14 days, SQS's longest message retention. */
  defaultDedupSeconds: 14 * 24 * 60 * 60,
} as const;

/** Key of the inbox record of `messageKey` for the consumer `consumer`. */
export function inboxRecordKey(consumer: string, messageKey: string): { pk: string; sk: string } {
  return {
    [OUTBOX_SCHEMA.partitionKey]: `inbox#${consumer}#${messageKey}`,
    [OUTBOX_SCHEMA.sortKey]: INBOX_RECORD.sortKey,
  } as { pk: string; sk: string };
}

/** The conditional Put of an inbox record: it fails while a live record with the key exists. */
export function inboxRecordPut(
  table: string,
  key: { pk: string; sk: string },
  data: { consumer: string; messageKey: string; commitId: string; nowMs: number; dedupSeconds: number },
): UowPutInput {
  const now = Math.floor(data.nowMs / 1000);
  return {
    TableName: table,
    Item: {
      ...key,
      [OUTBOX_SCHEMA.kindAttribute]: INBOX_RECORD.kind,
      consumer: data.consumer,
      messageKey: data.messageKey,
      commitId: data.commitId,
      handledAt: new Date(data.nowMs).toISOString(),
      [OUTBOX_SCHEMA.ttlAttribute]: now + data.dedupSeconds,
    },
    // A record past its TTL that DynamoDB has not deleted yet no longer counts.
    ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
    ExpressionAttributeNames: { '#pk': OUTBOX_SCHEMA.partitionKey, '#ttl': OUTBOX_SCHEMA.ttlAttribute },
    ExpressionAttributeValues: { ':now': now },
    label: INBOX_RECORD.label,
  };
}

/** Whether a live inbox record exists for the key (consistent read). */
export async function hasInboxRecord(
  client: DynamoDBDocumentClient,
  table: string,
  key: { pk: string; sk: string },
  nowMs = Date.now(),
): Promise<boolean> {
  const { Item } = await client.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
  return Item !== undefined && Number(Item[OUTBOX_SCHEMA.ttlAttribute]) >= Math.floor(nowMs / 1000);
}
