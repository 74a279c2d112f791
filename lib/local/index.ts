/**
 * `lambda-unit-of-work/local`: the local runtime for tests and `npm start` — DynamoDB Local, the outbox
 * table, a stream poller playing Lambda's event source mapping, and local EventBridge Scheduler and
 * EventBridge endpoints for the real SDK clients. Never imported by Lambda code.
 */
export { freePort, LOCAL_AWS_CONFIG, startDynamoDBLocal, type DynamoDBLocal, type DynamoDBLocalOptions } from './dynamodb-local.js';
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
export { startLocalScheduler, type LocalCall, type LocalScheduler, type LocalSchedulerOptions } from './scheduler-endpoint.js';
export { SchedulerStore, type DeadLetter, type Delivery, type LocalSchedule, type LocalTarget, type LocalTargetContext } from './scheduler-store.js';
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
export { LocalServiceError, startLocalServer, type ErrorStyle, type LocalRequest, type LocalResponse, type LocalServer } from './http.js';
export { createMemoryLogger, type LogEntry, type MemoryLogger } from './memory-logger.js';
export { LOCAL_ARNS, startLocalOutboxStack, type LocalOutboxStack, type LocalOutboxStackOptions } from './outbox-stack.js';
export { startLocalHttpApi, toHttpApiEvent, type HttpApiHandler, type HttpApiRoute, type LocalHttpApi, type LocalHttpApiOptions } from './http-api.js';
export { sqsRecordOf, type SqsRecordOptions } from './sqs-record.js';
