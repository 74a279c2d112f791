/**
 * `lambda-unit-of-work/dispatch`: the outbox dispatcher, the Lambda handler on the outbox table's DynamoDB
 * stream that publishes committed events to EventBridge and creates, updates and deletes job schedules.
 */
export { outboxDispatcher, type OutboxDispatcherHandler, type OutboxDispatcherOptions } from './dispatcher.js';
export {
  DISPATCHER_DEFAULTS,
  type CallRetryOptions,
  type DispatcherConfig,
  type DispatcherSettings,
  type ScheduleRetryPolicy,
} from './config.js';
export type { LoggerLike } from '../logger.js';
