import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { JOB_STATUS, type JobStatus } from '../lib/job-record/record.js';
import { METRICS_DEFAULTS } from '../lib/metrics/names.js';
import { OUTBOX_SCHEMA } from '../lib/outbox/schema.js';
import { TransactionalOutboxError } from './errors.js';
import {
  type TimerTransport,
  TIMER_QUEUE_DEFAULTS,
  type TimerTransportProps,
  timerTransportProblems,
} from './timer-queue.js';

/** Defaults of {@link TransactionalOutboxProps}; every one is documented on its prop. */
export const TRANSACTIONAL_OUTBOX_DEFAULTS = {
  batchSize: 100,
  maxBatchingWindowSeconds: 1,
  parallelizationFactor: 1,
  retryAttempts: 5,
  maxRecordAgeSeconds: 6 * 60 * 60,
  iteratorAgeAlarmSeconds: 5 * 60,
  dispatcherMemorySize: 512,
  dispatcherTimeoutSeconds: 60,
  jobRunnerAsyncRetryAttempts: 2,
  jobRunnerAsyncMaxEventAgeSeconds: 6 * 60 * 60,
  logRetention: logs.RetentionDays.ONE_MONTH,
  deadLetterRetentionDays: 14,
} as const;

/** NodejsFunction props of the dispatcher that may be overridden (the construct owns entry, role, log group). */
export type DispatcherFunctionOptions = Omit<nodejs.NodejsFunctionProps, 'entry' | 'role' | 'logGroup' | 'events'>;

