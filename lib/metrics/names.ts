/**
 * The one definition of the library's CloudWatch metrics: namespace, metric names, units and dimensions.
 * The emitters (Powertools Metrics, EMF) and the CDK construct's dashboard and alarms both read it, so a
 * metric the dashboard plots is the metric the code emits. This module imports nothing: a CDK app and a
 * Lambda bundle can both load it cheaply.
 *
 * Every metric is emitted with exactly the dimensions listed on it: always `service` (the outbox's service
 * name, {@link METRICS_ENV}.service), plus `outcome` for job runs. CloudWatch identifies a metric by its
 * full dimension set, so emitting a metric with other dimensions would hide it from the dashboard.
 */

/** Defaults of the metrics settings. */
export const METRICS_DEFAULTS = {
  /** CloudWatch namespace of every metric of the library. */
  namespace: 'LambdaUnitOfWork',
} as const;

/**
 * Environment variables that configure the emitters; the construct sets them on the dispatcher, the job
 * runner and the functions it grants (`grantWriter` / `configureFunction`), so that what is emitted is
 * what its dashboard reads. They are the library's own, not Powertools' `POWERTOOLS_*` ones, so that a
 * handler's own Powertools service name is left alone.
 */
export const METRICS_ENV = {
  /** `on` turns the library's metrics on (anything else, or unset, leaves them off). */
  enabled: 'UOW_METRICS',
  /** The CloudWatch namespace. @default {@link METRICS_DEFAULTS}.namespace */
  namespace: 'UOW_METRICS_NAMESPACE',
  /** The value of the `service` dimension. */
  service: 'UOW_METRICS_SERVICE',
} as const;

/** Dimension names. */
export const METRIC_DIMENSIONS = {
  /** The outbox's service name (one per construct). */
  service: 'service',
  /** How a job run ended: one of {@link JOB_RUN_OUTCOMES}. */
  outcome: 'outcome',
} as const;

/** Values of the `outcome` dimension of {@link METRICS}.jobRuns (the runner's `JobRunOutcome`). */
export const JOB_RUN_OUTCOMES = ['succeeded', 'failed', 'dead', 'skipped', 'cancelled', 'lost'] as const;

/** A unit as Powertools' `MetricUnit` and CloudWatch spell it. */
export type MetricUnitName = 'Count' | 'Milliseconds';

/** One metric: its name, unit, dimensions and what one data point means. */
export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnitName;
  readonly dimensions: readonly (typeof METRIC_DIMENSIONS)[keyof typeof METRIC_DIMENSIONS][];
  readonly description: string;
}

const SERVICE = [METRIC_DIMENSIONS.service] as const;
const metric = (
  name: string,
  unit: MetricUnitName,
  description: string,
  dimensions: MetricDefinition['dimensions'] = SERVICE,
) => ({ name, unit, dimensions, description }) satisfies MetricDefinition;

/** Every metric of the library. */
export const METRICS = {
  // Commits (emitted by the unit of work, in the handler).
  commitsCommitted: metric('CommitsCommitted', 'Count', 'Units of work committed (one TransactWriteItems succeeded)'),
  commitsFailed: metric('CommitsFailed', 'Count', 'Units of work that did not commit (after their retries)'),
  commitActions: metric('CommitActions', 'Count', 'Item actions (put/update/delete/condition check) committed'),
  commitEvents: metric('CommitEvents', 'Count', 'Domain events committed to the outbox'),
  commitJobs: metric('CommitJobs', 'Count', 'Job changes (schedule, reschedule, cancel) committed'),
  commitAttempts: metric('CommitAttempts', 'Count', 'TransactWriteItems calls made (attempts, retries included)'),
  commitConflictsRetried: metric('CommitConflictsRetried', 'Count', 'Commits retried after a transaction conflict'),
  // Dispatch (emitted by the outbox dispatcher).
  dispatchRecords: metric('DispatchRecords', 'Count', 'Outbox stream records the dispatcher received'),
  eventsPublished: metric('EventsPublished', 'Count', 'Events PutEvents accepted'),
  schedulesCreated: metric('SchedulesCreated', 'Count', 'Job schedules created'),
  schedulesUpdated: metric('SchedulesUpdated', 'Count', 'Job schedules updated'),
  schedulesDeleted: metric('SchedulesDeleted', 'Count', 'Job schedules deleted'),
  timersQueued: metric('TimersQueued', 'Count', "Job timers sent to the SQS timer queue (timerTransport 'sqs')"),
  dispatchFailures: metric(
    'DispatchFailures',
    'Count',
    'Calls to EventBridge, Scheduler or SQS that failed for good, after their retries (each PutEvents entry that failed for good counts as one)',
  ),
  callsThrottled: metric(
    'CallsThrottled',
    'Count',
    'Answers with throttling to the dispatcher (EventBridge, Scheduler, SQS, DynamoDB reads), each one, retried or not',
  ),
  partialBatchFailures: metric(
    'PartialBatchFailures',
    'Count',
    'Stream records reported as batchItemFailures (Lambda redelivers from the first; the function does not fail)',
  ),
  dispatchLagMs: metric(
    'DispatchLagMs',
    'Milliseconds',
    "Publish time minus commit time (the outbox item's createdAt), per record dispatched in full",
  ),
  // Job runs (emitted by the job runner).
  jobRuns: metric('JobRuns', 'Count', 'Job deliveries by outcome', [
    METRIC_DIMENSIONS.service,
    METRIC_DIMENSIONS.outcome,
  ]),
  jobRunDurationMs: metric('JobRunDurationMs', 'Milliseconds', 'Duration of a job run, claim to commit'),
  jobRunAttempts: metric('JobRunAttempts', 'Count', 'Attempt number of each job run'),
  jobsDead: metric('JobsDead', 'Count', 'Jobs that became DEAD (attempts exhausted or a permanent failure)'),
  jobLeasesExpired: metric(
    'JobLeasesExpired',
    'Count',
    'Jobs found RUNNING past their lease (the run holding it crashed or timed out) and reclaimed or ended',
  ),
} as const satisfies Record<string, MetricDefinition>;
