import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTION_BUNDLING } from '../../../cdk/dispatcher.js';
import { acknowledgeNode22Runtime, createDeadLetterQueue, FunctionRole } from '../../../cdk/resources.js';
import type { TimerTransport } from '../../../cdk/timer-queue.js';
import { TransactionalOutbox } from '../../../cdk/transactional-outbox.js';
import { ORDERS_TABLE_DEFINITION } from '../functions/table.js';
import { ORDER_SUMMARIES_PATTERN } from '../functions/order-summaries-rule.js';

/** Environment variables the example handlers read besides the library's own (`UOW_*`). */
export const ORDERS_ENV = {
  /** Name of the orders table. */
  ordersTable: 'ORDERS_TABLE',
} as const;

/** The example handlers, by construct id: entry under `examples/orders/functions/` and what they do. */
export const ORDERS_FUNCTIONS = {
  PlaceOrder: {
    entry: 'place-order.ts',
    description: 'POST /orders: creates an order, publishes OrderPlaced, schedules its expiry',
  },
  PayOrder: { entry: 'pay-order.ts', description: 'POST /orders/{id}/pay: marks the order paid, cancels its expiry' },
  GetOrder: { entry: 'get-order.ts', description: 'GET /orders/{id}: reads one order' },
  JobRunner: { entry: 'job-runner.ts', description: 'Runs the jobs of the orders service (expire-unpaid-order)' },
  OrderSummaries: {
    entry: 'order-summaries.ts',
    description: 'Inbox consumer: order-summaries projection of OrderPlaced/OrderPaid (EventBridge rule → SQS)',
  },
} as const;

/** Properties of {@link OrdersServiceStack}. */
export interface OrdersServiceStackProps extends StackProps {
  /**
   * Maps a handler's path under `examples/orders/functions/` to its entry file.
   * @default - the file in this repository's `examples/orders/functions/` directory
   */
  readonly entryFor?: (path: string) => string;
  /**
   * `'sqs'`: order expiries (due within 15 minutes) go through the outbox's SQS timer queue, consumed by a
   * `JobQueueRunner` function (`job-queue-runner.ts`); `cdk deploy -c timerTransport=sqs`.
   * @default 'scheduler'
   */
  readonly timerTransport?: TimerTransport;
}

const FUNCTIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'functions');

/**
 * The example orders service: an HTTP API (POST /orders, POST /orders/{id}/pay, GET /orders/{id}) on three
 * handlers, an `orders` table, the {@link TransactionalOutbox} and its job runner. Everything is removed by
 * `cdk destroy` (it is an example: tables and logs are not retained).
 */
