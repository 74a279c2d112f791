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

/** One metric: its name, unit and dimensions. */
export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnitName;
  readonly dimensions: readonly (typeof METRIC_DIMENSIONS)[keyof typeof METRIC_DIMENSIONS][];
}

const SERVICE = [METRIC_DIMENSIONS.service] as const;
const metric = (name: string, unit: MetricUnitName, dimensions: MetricDefinition['dimensions'] = SERVICE) =>
  ({ name, unit, dimensions }) satisfies MetricDefinition;

/** Every metric of the library (what each one means is in `descriptions.ts`, read by the docs only). */
export const METRICS = {
  // Commits (emitted by the unit of work, in the handler).
  commitsCommitted: metric('CommitsCommitted', 'Count'),
  commitsFailed: metric('CommitsFailed', 'Count'),
  commitActions: metric('CommitActions', 'Count'),
  commitEvents: metric('CommitEvents', 'Count'),
  commitJobs: metric('CommitJobs', 'Count'),
  commitAttempts: metric('CommitAttempts', 'Count'),
  commitConflictsRetried: metric('CommitConflictsRetried', 'Count'),
  // Dispatch (emitted by the outbox dispatcher).
  dispatchRecords: metric('DispatchRecords', 'Count'),
  eventsPublished: metric('EventsPublished', 'Count'),
  schedulesCreated: metric('SchedulesCreated', 'Count'),
  schedulesUpdated: metric('SchedulesUpdated', 'Count'),
  schedulesDeleted: metric('SchedulesDeleted', 'Count'),
  timersQueued: metric('TimersQueued', 'Count'),
  dispatchFailures: metric('DispatchFailures', 'Count'),
  callsThrottled: metric('CallsThrottled', 'Count'),
  partialBatchFailures: metric('PartialBatchFailures', 'Count'),
  dispatchLagMs: metric('DispatchLagMs', 'Milliseconds'),
  // Job runs (emitted by the job runner).
  jobRuns: metric('JobRuns', 'Count', [METRIC_DIMENSIONS.service, METRIC_DIMENSIONS.outcome]),
  jobRunDurationMs: metric('JobRunDurationMs', 'Milliseconds'),
  jobRunAttempts: metric('JobRunAttempts', 'Count'),
  jobsDead: metric('JobsDead', 'Count'),
  jobLeasesExpired: metric('JobLeasesExpired', 'Count'),
} as const satisfies Record<string, MetricDefinition>;
