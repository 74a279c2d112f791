import { Logger } from '@aws-lambda-powertools/logger';
import { InvalidOperationError, JobLeaseHeldError } from '../errors.js';
import { createMetricsBatch, resolveMetrics } from '../metrics/emitter.js';
import { METRICS } from '../metrics/names.js';
import type { LoggerLike } from '../logger.js';
import type { JobDefinitions } from './definitions.js';
import type { JobRunnerInput } from '../job-record/delivery-input.js';
import { deliveryLogKeys, withLogKeys } from './log-keys.js';
import { JobRun, type Delivery } from './job-run.js';
import { resolveJobRunnerOptions, type JobRunnerOptions } from './options.js';
import { normalizeOccurrence } from '../job-record/transitions.js';

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
      withLogKeys(logger!, keys, (keyed) => new JobRun(config, d, context, keyed).run());
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
