import { describe, expect, it } from '@jest/globals';
import { Template } from 'aws-cdk-lib/assertions';
import { ORDERS_ENV, ORDERS_FUNCTIONS, OrdersServiceStack } from '../../examples/orders/cdk/orders-service-stack.js';
import { METRICS_DEFAULTS, METRICS_ENV } from '../../lib/metrics/names.js';
import { ENV } from '../../lib/outbox/schema.js';
import {
  environmentOf,
  expectedPermissions,
  FIXTURE_ENTRY,
  getAtt,
  logicalId,
  permissionMap,
  ref,
  testApp,
} from './helpers.js';

// One synthesized example stack for the file; entries are recorded and replaced by the fixture (bundling is skipped).
const requested: string[] = [];
const stack = new OrdersServiceStack(testApp(), 'OrdersService', {
  entryFor: (path) => {
    requested.push(path);
    return FIXTURE_ENTRY;
  },
});
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }
>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const { PlaceOrder, PayOrder, GetOrder, JobRunner } = stack.functions;
const orders = stack.ordersTable;
const outboxTable = stack.outbox.table;
const logsOf = (roleId: string) => ({
  'Fn::GetAtt': [Object.keys(resources).find((id) => id.startsWith(`${roleId}Logs`))!, 'Arn'],
});
const writeActions = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'];
const outboxWriteActions = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:GetItem',
];

