import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { defaultDispatcherEntry, TRANSACTIONAL_OUTBOX_DEFAULTS, TransactionalOutbox } from '../../cdk/index.js';
import { METRICS, METRICS_DEFAULTS, METRICS_ENV } from '../../lib/metrics/names.js';
import { ENV, OUTBOX_SCHEMA, OUTBOX_STREAM_FILTER_PATTERN, OUTBOX_TABLE_DEFINITION } from '../../lib/outbox/schema.js';
import {
  environmentOf,
  expectedPermissions,
  getAtt,
  logicalId,
  permissionMap,
  ref,
  testApp,
  testRunner,
} from './helpers.js';

// One synthesized stack for the whole file: the construct with its defaults (default dispatcher entry,
// default bus) plus a writer function and a business table.
const app = testApp();
const stack = new Stack(app, 'OutboxDefaults');
const runner = testRunner(stack);
const orders = new dynamodb.Table(stack, 'Orders', {
  partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
});
const outbox = new TransactionalOutbox(stack, 'Outbox', { jobRunner: runner, eventSource: 'orders' });
const writer = new lambda.Function(stack, 'Writer', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => {};'),
});
outbox.grantWriter(writer, orders);
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<
  string,
  { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }
>;

const table = outbox.table as dynamodb.Table;
const tableId = logicalId(table);
const dispatcherId = logicalId(outbox.dispatcher);
const dispatcherRoleId = logicalId(outbox.dispatcher.role!);
const schedulesArn = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':scheduler:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:schedule/${outbox.scheduleGroup.scheduleGroupName}/*`,
    ],
  ],
};
const defaultBusArn = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':events:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      ':event-bus/default',
    ],
  ],
};
const indexArn = { 'Fn::Join': ['', [getAtt(table), `/index/${OUTBOX_SCHEMA.jobStatusIndex.name}`]] };
const jobWriterEnv = { [ENV.jobIndexStatuses]: 'FAILED,DEAD' };
const metricsEnv = {
  [METRICS_ENV.enabled]: 'on',
  [METRICS_ENV.namespace]: METRICS_DEFAULTS.namespace,
  [METRICS_ENV.service]: 'orders',
};
const xray: [string[], unknown[]] = [['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], ['*']];
const mappings = () => Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping');

describe('TransactionalOutbox: the outbox/jobs table', () => {
  it('has the key schema, attributes, stream view type and TTL attribute of OUTBOX_TABLE_DEFINITION', () => {
    const props = resources[tableId]!.Properties;
    expect(props.KeySchema).toEqual([
      { AttributeName: OUTBOX_SCHEMA.partitionKey, KeyType: 'HASH' },
      { AttributeName: OUTBOX_SCHEMA.sortKey, KeyType: 'RANGE' },
    ]);
    expect(props.AttributeDefinitions).toEqual(
      OUTBOX_TABLE_DEFINITION.attributes.map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    );
    expect(props.BillingMode).toBe(OUTBOX_TABLE_DEFINITION.billingMode);
    expect(props.StreamSpecification).toEqual({ StreamViewType: OUTBOX_TABLE_DEFINITION.streamViewType });
    expect(props.TimeToLiveSpecification).toEqual({
      AttributeName: OUTBOX_TABLE_DEFINITION.ttlAttribute,
      Enabled: true,
    });
  });

  it('has the job-status index, point-in-time recovery and encryption, and is retained by default', () => {
    const props = resources[tableId]!.Properties;
    expect(props.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: OUTBOX_SCHEMA.jobStatusIndex.name,
        KeySchema: [
          { AttributeName: OUTBOX_SCHEMA.jobStatusIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: OUTBOX_SCHEMA.jobStatusIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: OUTBOX_TABLE_DEFINITION.jobStatusIndexProjection },
      },
    ]);
    // The spread design, literally: a sharded `<status>#<shard>` key, keys only, never the job status itself.
    expect(props.GlobalSecondaryIndexes[0]).toEqual({
      IndexName: 'jobs-by-status-shard',
      KeySchema: [
        { AttributeName: 'jobIndexPk', KeyType: 'HASH' },
        { AttributeName: 'jobIndexSk', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
    expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    expect(resources[tableId]!.DeletionPolicy).toBe('Retain');
    expect(resources[logicalId(outbox.scheduleGroup)]!.DeletionPolicy).toBe('Retain');
  });
});

describe('TransactionalOutbox: the dispatcher', () => {
  it('is built from the package entry by default, resolved relative to the construct', () => {
    expect(defaultDispatcherEntry()).toBe(resolve('functions/outbox-dispatcher.ts'));
    expect(existsSync(defaultDispatcherEntry())).toBe(true);
  });

  it('runs on nodejs22.x, ARM64, with its own log group and a role without managed policies', () => {
    const props = resources[dispatcherId]!.Properties;
    expect(props.Runtime).toBe('nodejs22.x');
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.Handler).toBe('index.handler');
    expect(props.MemorySize).toBe(512);
    expect(props.Timeout).toBe(60);
    const logGroup = Object.keys(resources).find((id) => id.startsWith('OutboxDispatcherRoleLogs'))!;
    expect(props.LoggingConfig).toEqual({ LogGroup: { Ref: logGroup } });
    expect(resources[logGroup]!.Properties).toEqual({ RetentionInDays: 30 });
    expect(resources[logGroup]!.DeletionPolicy).toBe('Retain');
    expect(resources[dispatcherRoleId]!.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('gets its configuration from the ENV names the library reads', () => {
    expect(environmentOf(template, dispatcherId)).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      [ENV.outboxTable]: ref(table),
      [ENV.eventBusName]: 'default',
      [ENV.scheduleGroup]: outbox.scheduleGroup.scheduleGroupName,
      [ENV.jobRunnerArn]: getAtt(runner),
      [ENV.schedulerRoleArn]: getAtt(outbox.schedulerRole),
      [ENV.jobDeadLetterQueueArn]: getAtt(outbox.jobDeadLetterQueue),
      ...metricsEnv,
    });
  });

  it('reads the stream with the outbox filter, partial batch failures, bisect, bounded retries and age, and an SQS on-failure destination', () => {
    expect(mappings()).toHaveLength(1);
    const props = mappings()[0]!.Properties;
    expect(JSON.parse(props.FilterCriteria.Filters[0].Pattern)).toEqual(OUTBOX_STREAM_FILTER_PATTERN);
    expect(props.FilterCriteria.Filters).toHaveLength(1);
    expect(props).toMatchObject({
      EventSourceArn: getAtt(table, 'StreamArn'),
      FunctionName: ref(outbox.dispatcher),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 5,
      MaximumRecordAgeInSeconds: 6 * 3600,
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 1,
      ParallelizationFactor: TRANSACTIONAL_OUTBOX_DEFAULTS.parallelizationFactor,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: getAtt(outbox.streamDeadLetterQueue) } },
    });
  });

  it('may do exactly this: stream, GetItem on the table, PutEvents on the bus, schedules of its group, PassRole of the scheduler role', () => {
    const logGroup = Object.keys(resources).find((id) => id.startsWith('OutboxDispatcherRoleLogs'))!;
    expect(permissionMap(template, dispatcherRoleId)).toEqual(
      expectedPermissions([
        [['logs:CreateLogStream', 'logs:PutLogEvents'], [{ 'Fn::GetAtt': [logGroup, 'Arn'] }]],
        [['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], [getAtt(table, 'StreamArn')]],
        [['dynamodb:ListStreams'], ['*']],
        [['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], [getAtt(outbox.streamDeadLetterQueue)]],
        [['dynamodb:GetItem', 'dynamodb:BatchGetItem'], [getAtt(table)]],
        [['events:PutEvents'], [defaultBusArn]],
        [
          ['scheduler:CreateSchedule', 'scheduler:GetSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
          [schedulesArn],
        ],
        [['iam:PassRole'], [getAtt(outbox.schedulerRole)]],
        xray,
      ]),
    );
  });

  it('passes the scheduler role only to EventBridge Scheduler, and is created after its stream permissions', () => {
    const passRole = template.toJSON().Resources;
    const statements = Object.values(passRole as Record<string, any>)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s: any) => s.Action === 'iam:PassRole');
    expect(statements).toEqual([
      {
        Action: 'iam:PassRole',
        Effect: 'Allow',
        Resource: getAtt(outbox.schedulerRole),
        Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      },
    ]);
    const mappingId = Object.keys(resources).find((id) => resources[id]!.Type === 'AWS::Lambda::EventSourceMapping')!;
    const dependsOn = (template.toJSON().Resources[mappingId].DependsOn ?? []) as string[];
    expect(dependsOn).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^OutboxDispatcherListStreams/),
        expect.stringMatching(/^OutboxDispatcherRoleDefaultPolicy/),
      ]),
    );
  });
});

describe('TransactionalOutbox: job scheduling', () => {
  it('has a scheduler role that only Scheduler of this account and group may assume', () => {
    expect(resources[logicalId(outbox.schedulerRole)]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Condition: {
          StringEquals: {
            'aws:SourceAccount': { Ref: 'AWS::AccountId' },
            'aws:SourceArn': getAtt(outbox.scheduleGroup),
          },
        },
      },
    ]);
  });

  it('lets the scheduler role invoke the runner (exact ARN) and send to the job dead-letter queue, nothing else', () => {
    expect(permissionMap(template, logicalId(outbox.schedulerRole))).toEqual(
      expectedPermissions([
        [['lambda:InvokeFunction'], [getAtt(runner)]],
        [['sqs:SendMessage'], [getAtt(outbox.jobDeadLetterQueue)]],
      ]),
    );
  });

  it('gives the runner the table, the job-status index by name, its UOW_OUTBOX_TABLE, and no PutEvents', () => {
    const runnerRoleLogs = Object.keys(resources).find((id) => id.startsWith('RunnerRoleLogs'))!;
    expect(permissionMap(template, logicalId(runner.role!))).toEqual(
      expectedPermissions([
        [['logs:CreateLogStream', 'logs:PutLogEvents'], [{ 'Fn::GetAtt': [runnerRoleLogs, 'Arn'] }]],
        [
          [
            'dynamodb:GetItem',
            'dynamodb:BatchGetItem',
            'dynamodb:PutItem',
            'dynamodb:UpdateItem',
            'dynamodb:ConditionCheckItem',
            'dynamodb:Query',
          ],
          [getAtt(table)],
        ],
        [['dynamodb:Query'], [indexArn]],
        [['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], [getAtt(outbox.jobDeadLetterQueue)]],
        xray,
      ]),
    );
    expect(environmentOf(template, logicalId(runner))).toEqual({
      [ENV.outboxTable]: ref(table),
      ...jobWriterEnv,
      ...metricsEnv,
    });
  });

  it('sends the runner’s failed asynchronous invocations to the job dead-letter queue after bounded retries', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(runner),
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 6 * 3600,
      DestinationConfig: { OnFailure: { Destination: getAtt(outbox.jobDeadLetterQueue) } },
    });
  });
});

