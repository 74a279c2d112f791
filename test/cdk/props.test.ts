import { describe, expect, it } from '@jest/globals';
import { CfnParameter, Duration, Lazy, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { TransactionalOutbox, TransactionalOutboxError, type TransactionalOutboxProps } from '../../cdk/index.js';
import { UnitOfWorkError } from '../../lib/errors.js';
import { ENV } from '../../lib/outbox/schema.js';
import { environmentOf, FIXTURE_ENTRY, getAtt, logicalId, permissionsOf, ref, testApp, testRunner } from './helpers.js';

const STREAM_ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/existing-outbox/stream/2026-11-22T00:00:00.000';

// One synthesized stack: an existing table, a custom bus and every tunable prop changed.
const stack = new Stack(testApp(), 'OutboxCustom');
const runner = testRunner(stack);
const existing = dynamodb.Table.fromTableAttributes(stack, 'Existing', {
  tableName: 'existing-outbox',
  tableStreamArn: STREAM_ARN,
});
const bus = new events.EventBus(stack, 'Bus', { eventBusName: 'orders-bus' });
const topic = new sns.Topic(stack, 'Alerts', { enforceSSL: true });
const outbox = new TransactionalOutbox(stack, 'Outbox', {
  jobRunner: runner,
  table: existing,
  eventBus: bus,
  dispatcherEntry: FIXTURE_ENTRY,
  dispatcherProps: { memorySize: 1024, environment: { [ENV.dispatchConcurrency]: '4' } },
  batchSize: 10,
  maxBatchingWindow: Duration.seconds(5),
  parallelizationFactor: 4,
  retryAttempts: 2,
  maxRecordAge: Duration.hours(1),
  iteratorAgeAlarmThreshold: Duration.minutes(1),
  alarmActions: [new actions.SnsAction(topic)],
  jobScheduleRetryAttempts: 3,
  jobScheduleMaxEventAge: Duration.hours(2),
  configureJobRunnerAsyncInvoke: false,
});
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);

