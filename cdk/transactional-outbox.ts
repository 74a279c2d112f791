import { RemovalPolicy, Tokenization } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_ENV } from '../lib/metrics/names.js';
import { ENV } from '../lib/outbox/schema.js';
import { createAlarms } from './alarms.js';
import { createDispatcher, defaultDispatcherEntry } from './dispatcher.js';
import { grantCommit, grantDispatcherTable, grantJobRunnerTable } from './grants.js';
import { createJobScheduling, type JobScheduling, schedulesInGroupArn } from './job-scheduling.js';
import { acknowledgeWildcardResource } from './nag.js';
import { createDashboard } from './monitoring.js';
import { createOutboxTable } from './outbox-table.js';
import { type ResolvedOutboxProps, resolveProps, type TransactionalOutboxProps } from './props.js';
import { createDeadLetterQueue, enableActiveTracing } from './resources.js';
import { createTimerQueue, type TimerQueue } from './timer-queue.js';

/** Sets an environment variable when the grantee is a function of this app (imported functions cannot be changed). */
function setEnvironment(grantee: iam.IGrantable, name: string, value: string): void {
  if (grantee instanceof lambda.Function) grantee.addEnvironment(name, value);
}

/**
 * The deployable side of lambda-unit-of-work: the outbox/jobs table, the stream dispatcher that publishes
 * committed events and creates job schedules, the Scheduler group and role that invoke your job runner,
 * dead-letter queues, alarms and a CloudWatch dashboard. Handlers get exactly what a commit needs through {@link grantWriter}.
 *
 * @example
 * import { TransactionalOutbox } from 'lambda-unit-of-work/cdk';
 *
 * const runner = new NodejsFunction(this, 'JobRunner', { entry: 'functions/job-runner.ts' });
 * const outbox = new TransactionalOutbox(this, 'Outbox', { jobRunner: runner, eventSource: 'orders' });
 * outbox.grantWriter(placeOrder, ordersTable); // item actions on both tables + UOW_OUTBOX_TABLE
 */
export class TransactionalOutbox extends Construct {
  /** The outbox/jobs table (created, or the one passed in `table`). */
  readonly table: dynamodb.ITable;
  /** The stream dispatcher. */
  readonly dispatcher: nodejs.NodejsFunction;
  /** Where the stream coordinates of batches that could not be dispatched go (the items stay in the table until TTL). */
  readonly streamDeadLetterQueue: sqs.Queue;
  /** The bus events are published to. */
  readonly eventBus: events.IEventBus;
  /** The function job schedules invoke. */
  readonly jobRunner: lambda.IFunction;
  /** The group of every job schedule. */
  readonly scheduleGroup: scheduler.ScheduleGroup;
  /** The role Scheduler assumes to invoke the job runner (and to send to the job dead-letter queue). */
  readonly schedulerRole: iam.Role;
  /** Jobs Scheduler could not deliver and failed asynchronous runner invocations. */
  readonly jobDeadLetterQueue: sqs.Queue;
  /**
   * Iterator age, dead-letter queue depths, dispatcher and runner errors, partial batch failures, DEAD
   * jobs, jobs RUNNING past their lease.
   */
  readonly alarms: readonly cloudwatch.Alarm[];
  /** The SQS timer queue of one-time jobs due within 15 minutes (`timerTransport: 'sqs'`). */
  readonly timerQueue?: sqs.Queue;
  /** Timer messages the job queue runner kept failing on (`timerTransport: 'sqs'`). */
  readonly timerDeadLetterQueue?: sqs.Queue;
  /** The CloudWatch dashboard (absent with `dashboard: false`). */
  readonly dashboard?: cloudwatch.Dashboard;

  private readonly eventSource?: string;
  private readonly metrics: ResolvedOutboxProps['metrics'];
  private readonly jobIndexStatuses: ResolvedOutboxProps['jobIndexStatuses'];

