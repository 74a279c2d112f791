import { randomUUID } from 'node:crypto';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { encodeOutboxItems } from '../../lib/outbox/encode.js';
import type { OutboxMessage } from '../../lib/outbox/messages.js';

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
  const image = marshall(item!) as NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;
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
