import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  outboxDispatcher,
  type OutboxDispatcherHandler,
  type OutboxDispatcherOptions,
} from '../dispatch/dispatcher.js';
import { ENV } from '../outbox/schema.js';
import { LOCAL_AWS_CONFIG } from './dynamodb-local.js';
import { startLocalEventBridge, type LocalEventBridge, type LocalEventBridgeOptions } from './eventbridge-endpoint.js';
import { createOutboxTable } from './outbox-table.js';
import { startLocalScheduler, type LocalScheduler, type LocalSchedulerOptions } from './scheduler-endpoint.js';
import { startStreamPoller, type StreamPoller, type StreamPollerOptions } from './stream-poller.js';
import { startLocalTimerQueue, type LocalTimerQueue, type LocalTimerQueueOptions } from './timer-queue.js';

/** ARNs the local stack uses for the job runner, the Scheduler's role and the job dead-letter queue. */
export const LOCAL_ARNS = {
  jobRunner: 'arn:aws:lambda:us-east-1:000000000000:function:job-runner',
  schedulerRole: 'arn:aws:iam::000000000000:role/scheduler-invokes-job-runner',
  jobDeadLetterQueue: 'arn:aws:sqs:us-east-1:000000000000:job-dlq',
} as const;

/** Options of {@link startLocalOutboxStack}. */
export interface LocalOutboxStackOptions {
  /** The DynamoDB Local endpoint (from `startDynamoDBLocal()`). */
  readonly dynamodbEndpoint: string;
  /** @default `outbox-<uuid>` */
  readonly tableName?: string;
  /** Create the outbox table (false: it exists already). @default true */
  readonly createTable?: boolean;
  readonly scheduler?: LocalSchedulerOptions;
  readonly eventBridge?: LocalEventBridgeOptions;
  /** Merged over the stack's settings (local endpoints' clients, {@link LOCAL_ARNS}, the table). */
  readonly dispatcher?: Partial<OutboxDispatcherOptions>;
  /** Merged over the poller's settings (the table's stream, the dispatcher as handler). */
  readonly poller?: Partial<Omit<StreamPollerOptions, 'streamArn'>>;
  /**
   * The SQS timer transport: starts a local SQS with the timer queue and sets the dispatcher's `timerQueueUrl`
   * (one-time jobs due within 15 minutes go there); consume it with `stack.timers.consume(jobQueueRunner(…))`.
   * @default off (every job goes to the local Scheduler)
   */
  readonly timers?: LocalTimerQueueOptions | boolean;
}

