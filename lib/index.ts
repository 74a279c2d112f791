/**
 * lambda-unit-of-work: a unit of work for AWS Lambda handlers on DynamoDB. Writes, domain events and jobs
 * commit in one TransactWriteItems; the outbox dispatcher publishes and schedules only after the commit.
 *
 * Subpaths: `lambda-unit-of-work/local` (DynamoDB Local, local endpoints; dev and tests only),
 * `lambda-unit-of-work/testing` (unit tests without DynamoDB) and `lambda-unit-of-work/cdk` (the CDK construct).
 */
export { discardOnTimeout, unitOfWork, type UnitOfWorkContext, type UnitOfWorkMiddleware, type UnitOfWorkMiddlewareOptions } from './middleware/unit-of-work-middleware.js';
export { currentUnitOfWork, withUnitOfWork, PROPAGATION, type Propagation, type WithUnitOfWorkOptions } from './unit-of-work/context.js';
export { guardAllClients, guardClient } from './unit-of-work/guard.js';
export { UnitOfWork, type LoggerLike, type UnitOfWorkState } from './unit-of-work/unit-of-work.js';
export type { UnitOfWorkOptions } from './unit-of-work/settings.js';
export type {
  PendingCounts,
  PublishInput,
  ScheduleInput,
  ScheduleWhen,
  ScheduledJob,
  UowConditionCheckInput,
  UowDeleteInput,
  UowPutInput,
  UowUpdateInput,
} from './unit-of-work/types.js';
export * from './errors.js';
export {
  defineJobs,
  scheduleJob,
  type DefineJobsOptions,
  type JobPayloadSchemas,
  jobRunner,
  getJob,
  listJobs,
  jobFailedEvent,
  retryDelaySeconds,
  scheduleNameFor,
  DEFAULT_MAX_ATTEMPTS,
  JOB_RUNNER_DEFAULTS,
  JOB_STATUS,
  SCHEDULER_CONTEXT,
  TERMINAL_JOB_STATUSES,
  type JobBackoff,
  type JobContext,
  type JobDefinitions,
  type JobFailedData,
  type JobHandler,
  type JobPage,
  type JobPayload,
  type JobPayloads,
  type JobReadOptions,
  type JobRecord,
  type JobRunInfo,
  type JobRunOutcome,
  type JobRunResult,
  type JobRunnerContext,
  type JobRunnerHandler,
  type JobRunnerInput,
  type JobRunnerOptions,
  type JobScheduleInput,
  type JobStatus,
  type JobView,
  type ListJobsOptions,
} from './jobs/index.js';
export * from './redrive/index.js';
export { runCli, type CliIo } from './cli/main.js';
export { cancelJob, retryJob, type JobAdminOptions, type JobAdminResult, type RetryJobOptions } from './jobs/admin.js';
export {
  outboxDispatcher,
  resolveDispatcherConfig,
  DISPATCHER_DEFAULTS,
  type CallRetryOptions,
  type DispatcherConfig,
  type DispatcherLogger,
  type DispatcherSettings,
  type OutboxDispatcherHandler,
  type OutboxDispatcherOptions,
  type ScheduleRetryPolicy,
} from './dispatch/index.js';
export type { CloudEvent, JobEnvelope, JobScheduleSpec, OutboxItem, OutboxMessage } from './outbox/messages.js';
export { OUTBOX_SCHEMA, OUTBOX_STREAM_FILTER_PATTERN, OUTBOX_TABLE_DEFINITION, ENV } from './outbox/schema.js';
export {
  IDEMPOTENCY_DEFAULTS,
  IDEMPOTENCY_RECORD,
  RESPONSE_ENCODING,
  idempotencyRecordKey,
  type IdempotencyOptions,
  type IdempotencyRecord,
  type ResponseEncoding,
} from './idempotency/index.js';
export {
  defineEvents,
  toCloudEvent,
  isStandardSchema,
  type CatalogEvent,
  type EventCatalog,
  type EventOf,
  type EventSchemas,
  type SchemaInput,
  type SchemaOutput,
  type StandardSchemaV1,
  type TypedPublishOptions,
} from './events/index.js';
export {
  inboxConsumer,
  inboxRecordKey,
  INBOX_RECORD,
  type InboxConsumerHandler,
  type InboxContext,
  type InboxHandler,
  type InboxOptions,
  type InboxRecordType,
  type InboxRecords,
} from './inbox/index.js';
