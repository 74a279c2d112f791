import type { Context } from 'aws-lambda';
import { declareOptions, is, optionKeys, optionProblems } from '../options.js';
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

/** The declaration of {@link IdempotencyOptions} (nested under `idempotency`). */
export const IDEMPOTENCY_OPTIONS = declareOptions<IdempotencyOptions>()({
  key: {
    doc: 'The idempotency key of an invocation',
    required: true,
    valid: is.function,
    rule: 'be a function (event, context) => string | undefined',
  },
  expiresAfter: {
    doc: 'Seconds a committed record answers duplicates',
    default: String(IDEMPOTENCY_DEFAULTS.expiresAfter),
    valid: is.integer(1, IDEMPOTENCY_DEFAULTS.maxExpiresAfter),
    rule: `be a whole number of seconds from 1 to ${IDEMPOTENCY_DEFAULTS.maxExpiresAfter}`,
  },
  payload: {
    doc: 'What must be equal for a duplicate to be replayed',
    default: 'else the whole event',
    valid: (v) => v === false || typeof v === 'function',
    rule: 'be a function or false',
  },
  storeResponse: {
    doc: 'Store and replay the response',
    default: String(IDEMPOTENCY_DEFAULTS.storeResponse),
    valid: is.boolean,
    rule: 'be a boolean',
  },
  markerResponse: {
    doc: 'What a duplicate returns when only a marker is stored',
    default: 'undefined',
    valid: is.function,
    rule: 'be a function',
  },
  table: { doc: 'Table of the records', default: 'the outbox table', valid: is.tableName, rule: 'be a table name' },
  scope: {
    doc: 'Namespace of the keys',
    default: 'context.functionName',
    valid: (v) => typeof v === 'string',
    rule: 'be a string',
  },
});

/** Every key of {@link IdempotencyOptions} (derived from {@link IDEMPOTENCY_OPTIONS}). */
export const IDEMPOTENCY_OPTION_KEYS: readonly string[] = optionKeys(IDEMPOTENCY_OPTIONS);

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
  const { unknown, missing, invalid } = optionProblems(IDEMPOTENCY_OPTIONS, value, { prefix: 'idempotency.' });
  const problems = [...unknown, ...missing, ...invalid];
  const o = value as Record<string, unknown>;
  if (o.markerResponse !== undefined && o.storeResponse !== false)
    problems.push('"idempotency.markerResponse" only applies with storeResponse: false');
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