describe('TransactionalOutbox: dead-letter queues and alarms', () => {
  it('encrypts both dead-letter queues, keeps messages 14 days and refuses plain HTTP', () => {
    for (const queue of [outbox.streamDeadLetterQueue, outbox.jobDeadLetterQueue]) {
      expect(resources[logicalId(queue)]!.Properties).toEqual({
        MessageRetentionPeriod: 14 * 24 * 3600,
        SqsManagedSseEnabled: true,
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(queue)],
        PolicyDocument: {
          Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })],
        },
      });
    }
  });

  it('alarms on iterator age, both dead-letter queues, errors, partial batch failures, DEAD jobs and expired leases', () => {
    const alarms = Object.values(resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => r.Properties);
    const summary = alarms
      .map(
        (a) =>
          `${a.Namespace} ${a.MetricName} ${a.Statistic} ${a.Threshold} ${JSON.stringify(a.Dimensions.map((d: any) => d.Value))}`,
      )
      .sort();
    expect(summary).toEqual(
      [
        `AWS/Lambda Errors Sum 1 ${JSON.stringify([ref(outbox.dispatcher)])}`,
        `AWS/Lambda Errors Sum 1 ${JSON.stringify([ref(runner)])}`,
        `AWS/Lambda IteratorAge Maximum 300000 ${JSON.stringify([ref(outbox.dispatcher)])}`,
        `AWS/SQS ApproximateNumberOfMessagesVisible Maximum 1 ${JSON.stringify([getAtt(outbox.jobDeadLetterQueue, 'QueueName')])}`,
        `AWS/SQS ApproximateNumberOfMessagesVisible Maximum 1 ${JSON.stringify([getAtt(outbox.streamDeadLetterQueue, 'QueueName')])}`,
        ...[METRICS.partialBatchFailures, METRICS.jobsDead, METRICS.jobLeasesExpired].map(
          (m) => `${METRICS_DEFAULTS.namespace} ${m.name} Sum 1 ${JSON.stringify(['orders'])}`,
        ),
      ].sort(),
    );
    for (const a of alarms) {
      expect(a).toMatchObject({
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        Period: 300,
        TreatMissingData: 'notBreaching',
      });
    }
    expect(outbox.alarms).toHaveLength(8);
  });
});

