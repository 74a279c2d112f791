import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { JOB_RUN_OUTCOMES, METRIC_DIMENSIONS, METRICS, type MetricDefinition } from '../lib/metrics/names.js';
import { OUTBOX_SCHEMA } from '../lib/outbox/schema.js';

/** Where the library's own metrics are: the namespace and the `service` dimension the functions emit with. */
export interface LibraryMetricsSettings {
  readonly namespace: string;
  readonly service: string;
}

/** Period of every alarm and dashboard graph. */
export const MONITORING_PERIOD = Duration.minutes(5);

/**
 * A CloudWatch metric of the library (lib/metrics/names.ts), with exactly the dimensions the definition
 * lists: `service` from the settings, the others from `dimensions`. Throws when they do not match, since a
 * metric with another dimension set is another metric to CloudWatch (the graph would stay empty).
 */
export function libraryMetric(
  settings: LibraryMetricsSettings,
  definition: MetricDefinition,
  options: { readonly statistic: string; readonly dimensions?: Record<string, string>; readonly label?: string },
): cloudwatch.Metric {
  const dimensionsMap = { [METRIC_DIMENSIONS.service]: settings.service, ...options.dimensions };
  const given = Object.keys(dimensionsMap).sort().join(',');
  const declared = [...definition.dimensions].sort().join(',');
  if (given !== declared) throw new Error(`metric ${definition.name} has dimensions ${declared}, not ${given}`);
  return new cloudwatch.Metric({
    namespace: settings.namespace,
    metricName: definition.name,
    dimensionsMap,
    statistic: options.statistic,
    period: MONITORING_PERIOD,
    unit: definition.unit === 'Milliseconds' ? cloudwatch.Unit.MILLISECONDS : cloudwatch.Unit.COUNT,
    ...(options.label ? { label: options.label } : {}),
  });
}

/** What the dashboard watches. */
export interface DashboardTargets {
  readonly metrics: LibraryMetricsSettings;
  readonly dispatcher: lambda.IFunction;
  readonly jobRunner: lambda.IFunction;
  readonly table: dynamodb.ITable;
  /** Whether the table is the construct's own (then its job-status index is known to exist). */
  readonly tableHasJobIndex: boolean;
  readonly streamDeadLetterQueue: sqs.IQueue;
  readonly jobDeadLetterQueue: sqs.IQueue;
  readonly alarms: readonly cloudwatch.IAlarm[];
}

const graph = (title: string, left: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]): cloudwatch.GraphWidget =>
  new cloudwatch.GraphWidget({ title, left, ...(right ? { right } : {}), width: 8, height: 6 });

/** DynamoDB's native write-throttle count of the table, or of one of its global secondary indexes. */
function writeThrottles(table: dynamodb.ITable, indexName?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/DynamoDB',
    metricName: 'WriteThrottleEvents',
    dimensionsMap: { TableName: table.tableName, ...(indexName ? { GlobalSecondaryIndexName: indexName } : {}) },
    statistic: 'Sum',
    period: MONITORING_PERIOD,
    label: indexName ? `${indexName} write throttles` : 'table write throttles',
  });
}

/**
 * The construct's CloudWatch dashboard: dispatch lag and stream iterator age, partial batch failures,
 * throughput, job outcomes, DEAD jobs and expired leases, dead-letter queue depths, throttles (Lambda,
 * DynamoDB, the dispatcher's calls) and the state of every alarm. Native metrics where AWS has
 * them (Lambda IteratorAge/Errors/Throttles, SQS queue depth, DynamoDB WriteThrottleEvents), the
 * library's EMF metrics (lib/metrics/names.ts) for the rest.
 */
export function createDashboard(scope: Construct, id: string, targets: DashboardTargets): cloudwatch.Dashboard {
  const m = (definition: MetricDefinition, statistic: string, label?: string, dimensions?: Record<string, string>) =>
    libraryMetric(targets.metrics, definition, {
      statistic,
      ...(label ? { label } : {}),
      ...(dimensions ? { dimensions } : {}),
    });
  const depth = (queue: sqs.IQueue, label: string) =>
    queue.metricApproximateNumberOfMessagesVisible({ period: MONITORING_PERIOD, statistic: 'Maximum', label });
  const lambdaMetric = (fn: lambda.IFunction, name: string, statistic: string, label: string) =>
    fn.metric(name, { period: MONITORING_PERIOD, statistic, label });

  const dashboard = new cloudwatch.Dashboard(scope, id, { defaultInterval: Duration.hours(3) });
  dashboard.addWidgets(
    graph('Dispatch lag (publish - commit, ms)', [
      m(METRICS.dispatchLagMs, 'p50', 'p50'),
      m(METRICS.dispatchLagMs, 'p99', 'p99'),
      m(METRICS.dispatchLagMs, 'Maximum', 'max'),
    ]),
    graph('Stream iterator age (ms)', [lambdaMetric(targets.dispatcher, 'IteratorAge', 'Maximum', 'max')]),
    graph('Partial batch failures and dispatcher errors', [
      m(METRICS.partialBatchFailures, 'Sum', 'records reported failed'),
      m(METRICS.dispatchFailures, 'Sum', 'calls failed for good'),
      targets.dispatcher.metricErrors({ period: MONITORING_PERIOD, statistic: 'Sum', label: 'invocation errors' }),
    ]),
  );
  dashboard.addWidgets(
    graph('Throughput', [
      m(METRICS.commitsCommitted, 'Sum', 'commits'),
      m(METRICS.eventsPublished, 'Sum', 'events published'),
      m(METRICS.schedulesCreated, 'Sum', 'schedules created'),
      m(METRICS.schedulesUpdated, 'Sum', 'schedules updated'),
      m(METRICS.schedulesDeleted, 'Sum', 'schedules deleted'),
      m(METRICS.timersQueued, 'Sum', 'SQS timers queued'),
    ]),
    graph(
      'Job outcomes',
      JOB_RUN_OUTCOMES.map((outcome) => m(METRICS.jobRuns, 'Sum', outcome, { [METRIC_DIMENSIONS.outcome]: outcome })),
    ),
    graph('DEAD jobs and expired leases', [
      m(METRICS.jobsDead, 'Sum', 'jobs DEAD'),
      m(METRICS.jobLeasesExpired, 'Sum', 'RUNNING past lease'),
      targets.jobRunner.metricErrors({ period: MONITORING_PERIOD, statistic: 'Sum', label: 'runner errors' }),
    ]),
  );
  dashboard.addWidgets(
    graph('Dead-letter queue depths', [
      depth(targets.streamDeadLetterQueue, 'stream DLQ'),
      depth(targets.jobDeadLetterQueue, 'job DLQ'),
    ]),
    graph(
      'Throttles',
      [
        lambdaMetric(targets.dispatcher, 'Throttles', 'Sum', 'dispatcher throttles'),
        lambdaMetric(targets.jobRunner, 'Throttles', 'Sum', 'runner throttles'),
        m(METRICS.callsThrottled, 'Sum', 'dispatcher calls throttled'),
      ],
      [
        writeThrottles(targets.table),
        ...(targets.tableHasJobIndex ? [writeThrottles(targets.table, OUTBOX_SCHEMA.jobStatusIndex.name)] : []),
      ],
    ),
    new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...targets.alarms], width: 8, height: 6 }),
  );
  return dashboard;
}
