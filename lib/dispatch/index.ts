/** The outbox dispatcher: DynamoDB stream records of the outbox table → EventBridge PutEvents and Scheduler calls. */
export { outboxDispatcher, type OutboxDispatcherHandler, type OutboxDispatcherOptions } from './dispatcher.js';
export {
  DISPATCHER_DEFAULTS,
  resolveDispatcherConfig,
  tableNameFromStreamArn,
  type CallRetryOptions,
  type DispatcherConfig,
  type DispatcherLogger,
  type DispatcherSettings,
  type ScheduleRetryPolicy,
} from './config.js';
export {
  chunkPutEvents,
  jobScheduleInputJson,
  jobScheduleRequest,
  MAX_SCHEDULE_INPUT_CHARS,
  PUT_EVENTS_LIMITS,
  putEventsEntrySize,
  scheduleExpressionOf,
  toPutEventsEntry,
  type ScheduleExpressionFields,
} from './map.js';
export {
  describeJobRecord,
  desiredSchedule,
  isImagelessOutboxInsert,
  isOutboxInsert,
  sameSchedule,
  scheduleFingerprint,
  type DesiredSchedule,
  type ScheduleFields,
} from './decide.js';
export { backoffDelay, isRetryableError, isThrottlingError, mayRetry, realRetryClock, retrying, type BackoffPolicy, type RetryClock } from './retry.js';
export { createLimiter, type Limiter } from './limiter.js';
export { createCaller, newStats, type Caller, type DispatchStats } from './calls.js';
export { createEventPublisher, type EventPublisher } from './eventbridge.js';
export { createScheduleStore, type ScheduleStore } from './scheduler.js';
export { createJobRecordReader, type JobRecordReader } from './job-records.js';
export {
  dispatchCancelJob,
  dispatchRescheduleJob,
  dispatchScheduleJob,
  MAX_CONVERGENCE_ROUNDS,
  scheduleRequestOfRecord,
  type JobDispatchDeps,
  type JobOutcome,
  type ScheduleAction,
} from './jobs.js';
