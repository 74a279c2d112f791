import { isoTime } from '../iso-time.js';
import { itemSize } from '../dynamodb/size.js';
import type { OutboxMessage } from './messages.js';
import { OUTBOX_KEYS, OUTBOX_SCHEMA, originRegion } from './schema.js';

/** Largest `messages` JSON text per outbox item: 400 KB minus room for the other attributes. */
export const MAX_MESSAGES_BYTES_PER_ITEM = 400 * 1024 - 2 * 1024;

/** Inputs of {@link encodeOutboxItems}. */
export interface EncodeOutboxInput {
  readonly commitId: string;
  readonly messages: readonly OutboxMessage[];
  /** The messages already serialized (same order), to avoid serializing twice. */
  readonly messageJson?: readonly string[];
  /** UTF-8 bytes of each of `messageJson` (same order), to avoid measuring twice. */
  readonly messageBytes?: readonly number[];
  readonly now: Date;
  /** Seconds after `now` when DynamoDB's TTL may remove the items. */
  readonly retentionSeconds: number;
  readonly correlationId?: string;
  /** @default MAX_MESSAGES_BYTES_PER_ITEM */
  readonly maxMessagesBytes?: number;
}

/** A message whose own JSON is too large for any outbox item. */
export class OversizedMessageError extends Error {
  constructor(
    readonly index: number,
    readonly bytes: number,
    readonly maximum: number,
  ) {
    super(`outbox message #${index} is ${bytes} bytes, more than the ${maximum} an outbox item can hold`);
  }
}

/** An outbox item with its size by DynamoDB's rules, counted from the message sizes (the JSON is not re-read). */
export interface SizedOutboxItem {
  readonly item: Record<string, unknown>;
  readonly bytes: number;
}

/**
 * Packs the messages of one commit, in order, into as few outbox items as their size allows (normally
 * one). Pure: no I/O, no clock; the same input gives the same items. Each item holds its messages as one
 * JSON array string in `messages`.
 */
export function encodeOutboxItems(input: EncodeOutboxInput): Record<string, unknown>[] {
  return encodeSizedOutboxItems(input).map((sized) => sized.item);
}

/** {@link encodeOutboxItems} with each item's size: each message is measured once, its bytes summed. */
export function encodeSizedOutboxItems(input: EncodeOutboxInput): SizedOutboxItem[] {
  const max = input.maxMessagesBytes ?? MAX_MESSAGES_BYTES_PER_ITEM;
  const groups: { jsons: string[]; bytes: number }[] = [];
  let current: string[] = [];
  let currentBytes = 2; // "[" and "]"
  input.messages.forEach((message, index) => {
    const json = input.messageJson?.[index] ?? JSON.stringify(message);
    const bytes = input.messageBytes?.[index] ?? Buffer.byteLength(json, 'utf8');
    if (bytes + 2 > max) throw new OversizedMessageError(index, bytes, max - 2);
    const added = bytes + (current.length > 0 ? 1 : 0);
    if (current.length > 0 && currentBytes + added > max) {
      groups.push({ jsons: current, bytes: currentBytes });
      current = [];
      currentBytes = 2;
    }
    currentBytes += bytes + (current.length > 0 ? 1 : 0);
    current.push(json);
  });
  if (current.length > 0) groups.push({ jsons: current, bytes: currentBytes });

  const createdAt = isoTime(input.now.getTime());
  const ttl = Math.floor(input.now.getTime() / 1000) + input.retentionSeconds;
  const region = originRegion();
  // Built by assignment in one fixed order (no spreads of computed keys): it runs for every commit.
  return groups.map(({ jsons, bytes }, i) => {
    const item: Record<string, unknown> = {};
    item[OUTBOX_SCHEMA.partitionKey] = OUTBOX_KEYS.outboxPk(input.commitId);
    item[OUTBOX_SCHEMA.sortKey] = OUTBOX_KEYS.outboxSk(i + 1);
    item[OUTBOX_SCHEMA.kindAttribute] = OUTBOX_SCHEMA.outboxKind;
    if (region) item[OUTBOX_SCHEMA.regionAttribute] = region;
    item.commitId = input.commitId;
    item.part = i + 1;
    item.parts = groups.length;
    if (input.correlationId) item.correlationId = input.correlationId;
    item.createdAt = createdAt;
    item[OUTBOX_SCHEMA.ttlAttribute] = ttl;
    // The `messages` attribute: its name plus the array's bytes, as itemSize would count them.
    const size = itemSize(item) + 'messages'.length + bytes;
    item.messages = `[${jsons.join(',')}]`;
    return { item, bytes: size };
  });
}