  constructor(scope: Construct, id: string, props: TransactionalOutboxProps) {
    super(scope, id);
    const settings = resolveProps(id, props);
    this.eventSource = props.eventSource;
    this.metrics = settings.metrics;
    this.jobIndexStatuses = settings.jobIndexStatuses;
    this.table = props.table ?? createOutboxTable(this, 'Table', settings.removalPolicy);
    this.eventBus = props.eventBus ?? events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.streamDeadLetterQueue = createDeadLetterQueue(
      this,
      'StreamDeadLetterQueue',
      'outbox stream batches that could not be dispatched',
    );

    this.jobRunner = props.jobRunner;
    const scheduling = createJobScheduling(this, props.jobRunner, {
      removalPolicy: settings.removalPolicy,
      configureAsyncInvoke: settings.configureJobRunnerAsyncInvoke,
    });
    this.scheduleGroup = scheduling.group;
    this.schedulerRole = scheduling.role;
    this.jobDeadLetterQueue = scheduling.deadLetterQueue;
    const timers: TimerQueue | undefined =
      settings.timerTransport === 'sqs' ? createTimerQueue(this, props.jobQueueRunner!, props) : undefined;
    this.timerQueue = timers?.queue;
    this.timerDeadLetterQueue = timers?.deadLetterQueue;

    // The dispatcher's configuration (lib/dispatch reads the same ENV names).
    const environment: Record<string, string> = {
      [ENV.outboxTable]: this.table.tableName,
      [ENV.eventBusName]: this.eventBus.eventBusName,
      [ENV.scheduleGroup]: scheduling.group.scheduleGroupName,
      [ENV.jobRunnerArn]: props.jobRunner.functionArn,
      [ENV.schedulerRoleArn]: scheduling.role.roleArn,
      [ENV.jobDeadLetterQueueArn]: scheduling.deadLetterQueue.queueArn,
      ...(timers ? { [ENV.timerQueueUrl]: timers.queue.queueUrl } : {}),
      ...this.metricsEnvironment(),
    };
    if (props.jobScheduleRetryAttempts !== undefined) {
      environment[ENV.scheduleMaxRetryAttempts] = Tokenization.stringifyNumber(props.jobScheduleRetryAttempts);
    }
    if (props.jobScheduleMaxEventAge !== undefined) {
      environment[ENV.scheduleMaxEventAgeSeconds] = Tokenization.stringifyNumber(
        props.jobScheduleMaxEventAge.toSeconds(),
      );
    }

    this.dispatcher = createDispatcher(this, 'Dispatcher', {
      table: this.table,
      entry: props.dispatcherEntry ?? defaultDispatcherEntry(),
      functionProps: props.dispatcherProps,
      environment,
      settings,
      deadLetterQueue: this.streamDeadLetterQueue,
      logRemovalPolicy: props.table ? RemovalPolicy.RETAIN : settings.removalPolicy,
    });
    this.grantDispatcher(scheduling);
    this.grantJobRunner(props.jobRunner);
    if (settings.tracing) enableActiveTracing(this, 'JobRunnerTracing', props.jobRunner);
    if (timers) {
      timers.queue.grantSendMessages(this.dispatcher);
      const queueRunner = props.jobQueueRunner!;
      if (queueRunner !== props.jobRunner) {
        this.grantJobRunner(queueRunner);
        if (settings.tracing) enableActiveTracing(this, 'JobQueueRunnerTracing', queueRunner);
      }
    }

    const metrics = { namespace: settings.metrics.namespace, service: settings.metrics.service };
    this.alarms = createAlarms(this, {
      dispatcher: this.dispatcher,
      streamDeadLetterQueue: this.streamDeadLetterQueue,
      iteratorAgeThreshold: settings.iteratorAgeAlarmThreshold,
      jobRunner: props.jobRunner,
      jobDeadLetterQueue: scheduling.deadLetterQueue,
      ...(timers ? { timerDeadLetterQueue: timers.deadLetterQueue, jobQueueRunner: props.jobQueueRunner } : {}),
      metrics,
      actions: props.alarmActions,
    });
    if (settings.dashboard) {
      this.dashboard = createDashboard(this, 'Dashboard', {
        metrics,
        dispatcher: this.dispatcher,
        jobRunner: props.jobRunner,
        table: this.table,
        tableHasJobIndex: props.table === undefined,
        streamDeadLetterQueue: this.streamDeadLetterQueue,
        jobDeadLetterQueue: scheduling.deadLetterQueue,
        alarms: this.alarms,
      });
    }
  }