describe('TransactionalOutbox.grantWriter', () => {
  it('grants exactly the commit actions on the named table and the outbox table (plus the idempotency read), no index', () => {
    expect(permissionMap(template, logicalId(writer.role!))).toEqual(
      expectedPermissions([
        [
          ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
          [getAtt(orders)],
        ],
        [
          ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem'],
          [getAtt(table)],
        ],
      ]),
    );
  });

  it('sets UOW_OUTBOX_TABLE, UOW_EVENT_SOURCE, the indexed job statuses and the metrics settings on the function', () => {
    expect(environmentOf(template, logicalId(writer))).toEqual({
      [ENV.outboxTable]: ref(table),
      [ENV.eventSource]: 'orders',
      ...jobWriterEnv,
      ...metricsEnv,
    });
  });
});

describe('TransactionalOutbox: least privilege across the stack', () => {
  it('uses no wildcard action, and no wildcard resource but ListStreams "*", X-Ray "*" and the schedules of its group', () => {
    const wildcards: string[] = [];
    for (const [id, r] of Object.entries(resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      for (const s of r.Properties.PolicyDocument.Statement) {
        for (const action of [s.Action].flat())
          if (String(action).includes('*')) wildcards.push(`${id} action ${action}`);
        for (const resource of [s.Resource].flat()) {
          if (JSON.stringify(resource).includes('*'))
            wildcards.push(`${id} ${[s.Action].flat().join(',')} on ${JSON.stringify(resource)}`);
        }
      }
    }
    expect(wildcards.sort()).toEqual(
      [
        `${Object.keys(resources).find((id) => id.startsWith('OutboxDispatcherListStreams'))} dynamodb:ListStreams on "*"`,
        ...['OutboxDispatcherTracing', 'OutboxJobRunnerTracing'].map(
          (prefix) =>
            `${Object.keys(resources).find((id) => id.startsWith(prefix))} xray:PutTelemetryRecords,xray:PutTraceSegments on "*"`,
        ),
        `${Object.keys(resources).find((id) => id.startsWith('OutboxDispatcherRoleDefaultPolicy'))} scheduler:CreateSchedule,scheduler:DeleteSchedule,scheduler:GetSchedule,scheduler:UpdateSchedule on ${JSON.stringify(schedulesArn)}`,
      ].sort(),
    );
  });
});
