/**
 * Every error the library throws extends {@link UnitOfWorkError}. Errors meant for HTTP carry
 * `statusCode` and `expose`, so `@middy/http-error-handler` renders them as they are.
 */

/** Names an operation of a unit of work in errors: its label (or a generated one) and its item key. */
export interface OperationRef {
  /** The `label` given to the operation, or `<kind> <table>` when none was given. */
  readonly label: string;
  /** The DynamoDB table of the operation. */
  readonly table: string;
  /** The item key, when known. */
  readonly key?: Record<string, unknown>;
  /** Set when the operation is one the library itself added to the unit of work (see {@link LibraryWrite}). */
  readonly libraryWrite?: LibraryWrite;
}

/**
 * The library's own writes inside a unit of work: the job runner's success update of the job record, the
 * idempotency record's Put. A failed condition on one of them is told from the handler's by this typed
 * marker ({@link ConditionFailedError.libraryWrite}), never by comparing label text.
 */
export type LibraryWrite = 'job-success' | 'idempotency-record';

/**
 * @internal The key a write input carries its {@link LibraryWrite} marker under (a symbol: it never reaches
 * DynamoDB and no handler input can spell it by accident).
 */
export const LIBRARY_WRITE: unique symbol = Symbol.for('lambda-unit-of-work.library-write') as never;

/** The brand every error of lambda-unit-of-work carries; `Symbol.for` so it survives duplicate package copies. */
export const UNIT_OF_WORK_ERROR_BRAND: unique symbol = Symbol.for('lambda-unit-of-work.error') as never;

/**
 * Whether `value` is an error of lambda-unit-of-work, also when it comes from another copy of the package
 * (where `instanceof` fails).
 */
export function isUnitOfWorkError(value: unknown): value is UnitOfWorkError {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[UNIT_OF_WORK_ERROR_BRAND] === true
  );
}

/**
 * Base class of every error of lambda-unit-of-work. Every subclass declares its `name` as a literal, so
 * names survive minified bundles (they are stored in job records and `JobFailed` events).
 */