export class OrdersServiceStack extends Stack {
  readonly ordersTable: dynamodb.Table;
  readonly outbox: TransactionalOutbox;
  readonly api: apigw.HttpApi;
  readonly functions: Record<keyof typeof ORDERS_FUNCTIONS, nodejs.NodejsFunction>;
  /** The queue behind the EventBridge rule that feeds the order-summaries inbox consumer. */
  readonly summariesQueue: sqs.Queue;
  /** The SQS timer queue's consumer (`timerTransport: 'sqs'`). */
  readonly jobQueueRunner?: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: OrdersServiceStackProps = {}) {
    super(scope, id, { description: 'lambda-unit-of-work example: orders service', ...props });
    const entryFor = props.entryFor ?? ((path: string) => resolve(FUNCTIONS_DIR, path));

    this.ordersTable = new dynamodb.Table(this, 'Orders', {
      // The same definition `npm start` creates locally.
      partitionKey: {
        name: ORDERS_TABLE_DEFINITION.partitionKey.name,
        type: dynamodb.AttributeType[ORDERS_TABLE_DEFINITION.partitionKey.type === 'S' ? 'STRING' : 'NUMBER'],
      },
      billingMode: dynamodb.BillingMode[ORDERS_TABLE_DEFINITION.billingMode],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const fn = (name: string, timeout: Duration): nodejs.NodejsFunction => {
      const { entry, description } =
        name === 'JobQueueRunner'
          ? { entry: 'job-queue-runner.ts', description: 'Runs the jobs of the SQS timer queue (expire-unpaid-order)' }
          : ORDERS_FUNCTIONS[name as keyof typeof ORDERS_FUNCTIONS];
      const { role, logGroup } = new FunctionRole(this, `${name}Role`, {
        logRetention: logs.RetentionDays.ONE_WEEK,
        logRemovalPolicy: RemovalPolicy.DESTROY,
      });
      const created = new nodejs.NodejsFunction(this, name, {
        entry: entryFor(entry),
        description,
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: 256,
        timeout,
        role,
        logGroup,
        bundling: FUNCTION_BUNDLING,
        environment: { NODE_OPTIONS: '--enable-source-maps', [ORDERS_ENV.ordersTable]: this.ordersTable.tableName },
      });
      acknowledgeNode22Runtime(created);
      return created;
    };
    this.functions = {
      PlaceOrder: fn('PlaceOrder', Duration.seconds(10)),
      PayOrder: fn('PayOrder', Duration.seconds(10)),
      GetOrder: fn('GetOrder', Duration.seconds(10)),
      JobRunner: fn('JobRunner', Duration.seconds(60)),
      OrderSummaries: fn('OrderSummaries', Duration.seconds(30)),
    };
    const { PlaceOrder, PayOrder, GetOrder, JobRunner, OrderSummaries } = this.functions;
    if (props.timerTransport === 'sqs') this.jobQueueRunner = fn('JobQueueRunner', Duration.seconds(60));

    this.outbox = new TransactionalOutbox(this, 'Outbox', {
      jobRunner: JobRunner,
      eventSource: 'orders',
      removalPolicy: RemovalPolicy.DESTROY,
      ...(this.jobQueueRunner ? { timerTransport: 'sqs', jobQueueRunner: this.jobQueueRunner } : {}),
    });
    if (this.jobQueueRunner) {
      this.outbox.grantWriter(this.jobQueueRunner, this.ordersTable);
      this.ordersTable.grant(this.jobQueueRunner, 'dynamodb:GetItem');
    }
    this.outbox.grantWriter(PlaceOrder, this.ordersTable);
    this.outbox.grantWriter(PayOrder, this.ordersTable);
    // The expiry job updates the order inside the job's own unit of work.
    this.outbox.grantWriter(JobRunner, this.ordersTable);
    // Paying and expiring read the order first (consistent GetItem); the query handler only reads.
    for (const reader of [PayOrder, JobRunner, GetOrder]) this.ordersTable.grant(reader, 'dynamodb:GetItem');
    // GET runs in a read-only unit of work: it names the outbox table but may not write to it.
    this.outbox.configureFunction(GetOrder);

    this.api = this.createApi(PlaceOrder, PayOrder, GetOrder);
    this.outbox.grantWriter(OrderSummaries, this.ordersTable);
    this.summariesQueue = this.createSummariesFeed(OrderSummaries);

    new CfnOutput(this, 'ApiUrl', { value: this.api.apiEndpoint, description: 'Base URL of the orders API' });
    new CfnOutput(this, 'OrdersTableName', { value: this.ordersTable.tableName });
    new CfnOutput(this, 'OutboxTableName', { value: this.outbox.table.tableName });
  }

  /** EventBridge rule (OrderPlaced, OrderPaid) → SQS (dead-letter queue after 5 receives) → the inbox consumer. */
  private createSummariesFeed(consumer: lambda.IFunction): sqs.Queue {
    const deadLetterQueue = createDeadLetterQueue(
      this,
      'OrderSummariesDeadLetterQueue',
      'order events the order-summaries projection could not take',
    );
    const queue = new sqs.Queue(this, 'OrderSummariesQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(6 * 30), // six times the consumer's timeout, as AWS advises
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 },
    });
    new events.Rule(this, 'OrderSummariesRule', {
      description: 'Order events for the order-summaries projection',
      eventBus: this.outbox.eventBus,
      eventPattern: { source: ORDER_SUMMARIES_PATTERN.source, detailType: ORDER_SUMMARIES_PATTERN['detail-type'] },
      targets: [new eventTargets.SqsQueue(queue)],
    });
    (consumer as nodejs.NodejsFunction).addEventSource(
      new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    return queue;
  }

  private createApi(
    placeOrder: lambda.IFunction,
    payOrder: lambda.IFunction,
    getOrder: lambda.IFunction,
  ): apigw.HttpApi {
    const api = new apigw.HttpApi(this, 'Api', { description: 'Orders API', createDefaultStage: false });
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
    });
    const routes = [
      ...api.addRoutes({
        path: '/orders',
        methods: [apigw.HttpMethod.POST],
        integration: new HttpLambdaIntegration('PlaceOrderIntegration', placeOrder),
      }),
      ...api.addRoutes({
        path: '/orders/{id}/pay',
        methods: [apigw.HttpMethod.POST],
        integration: new HttpLambdaIntegration('PayOrderIntegration', payOrder),
      }),
      ...api.addRoutes({
        path: '/orders/{id}',
        methods: [apigw.HttpMethod.GET],
        integration: new HttpLambdaIntegration('GetOrderIntegration', getOrder),
      }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Example API, open so the walkthrough can call it with curl; a real service puts a JWT or IAM authorizer on every route.',
      });
    }
    return api;
  }
}
