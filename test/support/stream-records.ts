import { randomUUID } from 'node:crypto';
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { encodeOutboxItems } from '../../lib/outbox/encode.js';
import type { OutboxMessage } from '../../lib/outbox/messages.js';
import { OUTBOX_KEYS } from '../../lib/outbox/schema.js';

/**
 * The Lambda stream record (INSERT, NEW_IMAGE) of the outbox item a commit of `messages` writes, without
 * writing it anywhere: for calling the dispatcher directly. Each call is its own commit (its own pk).
 */
export function outboxStreamRecord(
  streamArn: string,
  messages: OutboxMessage[],
  sequenceNumber: string,
  overrides: Partial<DynamoDBRecord> = {},
): DynamoDBRecord {
  const [item] = encodeOutboxItems({ commitId: randomUUID(), messages, now: new Date(), retentionSeconds: 3600 });
  return insertRecord(streamArn, marshall(item!) as StreamImage, sequenceNumber, overrides);
}

type StreamImage = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

/**
 * The Lambda stream record (INSERT, NEW_IMAGE) of the outbox item a real commit wrote (its first part, read
 * back from the table): what the stream delivers for commit `commitId`, with its real `createdAt`.
 */
export async function committedStreamRecord(
  client: DynamoDBClient,
  table: string,
  streamArn: string,
  commitId: string,
  sequenceNumber: string,
): Promise<DynamoDBRecord> {
  const key = { pk: { S: OUTBOX_KEYS.outboxPk(commitId) }, sk: { S: OUTBOX_KEYS.outboxSk(1) } };
  const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
  if (!Item) throw new Error(`commit ${commitId} wrote no outbox item`);
  return insertRecord(streamArn, Item as StreamImage, sequenceNumber);
}

function insertRecord(
  streamArn: string,
  image: StreamImage,
  sequenceNumber: string,
  overrides: Partial<DynamoDBRecord> = {},
): DynamoDBRecord {
  return {
    eventID: randomUUID(),
    eventName: 'INSERT',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: streamArn,
    dynamodb: {
      Keys: { pk: image.pk!, sk: image.sk! },
      NewImage: image,
      SequenceNumber: sequenceNumber,
      StreamViewType: 'NEW_IMAGE',
    },
    ...overrides,
  };
}