  /** What every function writing job records must agree on: the indexed job statuses, and the metrics settings. */
  private jobWriterEnvironment(): Record<string, string> {
    const statuses = this.jobIndexStatuses.length ? this.jobIndexStatuses.join(',') : 'NONE';
    return { [ENV.jobIndexStatuses]: statuses, ...this.metricsEnvironment() };
  }

  /** The metrics settings of lib/metrics/names.ts as environment variables (none when metrics are off). */
  private metricsEnvironment(): Record<string, string> {
    if (!this.metrics.enabled) return {};
    return {
      [METRICS_ENV.enabled]: 'on',
      [METRICS_ENV.namespace]: this.metrics.namespace,
      [METRICS_ENV.service]: this.metrics.service,
    };
  }

  /**
   * Gives a handler exactly what a commit needs: `PutItem`, `UpdateItem`, `DeleteItem` and
   * `ConditionCheckItem` on each of `tables` (TransactWriteItems is authorized per action), `PutItem`,
   * `UpdateItem` and `ConditionCheckItem` on the outbox table; no reads, no index, no `Scan`. When the
   * grantee is a function of this app, sets `UOW_OUTBOX_TABLE` (and `UOW_EVENT_SOURCE` when the construct
   * has an `eventSource`). Grant reads separately (`table.grantReadData(fn)`).
   *
   * @example
   * outbox.grantWriter(placeOrder, ordersTable, customersTable);
   */
  grantWriter(grantee: iam.IGrantable, ...tables: dynamodb.ITable[]): iam.Grant {
    this.configureFunction(grantee);
    return grantCommit(grantee, this.table, tables);
  }

  /**
   * Sets `UOW_OUTBOX_TABLE` (and `UOW_EVENT_SOURCE` when the construct has an `eventSource`, and the
   * `UOW_METRICS*` settings of lib/metrics/names.ts when metrics are on) on a function of this app, granting nothing: for a handler in a read-only unit of work, which names the outbox table
   * but never writes. {@link grantWriter} does this too.
   *
   * @example
   * outbox.configureFunction(getOrder);
   * ordersTable.grant(getOrder, 'dynamodb:GetItem');
   */
  configureFunction(grantee: iam.IGrantable): void {
    setEnvironment(grantee, ENV.outboxTable, this.table.tableName);
    if (this.eventSource !== undefined) setEnvironment(grantee, ENV.eventSource, this.eventSource);
    for (const [name, value] of Object.entries(this.jobWriterEnvironment())) setEnvironment(grantee, name, value);
  }

  /**
   * Gives a job runner what it needs on the outbox table: read and claim its job record, commit its unit
   * of work, list jobs (`Query` on the table and on the job-status index by its exact name). No
   * `events:PutEvents`: a job's events leave through the outbox like any other. Sets `UOW_OUTBOX_TABLE`
   * on a function of this app. Called for `props.jobRunner`; business tables are granted with
   * {@link grantWriter}.
   */
  grantJobRunner(grantee: iam.IGrantable): iam.Grant {
    setEnvironment(grantee, ENV.outboxTable, this.table.tableName);
    for (const [name, value] of Object.entries(this.jobWriterEnvironment())) setEnvironment(grantee, name, value);
    return grantJobRunnerTable(grantee, this.table);
  }

  /** The dispatcher's permissions beyond its stream and dead-letter queue (which its event source grants). */
  private grantDispatcher(scheduling: JobScheduling): void {
    const role = this.dispatcher.role!;
    grantDispatcherTable(this.dispatcher, this.table);
    // events:PutEvents on this bus only.
    this.eventBus.grantPutEventsTo(this.dispatcher);

    const schedules = schedulesInGroupArn(this, scheduling.group);
    this.dispatcher.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'scheduler:CreateSchedule',
          'scheduler:GetSchedule',
          'scheduler:UpdateSchedule',
          'scheduler:DeleteSchedule',
        ],
        resources: [schedules],
      }),
    );
    acknowledgeWildcardResource(
      role,
      schedules,
      'Schedule names are derived from job keys at run time; the wildcard is confined to the schedule group of this construct.',
    );
    // Creating a schedule passes the scheduler role: this role only, and only to EventBridge Scheduler.
    this.dispatcher.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [scheduling.role.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
  }
}
