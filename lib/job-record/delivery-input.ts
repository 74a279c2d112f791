import type { JobEnvelope } from '../outbox/messages.js';

/**
 * EventBridge Scheduler context attributes the dispatcher puts in a job schedule's target `Input`; the
 * service (and the local Scheduler endpoint) replaces them with their values on every delivery.
 */
export const SCHEDULER_CONTEXT = {
  scheduledTime: '<aws.scheduler.scheduled-time>',
  attemptNumber: '<aws.scheduler.attempt-number>',
  executionId: '<aws.scheduler.execution-id>',
  scheduleArn: '<aws.scheduler.schedule-arn>',
} as const;

/** The target `Input` of a job schedule as the dispatcher writes it: the job envelope plus the placeholders. */
export interface JobRunnerInputTemplate extends JobEnvelope {
  readonly scheduledTime: typeof SCHEDULER_CONTEXT.scheduledTime;
  readonly attemptNumber: typeof SCHEDULER_CONTEXT.attemptNumber;
  readonly executionId: typeof SCHEDULER_CONTEXT.executionId;
}

/**
 * What the job runner Lambda receives when a job schedule fires: the job envelope plus the Scheduler
 * context attributes, substituted. All three context values arrive as strings.
 *
 * Deduplicate deliveries on `scheduleName` + `scheduledTime` (and `version`), not on `executionId`,
 * which is new on every Scheduler retry.
 */
export interface JobRunnerInput<TPayload = unknown> extends JobEnvelope<TPayload> {
  /** The time the occurrence was scheduled for, ISO 8601 UTC (`2026-11-22T10:15:00Z`). */
  readonly scheduledTime: string;
  /** `"1"` for the first delivery of an occurrence, `"2"` for the Scheduler's first retry, … */
  readonly attemptNumber: string;
  /** Unique id of this delivery (new on every retry). */
  readonly executionId: string;
}

/**
 * Builds the target `Input` template of a job schedule (pure). The job's `correlationId` and `traceContext`
 * (from its record) ride along, so the runner's logs carry them from the delivery on.
 */
export function jobRunnerInputTemplate(job: JobEnvelope): JobRunnerInputTemplate {
  return {
    jobId: job.jobId,
    key: job.key,
    name: job.name,
    version: job.version,
    payload: job.payload,
    scheduleName: job.scheduleName,
    ...(job.correlationId ? { correlationId: job.correlationId } : {}),
    ...(job.traceContext ? { traceContext: job.traceContext } : {}),
    scheduledTime: SCHEDULER_CONTEXT.scheduledTime,
    attemptNumber: SCHEDULER_CONTEXT.attemptNumber,
    executionId: SCHEDULER_CONTEXT.executionId,
  };
}
