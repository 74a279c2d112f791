import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from '../errors.js';
import { DEFAULT_OUTBOX_RETENTION_SECONDS, ENV } from '../outbox/schema.js';
import { createJsonConsoleLogger } from './json-logger.js';
import type { TraceContext } from './trace-context.js';
import type { LoggerLike, UnitOfWorkSettings } from './unit-of-work.js';

/** Options shared by the `unitOfWork()` middleware and `withUnitOfWork()`. */
export interface UnitOfWorkOptions {
  /** Table that receives outbox items and job records. @default process.env.UOW_OUTBOX_TABLE (set by the construct's grantWriter) */
  readonly outboxTable?: string;
  /** Client to commit with: a `DynamoDBClient` or a `DynamoDBDocumentClient`. @default one client per process, from the environment */
  readonly client?: DynamoDBClient | DynamoDBDocumentClient;
  /** Default CloudEvents `source` of published events. @default process.env.UOW_EVENT_SOURCE, else the Lambda function name */
  readonly source?: string;
  /** Refuse every write, event and job (queries). @default false */
  readonly readOnly?: boolean;
  /** How long outbox items (and finished job records) are kept before TTL deletion, in seconds. @default 604800 (7 days) */
  readonly retentionSeconds?: number;
  /**
   * Key attribute names of your tables, so that a Put and another operation on the same item are refused
   * when buffered. Without it the key of a table is learned from the first Update/Delete/ConditionCheck on it.
   * @default {} (the outbox table's keys are always known)
   */
  readonly tableKeys?: Readonly<Record<string, readonly string[]>>;
  /** Retries of a commit cancelled by a `TransactionConflict`, with jittered exponential backoff. @default 3 */
  readonly maxConflictRetries?: number;
  /** Where the library logs (Powertools Logger or console). @default JSON lines on the console, service "lambda-unit-of-work" (pass a Powertools Logger for its context) */
  readonly logger?: LoggerLike;
  /**
   * The handler's W3C trace context (e.g. from OpenTelemetry or Powertools Tracer), read once per unit of work
   * when it first buffers an event or a job. Without it (or when it returns no valid `traceparent`) the
   * `traceparent` is derived from the invocation's X-Ray header `_X_AMZN_TRACE_ID` (docs/operate.md, "Traces").
   * @default none: the X-Ray header only
   */
  readonly traceContext?: () => TraceContext | undefined;
}

/** Every option key, to reject unknown ones. */
export const UNIT_OF_WORK_OPTION_KEYS = ['outboxTable', 'client', 'source', 'readOnly', 'retentionSeconds', 'tableKeys', 'maxConflictRetries', 'logger', 'traceContext'] as const;

let defaultClient: DynamoDBDocumentClient | undefined;

/**
 * @internal The client every unit of work opened in this async scope uses instead of its own (set by
 * `lambda-unit-of-work/testing`'s `runHandler`, so a handler built with a real client commits in memory).
 */
export const clientOverride = new AsyncLocalStorage<DynamoDBDocumentClient>();
let defaultLogger: LoggerLike | undefined;

