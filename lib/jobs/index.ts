/**
 * `lambda-unit-of-work/jobs`: the job runner (the EventBridge Scheduler target of every job schedule) and
 * reading job state. Handlers that only schedule jobs import `defineJobs` / `scheduleJob` from the root.
 */
export {
  defineJobs,
  scheduleJob,
  type DefineJobsOptions,
  type JobPayloadSchemas,
  type JobContext,
  type JobDefinitions,
  type JobHandler,
  type JobPayload,
  type JobPayloads,
  type JobRunInfo,
  type JobScheduleInput,
} from './definitions.js';
export {
  jobRunner,
  type JobRunOutcome,
  type JobRunResult,
  type JobRunnerContext,
  type JobRunnerHandler,
} from './runner.js';
export { JOB_RUNNER_DEFAULTS, retryDelaySeconds, type JobBackoff, type JobRunnerOptions } from './options.js';
export { getJob, listJobs, type JobPage, type JobReadOptions, type JobView, type ListJobsOptions } from './read.js';
export { jobFailedEvent, type JobFailedData } from './failure.js';
export {
  DEFAULT_MAX_ATTEMPTS,
  JOB_STATUS,
  TERMINAL_JOB_STATUSES,
  type JobRecord,
  type JobStatus,
} from '../job-record/record.js';
export { SCHEDULER_CONTEXT, type JobRunnerInput } from '../job-record/delivery-input.js';
export { scheduleNameFor } from '../job-record/schedule-name.js';
export { cancelJob, retryJob, type JobAdminOptions, type JobAdminResult, type RetryJobOptions } from './admin.js';
export {
  deliveryOfTimerMessage,
  jobQueueRunner,
  type JobQueueRunnerHandler,
  type JobQueueRunnerOptions,
} from './queue-runner.js';
