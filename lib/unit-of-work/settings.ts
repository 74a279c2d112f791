import { AsyncLocalStorage } from 'node:async_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from '../errors.js';
import { declareOptions, is, validateOptions } from '../options.js';
import { DEFAULT_OUTBOX_RETENTION_SECONDS, ENV } from '../outbox/schema.js';
import { createJsonConsoleLogger } from './json-logger.js';
import type { TraceContext } from '../trace-context.js';
import { isLoggerLike, type LoggerLike } from '../logger.js';
import type { UnitOfWorkSettings } from './unit-of-work.js';

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

/** The declaration of {@link UnitOfWorkOptions}: checks, defaults, environment variables. */
export const UNIT_OF_WORK_OPTIONS = declareOptions<UnitOfWorkOptions>()({
  outboxTable: {
    doc: 'Table of outbox items and job records',
    env: ENV.outboxTable,
    valid: is.tableName,
    rule: 'be a table name',
  },
  client: {
    doc: 'DynamoDBClient or DynamoDBDocumentClient to commit with',
    default: 'one DynamoDBClient per process',
    valid: (v) => typeof (v as { send?: unknown })?.send === 'function',
    rule: 'be a DynamoDBClient or DynamoDBDocumentClient',
  },
  source: {
    doc: 'CloudEvents source of published events',
    env: ENV.eventSource,
    valid: is.nonEmptyString,
    rule: 'be a non-empty string',
  },
  readOnly: { doc: 'Refuse every write, event and job', default: 'false', valid: is.boolean, rule: 'be a boolean' },
  retentionSeconds: {
    doc: 'Seconds outbox items are kept before TTL deletion',
    default: String(DEFAULT_OUTBOX_RETENTION_SECONDS),
    valid: is.integer(60),
    rule: 'be an integer of at least 60',
  },
  tableKeys: {
    doc: 'Key attribute names of your tables',
    default: '{}',
    valid: (v) =>
      typeof v === 'object' &&
      v !== null &&
      Object.values(v).every(
        (k) => Array.isArray(k) && k.length >= 1 && k.length <= 2 && k.every((n) => typeof n === 'string' && n),
      ),
    rule: 'map table names to 1 or 2 key attribute names',
  },
  maxConflictRetries: {
    doc: 'Retries of a commit cancelled by a conflict',
    default: '3',
    valid: is.integer(0, 10),
    rule: 'be an integer from 0 to 10',
  },
  logger: {
    doc: 'Where the library logs',
    default: 'JSON lines on the console',
    valid: isLoggerLike,
    rule: 'have debug, info, warn and error methods',
  },
  traceContext: {
    doc: "The handler's W3C trace context",
    default: 'none: the X-Ray header only',
    valid: is.function,
    rule: 'be a function returning { traceparent, tracestate }',
  },
});

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

/**
 * The process-wide default document client: created from the environment on first use, reused by every unit
 * of work and job read of the process (as the SDK advises).
 */
export function getDefaultClient(): DynamoDBDocumentClient {
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
 * `component` names the caller in the message; `extraKeys` are the caller's own options, checked by it.
 */
export function validateUnitOfWorkOptions(
  options: unknown,
  component: string,
  extraKeys: readonly string[] = [],
): UnitOfWorkOptions {
  return validateOptions<UnitOfWorkOptions>(component, UNIT_OF_WORK_OPTIONS, options, { allow: extraKeys });
}

/** Resolves the outbox table from the options or the environment, or throws naming `outboxTable`. */
export function resolveOutboxTable(options: UnitOfWorkOptions, component: string): string {
  const table = options.outboxTable ?? process.env[ENV.outboxTable];
  if (!table)
    throw new ConfigurationError(
      component,
      `"outboxTable" is required (or set the ${ENV.outboxTable} environment variable)`,
    );
  return table;
}

/** Builds the settings of a new unit of work from validated options. */
export function resolveSettings(
  options: UnitOfWorkOptions,
  component: string,
  extra: { correlationId?: string; causationId?: string; logger?: LoggerLike } = {},
): UnitOfWorkSettings {
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