/** Wraps a client as a document client that drops `undefined` attributes. */
export function toDocumentClient(client: DynamoDBClient | DynamoDBDocumentClient): DynamoDBDocumentClient {
  if (client instanceof DynamoDBDocumentClient) return client;
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The process-wide default client: created on first use, reused by every invocation (as the SDK advises). */
function getDefaultClient(): DynamoDBDocumentClient {
  defaultClient ??= toDocumentClient(new DynamoDBClient({}));
  return defaultClient;
}

/** The default logger (JSON lines on the console, service `lambda-unit-of-work`), created on first use. */
export function defaultLibraryLogger(): LoggerLike {
  defaultLogger ??= createJsonConsoleLogger('lambda-unit-of-work');
  return defaultLogger;
}

/**
 * Validates options (unknown keys, types, ranges) and names every problem in one {@link ConfigurationError}.
 * `component` names the caller in the message.
 */
export function validateOptions(options: unknown, component: string, extraKeys: readonly string[] = []): UnitOfWorkOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) throw new ConfigurationError(component, 'options must be an object');
  const o = options as Record<string, unknown>;
  const allowed = new Set<string>([...UNIT_OF_WORK_OPTION_KEYS, ...extraKeys]);
  const problems: string[] = [];
  const unknown = Object.keys(o).filter((k) => !allowed.has(k));
  if (unknown.length) problems.push(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${[...allowed].join(', ')})`);
  if (o.outboxTable !== undefined && (typeof o.outboxTable !== 'string' || o.outboxTable.length < 3)) problems.push('"outboxTable" must be a table name');
  if (o.client !== undefined && typeof (o.client as { send?: unknown })?.send !== 'function') problems.push('"client" must be a DynamoDBClient or DynamoDBDocumentClient');
  if (o.source !== undefined && (typeof o.source !== 'string' || o.source === '')) problems.push('"source" must be a non-empty string');
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') problems.push('"readOnly" must be a boolean');
  if (o.retentionSeconds !== undefined && !(Number.isInteger(o.retentionSeconds) && (o.retentionSeconds as number) >= 60)) problems.push('"retentionSeconds" must be an integer of at least 60');
  if (o.maxConflictRetries !== undefined && !(Number.isInteger(o.maxConflictRetries) && (o.maxConflictRetries as number) >= 0 && (o.maxConflictRetries as number) <= 10)) problems.push('"maxConflictRetries" must be an integer from 0 to 10');
  if (o.tableKeys !== undefined) {
    const ok = typeof o.tableKeys === 'object' && o.tableKeys !== null && Object.values(o.tableKeys).every((v) => Array.isArray(v) && v.length >= 1 && v.length <= 2 && v.every((n) => typeof n === 'string' && n));
    if (!ok) problems.push('"tableKeys" must map table names to 1 or 2 key attribute names');
  }
  if (o.logger !== undefined && !['debug', 'info', 'warn', 'error'].every((m) => typeof (o.logger as Record<string, unknown>)?.[m] === 'function')) problems.push('"logger" must have debug, info, warn and error methods');
  if (o.traceContext !== undefined && typeof o.traceContext !== 'function') problems.push('"traceContext" must be a function returning { traceparent, tracestate }');
  if (problems.length) throw new ConfigurationError(component, problems.join('; '));
  return o as UnitOfWorkOptions;
}

/** Resolves the outbox table from the options or the environment, or throws naming `outboxTable`. */
export function resolveOutboxTable(options: UnitOfWorkOptions, component: string): string {
  const table = options.outboxTable ?? process.env[ENV.outboxTable];
  if (!table) throw new ConfigurationError(component, `"outboxTable" is required (or set the ${ENV.outboxTable} environment variable)`);
  return table;
}

/** Builds the settings of a new unit of work from validated options. */
export function resolveSettings(options: UnitOfWorkOptions, component: string, extra: { correlationId?: string; causationId?: string; logger?: LoggerLike } = {}): UnitOfWorkSettings {
  const outboxTable = resolveOutboxTable(options, component);
  const explicit = options.client ? toDocumentClient(options.client) : undefined;
  return {
    outboxTable,
    client: explicit ? () => explicit : getDefaultClient,
    ...(options.client ? { clientOption: options.client } : {}),
    source: options.source ?? process.env[ENV.eventSource] ?? process.env.AWS_LAMBDA_FUNCTION_NAME,
    readOnly: options.readOnly ?? false,
    retentionSeconds: options.retentionSeconds ?? DEFAULT_OUTBOX_RETENTION_SECONDS,
    tableKeys: options.tableKeys ?? {},
    maxConflictRetries: options.maxConflictRetries ?? 3,
    logger: options.logger ?? extra.logger ?? defaultLibraryLogger(),
    correlationId: extra.correlationId,
    ...(extra.causationId ? { causationId: extra.causationId } : {}),
    ...(options.traceContext ? { traceContext: options.traceContext } : {}),
  };
}
