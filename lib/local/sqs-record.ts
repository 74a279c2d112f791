/**
 * What an SQS queue behind an EventBridge rule hands its Lambda consumer: an `SQSRecord` whose body is the
 * EventBridge event as JSON. For feeding `inboxConsumer` from the local EventBridge and in tests.
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';

/** Options of {@link sqsRecordOf}. */
export interface SqsRecordOptions {
  /** @default a new UUID (a redelivery of the same message keeps it) */
  readonly messageId?: string;
  /** FIFO queues: the message group. */
  readonly groupId?: string;
  /** @default 1 */
  readonly receiveCount?: number;
  /** @default 'arn:aws:sqs:us-east-1:000000000000:local-queue' */
  readonly queueArn?: string;
}

/** An `SQSRecord` holding `body` (a string as it is, anything else as JSON). */
export function sqsRecordOf(body: unknown, options: SqsRecordOptions = {}): SQSRecord {
  const now = String(Date.now());
  const messageId = options.messageId ?? randomUUID();
  return {
    messageId,
    receiptHandle: randomUUID(),
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'events.amazonaws.com',
      ApproximateFirstReceiveTimestamp: now,
      ...(options.groupId
        ? { MessageGroupId: options.groupId, MessageDeduplicationId: messageId, SequenceNumber: now }
        : {}),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn ?? 'arn:aws:sqs:us-east-1:000000000000:local-queue',
    awsRegion: 'us-east-1',
  };
}
