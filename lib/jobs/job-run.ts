/**
 * One job delivery's lifecycle, in named steps: claim → (skip | check → execute → succeeded | fail | lost).
 * Every exit after the claim records the outcome, or throws with the lease released when it could not.
 */
import { randomUUID } from 'node:crypto';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  ConditionFailedError,
  InvalidOperationError,
  JobLeaseHeldError,
  LIBRARY_WRITE,
  UnknownJobError,
} from '../errors.js';
import { JOB_STATUS, type JobRecord } from '../job-record/record.js';
import {
  claimParams,
  errorSummary,
  failureOutcome,
  heldLease,
  isRecurring,
  lostTransition,
  releaseParams,
  skipReason,
  successParams,
  type ClaimedJob,
  type FailureOutcome,
} from '../job-record/transitions.js';
import type { LoggerLike } from '../logger.js';
import type { TraceContext } from '../trace-context.js';
import { commitScope } from '../unit-of-work/commit.js';
import { EXACTLY_ONCE, withUnitOfWork } from '../unit-of-work/context.js';
import { jobBackoffOf, type JobHandler, type JobRunInfo } from './definitions.js';
import { failureControl, recordFailure } from './failure.js';
import { retryDelaySeconds, type JobRunnerSettings } from './options.js';
import type { JobRunnerContext, JobRunResult } from './runner.js';

/** A parsed job delivery (the Scheduler's or a timer message's input). */
export interface Delivery {
  readonly jobId: string;
  readonly key: string;
  readonly name: string;
  readonly version: number;
  readonly occurrence: string;
  readonly executionId: string;
  /** From the schedule input (the job record's): what the delivery's log lines carry. */
  readonly correlationId?: string;
  readonly traceContext?: TraceContext;
}

type ErrorSummary = { name: string; message: string };
type Claimed = { record: JobRecord } | { skip: string; heldUntil?: number };

/** Runs one delivery: `new JobRun(config, delivery, context, logger).run()`. */
export class JobRun {
  readonly #config: JobRunnerSettings;
  readonly #d: Delivery;
  readonly #context: JobRunnerContext | undefined;
  readonly #logger: LoggerLike;
  readonly #client: DynamoDBDocumentClient;
  readonly #claim: ClaimedJob;
  /** When this delivery started (the runner's clock): the claim's `now` and the lease's start. */
  readonly #startedAt: number;
  readonly #leaseUntil: number;
  readonly #base: Pick<JobRunResult, 'key' | 'name' | 'version' | 'scheduledTime'>;
  // Set by the claim: the record as claimed, and the raw payload text until it parses.
  #record!: JobRecord;
  #payload: unknown;

  constructor(config: JobRunnerSettings, d: Delivery, context: JobRunnerContext | undefined, logger: LoggerLike) {
    this.#config = config;
    this.#d = d;
    this.#context = context;
    this.#logger = logger;
    this.#client = config.settings.client();
    this.#startedAt = config.clock();
    const remaining = context?.getRemainingTimeInMillis?.();
    this.#leaseUntil =
      this.#startedAt +
      (typeof remaining === 'number' && remaining > 0 ? remaining + config.leaseMarginMs : config.defaultLeaseMs);
    this.#claim = { table: config.settings.outboxTable, key: d.key, version: d.version, leaseToken: randomUUID() };
    this.#base = { key: d.key, name: d.name, version: d.version, scheduledTime: d.occurrence };
  }

  /** The delivery's outcome. */
  async run(): Promise<JobRunResult> {
    const claimed = await this.#claimRecord();
    if ('skip' in claimed) return this.#skipped(claimed);
    this.#record = claimed.record;
    this.#payload = claimed.record.payload;
    if (this.#run.leaseExpired)
      this.#logger.warn(
        `job ${this.#d.key} was RUNNING past its lease (the run holding it crashed or timed out): reclaimed`,
        this.#run,
      );
    const unrunnable = this.#unrunnable();
    if (unrunnable) return this.#fail(unrunnable.error, unrunnable.permanent);
    const handler = this.#config.jobs[this.#d.name] as JobHandler<unknown> | undefined;
    if (!handler) return this.#fail(new UnknownJobError(this.#d.name, this.#config.jobNames));
    return this.#execute(handler);
  }