export class UnitOfWorkError extends Error {
  override readonly name: string = 'UnitOfWorkError';
  /** Brand checked by {@link isUnitOfWorkError}. */
  readonly [UNIT_OF_WORK_ERROR_BRAND] = true as const;
  /** HTTP status for `@middy/http-error-handler`; 500 unless a subclass says otherwise. */
  readonly statusCode: number = 500;
  /** Whether `@middy/http-error-handler` may show the message to the caller. */
  readonly expose: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A condition of the transaction failed. DynamoDB's current item is attached when it returned one. The
 * message (HTTP 409, exposed) names the operation label only; `table`, `key` and `item` are fields.
 */
export class ConditionFailedError extends UnitOfWorkError {
  override readonly name = 'ConditionFailedError' as const;
  override readonly statusCode = 409;
  override readonly expose = true;
  readonly label: string;
  readonly table: string;
  readonly key?: Record<string, unknown>;
  /** The item as it was when the condition failed (`ReturnValuesOnConditionCheckFailure: ALL_OLD`). */
  readonly item?: Record<string, unknown>;
  /** Position of the failing action in the TransactWriteItems call. */
  readonly index: number;
  /** Set when the failing action is the library's own write (the job runner's success update, the idempotency record). */
  readonly libraryWrite?: LibraryWrite;
  constructor(op: OperationRef & { index: number; item?: Record<string, unknown> }, options?: { cause?: unknown }) {
    // Exposed to HTTP callers: the label only; table, key and item stay on the error (and in logs).
    super(`Condition failed on "${op.label}"`, options);
    this.label = op.label;
    this.table = op.table;
    this.key = op.key;
    this.item = op.item;
    this.index = op.index;
    if (op.libraryWrite) this.libraryWrite = op.libraryWrite;
  }
}

/**
 * A job with this key exists and is not finished: pending (SCHEDULED/FAILED) without `ifExists: 'replace'`,
 * or RUNNING (never replaced).
 */
export class DuplicateJobError extends UnitOfWorkError {
  override readonly name = 'DuplicateJobError' as const;
  override readonly statusCode = 409;
  override readonly expose = true;
  readonly key: string;
  readonly jobName: string;
  /** The status of the existing job, when DynamoDB returned it. */
  readonly status?: string;
  constructor(key: string, jobName: string, options?: { cause?: unknown; status?: string }) {
    // Exposed to HTTP callers: the job name and status only; the key stays on the error (and in logs).
    const hint =
      options?.status === 'RUNNING'
        ? ', RUNNING: a running job is never replaced'
        : options?.status
          ? `, ${options.status}: pass ifExists: 'replace' to replace it`
          : '';
    super(`A job with this key already exists (job "${jobName}"${hint})`, options);
    this.key = key;
    this.jobName = jobName;
    if (options?.status) this.status = options.status;
  }
}

/** DynamoDB kept cancelling the transaction because of concurrent transactions on the same items. */
export class TransactionConflictError extends UnitOfWorkError {
  override readonly name = 'TransactionConflictError' as const;
  override readonly statusCode = 409;
  override readonly expose = true;
  readonly attempts: number;
  readonly operations: readonly OperationRef[];
  constructor(attempts: number, operations: readonly OperationRef[], options?: { cause?: unknown }) {
    const names = operations.map((o) => `"${o.label}"`).join(', ') || 'unknown operations';
    super(`Transaction conflict on ${names} persisted after ${attempts} attempts`, options);
    this.attempts = attempts;
    this.operations = operations;
  }
}

/** The transaction would break a DynamoDB limit: 100 actions, 4 MB in all, 400 KB per item. */
export class TransactionLimitError extends UnitOfWorkError {
  override readonly name = 'TransactionLimitError' as const;
  readonly limit: 'actions' | 'transactionBytes' | 'itemBytes';
  readonly actual: number;
  readonly maximum: number;
  /** The largest operations, biggest first, to say what to move out of the unit of work. */
  readonly offenders: readonly (OperationRef & { bytes: number })[];
  constructor(
    message: string,
    data: {
      limit: TransactionLimitError['limit'];
      actual: number;
      maximum: number;
      offenders: readonly (OperationRef & { bytes: number })[];
    },
  ) {
    super(message);
    this.limit = data.limit;
    this.actual = data.actual;
    this.maximum = data.maximum;
    this.offenders = data.offenders;
  }
}

/** An operation was rejected where it was called: bad input, two operations on one item, a bad schedule, … */
export class InvalidOperationError extends UnitOfWorkError {
  override readonly name = 'InvalidOperationError' as const;
  /** The operation (for example `publish(OrderPlaced)` or the write's label). */
  readonly operation: string;
  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super(`${operation}: ${message}`, options);
    this.operation = operation;
  }
}

/** A write was buffered on a read-only unit of work. */
export class ReadOnlyUnitOfWorkError extends UnitOfWorkError {
  override readonly name = 'ReadOnlyUnitOfWorkError' as const;
  readonly operation: string;
  constructor(operation: string) {
    super(`${operation}: this unit of work is read-only`);
    this.operation = operation;
  }
}

/** `currentUnitOfWork()` or `propagation: 'mandatory'` found no active unit of work. */
export class NoUnitOfWorkError extends UnitOfWorkError {
  override readonly name = 'NoUnitOfWorkError' as const;
  constructor(message = 'No unit of work is active here: wrap the handler with unitOfWork() or call withUnitOfWork()') {
    super(message);
  }
}

