import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRICS } from '../lib/metrics/names.js';
import { type LibraryMetricsSettings, libraryMetric, MONITORING_PERIOD } from './monitoring.js';

/** Inputs of {@link createAlarms}. */
export interface AlarmTargets {
  readonly dispatcher: lambda.IFunction;
  readonly streamDeadLetterQueue: sqs.IQueue;
  readonly iteratorAgeThreshold: Duration;
  readonly jobRunner: lambda.IFunction;
  readonly jobDeadLetterQueue: sqs.IQueue;
  /** The SQS timer transport's dead-letter queue and consumer (`timerTransport: 'sqs'`). */
  readonly timerDeadLetterQueue?: sqs.IQueue;
  readonly jobQueueRunner?: lambda.IFunction;
  readonly metrics: LibraryMetricsSettings;
  readonly actions?: readonly cloudwatch.IAlarmAction[];
}

const PERIOD = MONITORING_PERIOD;

/**
 * The alarms of the construct, each over one 5-minute period, missing data not breaching:
 * stream iterator age (dispatch is falling behind), dead-letter queue depth (something was not delivered),
 * dispatcher and runner errors, and from the library's metrics (lib/metrics/names.ts): partial batch
 * failures (they do not fail the function, so its error alarm never sees them), jobs that became DEAD,
 * and jobs found RUNNING past their lease (a run crashed or timed out).
 */
export function createAlarms(scope: Construct, targets: AlarmTargets): cloudwatch.Alarm[] {
  const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm => {
    const created = new cloudwatch.Alarm(scope, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (targets.actions?.length) created.addAlarmAction(...targets.actions);
    return created;
  };
  const queueDepth = (queue: sqs.IQueue) =>
    queue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' });

  const alarms = [
    alarm(
      'IteratorAgeAlarm',
      targets.dispatcher.metric('IteratorAge', { period: PERIOD, statistic: 'Maximum' }),
      targets.iteratorAgeThreshold.toMilliseconds(),
      'Outbox stream iterator age: committed events and jobs are waiting longer than the threshold to be dispatched',
    ),
    alarm(
      'StreamDeadLetterAlarm',
      queueDepth(targets.streamDeadLetterQueue),
      1,
      'Outbox stream dead-letter queue is not empty: a batch of outbox items was not dispatched (items stay in the table until TTL)',
    ),
    alarm(
      'DispatcherErrorsAlarm',
      targets.dispatcher.metricErrors({ period: PERIOD, statistic: 'Sum' }),
      1,
      'Outbox dispatcher invocations failed',
    ),
    alarm(
      'JobDeadLetterAlarm',
      queueDepth(targets.jobDeadLetterQueue),
      1,
      'Job dead-letter queue is not empty: a job could not be run',
    ),
    alarm(
      'JobRunnerErrorsAlarm',
      targets.jobRunner.metricErrors({ period: PERIOD, statistic: 'Sum' }),
      1,
      'Job runner invocations failed',
    ),
    alarm(
      'PartialBatchFailuresAlarm',
      libraryMetric(targets.metrics, METRICS.partialBatchFailures, { statistic: 'Sum' }),
      1,
      'Outbox dispatcher reported stream records failed (partial batch response): Lambda redelivers them; ' +
        'the function itself does not fail, so the errors alarm does not fire',
    ),
    alarm(
      'DeadJobsAlarm',
      libraryMetric(targets.metrics, METRICS.jobsDead, { statistic: 'Sum' }),
      1,
      'A job became DEAD (attempts exhausted or a permanent failure): retry or cancel it',
    ),
    alarm(
      'JobLeaseExpiredAlarm',
      libraryMetric(targets.metrics, METRICS.jobLeasesExpired, { statistic: 'Sum' }),
      1,
      'A job was found RUNNING past its lease: the run holding it crashed or timed out',
    ),
  ];
  if (targets.timerDeadLetterQueue)
    alarms.push(
      alarm(
        'TimerDeadLetterAlarm',
        queueDepth(targets.timerDeadLetterQueue),
        1,
        'Job timer dead-letter queue is not empty: a timer message kept failing in the job queue runner',
      ),
    );
  if (targets.jobQueueRunner && targets.jobQueueRunner !== targets.jobRunner)
    alarms.push(
      alarm(
        'JobQueueRunnerErrorsAlarm',
        targets.jobQueueRunner.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        1,
        'Job queue runner invocations failed (the whole batch of timer messages comes back)',
      ),
    );
  return alarms;
}