  get #recurring(): boolean {
    return isRecurring(this.#record.schedule);
  }

  get #correlationId(): string | undefined {
    return this.#record.correlationId ?? this.#context?.awsRequestId;
  }

  /** The result fields of a run that holds the claim, all but its outcome (each exit sets its own). */
  get #run(): Omit<JobRunResult, 'outcome'> & { attempt: number } {
    const leaseExpired = this.#record.claimedFrom === JOB_STATUS.RUNNING;
    return {
      ...this.#base,
      attempt: this.#record.attempts,
      ...(leaseExpired ? { leaseExpired } : {}),
    };
  }

  /** Step 1: the conditional claim (version, status, occurrence) that takes the lease. */
  async #claimRecord(): Promise<Claimed> {
    const d = this.#d;
    const nowMs = this.#startedAt;
    const params = claimParams({
      table: this.#claim.table,
      key: d.key,
      jobId: d.jobId,
      version: d.version,
      occurrence: d.occurrence,
      nowMs,
      leaseUntil: this.#leaseUntil,
      leaseToken: this.#claim.leaseToken,
    });
    try {
      // The library's own write: a guarded client lets it through even inside an ambient unit of work.
      const out = await commitScope.run(true, () => this.#client.send(new UpdateCommand(params as never)));
      return { record: out.Attributes as JobRecord };
    } catch (error) {
      const e = error as { name?: string; Item?: Record<string, never> };
      if (e?.name !== 'ConditionalCheckFailedException') throw error;
      const current = e.Item ? (unmarshall(e.Item) as JobRecord) : undefined;
      const delivered = { jobId: d.jobId, version: d.version, occurrence: d.occurrence };
      const heldUntil = heldLease(current, delivered, nowMs);
      return { skip: skipReason(current, delivered, nowMs), ...(heldUntil !== undefined ? { heldUntil } : {}) };
    }
  }

  /** A delivery that did not claim: skipped, or (another run holds the lease) failed so that it is retried. */
  #skipped(claimed: { skip: string; heldUntil?: number }): JobRunResult {
    const d = this.#d;
    if (claimed.heldUntil !== undefined) {
      // Not a skip: the run holding the lease may have crashed, or failed without a record. Throwing makes
      // Lambda retry this delivery (then hand it to the on-failure destination): a retry after the lease reclaims.
      this.#logger.warn(`job ${d.key}: ${claimed.skip}; this delivery fails so that it is retried`, {
        ...this.#base,
        executionId: d.executionId,
      });
      throw new JobLeaseHeldError(d.key, claimed.heldUntil);
    }
    const result: JobRunResult = { ...this.#base, outcome: 'skipped', reason: claimed.skip };
    return this.#logged('info', `job ${d.key} skipped: ${claimed.skip}`, result, { executionId: d.executionId });
  }

  /** Step 2: what makes a claimed job fail before its handler runs (no attempts left, a payload that is not JSON). */
  #unrunnable(): { error: Error; permanent: boolean } | undefined {
    const record = this.#record;
    if (!this.#recurring && record.attempts > record.maxAttempts) {
      const error = new Error(
        `attempt ${record.attempts - 1} did not finish before its lease expired (runner crashed or timed out) and no attempts are left`,
      );
      error.name = 'LeaseExpired';
      return { error, permanent: false };
    }
    try {
      this.#payload = JSON.parse(record.payload) as unknown;
      return undefined;
    } catch (error) {
      const message = `the stored payload is not JSON (${errorSummary(error).message}); no retry can fix that`;
      return { error: new InvalidOperationError(`job ${record.jobKey}`, message, { cause: error }), permanent: true };
    }
  }

  /** What the handler is told about its run. */
  #info(): JobRunInfo {
    const record = this.#record;
    const correlationId = this.#correlationId;
    return {
      jobId: record.jobId,
      key: record.jobKey,
      name: record.jobName,
      version: record.version,
      attempt: record.attempts,
      maxAttempts: record.maxAttempts,
      schedule: record.schedule,
      recurring: this.#recurring,
      scheduledTime: this.#d.occurrence,
      executionId: this.#d.executionId,
      ...(correlationId ? { correlationId } : {}),
    };
  }

  /** Step 3: the handler's unit of work, committed with the job's success update (marked as the library's). */
  async #execute(handler: JobHandler<unknown>): Promise<JobRunResult> {
    const { settings } = this.#config;
    const record = this.#record;
    const recurring = this.#recurring;
    const correlationId = this.#correlationId;
    let handlerReturned = false;
    try {
      await withUnitOfWork(
        async (uow) => {
          // Buffered first: a handler that touches its own job record fails at that call, naming it.
          const ttl = Math.floor(this.#config.clock() / 1000) + settings.retentionSeconds;
          const label = `job ${record.jobKey} ${recurring ? 'occurrence succeeded' : 'SUCCEEDED'}`;
          const success = { ...successParams(this.#claim, recurring, this.#config.clock(), ttl), label };
          uow.update(Object.assign(success, { [LIBRARY_WRITE]: 'job-success' as const }));
          await handler(this.#payload, { uow, job: this.#info(), logger: this.#logger });
          handlerReturned = true;
        },
        {
          ...this.#config.uowOptions,
          client: this.#client,
          logger: this.#logger,
          propagation: 'requiresNew',
          [EXACTLY_ONCE]: true,
          ...(correlationId ? { correlationId } : {}),
          // Its events link back to the job (causationid) and to the commit that scheduled it (trace context).
          causationId: record.jobId,
          traceContext: () => record.traceContext ?? this.#d.traceContext,
        },
      );
    } catch (error) {
      if (handlerReturned && error instanceof ConditionFailedError && error.libraryWrite === 'job-success')
        return this.#lost(error);
      return this.#fail(error);
    }
    return this.#succeeded();
  }

  #succeeded(): JobRunResult {
    const d = this.#d;
    const occurrence = this.#recurring ? `occurrence ${d.occurrence} ` : '';
    const message = `job ${d.key} ${occurrence}succeeded (attempt ${this.#record.attempts})`;
    return this.#logged('info', message, { ...this.#run, outcome: 'succeeded' });
  }

  /** A failure after the claim: decide the outcome, record it in a transaction of its own, report it. */
  async #fail(error: unknown, permanent = false): Promise<JobRunResult> {
    const failedAt = this.#config.clock();
    const summary = errorSummary(error);
    const outcome = this.#failureOutcome(error, failedAt, permanent);
    try {
      await this.#recordFailure(outcome, summary, failedAt);
    } catch (recordError) {
      if (recordError instanceof ConditionFailedError) return this.#lost(recordError, summary);
      return this.#failureNotRecorded(recordError, summary, failedAt);
    }
    return this.#reportFailure(outcome, summary);
  }

  /** FAILED with a retry (the job's backoff or a `RetryAfterError`), DEAD, or a recurring occurrence failed. */
  #failureOutcome(error: unknown, failedAt: number, permanent: boolean): FailureOutcome {
    const control = failureControl(error);
    const backoff = { ...this.#config.backoff, ...jobBackoffOf(this.#config.jobs[this.#d.name]) }; // the job's own first
    const attempts = this.#record.attempts;
    const delaySeconds = control.retryAfterSeconds ?? retryDelaySeconds(attempts, backoff, this.#config.random);
    return failureOutcome(this.#record, failedAt, delaySeconds, permanent || control.permanent);
  }

  async #recordFailure(outcome: FailureOutcome, summary: ErrorSummary, failedAt: number): Promise<void> {
    const { settings } = this.#config;
    await recordFailure(
      this.#client,
      {
        claim: this.#claim,
        record: this.#record,
        outcome,
        error: summary,
        payload: this.#payload,
        occurrence: this.#d.occurrence,
        nowMs: failedAt,
        retentionSeconds: settings.retentionSeconds,
        eventSource: settings.source ?? 'lambda-unit-of-work.jobs',
        eventType: this.#config.failedEventType,
        correlationId: this.#correlationId,
      },
      settings.maxConflictRetries,
    );
  }

  /** The failure could not be recorded: release the lease if possible, log, and throw (Lambda retries). */
  async #failureNotRecorded(recordError: unknown, summary: ErrorSummary, failedAt: number): Promise<never> {
    const released = await releaseLease(this.#client, this.#claim, summary, failedAt);
    this.#logger.error(
      `job ${this.#d.key}: the failure could not be recorded; ` +
        (released
          ? 'its lease was released (RUNNING, lastError set): the retry of this invocation reclaims it'
          : `it stays RUNNING until its lease expires (${new Date(this.#leaseUntil).toISOString()}); deliveries until then fail with JobLeaseHeldError and are retried`),
      { ...this.#run, error: recordError, jobError: summary },
    );
    throw recordError;
  }

  #reportFailure(outcome: FailureOutcome, summary: ErrorSummary): JobRunResult {
    const { key, occurrence } = this.#d;
    const record = this.#record;
    const run = { ...this.#run, error: summary };
    if (outcome.status === 'FAILED')
      return this.#logged(
        'warn',
        `job ${key} attempt ${record.attempts}/${record.maxAttempts} failed; retry at ${outcome.retryAt}`,
        { ...run, outcome: 'failed', retryAt: outcome.retryAt, retryVersion: outcome.newVersion },
      );
    if (outcome.status === 'DEAD') {
      const published = this.#config.failedEventType;
      const message = `job ${key} is DEAD after ${record.attempts} attempts; ${published} published`;
      return this.#logged('error', message, { ...run, outcome: 'dead' });
    }
    const message = `job ${key} occurrence ${occurrence} failed; the next occurrence runs as scheduled`;
    return this.#logged('warn', message, { ...run, outcome: 'failed' });
  }

  /** The job moved on under us (cancelled, reclaimed, or our own commit landed with its answer lost). */
  #lost(error: ConditionFailedError, jobError?: ErrorSummary): JobRunResult {
    const why = lostTransition(error.item as Partial<JobRecord> | undefined, this.#claim.leaseToken);
    const run = this.#run;
    const message = `job ${this.#d.key}: ${why.reason}`;
    if (why.outcome === 'already-committed') {
      // The record, not this invocation's view of it: a success commit whose answer was lost reads SUCCEEDED here.
      const error = why.recorded !== 'succeeded' && jobError ? { error: jobError } : {};
      return this.#logged('info', message, { ...run, outcome: why.recorded, ...error });
    }
    const result: JobRunResult = { ...run, outcome: why.outcome, reason: why.reason };
    this.#logged('warn', message, result, jobError ? { jobError } : {});
    return { ...result, ...(jobError ? { error: jobError } : {}) };
  }

  /** Logs a run's result (with `extra` attributes that are not part of it) and returns the result. */
  #logged(level: 'info' | 'warn' | 'error', message: string, result: JobRunResult, extra = {}): JobRunResult {
    this.#logger[level](message, { ...result, ...extra });
    return result;
  }
}

/** Ends our lease at once after a failure that could not be recorded (best effort: `true` when it was written). */
async function releaseLease(
  client: DynamoDBDocumentClient,
  claim: ClaimedJob,
  error: ErrorSummary,
  nowMs: number,
): Promise<boolean> {
  try {
    await commitScope.run(true, () => client.send(new UpdateCommand(releaseParams(claim, error, nowMs) as never)));
    return true;
  } catch {
    return false;
  }
}