/** A direct DynamoDB write was sent on a guarded client while a unit of work was active. */
export class EscapedWriteError extends UnitOfWorkError {
  override readonly name = 'EscapedWriteError' as const;
  /** The SDK command, e.g. `PutItemCommand`. */
  readonly command: string;
  readonly table?: string;
  constructor(command: string, table?: string) {
    super(
      `${command}${table ? ` on ${table}` : ''} was sent directly while a unit of work is active: buffer it on the unit of work (uow.put/update/delete) so it commits with the rest`,
    );
    this.command = command;
    this.table = table;
  }
}

/** The commit failed for a reason the library does not map (the SDK error is the `cause`). */
export class CommitFailedError extends UnitOfWorkError {
  override readonly name = 'CommitFailedError' as const;
  readonly operations: readonly OperationRef[];
  constructor(message: string, operations: readonly OperationRef[], options?: { cause?: unknown }) {
    super(message, options);
    this.operations = operations;
  }
}

/** Renders an item key for messages: `{pk=order#1, sk=order}`. */
export function formatKey(key: Record<string, unknown> | undefined): string {
  if (!key) return '(unknown key)';
  return `{${Object.entries(key)
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}` : x))}`,
    )
    .join(', ')}}`;
}

/** The outbox dispatcher could not deliver one message of an outbox item (after its retries). */
export class DispatchError extends UnitOfWorkError {
  override readonly name = 'DispatchError' as const;
  /** What failed, e.g. `CreateSchedule expire-order-42` or `PutEvents 0190…`. */
  readonly operation: string;
  /** For an outbox item: each message that failed (`event <id>`, `job <key>`) with its error; otherwise empty. */
  readonly failures: readonly DispatchFailure[];
  constructor(
    operation: string,
    message: string,
    options?: { cause?: unknown; failures?: readonly DispatchFailure[] },
  ) {
    super(`${operation}: ${message}`, options);
    this.operation = operation;
    this.failures = options?.failures ?? [];
  }
}

/** One message of an outbox item the dispatcher could not dispatch ({@link DispatchError.failures}). */
export interface DispatchFailure {
  /** The message, e.g. `event 0190…` or `job expire-order-42`. */
  readonly message: string;
  readonly error: Error;
}

/**
 * Options or configuration are invalid or missing; thrown when a middleware, handler or construct is created.
 * The message names the component and every problem.
 */
export class ConfigurationError extends UnitOfWorkError {
  override readonly name = 'ConfigurationError' as const;
  /** What was being configured, e.g. `unitOfWork(options)` or `outboxDispatcher`. */
  readonly component: string;
  /**
   * Settings that are required and absent, e.g. `jobRunnerArn (UOW_JOB_RUNNER_ARN) is required`. A problem
   * given as a plain string or list (not sorted by kind) is listed here too.
   */
  readonly missing: readonly string[];
  /** Settings whose value breaks their rule, e.g. `"retentionSeconds" must be an integer of at least 60`. */
  readonly invalid: readonly string[];
  /** Unknown option keys, e.g. `unknown option "outboxTabel" (known: …)`. */
  readonly unknown: readonly string[];
  constructor(
    component: string,
    problems: string | readonly string[] | ConfigurationProblems,
    options?: { cause?: unknown },
  ) {
    const sorted: ConfigurationProblems =
      typeof problems === 'string'
        ? { missing: [problems] }
        : isProblemList(problems)
          ? { missing: problems }
          : problems;
    const missing = sorted.missing ?? [];
    const invalid = sorted.invalid ?? [];
    const unknown = sorted.unknown ?? [];
    const all = [...missing, ...invalid, ...unknown];
    super(
      isProblemList(problems)
        ? `${component} is missing configuration: ${all.join('; ')}`
        : `${component}: ${all.join('; ')}`,
      options,
    );
    this.component = component;
    this.missing = missing;
    this.invalid = invalid;
    this.unknown = unknown;
  }
}

/** The problems of a {@link ConfigurationError}, sorted by kind. */
export interface ConfigurationProblems {
  readonly missing?: readonly string[];
  readonly invalid?: readonly string[];
  readonly unknown?: readonly string[];
}

