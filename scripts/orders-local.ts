/**
 * The example orders service, whole, on one machine: DynamoDB Local, the orders and outbox tables (from the
 * definitions the CDK stack uses), the stream poller feeding the outbox dispatcher, the local Scheduler firing
 * the job runner, the local EventBridge, and an HTTP API serving the handlers of examples/orders/functions.
 * Used by `npm start`, and by the end-to-end test with a manual clock.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { LOCAL_AWS_CONFIG, startDynamoDBLocal, type DynamoDBLocal } from '../lib/local/dynamodb-local.js';
import { startLocalHttpApi, type LocalHttpApi } from '../lib/local/http-api.js';
import { LOCAL_ARNS, startLocalOutboxStack, type LocalOutboxStack } from '../lib/local/outbox-stack.js';
import type { LocalClock } from '../lib/local/clock.js';
import type { ConsoleRecorder } from '../lib/local/console/recorder.js';
import type { LocalTarget } from '../lib/local/scheduler-store.js';
import { ORDERS_TABLE_DEFINITION } from '../examples/orders/functions/table.js';
import { describeCommit, type TimelineWriter } from './timeline.js';
import { consumeTimers, type LocalTimerTransport } from './timer-consumer.js';

/** Options of {@link startOrdersService}. */
export interface OrdersServiceOptions {
  /** HTTP port. @default 3000 (0: any free port) */
  readonly port?: number;
  /** Seconds before an unpaid order expires. @default 30 here (the service's own default is 900) */
  readonly expirySeconds?: number;
  /** Keep DynamoDB data in this folder between runs. @default in memory */
  readonly dataPath?: string;
  /** Use a running DynamoDB Local instead of starting one (tests). */
  readonly dynamodbEndpoint?: string;
  /** Table name prefix. @default 'local' */
  readonly tablePrefix?: string;
  /** The Scheduler clock: real for `npm start`, manual for tests, or your own (`shiftableClock()`). @default 'real' */
  readonly clock?: 'real' | 'manual' | LocalClock;
  /** Records commits, events, schedules and job runs for the dev console (lib/local/console). @default none */
  readonly consoleRecorder?: ConsoleRecorder;
  /** Where the timeline goes. @default nowhere */
  readonly timeline?: TimelineWriter;
  /** `'sqs'`: one-time jobs due within 15 minutes go to a local SQS timer queue (`UOW_TIMER_TRANSPORT`). @default 'scheduler' */
  readonly timerTransport?: LocalTimerTransport;
}

/** A running local orders service. */
export interface OrdersService {
  readonly url: string;
  readonly stack: LocalOutboxStack;
  readonly ordersTable: string;
  readonly outboxTable: string;
  readonly dynamodbEndpoint: string;
  readonly expirySeconds: number;
  /** Stops everything it started, DynamoDB Local included; safe to call twice. */
  stop(): Promise<void>;
}

async function ensureOrdersTable(client: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const key = ORDERS_TABLE_DEFINITION.partitionKey;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: ORDERS_TABLE_DEFINITION.billingMode,
      KeySchema: [{ AttributeName: key.name, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: key.name, AttributeType: key.type }],
    }),
  );
  return true;
}