describe('the example orders service stack', () => {
  it('builds the handlers from examples/orders/functions/ (place, pay, get, job runner, order-summaries consumer)', () => {
    expect(requested).toEqual([
      'place-order.ts',
      'pay-order.ts',
      'get-order.ts',
      'job-runner.ts',
      'order-summaries.ts',
    ]);
    expect(Object.values(ORDERS_FUNCTIONS).map((f) => f.entry)).toEqual(requested);
  });

  it('routes POST /orders, POST /orders/{id}/pay and GET /orders/{id} of an HTTP API to their handlers', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    const integrations = Object.fromEntries(
      ofType('AWS::ApiGatewayV2::Integration').map(([id, r]) => [id, r.Properties.IntegrationUri]),
    );
    const routed = Object.fromEntries(
      routes.map((r) => [
        r.RouteKey,
        integrations[
          (r.Target['Fn::Join'][1] as unknown[]).find((p): p is { Ref: string } => typeof p === 'object')!.Ref
        ],
      ]),
    );
    expect(routed).toEqual({
      'POST /orders': getAtt(PlaceOrder),
      'POST /orders/{id}/pay': getAtt(PayOrder),
      'GET /orders/{id}': getAtt(GetOrder),
    });
  });

  it('serves the API on an auto-deployed $default stage with throttling and access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
      AccessLogSettings: { DestinationArn: getAtt(stack.node.findChild('ApiAccessLogs')) },
    });
  });

  it('has an orders table (pk string, on-demand, PITR, encrypted) and removes every table on cdk destroy', () => {
    expect(resources[logicalId(orders)]!.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
    expect(ofType('AWS::DynamoDB::Table').map(([, r]) => r.DeletionPolicy)).toEqual(['Delete', 'Delete']);
    expect(ofType('AWS::Scheduler::ScheduleGroup').map(([, r]) => r.DeletionPolicy)).toEqual(['Delete']);
    expect(ofType('AWS::Logs::LogGroup').map(([, r]) => r.DeletionPolicy)).toEqual(Array(7).fill('Delete'));
  });

  it('runs every function on nodejs22.x, ARM64, with its table names in the environment', () => {
    for (const fn of [PlaceOrder, PayOrder, GetOrder, JobRunner]) {
      expect(resources[logicalId(fn)]!.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'] });
      expect(resources[logicalId(fn.role!)]!.Properties.ManagedPolicyArns).toBeUndefined();
    }
    const writerEnv = {
      NODE_OPTIONS: '--enable-source-maps',
      [ORDERS_ENV.ordersTable]: ref(orders),
      [ENV.outboxTable]: ref(outboxTable),
      [ENV.eventSource]: 'orders',
      [ENV.jobIndexStatuses]: 'FAILED,DEAD',
      [METRICS_ENV.enabled]: 'on',
      [METRICS_ENV.namespace]: METRICS_DEFAULTS.namespace,
      [METRICS_ENV.service]: 'orders',
    };
    expect(environmentOf(template, logicalId(PlaceOrder))).toEqual(writerEnv);
    expect(environmentOf(template, logicalId(PayOrder))).toEqual(writerEnv);
    expect(environmentOf(template, logicalId(JobRunner))).toEqual(writerEnv);
    expect(environmentOf(template, logicalId(GetOrder))).toEqual(writerEnv);
  });

  it('gives each handler what it does: place and pay commit, pay and get read one order, get writes nothing', () => {
    expect(permissionMap(template, logicalId(PlaceOrder.role!))).toEqual(
      expectedPermissions([
        [['logs:CreateLogStream', 'logs:PutLogEvents'], [logsOf('PlaceOrderRole')]],
        [writeActions, [getAtt(orders)]],
        [outboxWriteActions, [getAtt(outboxTable)]],
      ]),
    );
    expect(permissionMap(template, logicalId(PayOrder.role!))).toEqual(
      expectedPermissions([
        [['logs:CreateLogStream', 'logs:PutLogEvents'], [logsOf('PayOrderRole')]],
        [[...writeActions, 'dynamodb:GetItem'], [getAtt(orders)]],
        [outboxWriteActions, [getAtt(outboxTable)]],
      ]),
    );
    expect(permissionMap(template, logicalId(GetOrder.role!))).toEqual(
      expectedPermissions([
        [['logs:CreateLogStream', 'logs:PutLogEvents'], [logsOf('GetOrderRole')]],
        [['dynamodb:GetItem'], [getAtt(orders)]],
      ]),
    );
  });

  it('wires the job runner into the construct: invoked by the scheduler role, reads and writes the orders', () => {
    const runnerPermissions = permissionMap(template, logicalId(JobRunner.role!));
    expect(runnerPermissions['dynamodb:GetItem']).toEqual(
      [JSON.stringify(getAtt(outboxTable)), JSON.stringify(getAtt(orders))].sort(),
    );
    expect(runnerPermissions['dynamodb:UpdateItem']).toEqual(
      [JSON.stringify(getAtt(outboxTable)), JSON.stringify(getAtt(orders))].sort(),
    );
    expect(runnerPermissions['events:PutEvents']).toBeUndefined();
    expect(permissionMap(template, logicalId(stack.outbox.schedulerRole))['lambda:InvokeFunction']).toEqual([
      JSON.stringify(getAtt(JobRunner)),
    ]);
    expect(environmentOf(template, logicalId(stack.outbox.dispatcher))[ENV.jobRunnerArn]).toEqual(getAtt(JobRunner));
  });

  it('feeds the order-summaries consumer: EventBridge rule (OrderPlaced, OrderPaid) → encrypted SQS queue with a DLQ → Lambda with partial batch responses', () => {
    const { OrderSummaries } = stack.functions;
    const queue = logicalId(stack.summariesQueue);
    const [rule] = ofType('AWS::Events::Rule')
      .map(([, r]) => r.Properties)
      .filter((p) => p.EventPattern?.['detail-type']?.includes('OrderPaid'));
    expect(rule).toMatchObject({
      EventPattern: { source: ['orders'], 'detail-type': ['OrderPlaced', 'OrderPaid'] },
      Targets: [{ Arn: { 'Fn::GetAtt': [queue, 'Arn'] } }],
    });
    expect(resources[queue]!.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    const [mapping] = ofType('AWS::Lambda::EventSourceMapping')
      .map(([, r]) => r.Properties)
      .filter((p) => p.FunctionName?.Ref === logicalId(OrderSummaries));
    expect(mapping).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(environmentOf(template, logicalId(OrderSummaries))).toMatchObject({
      [ORDERS_ENV.ordersTable]: ref(orders),
      [ENV.outboxTable]: ref(outboxTable),
    });
  });

  it('outputs the API URL and the table names', () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual(['ApiUrl', 'OrdersTableName', 'OutboxTableName']);
  });
});
