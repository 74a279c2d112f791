import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ConditionFailedError, InvalidOperationError, JobLeaseHeldError, UnknownJobError } from '../errors.js';
import { createMetricsBatch, resolveMetrics } from '../metrics/emitter.js';
import { METRICS } from '../metrics/names.js';
import { commitScope } from '../unit-of-work/commit.js';
import { EXACTLY_ONCE, withUnitOfWork } from '../unit-of-work/context.js';
import type { TraceContext } from '../unit-of-work/trace-context.js';
import type { LoggerLike } from '../unit-of-work/unit-of-work.js';
import { jobBackoffOf, type JobDefinitions, type JobHandler, type JobRunInfo } from './definitions.js';
import { failureControl, recordFailure } from './failure.js';
import type { JobRunnerInput } from './input.js';
import { deliveryLogKeys, withLogKeys } from './log-keys.js';
import {
  resolveJobRunnerOptions,
  retryDelaySeconds,
  type JobRunnerOptions,
  type JobRunnerSettings,
} from './options.js';
import { JOB_STATUS, type JobRecord } from './record.js';
import {
  claimParams,
  errorSummary,
  failureOutcome,
  heldLease,
  isRecurring,
  lostTransition,
  normalizeOccurrence,
  releaseParams,
  skipReason,
  successParams,
  type ClaimedJob,
} from './transitions.js';

/** How one delivery ended. */
export type JobRunOutcome = 'succeeded' | 'failed' | 'dead' | 'skipped' | 'cancelled' | 'lost';

/** What the runner returns (and logs) for one delivery. */
export interface JobRunResult {
  readonly outcome: JobRunOutcome;
  readonly key: string;
  readonly name: string;
  readonly version: number;
  /** The occurrence, normalized (`yyyy-mm-ddThh:mm:ssZ`). */
  readonly scheduledTime: string;
  /** The attempt number of a run (absent when skipped). */
  readonly attempt?: number;
  /**
   * `true` when this run reclaimed the job from a run found RUNNING past its lease (it crashed or timed out),
   * as counted by the `JobLeasesExpired` metric.
   */
  readonly leaseExpired?: true;
  /** Why it was skipped, cancelled or lost. */
  readonly reason?: string;
  /** When a failed one-time job is retried, and the version of that retry. */
  readonly retryAt?: string;
  readonly retryVersion?: number;
  readonly error?: { readonly name: string; readonly message: string };
}

/** The Lambda context fields the runner reads. */
export interface JobRunnerContext {
  readonly awsRequestId?: string;
  getRemainingTimeInMillis?(): number;
}

/** The Scheduler target handler returned by {@link jobRunner}. */
export type JobRunnerHandler = (event: JobRunnerInput, context?: JobRunnerContext) => Promise<JobRunResult>;