/** A running local outbox stack: DynamoDB table + stream poller → dispatcher → local Scheduler and EventBridge. */
export interface LocalOutboxStack {
  readonly tableName: string;
  readonly streamArn: string;
  /** Clients on the local endpoints (`maxAttempts: 1`). */
  readonly clients: {
    readonly dynamodb: DynamoDBClient;
    readonly scheduler: SchedulerClient;
    readonly eventBridge: EventBridgeClient;
  };
  readonly scheduler: LocalScheduler;
  readonly eventBridge: LocalEventBridge;
  readonly dispatcher: OutboxDispatcherHandler;
  readonly poller: StreamPoller;
  /** The SQS timer transport, when started with `timers`. */
  readonly timers?: LocalTimerQueue;
  /** The `UOW_*` environment of this stack (for code that reads its configuration from the environment). */
  readonly env: Readonly<Record<string, string>>;
  /** Waits until the poller has handed every committed outbox item to the dispatcher. */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops the poller, the endpoints and the clients (the DynamoDB Local process is the caller's). */
  stop(): Promise<void>;
}

/**
 * Starts the whole after-commit path locally: creates the outbox table on DynamoDB Local, starts the
 * local Scheduler and EventBridge endpoints, and a stream poller that feeds the table's stream into an
 * `outboxDispatcher` whose SDK clients point at those endpoints. Register the job runner with
 * `stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, handler)`.
 *
 * @example
 * ```ts
 * const ddb = await startDynamoDBLocal();
 * const stack = await startLocalOutboxStack({ dynamodbEndpoint: ddb.endpoint, scheduler: { clock: 'real' } });
 * stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, jobRunnerHandler);
 * // handlers write with unitOfWork({ outboxTable: stack.tableName, client: stack.clients.dynamodb })
 * ```
 */
export async function startLocalOutboxStack(options: LocalOutboxStackOptions): Promise<LocalOutboxStack> {
  const tableName = options.tableName ?? `outbox-${randomUUID()}`;
  const dynamodb = new DynamoDBClient({ endpoint: options.dynamodbEndpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  const scheduler = await startLocalScheduler(options.scheduler);
  const eventBridge = await startLocalEventBridge(options.eventBridge);
  const schedulerClient = new SchedulerClient({ endpoint: scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  const eventBridgeClient = new EventBridgeClient({
    endpoint: eventBridge.endpoint,
    ...LOCAL_AWS_CONFIG,
    maxAttempts: 1,
  });
  const timers = options.timers
    ? await startLocalTimerQueue(options.timers === true ? {} : options.timers).catch(async (error: unknown) => {
        await Promise.all([scheduler.stop(), eventBridge.stop()]);
        throw error;
      })
    : undefined;
  const stopEndpoints = async (): Promise<void> => {
    await Promise.all([scheduler.stop(), eventBridge.stop(), timers?.stop()]);
    for (const c of [dynamodb, schedulerClient, eventBridgeClient]) c.destroy();
  };
  try {
    let streamArn: string;
    if (options.createTable ?? true) streamArn = (await createOutboxTable(dynamodb, tableName)).streamArn;
    else {
      const table = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
      if (!table.Table?.LatestStreamArn) throw new Error(`table ${tableName} has no stream`);
      streamArn = table.Table.LatestStreamArn;
    }
    const dispatcher = outboxDispatcher({
      outboxTable: tableName,
      jobRunnerArn: LOCAL_ARNS.jobRunner,
      schedulerRoleArn: LOCAL_ARNS.schedulerRole,
      deadLetterQueueArn: LOCAL_ARNS.jobDeadLetterQueue,
      env: {},
      ...(timers ? { timerQueueUrl: timers.queueUrl } : {}),
      ...options.dispatcher,
      clients: {
        dynamodb,
        scheduler: schedulerClient,
        eventBridge: eventBridgeClient,
        ...(timers ? { sqs: timers.client } : {}),
        ...options.dispatcher?.clients,
      },
    });
    const poller = startStreamPoller({
      endpoint: options.dynamodbEndpoint,
      handler: dispatcher,
      ...options.poller,
      streamArn,
    });
    const c = dispatcher.config;
    const env: Record<string, string> = {
      [ENV.outboxTable]: tableName,
      [ENV.eventBusName]: c.eventBusName,
      [ENV.scheduleGroup]: c.scheduleGroup,
      [ENV.jobRunnerArn]: c.jobRunnerArn,
      [ENV.schedulerRoleArn]: c.schedulerRoleArn,
      ...(c.deadLetterQueueArn ? { [ENV.jobDeadLetterQueueArn]: c.deadLetterQueueArn } : {}),
      ...(c.timerQueueUrl ? { [ENV.timerQueueUrl]: c.timerQueueUrl } : {}),
    };
    return {
      tableName,
      streamArn,
      clients: { dynamodb, scheduler: schedulerClient, eventBridge: eventBridgeClient },
      scheduler,
      eventBridge,
      dispatcher,
      poller,
      ...(timers ? { timers } : {}),
      env,
      drain: (timeoutMs) => poller.drain(timeoutMs),
      async stop() {
        await poller.stop();
        await stopEndpoints();
      },
    };
  } catch (error) {
    await stopEndpoints();
    throw error;
  }
}
