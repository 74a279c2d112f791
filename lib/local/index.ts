/**
 * `lambda-unit-of-work/local`: the local runtime for tests and `npm start` — DynamoDB Local, the outbox
 * table, a stream poller playing Lambda's event source mapping, and local EventBridge Scheduler and
 * EventBridge endpoints for the real SDK clients, a local SQS with a poller playing the SQS event source mapping,
 * and token-bucket quotas for the endpoints. Never imported by Lambda code.
 */
export {
  freePort,
  LOCAL_AWS_CONFIG,
  startDynamoDBLocal,
  type DynamoDBLocal,
  type DynamoDBLocalOptions,
} from './dynamodb-local.js';
export { createOutboxTable, type OutboxTable } from './outbox-table.js';
export {
  startStreamPoller,
  type StreamFailure,
  type StreamHandler,
  type StreamInvocation,
  type StreamPoller,
  type StreamPollerOptions,
} from './stream-poller.js';
export { localLambdaContext, toLambdaAttribute, toLambdaImage, toLambdaRecord } from './stream-record.js';
export { ShardHandle, ShardReader } from './stream-shards.js';
export { matchesAnyPattern, matchesPattern, type EventPattern } from './event-pattern.js';
export {
  startLocalScheduler,
  type LocalCall,
  type LocalScheduler,
  type LocalSchedulerOptions,
} from './scheduler-endpoint.js';
export {
  SchedulerStore,
  type DeadLetter,
  type Delivery,
  type LocalSchedule,
  type LocalTarget,
  type LocalTargetContext,
} from './scheduler-store.js';
export { checkName, NAME_PATTERN, validateDefinition, type ScheduleDefinition } from './scheduler-validate.js';
export {
  isTimeZone,
  nextCron,
  nextOccurrence,
  parseCron,
  parseScheduleExpression,
  schedulerTime,
  zonedToUtc,
  type Cron,
  type OccurrenceContext,
  type ScheduleExpression,
} from './schedule-expression.js';
export {
  startLocalEventBridge,
  type EntryOutcome,
  type EventBridgeEnvelope,
  type LocalEventBridge,
  type LocalEventBridgeOptions,
  type PublishedEvent,
  type ReceivedEntry,
} from './eventbridge-endpoint.js';
export { manualClock, realClock, type LocalClock } from './clock.js';
export { createFaults, type FaultControls, type Faults, type LatencySetting } from './faults.js';
export {
  LocalServiceError,
  startLocalServer,
  type ErrorStyle,
  type LocalRequest,
  type LocalResponse,
  type LocalServer,
} from './http.js';
export { createMemoryLogger, type LogEntry, type MemoryLogger } from './memory-logger.js';
export {
  LOCAL_ARNS,
  startLocalOutboxStack,
  type LocalOutboxStack,
  type LocalOutboxStackOptions,
} from './outbox-stack.js';
export {
  startLocalHttpApi,
  toHttpApiEvent,
  type HttpApiHandler,
  type HttpApiRoute,
  type LocalHttpApi,
  type LocalHttpApiOptions,
} from './http-api.js';
export { sqsRecordOf, type SqsRecordOptions } from './sqs-record.js';
export { startLocalSqs, type LocalSqs, type LocalSqsMessage, type LocalSqsOptions } from './sqs-endpoint.js';
export {
  SqsStore,
  QUEUE_ATTRIBUTE_LIMITS,
  parseQueueAttributes,
  type LocalQueue,
  type SqsQueueSettings,
  type StoredSqsMessage,
} from './sqs-store.js';
export { md5OfAttributes, md5OfBody, sqsError, type SqsErrorName, type SqsMessageAttribute } from './sqs-message.js';
export {
  startSqsPoller,
  toSqsRecord,
  type SqsHandler,
  type SqsInvocation,
  type SqsPoller,
  type SqsPollerOptions,
} from './sqs-poller.js';
export {
  lambdaStreamFailureRecord,
  schedulerDeadLetterToSqs,
  streamFailureToSqs,
  type SqsDestinationOptions,
} from './sqs-destination.js';
export {
  tokenBucketQuota,
  type LocalQuota,
  type QuotaRate,
  type QuotaStats,
  type TokenBucketQuotaOptions,
} from './quota.js';
export {
  startLocalTimerQueue,
  type LocalTimerQueue,
  type LocalTimerQueueOptions,
} from './timer-queue.js';