interface Delivery {
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

function parseDelivery(event: unknown): Delivery {
  const e = (typeof event === 'string' ? JSON.parse(event) : event) as Partial<JobRunnerInput> | undefined;
  const problems: string[] = [];
  if (typeof e?.key !== 'string' || e.key === '') problems.push('key');
  if (typeof e?.name !== 'string' || e.name === '') problems.push('name');
  if (typeof e?.jobId !== 'string' || e.jobId === '') problems.push('jobId');
  if (typeof e?.version !== 'number' || !Number.isFinite(e.version)) problems.push('version');
  const occurrence = normalizeOccurrence(e?.scheduledTime);
  if (!occurrence)
    problems.push(
      `scheduledTime (${JSON.stringify(e?.scheduledTime)}: the schedule input must carry <aws.scheduler.scheduled-time>)`,
    );
  if (problems.length)
    throw new InvalidOperationError(
      'jobRunner',
      `the event is not a job delivery: missing or invalid ${problems.join(', ')}`,
    );
  const traced =
    typeof e!.traceContext === 'object' && e!.traceContext !== null ? { traceContext: e!.traceContext } : {};
  return {
    jobId: e!.jobId!,
    key: e!.key!,
    name: e!.name!,
    version: e!.version!,
    occurrence: occurrence!,
    executionId: String(e!.executionId ?? ''),
    ...(typeof e!.correlationId === 'string' ? { correlationId: e!.correlationId } : {}),
    ...traced,
  };
}

/**
 * The EventBridge Scheduler target handler that runs due jobs, each exactly once in effect:
 * 1. claims the job record (conditional on its version, status and occurrence) and takes a lease as long
 *    as the invocation's remaining time, so duplicate or concurrent deliveries do nothing: a late one skips,
 *    one that finds the run still under its lease throws {@link JobLeaseHeldError} so that Lambda retries it
 *    (a run that crashed is reclaimed by a retry after its lease; none is left RUNNING silently);
 * 2. runs the job handler in its own unit of work (the ambient one), and commits its writes, events,
 *    follow-up jobs and cancellations together with the job's SUCCEEDED status in one TransactWriteItems,
 *    conditional on the lease: a job cancelled meanwhile, or reclaimed after its lease expired, commits nothing;
 * 3. on failure discards that unit of work and records the failure in a transaction of its own: FAILED with
 *    a retry (exponential backoff, or the seconds of a thrown `RetryAfterError`; through the outbox and the
 *    dispatcher), or DEAD and a `JobFailed` event (attempts exhausted, or a thrown `NonRetriableError`).
 *    Every failure after the claim goes this way (an unknown job name, a stored payload that is not JSON).
 *
 * @example
 * ```ts
 * // functions/job-runner.ts
 * export const handler = jobRunner({
 *   outboxTable: process.env.UOW_OUTBOX_TABLE,
 *   jobs: defineJobs({ 'expire-unpaid-order': expireUnpaidOrder }),
 * });
 * ```
 */
export function jobRunner<const TJobs extends JobDefinitions>(options: JobRunnerOptions<TJobs>): JobRunnerHandler {
  const config = resolveJobRunnerOptions(options as JobRunnerOptions);
  let logger: LoggerLike | undefined = options.logger;
  const metrics = resolveMetrics(options.metrics, 'jobRunner(options)');
  return async (event, context) => {
    logger ??= new Logger({ serviceName: 'lambda-unit-of-work' });
    const d = parseDelivery(event);
    const keys = deliveryLogKeys(d.jobId, d.correlationId ?? context?.awsRequestId, d.traceContext);
    const run = (): Promise<JobRunResult> =>
      withLogKeys(logger!, keys, (keyed) => runDelivery(config, d, context, keyed));
    if (!metrics) return run();
    const batch = createMetricsBatch(metrics);
    const started = performance.now();
    try {
      const result = await run();
      batch.add(METRICS.jobRuns, 1, result.outcome);
      batch.add(METRICS.jobRunDurationMs, performance.now() - started);
      if (result.attempt !== undefined) batch.add(METRICS.jobRunAttempts, result.attempt);
      if (result.outcome === 'dead') batch.add(METRICS.jobsDead, 1);
      if (result.leaseExpired) batch.add(METRICS.jobLeasesExpired, 1);
      return result;
    } finally {
      await batch.flush(logger); // never throws: the run's result stands
    }
  };
}

async function runDelivery(
  config: JobRunnerSettings,
  d: Delivery,
  context: JobRunnerContext | undefined,
  logger: LoggerLike,
): Promise<JobRunResult> {
  const { settings } = config;
  const client = settings.client();
  const nowMs = config.clock();
  const remaining = context?.getRemainingTimeInMillis?.();
  const leaseUntil =
    nowMs + (typeof remaining === 'number' && remaining > 0 ? remaining + config.leaseMarginMs : config.defaultLeaseMs);
  const claim: ClaimedJob = { table: settings.outboxTable, key: d.key, version: d.version, leaseToken: randomUUID() };
  const base = { key: d.key, name: d.name, version: d.version, scheduledTime: d.occurrence };

  const claimed = await claimJob(client, claim, d, nowMs, leaseUntil);
  if ('skip' in claimed) {
    if (claimed.heldUntil !== undefined) {
      // Not a skip: the run holding the lease may have crashed, or failed without a record. Throwing makes
      // Lambda retry this delivery (then hand it to the on-failure destination): a retry after the lease reclaims.
      logger.warn(`job ${d.key}: ${claimed.skip}; this delivery fails so that it is retried`, {
        ...base,
        executionId: d.executionId,
      });
      throw new JobLeaseHeldError(d.key, claimed.heldUntil);
    }
    logger.info(`job ${d.key} skipped: ${claimed.skip}`, { ...base, executionId: d.executionId });
    return { ...base, outcome: 'skipped', reason: claimed.skip };
  }
  // From here on the job is RUNNING under our lease: every exit records the outcome (or throws with the lease released).
  const record = claimed.record;
  const recurring = isRecurring(record.schedule);
  const correlationId = record.correlationId ?? context?.awsRequestId;
  const run = {
    ...base,
    attempt: record.attempts,
    ...(record.claimedFrom === JOB_STATUS.RUNNING ? { leaseExpired: true as const } : {}),
  };
  if (run.leaseExpired)
    logger.warn(`job ${d.key} was RUNNING past its lease (the run holding it crashed or timed out): reclaimed`, run);
  let payload: unknown = record.payload; // the raw text until it parses: what a JobFailed event carries otherwise

  const fail = async (error: unknown, permanent = false): Promise<JobRunResult> => {
    const failedAt = config.clock();
    const summary = errorSummary(error);
    const control = failureControl(error);
    const backoff = { ...config.backoff, ...jobBackoffOf(config.jobs[d.name]) }; // the job's own, over the runner's
    const delaySeconds = control.retryAfterSeconds ?? retryDelaySeconds(record.attempts, backoff, config.random);
    const outcome = failureOutcome(record, failedAt, delaySeconds, permanent || control.permanent);
    try {
      await recordFailure(
        client,
        {
          claim,
          record,
          outcome,
          error: summary,
          payload,
          occurrence: d.occurrence,
          nowMs: failedAt,
          retentionSeconds: settings.retentionSeconds,
          eventSource: settings.source ?? 'lambda-unit-of-work.jobs',
          eventType: config.failedEventType,
          correlationId,
        },
        settings.maxConflictRetries,
      );
    } catch (recordError) {
      if (recordError instanceof ConditionFailedError) return lost(recordError, summary);
      const released = await releaseLease(client, claim, summary, failedAt);
      logger.error(
        `job ${d.key}: the failure could not be recorded; ` +
          (released
            ? 'its lease was released (RUNNING, lastError set): the retry of this invocation reclaims it'
            : `it stays RUNNING until its lease expires (${new Date(leaseUntil).toISOString()}); deliveries until then fail with JobLeaseHeldError and are retried`),
        { ...run, error: recordError, jobError: summary },
      );
      throw recordError;
    }
    if (outcome.status === 'FAILED') {
      logger.warn(`job ${d.key} attempt ${record.attempts}/${record.maxAttempts} failed; retry at ${outcome.retryAt}`, {
        ...run,
        error: summary,
      });
      return { ...run, outcome: 'failed', error: summary, retryAt: outcome.retryAt, retryVersion: outcome.newVersion };
    }
    if (outcome.status === 'DEAD') {
      logger.error(`job ${d.key} is DEAD after ${record.attempts} attempts; ${config.failedEventType} published`, {
        ...run,
        error: summary,
      });
      return { ...run, outcome: 'dead', error: summary };
    }
    logger.warn(`job ${d.key} occurrence ${d.occurrence} failed; the next occurrence runs as scheduled`, {
      ...run,
      error: summary,
    });
    return { ...run, outcome: 'failed', error: summary };
  };

  const lost = (error: ConditionFailedError, jobError?: { name: string; message: string }): JobRunResult => {
    const why = lostTransition(error.item as Partial<JobRecord> | undefined, claim.leaseToken);
    if (why.outcome === 'already-committed') {
      // The record, not this invocation's view of it: a success commit whose answer was lost reads SUCCEEDED here.
      logger.info(`job ${d.key}: ${why.reason}`, run);
      return {
        ...run,
        outcome: why.recorded,
        ...(why.recorded !== 'succeeded' && jobError ? { error: jobError } : {}),
      };
    }
    logger.warn(`job ${d.key}: ${why.reason}`, { ...run, ...(jobError ? { jobError } : {}) });
    return { ...run, outcome: why.outcome, reason: why.reason, ...(jobError ? { error: jobError } : {}) };
  };

  if (!recurring && record.attempts > record.maxAttempts)
    return fail(
      Object.assign(
        new Error(
          `attempt ${record.attempts - 1} did not finish before its lease expired (runner crashed or timed out) and no attempts are left`,
        ),
        { name: 'LeaseExpired' },
      ),
    );
  try {
    payload = JSON.parse(record.payload) as unknown;
  } catch (error) {
    return fail(
      new InvalidOperationError(
        `job ${record.jobKey}`,
        `the stored payload is not JSON (${errorSummary(error).message}); no retry can fix that`,
        { cause: error },
      ),
      true,
    );
  }
  const info: JobRunInfo = {
    jobId: record.jobId,
    key: record.jobKey,
    name: record.jobName,
    version: record.version,
    attempt: record.attempts,
    maxAttempts: record.maxAttempts,
    schedule: record.schedule,
    recurring,
    scheduledTime: d.occurrence,
    executionId: d.executionId,
    ...(correlationId ? { correlationId } : {}),
  };
  const handler = config.jobs[d.name] as JobHandler<unknown> | undefined;
  if (!handler) return fail(new UnknownJobError(d.name, config.jobNames));

  const successLabel = `job ${record.jobKey} ${recurring ? 'occurrence succeeded' : 'SUCCEEDED'}`;
  let handlerReturned = false;
  try {
    await withUnitOfWork(
      async (uow) => {
        // Buffered first: a handler that touches its own job record fails at that call, naming it.
        const ttl = Math.floor(config.clock() / 1000) + settings.retentionSeconds;
        uow.update({ ...successParams(claim, recurring, config.clock(), ttl), label: successLabel });
        await handler(payload, { uow, job: info, logger });
        handlerReturned = true;
      },
      {
        ...config.uowOptions,
        client,
        logger,
        propagation: 'requiresNew',
        [EXACTLY_ONCE]: true,
        ...(correlationId ? { correlationId } : {}),
        // Its events link back to the job (causationid) and to the commit that scheduled it (trace context).
        causationId: record.jobId,
        traceContext: () => record.traceContext ?? d.traceContext,
      },
    );
  } catch (error) {
    if (handlerReturned && error instanceof ConditionFailedError && error.label === successLabel) return lost(error);
    return fail(error);
  }
  logger.info(
    `job ${d.key} ${recurring ? `occurrence ${d.occurrence} ` : ''}succeeded (attempt ${record.attempts})`,
    run,
  );
  return { ...run, outcome: 'succeeded' };
}

/** Ends our lease at once after a failure that could not be recorded (best effort: `true` when it was written). */
async function releaseLease(
  client: DynamoDBDocumentClient,
  claim: ClaimedJob,
  error: { name: string; message: string },
  nowMs: number,
): Promise<boolean> {
  try {
    await commitScope.run(true, () => client.send(new UpdateCommand(releaseParams(claim, error, nowMs) as never)));
    return true;
  } catch {
    return false;
  }
}

async function claimJob(
  client: DynamoDBDocumentClient,
  claim: ClaimedJob,
  d: Delivery,
  nowMs: number,
  leaseUntil: number,
): Promise<{ record: JobRecord } | { skip: string; heldUntil?: number }> {
  const params = claimParams({
    table: claim.table,
    key: d.key,
    jobId: d.jobId,
    version: d.version,
    occurrence: d.occurrence,
    nowMs,
    leaseUntil,
    leaseToken: claim.leaseToken,
  });
  try {
    // The library's own write: a guarded client lets it through even inside an ambient unit of work.
    const out = await commitScope.run(true, () => client.send(new UpdateCommand(params as never)));
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
