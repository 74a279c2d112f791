/**
 * lambda-unit-of-work: a unit of work for AWS Lambda handlers on DynamoDB. Writes, domain events and jobs
 * commit in one TransactWriteItems; the outbox dispatcher publishes and schedules only after the commit.
 *
 * The root holds what a handler needs. Subpaths: `lambda-unit-of-work/dispatch` (the outbox dispatcher),
 * `lambda-unit-of-work/jobs` (the job runner, job reads, job admin), `lambda-unit-of-work/inbox` (exactly-once
 * consumers), `lambda-unit-of-work/redrive` (dead-letter redrive), `lambda-unit-of-work/testing` (unit tests
 * without DynamoDB), `lambda-unit-of-work/local` (DynamoDB Local and the local endpoints; dev and tests only),
 * `lambda-unit-of-work/cdk` (the construct).
 */
export {
  discardOnTimeout,
  unitOfWork,
  type UnitOfWorkContext,
  type UnitOfWorkMiddleware,
  type UnitOfWorkMiddlewareOptions,
} from './middleware/unit-of-work-middleware.js';
export {
  currentUnitOfWork,
  withUnitOfWork,
  PROPAGATION,
  type Propagation,
  type WithUnitOfWorkOptions,
} from './unit-of-work/context.js';
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
  type JobContext,
  type JobDefinitions,
  type JobHandler,
  type JobPayload,
  type JobPayloads,
  type JobRunInfo,
  type JobScheduleInput,
} from './jobs/definitions.js';
export type { CloudEvent } from './outbox/messages.js';
export type { IdempotencyOptions } from './idempotency/options.js';
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
