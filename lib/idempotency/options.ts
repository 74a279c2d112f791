import type { Context } from 'aws-lambda';
import { defaultPayload } from './record.js';

/**
 * The `idempotency` option of `unitOfWork()`: makes the handler exactly-once per key. The record commits
 * in the same TransactWriteItems as the handler's writes, events and jobs.
 *
 * @example
 * ```ts
 * unitOfWork({
 *   outboxTable: process.env.OUTBOX_TABLE!,
 *   idempotency: { key: (event) => event.headers?.['idempotency-key'], expiresAfter: 3600 },
 * })
 * ```
 */
export interface IdempotencyOptions<TEvent = any> {
  /**
   * The idempotency key of an invocation; `undefined` runs it without idempotency (no read, no record).
   * Any other non-string value, or an empty string, is an error. It is hashed (with `scope`); never stored.
   */
  readonly key: (event: TEvent, context: Context) => string | undefined;
  /** How long a committed record answers duplicates, in seconds (1 to 30 days). @default 3600 */
  readonly expiresAfter?: number;
  /**
   * What must be equal for a duplicate to be replayed: its canonical JSON is hashed and stored; the same
   * key with another payload fails with `IdempotencyPayloadMismatchError` (422). `false`: no check.
   * @default the event's `body` for HTTP events (an object with a `body`), else the whole event
   */
  readonly payload?: ((event: TEvent, context: Context) => unknown) | false;
  /**
   * Store the response in the record and replay it to duplicates. `false` stores only a marker (for
   * responses that may exceed DynamoDB's 400 KB item limit); duplicates then get `markerResponse`.
   * @default true
   */
  readonly storeResponse?: boolean;
  /** What a duplicate returns when only a marker is stored. @default () => undefined */
  readonly markerResponse?: (event: TEvent, context: Context) => unknown;
  /**
   * Table of the records: it needs the outbox table's key schema (`pk`, `sk` strings) and TTL on `ttl`.
   * @default the unit of work's outbox table
   */
  readonly table?: string;
  /** Namespace of the keys, so functions sharing a table never share records. @default the function name (`context.functionName`) */
  readonly scope?: string;
}

/** Defaults of {@link IdempotencyOptions}. */
export const IDEMPOTENCY_DEFAULTS = {
  expiresAfter: 3600,
  storeResponse: true,
  maxExpiresAfter: 30 * 24 * 60 * 60,
} as const;

/** Every key of {@link IdempotencyOptions}, to reject unknown ones. */
export const IDEMPOTENCY_OPTION_KEYS = ['key', 'expiresAfter', 'payload', 'storeResponse', 'markerResponse', 'table', 'scope'] as const;

/** Options with defaults applied. */
export interface ResolvedIdempotency {
  readonly key: (event: any, context: Context) => string | undefined;
  readonly expiresAfter: number;
  readonly payload: ((event: any, context: Context) => unknown) | undefined;
  readonly storeResponse: boolean;
  readonly markerResponse: (event: any, context: Context) => unknown;
  readonly table?: string;
  readonly scope?: string;
}

/** The problems of an `idempotency` option (empty when it is valid). Pure. */
export function idempotencyProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['"idempotency" must be an object with a key function'];
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(o).filter((k) => !(IDEMPOTENCY_OPTION_KEYS as readonly string[]).includes(k));
  if (unknown.length) problems.push(`unknown idempotency option(s) ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${IDEMPOTENCY_OPTION_KEYS.join(', ')})`);
  if (typeof o.key !== 'function') problems.push('"idempotency.key" must be a function (event, context) => string | undefined');
  if (o.expiresAfter !== undefined && !(Number.isInteger(o.expiresAfter) && (o.expiresAfter as number) >= 1 && (o.expiresAfter as number) <= IDEMPOTENCY_DEFAULTS.maxExpiresAfter))
    problems.push(`"idempotency.expiresAfter" must be a whole number of seconds from 1 to ${IDEMPOTENCY_DEFAULTS.maxExpiresAfter}`);
  if (o.payload !== undefined && o.payload !== false && typeof o.payload !== 'function') problems.push('"idempotency.payload" must be a function or false');
  if (o.storeResponse !== undefined && typeof o.storeResponse !== 'boolean') problems.push('"idempotency.storeResponse" must be a boolean');
  if (o.markerResponse !== undefined && typeof o.markerResponse !== 'function') problems.push('"idempotency.markerResponse" must be a function');
  if (o.markerResponse !== undefined && o.storeResponse !== false) problems.push('"idempotency.markerResponse" only applies with storeResponse: false');
  if (o.table !== undefined && !(typeof o.table === 'string' && o.table.length >= 3)) problems.push('"idempotency.table" must be a table name');
  if (o.scope !== undefined && typeof o.scope !== 'string') problems.push('"idempotency.scope" must be a string');
  return problems;
}

/** Applies the defaults to a validated option. */
export function resolveIdempotency(options: IdempotencyOptions): ResolvedIdempotency {
  return {
    key: options.key,
    expiresAfter: options.expiresAfter ?? IDEMPOTENCY_DEFAULTS.expiresAfter,
    payload: options.payload === false ? undefined : (options.payload ?? defaultPayload),
    storeResponse: options.storeResponse ?? IDEMPOTENCY_DEFAULTS.storeResponse,
    markerResponse: options.markerResponse ?? (() => undefined),
    table: options.table,
    scope: options.scope,
  };
}
