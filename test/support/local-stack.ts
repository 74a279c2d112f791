/**
 * A reusable end-to-end harness for tests: the outbox table on the jest run's DynamoDB Local, the local
 * Scheduler (manual clock) and EventBridge endpoints, and a fast stream poller feeding the real
 * `outboxDispatcher`. Everything after a commit runs as in the deployed stack, only locally and quickly.
 *
 * @example
 * ```ts
 * import { startTestStack, type TestStack } from '../support/local-stack.js';
 * let stack: TestStack;
 * beforeAll(async () => { stack = await startTestStack(); });
 * afterAll(() => stack.stop());
 *
 * it('schedules the job', async () => {
 *   await handlerUsing(stack.tableName, stack.doc)(event, lambdaContext());   // a middy handler with unitOfWork()
 *   await stack.drain();                                                     // the poller dispatched the commit
 *   expect(stack.scheduler.getSchedule('expire-order-1')).toBeDefined();
 *   stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, jobRunnerHandler);
 *   await stack.scheduler.advance(15 * 60_000);                              // fires what became due
 * });
 * ```
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  LOCAL_ARNS,
  startLocalOutboxStack,
  type LocalOutboxStack,
  type LocalOutboxStackOptions,
} from '../../lib/local/outbox-stack.js';
import { createMemoryLogger, type MemoryLogger } from '../../lib/local/memory-logger.js';
import { outboxDispatcher } from '../../lib/dispatch/dispatcher.js';
import { withUnitOfWork, type UnitOfWork } from '../../lib/index.js';
import type { DynamoDBRecord } from 'aws-lambda';
import { committedStreamRecord } from './stream-records.js';

export { LOCAL_ARNS };

/** Options of {@link startTestStack}: those of `startLocalOutboxStack` except the endpoint, all optional. */
export type TestStackOptions = Partial<Omit<LocalOutboxStackOptions, 'dynamodbEndpoint'>>;

/** A started test stack: the local stack plus a document client and the dispatcher's log lines. */
export interface TestStack extends LocalOutboxStack {
  /** Document client on DynamoDB Local (removeUndefinedValues), e.g. for `unitOfWork({ client })`. */
  readonly doc: DynamoDBDocumentClient;
  /** The dispatcher's log lines (it logs here instead of stdout). */
  readonly logger: MemoryLogger;
}

/**
 * Starts a {@link TestStack} on `process.env.DYNAMODB_ENDPOINT` (set by jest's global setup) with a
 * uniquely named outbox table and test-friendly timings: the poller polls every 10 ms and retries a
 * failed batch after 20 ms (2 retries, then `stack.poller.failures`), the dispatcher retries calls after
 * at most 20 ms, and the Scheduler's clock is manual (starting now) so tests fire schedules with
 * `stack.scheduler.advance(ms)`. Every option can be overridden.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint)
    throw new Error('DYNAMODB_ENDPOINT is not set: run the tests through jest (its globalSetup starts DynamoDB Local)');
  const logger = createMemoryLogger();
  const stack = await startLocalOutboxStack({
    ...options,
    dynamodbEndpoint: endpoint,
    scheduler: { clock: 'manual', ...options.scheduler },
    dispatcher: {
      logger,
      clock: { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))) },
      ...options.dispatcher,
    },
    poller: { pollIntervalMs: 10, retryDelayMs: 20, maximumRetryAttempts: 2, ...options.poller },
  });
  const doc = DynamoDBDocumentClient.from(stack.clients.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
  return Object.assign(stack, { doc, logger });
}

/**
 * An outbox dispatcher wired to a test stack's clients and table, with an in-memory logger (on `.logger`)
 * and retry sleeps capped at 5 ms. `options` override anything (a held Scheduler client, concurrency, …).
 */
export function testDispatcher(stack: TestStack, options: Parameters<typeof outboxDispatcher>[0] = {}) {
  const logger = createMemoryLogger();
  const handler = outboxDispatcher({
    jobRunnerArn: LOCAL_ARNS.jobRunner,
    schedulerRoleArn: LOCAL_ARNS.schedulerRole,
    outboxTable: stack.tableName,
    env: {},
    clients: {
      dynamodb: stack.clients.dynamodb,
      scheduler: stack.clients.scheduler,
      eventBridge: stack.clients.eventBridge,
    },
    logger,
    clock: { sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))) },
    ...options,
  });
  return Object.assign(handler, { logger });
}

let commitSequence = 0;

/**
 * Commits `fn` in a unit of work of its own (`requiresNew`) on the stack's outbox table and returns the stream
 * record of its outbox item as the stream would deliver it, for calling a dispatcher directly. Sequence numbers
 * count up across calls, so records keep their commit order.
 */
export async function commitStreamRecord(
  stack: TestStack,
  fn: (uow: UnitOfWork) => void,
  source = 'test',
): Promise<DynamoDBRecord> {
  const id = await withUnitOfWork(
    async (uow) => {
      fn(uow);
      return uow.id;
    },
    { outboxTable: stack.tableName, client: stack.doc, source, propagation: 'requiresNew' },
  );
  const seq = String(++commitSequence).padStart(21, '0');
  return committedStreamRecord(stack.clients.dynamodb, stack.tableName, stack.streamArn, id, seq);
}