function isProblemList(problems: string | readonly string[] | ConfigurationProblems): problems is readonly string[] {
  return Array.isArray(problems);
}

/** The job runner received a job whose name none of its job definitions has. */
export class UnknownJobError extends UnitOfWorkError {
  override readonly name = 'UnknownJobError' as const;
  /** The job name that was delivered. */
  readonly jobName: string;
  /** The job names the runner knows. */
  readonly knownJobs: readonly string[];
  constructor(jobName: string, knownJobs: readonly string[]) {
    super(
      `Unknown job "${jobName}": this job runner knows ${knownJobs.length ? knownJobs.map((n) => `"${n}"`).join(', ') : 'no jobs'}`,
    );
    this.jobName = jobName;
    this.knownJobs = knownJobs;
  }
}

/**
 * The idempotency key was already used, within its expiry, with a different payload: nothing was run or
 * written. HTTP 422, shown to the caller (the message names neither the key nor the payload).
 */
export class IdempotencyPayloadMismatchError extends UnitOfWorkError {
  override readonly name = 'IdempotencyPayloadMismatchError' as const;
  override readonly statusCode = 422;
  override readonly expose = true;
  /** Partition key of the idempotency record (`idem#<hash>`), for logs. */
  readonly recordKey: string;
  constructor(recordKey: string, options?: { cause?: unknown }) {
    super('This idempotency key was already used with a different request payload', options);
    this.recordKey = recordKey;
  }
}

/**
 * The handler's response does not fit in its idempotency record (one DynamoDB item, 400 KB): nothing was
 * committed. Return less, or store only a marker (`idempotency: { storeResponse: false }`).
 */
export class IdempotencyResponseTooLargeError extends UnitOfWorkError {
  override readonly name = 'IdempotencyResponseTooLargeError' as const;
  readonly bytes: number;
  readonly maximum: number;
  constructor(bytes: number, maximum: number) {
    super(
      `The response is too large for its idempotency record: the record would be ${bytes} bytes, a DynamoDB item holds at most ${maximum}. ` +
        'Nothing was committed. Return a smaller response, or set idempotency.storeResponse to false to store only a marker (duplicates then get idempotency.markerResponse)',
    );
    this.bytes = bytes;
    this.maximum = maximum;
  }
}

/**
 * A commit with this idempotency key collided with another one and no committed record explains it, e.g.
 * DynamoDB answered `IdempotentParameterMismatchException` (the key's ClientRequestToken was used in the
 * last 10 minutes for a different transaction) but the record that commit wrote is gone. Nothing was
 * written; retrying later is safe. HTTP 409.
 */
export class IdempotencyConflictError extends UnitOfWorkError {
  override readonly name = 'IdempotencyConflictError' as const;
  override readonly statusCode = 409;
  override readonly expose = true;
  /** Partition key of the idempotency record (`idem#<hash>`). */
  readonly recordKey: string;
  constructor(recordKey: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.recordKey = recordKey;
  }
}

/**
 * A job delivery found its job RUNNING under another runner's lease that has not expired yet. The job runner
 * throws it instead of skipping, so that the delivery is retried (Lambda's asynchronous retries, then the
 * runner's on-failure destination): if the run that holds the lease finishes, the retry finds the job done
 * and skips; if it crashed, or its failure could not be recorded, a retry after `leaseUntil` reclaims the
 * job, and a job whose retries all fall inside the lease ends in the on-failure destination, never silently.
 */
export class JobLeaseHeldError extends UnitOfWorkError {
  override readonly name = 'JobLeaseHeldError' as const;
  /** The job key. */
  readonly key: string;
  /** When the other runner's lease expires (epoch milliseconds). */
  readonly leaseUntil: number;
  /** Always `true`: deliver the same event again (after `leaseUntil` it reclaims the job). */
  readonly retryable = true;
  constructor(key: string, leaseUntil: number) {
    super(
      `Job "${key}" is RUNNING under another runner's lease until ${new Date(leaseUntil).toISOString()}: ` +
        'this delivery fails so that it is retried; a delivery after the lease finds the job done or reclaims it',
    );
    this.key = key;
    this.leaseUntil = leaseUntil;
  }
}

