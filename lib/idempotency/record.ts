/**
 * The idempotency record, pure: key hashing, payload hashing, response encoding, the record item, the
 * decision a read record leads to, and the ClientRequestToken of the commit. No I/O here.
 */
import { createHash } from 'node:crypto';
import {
  IdempotencyPayloadMismatchError,
  IdempotencyResponseTooLargeError,
  InvalidOperationError,
  LIBRARY_WRITE,
  type LibraryWrite,
} from '../errors.js';
import { OUTBOX_SCHEMA } from '../outbox/schema.js';
import { MAX_ITEM_BYTES, itemSize } from '../dynamodb/size.js';

/** Attribute names and values of idempotency records (they live in the outbox table unless `table` says otherwise). */
export const IDEMPOTENCY_RECORD = {
  /** Partition key prefix: `idem#<base64url sha-256 of scope and key>`. */
  pkPrefix: 'idem#',
  /** Sort key value. */
  sk: 'idem',
  /** Value of the outbox table's kind attribute: the stream filter never lets it through to the dispatcher. */
  kind: 'idempotency',
  /** The one status a record is written with: it only exists once its invocation committed. */
  completed: 'COMPLETED',
  /** Label of the record's Put in errors. */
  label: 'idempotency record',
  /** Longest ClientRequestToken DynamoDB takes. */
  maxTokenLength: 36,
} as const;

/** How the response is kept in the record. */
export const RESPONSE_ENCODING = {
  /** `response` holds `JSON.stringify(response)`. */
  json: 'json',
  /** The handler returned `undefined`. */
  undefined: 'undefined',
  /** Only a marker: the response was not stored (`storeResponse: false`). */
  marker: 'marker',
} as const;

/** One of {@link RESPONSE_ENCODING}. */
export type ResponseEncoding = (typeof RESPONSE_ENCODING)[keyof typeof RESPONSE_ENCODING];