/** Properties of a {@link TransactionalOutbox} (with those of the SQS timer transport, {@link TimerTransportProps}). */
export interface TransactionalOutboxProps extends TimerTransportProps {
  /**
   * An existing outbox/jobs table. It must have a `NEW_IMAGE` stream and the key schema, TTL attribute and
   * job-status index of `OUTBOX_TABLE_DEFINITION` (as `createOutboxTable` makes it locally).
   * @default - a new table: on-demand, `NEW_IMAGE` stream, TTL, point-in-time recovery, encrypted (AWS managed key)
   */
  readonly table?: dynamodb.ITable;
  /**
   * What happens to the table and the schedule group the construct creates when they leave the stack.
   * Only for a table the construct creates.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The function that runs jobs (its handler is `jobRunner({ jobs })`; a service without jobs passes one with
   * `jobs: {}`, the dispatcher needs a schedule target). The construct grants it the table, lets the
   * scheduler role invoke it, and sends its failed asynchronous invocations to the job dead-letter queue.
   */
  readonly jobRunner: lambda.IFunction;
  /**
   * Whether to configure the job runner's asynchronous invocations (EventBridge Scheduler invokes it
   * asynchronously): 2 retries, 6 hours maximum event age, failures to the job dead-letter queue.
   * Turn off when the function already has an EventInvokeConfig.
   * @default true
   */
  readonly configureJobRunnerAsyncInvoke?: boolean;
  /**
   * The bus events are published to; `events:PutEvents` is granted on this bus only.
   * @default - the account's default event bus
   */
  readonly eventBus?: events.IEventBus;
  /**
   * CloudEvents `source` that `grantWriter` sets as `UOW_EVENT_SOURCE` on the functions it grants.
   * @default - not set; the handler's `unitOfWork({ source })` decides
   */
  readonly eventSource?: string;
  /**
   * The dispatcher's entry file (bundled by esbuild).
   * @default - the package's `functions/outbox-dispatcher` (see `defaultDispatcherEntry()`)
   */
  readonly dispatcherEntry?: string;
  /**
   * Dispatcher function props merged over the defaults (nodejs22.x, ARM64, 512 MB, 60 s, ESM bundle with the AWS SDK included).
   * `environment` and `bundling` are merged key by key.
   * @default - the defaults
   */
  readonly dispatcherProps?: DispatcherFunctionOptions;
  /**
   * Stream records per dispatcher invocation (1–10000). Larger batches mean fewer invocations and fewer
   * PutEvents calls (10 entries each), but one failed record redelivers the records after it; see
   * docs/deploy.md, "Sizing the stream".
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long Lambda gathers records before invoking the dispatcher (0–300 seconds). It is the floor of the
   * dispatch lag at low traffic; at high traffic batches fill before it ends.
   * @default Duration.seconds(1)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * `ParallelizationFactor` of the stream event source mapping (1–10): dispatcher invocations working on one
   * stream shard at once. Lambda keeps records of one partition key in order (each outbox item is its own
   * key), so raising it only adds throughput: use it when the iterator age grows while the dispatcher is not
   * throttled by EventBridge or Scheduler. Concurrency = shards × this factor.
   * @default 1
   */
  readonly parallelizationFactor?: number;
  /**
   * The job statuses the sparse, sharded job-status index holds (`UOW_JOB_INDEX_STATUSES` on the job runner
   * and the functions `grantWriter` configures): `listJobs` queries these; others need a Scan. Each listed
   * status costs one index write per transition into and out of it (docs/capacity.md): indexing SCHEDULED
   * or RUNNING puts every job's every run through the index. Empty for no index writes at all.
   * @default ['FAILED', 'DEAD']
   */
  readonly jobIndexStatuses?: readonly JobStatus[];
  /**
   * The table is (or will be) a DynamoDB global table: every replica's stream carries every write, so the
   * dispatcher of each region only takes the outbox items committed in its own region (the `_region` the library
   * stamps from `AWS_REGION`; `originRegionFilterPattern`). Without it each region would publish every event and
   * create every schedule. Turn it on once no item written by a version that did not stamp the region is still
   * waiting to be dispatched: such items do not pass the filter. See docs/deploy.md, "Global tables".
   * @default false
   */
  readonly globalTable?: boolean;
  /**
   * X-Ray active tracing on the dispatcher and, when it is a function of this app with no tracing setting of
   * its own, on the job runner (their roles get `xray:PutTraceSegments` / `xray:PutTelemetryRecords` in a
   * policy of their own).
   * @default true
   */
  readonly tracing?: boolean;
  /**
   * Whether the library's functions emit their metrics (EMF through Powertools Metrics; no extra calls):
   * sets `UOW_METRICS=on` on the dispatcher, the job runner and the functions `grantWriter` configures.
   * The dashboard and three alarms (partial batch failures, DEAD jobs, expired leases) read these metrics.
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * CloudWatch namespace of the library's metrics (`UOW_METRICS_NAMESPACE`).
   * @default 'LambdaUnitOfWork'
   */
  readonly metricsNamespace?: string;
  /**
   * Value of the `service` dimension of the library's metrics (`UOW_METRICS_SERVICE`): tells apart the
   * outboxes of one account.
   * @default - `eventSource` when set, else the construct's id
   */
  readonly metricsService?: string;
  /**
   * Whether to create the CloudWatch dashboard (dispatch lag, iterator age, partial batch failures, job
   * outcomes, DEAD jobs, dead-letter queue depths, throttles, alarm states).
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * Retries of a failing batch (after bisecting) before its records go to the stream dead-letter queue (0–10000;
   * never infinite: a poison record must not block the shard).
   * @default 5
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not retried but sent to the stream dead-letter queue (60 seconds–7 days).
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Threshold of the stream iterator-age alarm (maximum over 5 minutes).
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeAlarmThreshold?: Duration;
  /**
   * Actions of every alarm of the construct (e.g. an SNS topic action).
   * @default - none: the alarms are only visible in CloudWatch
   */
  readonly alarmActions?: readonly cloudwatch.IAlarmAction[];
  /**
   * Retention of the dispatcher's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * `MaximumRetryAttempts` of the job schedules the dispatcher creates (0–185), as `UOW_SCHEDULE_MAX_RETRY_ATTEMPTS`.
   * @default - the dispatcher's default
   */
  readonly jobScheduleRetryAttempts?: number;
  /**
   * `MaximumEventAgeInSeconds` of the job schedules (60 seconds–24 hours), as `UOW_SCHEDULE_MAX_EVENT_AGE_SECONDS`.
   * @default - the dispatcher's default
   */
  readonly jobScheduleMaxEventAge?: Duration;
}

/** Props with every default applied; produced by {@link resolveProps}. */
export interface ResolvedOutboxProps {
  readonly removalPolicy: RemovalPolicy;
  readonly configureJobRunnerAsyncInvoke: boolean;
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration;
  readonly parallelizationFactor: number;
  readonly tracing: boolean;
  readonly metrics: { readonly enabled: boolean; readonly namespace: string; readonly service: string };
  readonly dashboard: boolean;
  readonly globalTable: boolean;
  readonly jobIndexStatuses: readonly JobStatus[];
  readonly retryAttempts: number;
  readonly maxRecordAge: Duration;
  readonly iteratorAgeAlarmThreshold: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly timerTransport: TimerTransport;
}

const isInteger = (n: number, min: number, max: number): boolean => Number.isInteger(n) && n >= min && n <= max;

/** Checks a number unless it is an unresolved token (tokens are validated by CloudFormation at deploy time). */
function checkNumber(
  problems: string[],
  name: string,
  value: number | undefined,
  min: number,
  max: number,
  extra = '',
): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!isInteger(value, min, max))
    problems.push(`${name} must be an integer from ${min} to ${max}${extra} (got ${value})`);
}