/**
 * A scope that joined this unit of work (`withUnitOfWork` with `required` or `mandatory`) threw, so the unit
 * of work is rollback-only: nothing of it commits, even when the caller caught the error and returned
 * normally. The failed scope's error is the `cause`. Like any commit failure, nothing was written.
 */
export class RollbackOnlyError extends UnitOfWorkError {
  override readonly name = 'RollbackOnlyError' as const;
  /** Id of the unit of work that was not committed. */
  readonly commitId: string;
  constructor(commitId: string, options: { cause: unknown }) {
    const cause = options.cause as { name?: unknown; message?: unknown } | undefined;
    const what =
      cause && typeof cause === 'object'
        ? `${String(cause.name ?? 'Error')}: ${String(cause.message ?? '')}`
        : String(options.cause);
    super(
      `Nothing was committed: a scope that joined this unit of work failed (${what}), which makes it rollback-only`,
      options,
    );
    this.commitId = commitId;
  }
}

/**
 * The commit was sent but its answer was lost (connection reset, timeout after send, a failure after the
 * request left) and neither resending it with the same ClientRequestToken nor reading back its outbox item
 * could tell whether it landed. It may or may not be written: look it up by `commitId` before retrying.
 */
export class CommitOutcomeUnknownError extends UnitOfWorkError {
  override readonly name = 'CommitOutcomeUnknownError' as const;
  /** The unit of work's id: its outbox items are `outbox#<commitId>`. */
  readonly commitId: string;
  constructor(commitId: string, options: { cause: unknown }) {
    super(
      `The outcome of commit ${commitId} is unknown: the request was sent but no answer could be obtained; it may or may not have been written`,
      options,
    );
    this.commitId = commitId;
  }
}

/**
 * `withUnitOfWork({ propagation: 'requiresNew' })` was called inside an exactly-once unit of work (an
 * idempotent invocation or a job run): its own commit would happen again on every retry of the invocation.
 * Pass `commitsOnEveryAttempt: true` to accept that, or join the outer unit of work instead.
 */
export class RequiresNewRefusedError extends UnitOfWorkError {
  override readonly name = 'RequiresNewRefusedError' as const;
  constructor() {
    super(
      "withUnitOfWork({ propagation: 'requiresNew' }) inside an exactly-once unit of work (idempotent handler or job run) would commit on every attempt: " +
        "join the outer unit of work, or pass { propagation: 'requiresNew', commitsOnEveryAttempt: true } to accept one commit per attempt",
    );
  }
}

/**
 * A middleware used after `unitOfWork()` returned a response early from its `after` (or `before`), so Middy
 * skipped the commit. Nothing buffered was committed; the invocation fails instead of answering as if it had.
 */
export class CommitSkippedError extends UnitOfWorkError {
  override readonly name = 'CommitSkippedError' as const;
  /** Id of the unit of work that was not committed. */
  readonly commitId: string;
  constructor(commitId: string) {
    super(
      'A middleware used after unitOfWork() returned a response early, so the unit of work was never committed: nothing was written. ' +
        'Use early-returning middlewares (caches, short-circuits) before unitOfWork() in .use() order',
    );
    this.commitId = commitId;
  }
}

/**
 * A middleware whose `after` runs after the commit (used before `unitOfWork()` in `.use()` order) failed:
 * the unit of work IS committed, but the caller gets an error. Usually a response validator in the wrong
 * place: use `@middy/validator` with a `responseSchema` after `unitOfWork()`. The middleware's error is the `cause`.
 */