describe('TransactionalOutbox with an existing table, a custom bus and tuned props', () => {
  it('creates no table and reads the stream of the one it was given', () => {
    expect(ofType('AWS::DynamoDB::Table')).toHaveLength(0);
    expect(ofType('AWS::Lambda::EventSourceMapping')[0]!.Properties).toMatchObject({
      EventSourceArn: STREAM_ARN,
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 5,
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 2,
      MaximumRecordAgeInSeconds: 3600,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('publishes to the given bus only and configures the dispatcher from the props', () => {
    const dispatcherRole = logicalId(outbox.dispatcher.role!);
    expect(
      permissionsOf(template, dispatcherRole)
        .filter((p) => p.action === 'events:PutEvents')
        .map((p) => p.resource),
    ).toEqual([getAtt(bus)]);
    expect(
      permissionsOf(template, dispatcherRole)
        .filter((p) => p.action === 'dynamodb:GetItem')
        .map((p) => JSON.stringify(p.resource)),
    ).toEqual([expect.stringContaining(':table/existing-outbox')]);
    const env = environmentOf(template, logicalId(outbox.dispatcher));
    expect(env).toMatchObject({
      [ENV.outboxTable]: 'existing-outbox',
      [ENV.eventBusName]: ref(bus),
      [ENV.scheduleMaxRetryAttempts]: '3',
      [ENV.scheduleMaxEventAgeSeconds]: '7200',
      [ENV.dispatchConcurrency]: '4',
    });
    expect(resources[logicalId(outbox.dispatcher)]!.Properties).toMatchObject({
      MemorySize: 1024,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
    });
  });

  it('leaves the runner’s asynchronous invocation config alone when told to', () => {
    expect(ofType('AWS::Lambda::EventInvokeConfig')).toHaveLength(0);
  });

  it('sends every alarm to the given actions, with the given iterator-age threshold', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map((a) => a.Properties);
    expect(alarms).toHaveLength(8);
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([ref(topic)]);
    expect(alarms.find((a) => a.MetricName === 'IteratorAge')!.Threshold).toBe(60000);
  });
});

describe('TransactionalOutbox props validation', () => {
  const build = (props: Partial<TransactionalOutboxProps>, id = 'Bad') => {
    const s = new Stack(testApp(), 'Validation');
    return () => new TransactionalOutbox(s, id, { jobRunner: testRunner(s), dispatcherEntry: FIXTURE_ENTRY, ...props });
  };
  const failure = (props: Partial<TransactionalOutboxProps>, id = 'Bad'): TransactionalOutboxError => {
    try {
      build(props, id)();
    } catch (error) {
      return error as TransactionalOutboxError;
    }
    throw new Error('expected the construct to refuse its props');
  };

  it.each([
    [{ batchSize: 0 }, 'batchSize must be an integer from 1 to 10000 (got 0)'],
    [{ batchSize: 10001 }, 'batchSize must be an integer from 1 to 10000 (got 10001)'],
    [{ batchSize: 2.5 }, 'batchSize must be an integer from 1 to 10000 (got 2.5)'],
    [{ maxBatchingWindow: Duration.minutes(6) }, 'maxBatchingWindow must be from 0 to 300 seconds (got 360)'],
    [{ parallelizationFactor: 0 }, 'parallelizationFactor must be an integer from 1 to 10 (got 0)'],
    [{ parallelizationFactor: 11 }, 'parallelizationFactor must be an integer from 1 to 10 (got 11)'],
    [{ parallelizationFactor: 1.5 }, 'parallelizationFactor must be an integer from 1 to 10 (got 1.5)'],
    [
      { metricsNamespace: 'AWS/Lambda' },
      'metricsNamespace must be 1 to 255 of 0-9 A-Z a-z . - _ / # : and space, not starting with "AWS/" (got "AWS/Lambda")',
    ],
    [
      { metricsNamespace: 'a,b' },
      'metricsNamespace must be 1 to 255 of 0-9 A-Z a-z . - _ / # : and space, not starting with "AWS/" (got "a,b")',
    ],
    [
      { jobIndexStatuses: ['DEAD', 'DONE'] },
      'jobIndexStatuses: unknown status DONE (use SCHEDULED, RUNNING, SUCCEEDED, FAILED, DEAD, CANCELLED)',
    ],
    [{ metricsService: ' ' }, 'metricsService must be 1 to 1024 characters, not blank (a CloudWatch dimension value)'],
    [
      { retryAttempts: -1 },
      'retryAttempts must be an integer from 0 to 10000 (never infinite: a poison record would block the shard) (got -1)',
    ],
    [{ maxRecordAge: Duration.seconds(30) }, 'maxRecordAge must be from 60 to 604800 seconds (got 30)'],
    [{ maxRecordAge: Duration.days(8) }, 'maxRecordAge must be from 60 to 604800 seconds (got 691200)'],
    [
      { iteratorAgeAlarmThreshold: Duration.seconds(0) },
      'iteratorAgeAlarmThreshold must be from 1 to 604800 seconds (got 0)',
    ],
    [{ jobScheduleRetryAttempts: 186 }, 'jobScheduleRetryAttempts must be an integer from 0 to 185 (got 186)'],
    [
      { jobScheduleMaxEventAge: Duration.days(2) },
      'jobScheduleMaxEventAge must be from 60 to 86400 seconds (got 172800)',
    ],
    [{ eventSource: ' ' }, 'eventSource must not be empty'],
    [{ jobRunner: undefined }, 'jobRunner is required: the function job schedules invoke'],
  ] as [Partial<TransactionalOutboxProps>, string][])('refuses %o, naming the construct', (props, problem) => {
    const error = failure(props);
    expect(error).toBeInstanceOf(TransactionalOutboxError);
    expect(error).toBeInstanceOf(UnitOfWorkError);
    expect(error.message).toBe(`TransactionalOutbox(Bad): ${problem}`);
    expect(error.constructId).toBe('Bad');
  });

  it('refuses an existing table without a stream, and a removal policy for a table it does not own', () => {
    const s = new Stack(testApp(), 'NoStream');
    const table = dynamodb.Table.fromTableName(s, 'NoStream', 'no-stream');
    expect(
      () =>
        new TransactionalOutbox(s, 'Outbox', { jobRunner: testRunner(s), table, removalPolicy: RemovalPolicy.DESTROY }),
    ).toThrow(
      'TransactionalOutbox(Outbox): table has no stream: create it with a NEW_IMAGE stream and import it with its tableStreamArn; ' +
        'removalPolicy applies only to a table the construct creates; an existing table keeps its own',
    );
  });

  it('reports every problem at once', () => {
    expect(failure({ batchSize: 0, retryAttempts: -1 }, 'Two').message).toBe(
      'TransactionalOutbox(Two): batchSize must be an integer from 1 to 10000 (got 0); ' +
        'retryAttempts must be an integer from 0 to 10000 (never infinite: a poison record would block the shard) (got -1)',
    );
  });

  // (maxRecordAge is left out: aws-cdk-lib's EventSourceMapping itself rejects a token Duration there.)
  it('does not validate unresolved tokens early (CloudFormation checks them at deploy time)', () => {
    const s = new Stack(testApp(), 'Tokens');
    const retries = new CfnParameter(s, 'Retries', { type: 'Number' });
    expect(
      () =>
        new TransactionalOutbox(s, 'Outbox', {
          jobRunner: testRunner(s),
          dispatcherEntry: FIXTURE_ENTRY,
          batchSize: Lazy.number({ produce: () => 50 }),
          retryAttempts: retries.valueAsNumber,
          jobScheduleMaxEventAge: Duration.seconds(Token.asNumber(retries.valueAsNumber)),
          maxBatchingWindow: Duration.seconds(Lazy.number({ produce: () => 2 })),
          eventSource: Lazy.string({ produce: () => '' }),
        }),
    ).not.toThrow();
  });
});