/** Checks a duration in seconds unless it is an unresolved token. */
function checkSeconds(problems: string[], name: string, value: Duration | undefined, min: number, max: number): void {
  if (value === undefined || value.isUnresolved()) return;
  const seconds = value.toSeconds({ integral: false });
  if (!(seconds >= min && seconds <= max))
    problems.push(`${name} must be from ${min} to ${max} seconds (got ${seconds})`);
}

/**
 * Applies the documented defaults and validates the props; every problem is reported at once in one
 * {@link TransactionalOutboxError} that names the construct.
 */
export function resolveProps(id: string, props: TransactionalOutboxProps): ResolvedOutboxProps {
  const problems: string[] = [];
  if (props.table && props.table.tableStreamArn === undefined) {
    problems.push('table has no stream: create it with a NEW_IMAGE stream and import it with its tableStreamArn');
  }
  if (props.table && props.removalPolicy !== undefined) {
    problems.push('removalPolicy applies only to a table the construct creates; an existing table keeps its own');
  }
  checkNumber(problems, 'batchSize', props.batchSize, 1, 10000);
  checkSeconds(problems, 'maxBatchingWindow', props.maxBatchingWindow, 0, 300);
  checkNumber(problems, 'parallelizationFactor', props.parallelizationFactor, 1, 10);
  checkNumber(
    problems,
    'retryAttempts',
    props.retryAttempts,
    0,
    10000,
    ' (never infinite: a poison record would block the shard)',
  );
  checkSeconds(problems, 'maxRecordAge', props.maxRecordAge, 60, 7 * 24 * 60 * 60);
  checkSeconds(problems, 'iteratorAgeAlarmThreshold', props.iteratorAgeAlarmThreshold, 1, 7 * 24 * 60 * 60);
  checkNumber(problems, 'jobScheduleRetryAttempts', props.jobScheduleRetryAttempts, 0, 185);
  checkSeconds(problems, 'jobScheduleMaxEventAge', props.jobScheduleMaxEventAge, 60, 24 * 60 * 60);
  if (props.eventSource !== undefined && !Token.isUnresolved(props.eventSource) && props.eventSource.trim() === '') {
    problems.push('eventSource must not be empty');
  }
  const namespace = props.metricsNamespace;
  const validNamespace = (n: string) => /^[0-9A-Za-z._\-/#: ]{1,255}$/.test(n) && !n.startsWith('AWS/');
  if (namespace !== undefined && !Token.isUnresolved(namespace) && !validNamespace(namespace)) {
    const allowed = '1 to 255 of 0-9 A-Z a-z . - _ / # : and space, not starting with "AWS/"';
    problems.push(`metricsNamespace must be ${allowed} (got "${namespace}")`);
  }
  const service = props.metricsService;
  if (service !== undefined && !Token.isUnresolved(service) && (service.trim() === '' || service.length > 1024)) {
    problems.push('metricsService must be 1 to 1024 characters, not blank (a CloudWatch dimension value)');
  }
  const statuses = Object.values(JOB_STATUS) as string[];
  const unknownStatuses = (props.jobIndexStatuses ?? []).filter((s) => !statuses.includes(s));
  if (unknownStatuses.length)
    problems.push(`jobIndexStatuses: unknown status ${unknownStatuses.join(', ')} (use ${statuses.join(', ')})`);
  if (!props.jobRunner) problems.push('jobRunner is required: the function job schedules invoke');
  problems.push(...timerTransportProblems(props));
  if (problems.length > 0) throw new TransactionalOutboxError(id, problems.join('; '));

  const d = TRANSACTIONAL_OUTBOX_DEFAULTS;
  return {
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    configureJobRunnerAsyncInvoke: props.configureJobRunnerAsyncInvoke ?? true,
    batchSize: props.batchSize ?? d.batchSize,
    maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(d.maxBatchingWindowSeconds),
    parallelizationFactor: props.parallelizationFactor ?? d.parallelizationFactor,
    tracing: props.tracing ?? true,
    metrics: {
      enabled: props.metrics ?? true,
      namespace: props.metricsNamespace ?? METRICS_DEFAULTS.namespace,
      service: props.metricsService ?? props.eventSource ?? id,
    },
    dashboard: props.dashboard ?? true,
    globalTable: props.globalTable ?? false,
    jobIndexStatuses: [...new Set(props.jobIndexStatuses ?? OUTBOX_SCHEMA.jobStatusIndex.defaultStatuses)],
    retryAttempts: props.retryAttempts ?? d.retryAttempts,
    maxRecordAge: props.maxRecordAge ?? Duration.seconds(d.maxRecordAgeSeconds),
    iteratorAgeAlarmThreshold: props.iteratorAgeAlarmThreshold ?? Duration.seconds(d.iteratorAgeAlarmSeconds),
    logRetention: props.logRetention ?? d.logRetention,
    timerTransport: props.timerTransport ?? TIMER_QUEUE_DEFAULTS.timerTransport,
  };
}
