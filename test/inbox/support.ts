import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { sqsRecordOf as toSqsRecord } from '../../lib/local/sqs-record.js';
import type { CloudEvent } from '../../lib/outbox/messages.js';

/** A CloudEvent as the dispatcher publishes it (detail of the EventBridge event). */
export function cloudEvent<T>(type: string, data: T, extra: Partial<CloudEvent> = {}): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: randomUUID(),
    source: 'orders',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
    ...extra,
  } as CloudEvent<T>;
}

/** What an SQS queue behind an EventBridge rule holds: the EventBridge event as JSON body. */
export function sqsRecordOf(event: CloudEvent, options: { messageId?: string; groupId?: string } = {}): SQSRecord {
  const bridge = {
    version: '0',
    id: randomUUID(),
    'detail-type': event.type,
    source: event.source,
    account: '123456789012',
    time: event.time,
    region: 'us-east-1',
    resources: [],
    detail: event,
  };
  return toSqsRecord(bridge, options);
}

/** Resolves once `parties` callers wait on it: forces concurrent duplicates past their dedup read together. */
export function barrier(parties: number): () => Promise<void> {
  let waiting = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return () => {
    if (++waiting >= parties) release();
    return all;
  };
}
