/**
 * The job record (lib/job-record/): its schema (this file), the writes that create and change it (writes.ts),
 * its state machine (transitions.ts), its status index (status-index.ts), the schedule name derived from its key
 * (schedule-name.ts) and what a delivery carries (delivery-input.ts). Dependency-free of the unit of work, the
 * dispatcher and the runner: the core imports it to buffer job writes, the dispatcher to read records and build
 * schedules, the runner to claim and finish them. Only the runner (lib/jobs/) depends on the core.
 */
import type { JobScheduleSpec } from '../outbox/messages.js';
import type { TraceContext } from '../trace-context.js';
import { OUTBOX_KEYS, type OUTBOX_SCHEMA } from '../outbox/schema.js';

/** Lifecycle of a job record. */
export const JOB_STATUS = {
  /** Written by the unit of work that scheduled it; waiting for its time. */
  SCHEDULED: 'SCHEDULED',
  /** Claimed by a runner that holds the lease until `leaseUntil`. */
  RUNNING: 'RUNNING',
  /** Its handler's unit of work committed (one-time jobs end here). */
  SUCCEEDED: 'SUCCEEDED',
  /** The last attempt failed; a retry is scheduled for `nextRunAt`. */
  FAILED: 'FAILED',
  /** Attempts exhausted; a `JobFailed` event was published. */
  DEAD: 'DEAD',
  /** Cancelled by `uow.cancelJob(key)`; a late delivery skips it. */
  CANCELLED: 'CANCELLED',
} as const;

/** One of {@link JOB_STATUS}. */
export type JobStatus = (typeof JOB_STATUS)[keyof typeof JOB_STATUS];

/** Statuses after which a job never runs again. */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = [
  JOB_STATUS.SUCCEEDED,
  JOB_STATUS.DEAD,
  JOB_STATUS.CANCELLED,
];

/** Default number of attempts of a job (first run included). */
export const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * A job record as stored in the outbox/jobs table (`pk = job#<key>`, `sk = job`). The payload is kept as
 * a JSON string so that any JSON value round-trips exactly.
 */
export interface JobRecord {
  readonly pk: string;
  readonly sk: string;
  readonly _kind: typeof OUTBOX_SCHEMA.jobKind;
  readonly jobId: string;
  readonly jobKey: string;
  readonly jobName: string;
  /** JSON text of the payload. */
  readonly payload: string;
  readonly schedule: JobScheduleSpec;
  readonly scheduleName: string;
  readonly jobStatus: JobStatus;
  /** Incremented by every reschedule, retry and cancel: a schedule for an older version is stale. */
  readonly version: number;
  /** Attempts started so far. */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly createdAt: string;
  /** Sort key of the status index: ISO time of the last change. */
  readonly jobUpdatedAt: string;
  /** When the next (or first) attempt is due, for one-time jobs. */
  readonly nextRunAt?: string;
  readonly correlationId?: string;
  /** Trace context of the commit that scheduled the job (`traceparent`, `tracestate`, `traceHeader`). */
  readonly traceContext?: TraceContext;
  /** Lease of the runner that holds a RUNNING job: epoch milliseconds. */
  readonly leaseUntil?: number;
  /**
   * Random token of the runner's claim (new on every claim): the SUCCEEDED and failure transitions are
   * conditional on it, so a runner whose lease was reclaimed cannot commit. Kept after the run, so a
   * runner can tell that a commit whose response it lost went through.
   */
  readonly leaseToken?: string;
  /** For recurring jobs: the scheduled time of the last occurrence that was claimed. */
  readonly lastOccurrence?: string;
  readonly lastRunAt?: string;
  /**
   * The status the last claim found: `RUNNING` means it reclaimed a run whose lease had expired (the runner
   * holding it crashed or timed out), counted by the `JobLeasesExpired` metric.
   */
  readonly claimedFrom?: JobStatus;
  readonly lastOutcome?: 'SUCCEEDED' | 'FAILED';
  readonly lastError?: { readonly name: string; readonly message: string };
  /** Epoch seconds; set when the job reaches a terminal status. */
  readonly ttl?: number;
}

/** The primary key of the job record of `jobKey`. */
export function jobRecordKey(jobKey: string): { pk: string; sk: string } {
  return { pk: OUTBOX_KEYS.jobPk(jobKey), sk: OUTBOX_KEYS.jobSk };
}