async function tableExists(client: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

/** Fails fast, before anything starts, when the HTTP port is taken. */
async function assertPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} on 127.0.0.1 is already in use: stop what listens there, or choose another port (npm start -- --port 4000)`,
            )
          : error,
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Logs calls of an SDK client on the timeline (after they answered). */
function observe(
  client: { middlewareStack: any },
  name: string,
  describe: (command: string, input: any, output: any, error?: any) => void,
): void {
  client.middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      try {
        const result = await next(args);
        describe(context.commandName, args.input, result.output);
        return result;
      } catch (error) {
        describe(context.commandName, args.input, undefined, error);
        throw error;
      }
    },
    { step: 'initialize', name: `timeline-${name}` },
  );
}

/**
 * Starts the local orders service and returns once it answers HTTP.
 *
 * @example
 * ```ts
 * const service = await startOrdersService({ port: 3000, timeline: consoleTimeline() });
 * // curl -X POST $service.url/orders ...
 * await service.stop();
 * ```
 */
export async function startOrdersService(options: OrdersServiceOptions = {}): Promise<OrdersService> {
  const say: TimelineWriter = options.timeline ?? (() => undefined);
  const prefix = options.tablePrefix ?? 'local';
  const ordersTable = `${prefix}-orders`;
  const outboxTable = `${prefix}-outbox`;
  const expirySeconds = options.expirySeconds ?? 30;
  // The timeline says what happens; the library's own JSON logs only when something goes wrong.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    while (stops.length) await stops.pop()!().catch((e) => say('ERROR', `while stopping: ${(e as Error).message}`));
  };
  await assertPortFree(options.port ?? 3000);
  try {
    let ddb: DynamoDBLocal | undefined;
    let endpoint = options.dynamodbEndpoint;
    if (!endpoint) {
      ddb = await startDynamoDBLocal({ dataPath: options.dataPath });
      stops.push(() => ddb!.stop());
      endpoint = ddb.endpoint;
      say(
        'INFO',
        `DynamoDB Local on ${endpoint} (pid ${ddb.pid}, ${options.dataPath ? `data in ${options.dataPath}` : 'in memory'})`,
      );
    }
    const admin = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
    stops.push(async () => admin.destroy());
    if (await ensureOrdersTable(admin, ordersTable)) say('INFO', `created table ${ordersTable}`);
    const outboxExists = await tableExists(admin, outboxTable);

    const stack = await startLocalOutboxStack({
      dynamodbEndpoint: endpoint,
      tableName: outboxTable,
      createTable: !outboxExists,
      scheduler: { clock: options.clock ?? 'real', tickMs: 500 },
      ...(options.timerTransport === 'sqs' ? { timers: { visibilityTimeoutSeconds: 5 } } : {}),
      poller: {
        pollIntervalMs: 100,
        onFailure: (f) => {
          say('ERROR', `stream batch sent to the on-failure destination: ${f.error ?? 'retries exhausted'}`);
          options.consoleRecorder?.recordStreamFailure(f);
        },
      },
    });
    options.consoleRecorder?.attach(stack);
    stops.push(() => stack.stop());
    if (!outboxExists)
      say('INFO', `created table ${outboxTable} (stream NEW_IMAGE, TTL) and started the stream poller`);
    say(
      'INFO',
      `local Scheduler on ${stack.scheduler.endpoint} (${stack.scheduler.clock.mode} clock), local EventBridge on ${stack.eventBridge.endpoint}`,
    );

    // The handlers read their configuration from the environment, as in Lambda.
    Object.assign(process.env, stack.env, {
      ORDERS_TABLE: ordersTable,
      ORDER_EXPIRY_SECONDS: String(expirySeconds),
      DYNAMODB_ENDPOINT: endpoint,
      AWS_REGION: LOCAL_AWS_CONFIG.region,
      AWS_ACCESS_KEY_ID: LOCAL_AWS_CONFIG.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CONFIG.credentials.secretAccessKey,
      UOW_EVENT_SOURCE: 'orders',
    });
    const { ordersClient } = await import('../examples/orders/functions/env.js');
    observe(ordersClient(), 'commits', (command, input, _output, error) => {
      if (command !== 'TransactWriteItemsCommand') return;
      say(error ? 'ERROR' : 'COMMIT', `${error ? `rolled back (${error.name}) ` : ''}${describeCommit(input)}`);
    });
    observe(stack.clients.scheduler, 'scheduler', (command, input, _output, error) => {
      const what = {
        CreateScheduleCommand: 'created',
        UpdateScheduleCommand: 'updated',
        DeleteScheduleCommand: 'deleted',
      }[command as string];
      if (!what) return;
      const when = input.ScheduleExpression ? ` ${input.ScheduleExpression}` : '';
      say(
        'SCHEDULE',
        error ? `${command.replace('Command', '')} ${input.Name}: ${error.name}` : `${what} ${input.Name}${when}`,
      );
    });
    observe(stack.clients.eventBridge, 'events', (command, input, output, error) => {
      if (command !== 'PutEventsCommand') return;
      if (error) return say('ERROR', `PutEvents failed: ${error.name}`);
      (input.Entries ?? []).forEach((entry: any, i: number) => {
        const failed = output?.Entries?.[i]?.ErrorCode;
        const id = (() => {
          try {
            return JSON.parse(entry.Detail).id;
          } catch {
            return '?';
          }
        })();
        say(
          'EVENT',
          `${failed ? `NOT published (${failed}, will be resent)` : 'published'} ${entry.DetailType} from ${entry.Source} (id ${id})`,
        );
      });
    });

    const { handler: jobRunner } = await import('../examples/orders/functions/job-runner.js');
    const runJob: LocalTarget = async (event, context) => {
      const input = event as { name?: string; key?: string };
      say('JOB', `run ${input.name} (${input.key}) attempt ${context.attemptNumber}`);
      let result;
      try {
        result = await jobRunner(
          event as never,
          { awsRequestId: context.executionId, getRemainingTimeInMillis: () => 30000 } as never,
        );
      } catch (error) {
        say(
          'ERROR',
          `job runner failed on ${input.name} (${input.key}): ${(error as Error).name}: ${(error as Error).message}`,
        );
        throw error;
      }
      say(
        'JOB',
        `${input.name} (${input.key}) → ${result.outcome}${result.reason ? `: ${result.reason}` : ''}${result.retryAt ? `, retry at ${result.retryAt}` : ''}`,
      );
      return result;
    };
    stack.scheduler.registerTarget(
      LOCAL_ARNS.jobRunner,
      options.consoleRecorder ? options.consoleRecorder.wrapTarget(runJob) : runJob,
    );

    if (stack.timers) await consumeTimers(stack, say, options.consoleRecorder);

    // EventBridge rule → SQS → the order-summaries consumer: the local EventBridge delivers each matching event
    // as a one-record SQS batch; a failed record is redelivered (same message id), as SQS would after its visibility timeout.
    const summaries = await import('../examples/orders/functions/order-summaries.js');
    const { sqsRecordOf } = await import('../lib/local/sqs-record.js');
    stack.eventBridge.subscribe(summaries.ORDER_SUMMARIES_PATTERN, async (envelope) => {
      const messageId = randomUUID();
      for (let receive = 1; receive <= 3; receive++) {
        const response = await summaries.handler(
          { Records: [sqsRecordOf(envelope, { messageId, receiveCount: receive })] },
          { awsRequestId: randomUUID() } as never,
        );
        if (response.batchItemFailures.length === 0)
          return say(
            'INBOX',
            `${summaries.ORDER_SUMMARIES} took ${envelope['detail-type']} (id ${(envelope.detail as { id?: string })?.id})`,
          );
      }
      say(
        'ERROR',
        `${summaries.ORDER_SUMMARIES} failed ${envelope['detail-type']} 3 times (in AWS: to the queue's dead-letter queue)`,
      );
    });

    // One after the other: jest's ESM loader trips over concurrent imports of shared modules.
    const place = await import('../examples/orders/functions/place-order.js');
    const pay = await import('../examples/orders/functions/pay-order.js');
    const get = await import('../examples/orders/functions/get-order.js');
    type Handler = (e: APIGatewayProxyEventV2, c: Context) => Promise<any>;
    const api: LocalHttpApi = await startLocalHttpApi({
      port: options.port ?? 3000,
      routes: [
        { method: 'POST', path: '/orders', handler: place.handler as unknown as Handler, functionName: 'place-order' },
        {
          method: 'POST',
          path: '/orders/{id}/pay',
          handler: pay.handler as unknown as Handler,
          functionName: 'pay-order',
        },
        { method: 'GET', path: '/orders/{id}', handler: get.handler as unknown as Handler, functionName: 'get-order' },
      ],
      onRequest: ({ routeKey, status, ms, requestId }) => {
        say('HTTP', `${routeKey} → ${status} (${ms} ms)`);
        options.consoleRecorder?.recordRequest({ routeKey, requestId });
      },
    });
    stops.push(() => api.stop());
    let stopped = false;
    return {
      url: api.url,
      stack,
      ordersTable,
      outboxTable,
      dynamodbEndpoint: endpoint,
      expirySeconds,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