export class FailedAfterCommitError extends UnitOfWorkError {
  override readonly name = 'FailedAfterCommitError' as const;
  /** Id of the unit of work that was committed. */
  readonly commitId: string;
  constructor(commitId: string, options: { cause: unknown }) {
    super(
      `Commit ${commitId} was written, then a middleware that runs after the commit failed. Use response validators and other failing ` +
        '`after` middlewares after unitOfWork() in .use() order, so they run before the commit',
      options,
    );
    this.commitId = commitId;
  }
}

/** An operator command (`retryJob`, `cancelJob`, the CLI) named a job key that has no job record. */
export class JobNotFoundError extends UnitOfWorkError {
  override readonly name = 'JobNotFoundError' as const;
  override readonly statusCode = 404;
  override readonly expose = true;
  /** The operation, e.g. `retryJob`. */
  readonly operation: string;
  /** The job key (not in the message, which may be shown to an HTTP caller). */
  readonly key: string;
  constructor(operation: string, key: string) {
    super(`${operation}: there is no job with this key (never committed, or removed by TTL after it finished)`);
    this.operation = operation;
    this.key = key;
  }
}

/** One failed check of a schema: where (a dotted path like `items[0].quantity`, empty for the root) and why. */
export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A value did not match its schema (an event's data at `publish` or when a consumer parses it, a job's payload
 * at `schedule` or at run). The message names the operation (e.g. `publish(OrderPlaced)`) and every failing path.
 */
export class SchemaValidationError extends UnitOfWorkError {
  override readonly name = 'SchemaValidationError' as const;
  /** The operation that validated, e.g. `publish(OrderPlaced)`, `parse(OrderPaid)` or `schedule(expire-order)`. */
  readonly operation: string;
  /** Every issue the schema reported. */
  readonly issues: readonly SchemaIssue[];
  constructor(operation: string, what: string, issues: readonly SchemaIssue[], options?: { cause?: unknown }) {
    const list = issues.map((i) => `${i.path ? `at ${i.path}` : 'at the root'}: ${i.message}`).join('; ');
    super(`${operation}: ${what} does not match its schema (${list || 'no issue reported'})`, options);
    this.operation = operation;
    this.issues = issues;
  }
}

/**
 * Thrown by a job handler for a failure no retry can fix: a one-time job is DEAD at once (whatever attempts
 * remain) and its `JobFailed` event is published, as for exhausted attempts. A recurring job's next
 * occurrence still runs.
 *
 * @example
 * ```ts
 * if (!order) throw new NonRetriableError(`order ${payload.orderId} does not exist`);
 * ```
 */
export class NonRetriableError extends UnitOfWorkError {
  override readonly name = 'NonRetriableError' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown by a job handler to have the next attempt of a one-time job run `retryAfterSeconds` after the
 * failure instead of after the backoff (a rate limit's `Retry-After`). It still counts as an attempt: with
 * none left the job is DEAD. @throws InvalidOperationError when `retryAfterSeconds` is not a number ≥ 0.
 *
 * @example
 * ```ts
 * if (res.status === 429) throw new RetryAfterError(Number(res.headers.get('retry-after') ?? 30), 'rate limited');
 * ```
 */
export class RetryAfterError extends UnitOfWorkError {
  override readonly name = 'RetryAfterError' as const;
  /** Seconds from the failure to the next attempt. */
  readonly retryAfterSeconds: number;
  constructor(
    retryAfterSeconds: number,
    message = `retry after ${retryAfterSeconds} s`,
    options?: { cause?: unknown },
  ) {
    if (typeof retryAfterSeconds !== 'number' || !Number.isFinite(retryAfterSeconds) || retryAfterSeconds < 0)
      throw new InvalidOperationError(
        'new RetryAfterError(seconds)',
        `seconds must be a number, 0 or more (got ${String(retryAfterSeconds)})`,
      );
    super(message, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
