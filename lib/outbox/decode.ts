import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { OutboxItem, OutboxMessage } from './messages.js';
import { OUTBOX_SCHEMA } from './schema.js';

/** An outbox item that cannot be decoded; `reason` says what is wrong with it. */
export class MalformedOutboxItemError extends Error {
  constructor(
    readonly reason: string,
    readonly key?: { pk?: unknown; sk?: unknown },
  ) {
    super(`malformed outbox item ${key ? `(pk=${String(key.pk)}, sk=${String(key.sk)})` : ''}: ${reason}`);
    this.name = 'MalformedOutboxItemError';
  }
}

const KINDS = new Set(['event', 'job.schedule', 'job.reschedule', 'job.cancel']);

function checkMessage(m: unknown, i: number): asserts m is OutboxMessage {
  if (typeof m !== 'object' || m === null) throw new Error(`message #${i} is not an object`);
  const kind = (m as { kind?: unknown }).kind;
  if (typeof kind !== 'string' || !KINDS.has(kind))
    throw new Error(`message #${i} has unknown kind ${JSON.stringify(kind)}`);
  const msg = m as Record<string, any>;
  if (kind === 'event') {
    const e = msg.event;
    if (
      !e ||
      typeof e.id !== 'string' ||
      typeof e.type !== 'string' ||
      !e.type ||
      typeof e.source !== 'string' ||
      typeof e.time !== 'string'
    )
      throw new Error(`message #${i} (event) lacks id, type, source or time`);
  } else if (kind === 'job.schedule') {
    const j = msg.job;
    if (
      !j ||
      typeof j.jobId !== 'string' ||
      typeof j.key !== 'string' ||
      typeof j.name !== 'string' ||
      typeof j.scheduleName !== 'string' ||
      typeof j.version !== 'number'
    )
      throw new Error(`message #${i} (job.schedule) lacks jobId, key, name, scheduleName or version`);
    if (!msg.schedule || typeof msg.schedule !== 'object')
      throw new Error(`message #${i} (job.schedule) has no schedule`);
  } else {
    if (typeof msg.key !== 'string' || typeof msg.scheduleName !== 'string')
      throw new Error(`message #${i} (${kind}) lacks key or scheduleName`);
    if (kind === 'job.reschedule' && ((msg.version !== undefined && typeof msg.version !== 'number') || !msg.schedule))
      throw new Error(`message #${i} (job.reschedule) lacks schedule or has a non-numeric version`);
  }
}

/** Decodes an already unmarshalled outbox item. Throws {@link MalformedOutboxItemError}. */
export function decodeOutboxItem(item: Record<string, unknown>): OutboxItem {
  const key = { pk: item[OUTBOX_SCHEMA.partitionKey], sk: item[OUTBOX_SCHEMA.sortKey] };
  if (item[OUTBOX_SCHEMA.kindAttribute] !== OUTBOX_SCHEMA.outboxKind)
    throw new MalformedOutboxItemError('not an outbox item', key);
  if (typeof item.messages !== 'string')
    throw new MalformedOutboxItemError('attribute "messages" is missing or not a string', key);
  let messages: unknown;
  try {
    messages = JSON.parse(item.messages);
  } catch (error) {
    throw new MalformedOutboxItemError(`"messages" is not JSON (${(error as Error).message})`, key);
  }
  if (!Array.isArray(messages)) throw new MalformedOutboxItemError('"messages" is not a JSON array', key);
  try {
    messages.forEach(checkMessage);
  } catch (error) {
    throw new MalformedOutboxItemError((error as Error).message, key);
  }
  return {
    pk: String(key.pk),
    sk: String(key.sk),
    commitId: String(item.commitId ?? ''),
    part: Number(item.part ?? 1),
    parts: Number(item.parts ?? 1),
    correlationId: typeof item.correlationId === 'string' ? item.correlationId : undefined,
    createdAt: String(item.createdAt ?? ''),
    ttl: Number(item[OUTBOX_SCHEMA.ttlAttribute] ?? 0),
    messages: messages as OutboxMessage[],
  };
}

/** Decodes a stream record's `NewImage` (DynamoDB JSON). Throws {@link MalformedOutboxItemError}. */
export function decodeOutboxImage(image: Record<string, AttributeValue> | undefined): OutboxItem {
  if (!image)
    throw new MalformedOutboxItemError('the stream record has no NewImage (is the stream view type NEW_IMAGE?)');
  let item: Record<string, unknown>;
  try {
    item = unmarshall(image);
  } catch (error) {
    throw new MalformedOutboxItemError(`NewImage cannot be unmarshalled (${(error as Error).message})`);
  }
  return decodeOutboxItem(item);
}
