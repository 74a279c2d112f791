/**
 * `lambda-unit-of-work/cdk`: the {@link TransactionalOutbox} construct and its helpers. Loads aws-cdk-lib
 * and the shared table schema only, never the runtime SDK clients.
 */
export { TransactionalOutbox } from './transactional-outbox.js';
export {
  type DispatcherFunctionOptions,
  TRANSACTIONAL_OUTBOX_DEFAULTS,
  type TransactionalOutboxProps,
} from './props.js';
export { TransactionalOutboxError } from './errors.js';
export { TIMER_QUEUE_DEFAULTS, type TimerTransport, type TimerTransportProps } from './timer-queue.js';
export { defaultDispatcherEntry, FUNCTION_BUNDLING } from './dispatcher.js';
export { FunctionRole, type FunctionRoleProps } from './resources.js';
export { COMMIT_ACTIONS, JOB_RUNNER_ITEM_ACTIONS, OUTBOX_COMMIT_ACTIONS } from './grants.js';