/** An idempotency record as stored (native values, as `@aws-sdk/lib-dynamodb` reads them). */
export interface IdempotencyRecord {
  readonly pk: string;
  readonly sk: string;
  readonly _kind: string;
  readonly status: string;
  /** Epoch seconds: from then on the record no longer counts (and TTL may delete it). */
  readonly expiresAt: number;
  readonly ttl: number;
  readonly payloadHash?: string;
  readonly responseEncoding: ResponseEncoding;
  readonly response?: string;
  readonly createdAt: string;
  /** Lambda request id of the invocation that committed it. */
  readonly requestId?: string;
  /** Id of the unit of work that committed it. */
  readonly commitId: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64url');

/**
 * The record's key for an idempotency key, scoped (by default to the function name) so two functions
 * sharing a table never share records. The key itself is never stored, only its hash.
 */
export function idempotencyRecordKey(scope: string, key: string): { pk: string; sk: string } {
  return { pk: `${IDEMPOTENCY_RECORD.pkPrefix}${sha256(`${scope}\u0000${key}`)}`, sk: IDEMPOTENCY_RECORD.sk };
}

/** JSON with object keys sorted at every level, so equal payloads hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  const seen = new Set<object>();
  const walk = (v: unknown): string | undefined => {
    if (v === null) return 'null';
    if (typeof v === 'bigint') return JSON.stringify(`${v}n`);
    if (typeof v !== 'object')
      return typeof v === 'function' || typeof v === 'symbol' || v === undefined ? undefined : JSON.stringify(v);
    if (v instanceof Uint8Array) return JSON.stringify({ $bytes: Buffer.from(v).toString('base64') });
    const withJson = v as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === 'function') return walk(withJson.toJSON());
    if (seen.has(v)) throw new InvalidOperationError('idempotency payload', 'the payload has a circular reference');
    seen.add(v);
    let out: string;
    if (Array.isArray(v)) out = `[${v.map((x) => walk(x) ?? 'null').join(',')}]`;
    else if (v instanceof Set) out = walk([...v])!;
    else if (v instanceof Map) out = walk(Object.fromEntries(v))!;
    else {
      const parts: string[] = [];
      for (const k of Object.keys(v).sort()) {
        const x = walk((v as Record<string, unknown>)[k]);
        if (x !== undefined) parts.push(`${JSON.stringify(k)}:${x}`);
      }
      out = `{${parts.join(',')}}`;
    }
    seen.delete(v);
    return out;
  };
  return walk(value) ?? 'undefined';
}

/** SHA-256 (base64url) of the canonical JSON of a payload. */
export function hashPayload(payload: unknown): string {
  return sha256(canonicalJson(payload));
}

/** Default payload: the `body` of HTTP events (API Gateway, function URLs, ALB), else the whole event. */
export function defaultPayload(event: unknown): unknown {
  return typeof event === 'object' && event !== null && 'body' in event ? (event as { body: unknown }).body : event;
}

/**
 * The commit's ClientRequestToken (≤ 36 characters), derived from everything that identifies the record
 * (its table and key) and the generation of the record the invocation read, so concurrent duplicates send
 * the same token and a retried call replays, while a run after expiry, or the same key against another
 * records table, gets a fresh one.
 */
export function clientRequestTokenFor(table: string, pk: string, generation: string): string {
  return `idem-${sha256(`${table}\u0000${pk}\u0000${generation}`)}`.slice(0, IDEMPOTENCY_RECORD.maxTokenLength);
}

/** The generation of a read: the expiry of the (expired) record found, or a 10-minute time bucket when there was none. */
export function generationOf(record: IdempotencyRecord | undefined, nowMs: number): string {
  return record ? `e${record.expiresAt}` : `b${Math.floor(nowMs / 600_000)}`;
}

/** Encodes a response for the record; throws {@link InvalidOperationError} when it is not JSON-serializable. */
export function encodeResponse(response: unknown): { responseEncoding: ResponseEncoding; response?: string } {
  if (response === undefined) return { responseEncoding: RESPONSE_ENCODING.undefined };
  let json: string | undefined;
  try {
    json = JSON.stringify(response);
  } catch (error) {
    throw new InvalidOperationError(
      IDEMPOTENCY_RECORD.label,
      `the response cannot be stored: it is not JSON-serializable (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (json === undefined)
    throw new InvalidOperationError(
      IDEMPOTENCY_RECORD.label,
      `the response cannot be stored: a ${typeof response} is not JSON-serializable`,
    );
  return { responseEncoding: RESPONSE_ENCODING.json, response: json };
}

/** Decodes the stored response; a marker-only record gives `marker()`. */
export function decodeResponse(record: IdempotencyRecord, marker: () => unknown): unknown {
  switch (record.responseEncoding) {
    case RESPONSE_ENCODING.json:
      return JSON.parse(record.response ?? 'null');
    case RESPONSE_ENCODING.undefined:
      return undefined;
    default:
      return marker();
  }
}

/** Inputs of {@link buildIdempotencyRecord}. */
export interface BuildRecordInput {
  readonly pk: string;
  readonly response: unknown;
  readonly storeResponse: boolean;
  readonly payloadHash?: string;
  readonly expiresAfterSeconds: number;
  readonly nowMs: number;
  readonly requestId?: string;
  readonly commitId: string;
}

/**
 * Builds the record item; throws {@link IdempotencyResponseTooLargeError} when it would not fit in one
 * DynamoDB item and {@link InvalidOperationError} when the response is not JSON-serializable.
 */
export function buildIdempotencyRecord(input: BuildRecordInput): IdempotencyRecord {
  // Rounded up: a record answers duplicates for at least expiresAfter seconds.
  const expiresAt = Math.ceil(input.nowMs / 1000) + input.expiresAfterSeconds;
  const encoded = input.storeResponse ? encodeResponse(input.response) : { responseEncoding: RESPONSE_ENCODING.marker };
  const record: IdempotencyRecord = {
    pk: input.pk,
    sk: IDEMPOTENCY_RECORD.sk,
    [OUTBOX_SCHEMA.kindAttribute]: IDEMPOTENCY_RECORD.kind,
    status: IDEMPOTENCY_RECORD.completed,
    expiresAt,
    [OUTBOX_SCHEMA.ttlAttribute]: expiresAt,
    ...(input.payloadHash !== undefined ? { payloadHash: input.payloadHash } : {}),
    ...encoded,
    createdAt: new Date(input.nowMs).toISOString(),
    ...(input.requestId ? { requestId: input.requestId } : {}),
    commitId: input.commitId,
  } as IdempotencyRecord;
  const bytes = itemSize(record as unknown as Record<string, unknown>);
  if (bytes > MAX_ITEM_BYTES) throw new IdempotencyResponseTooLargeError(bytes, MAX_ITEM_BYTES);
  return record;
}

/** The Put of the record: it commits only when no record exists or the existing one has expired. */
export function recordPutInput(
  table: string,
  record: IdempotencyRecord,
  nowMs: number,
): {
  TableName: string;
  Item: Record<string, unknown>;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
  label: string;
  [LIBRARY_WRITE]: LibraryWrite;
} {
  return {
    TableName: table,
    Item: record as unknown as Record<string, unknown>,
    ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
    ExpressionAttributeNames: { '#pk': OUTBOX_SCHEMA.partitionKey, '#expiresAt': 'expiresAt' },
    ExpressionAttributeValues: { ':now': Math.floor(nowMs / 1000) },
    label: IDEMPOTENCY_RECORD.label,
    [LIBRARY_WRITE]: 'idempotency-record',
  };
}

/** True when the record is a committed, unexpired idempotency record. */
export function isLive(record: Partial<IdempotencyRecord> | undefined, nowMs: number): record is IdempotencyRecord {
  return (
    !!record &&
    record.status === IDEMPOTENCY_RECORD.completed &&
    typeof record.expiresAt === 'number' &&
    record.expiresAt > Math.floor(nowMs / 1000)
  );
}

/** What to do with what a read found. */
export type RecordDecision =
  | { readonly action: 'run'; readonly generation: string }
  | { readonly action: 'replay'; readonly record: IdempotencyRecord };

/**
 * Decides from the record read before the handler (or after a lost commit): replay a live record with the
 * same payload, refuse a live record with another payload ({@link IdempotencyPayloadMismatchError}), run
 * otherwise. Payloads are compared only when both sides have a hash (`payload: false` stores none).
 */
export function decide(
  found: Partial<IdempotencyRecord> | undefined,
  payloadHash: string | undefined,
  nowMs: number,
): RecordDecision {
  if (!isLive(found, nowMs))
    return { action: 'run', generation: generationOf(found as IdempotencyRecord | undefined, nowMs) };
  if (payloadHash !== undefined && found.payloadHash !== undefined && found.payloadHash !== payloadHash)
    throw new IdempotencyPayloadMismatchError(found.pk);
  return { action: 'replay', record: found };
}
