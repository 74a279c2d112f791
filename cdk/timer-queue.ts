import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { createDeadLetterQueue } from './resources.js';

/** Defaults of {@link TimerTransportProps}. */
export const TIMER_QUEUE_DEFAULTS = {
  timerTransport: 'scheduler',
  maxReceiveCount: 10,
  batchSize: 10,
  /** Visibility timeout when the queue runner's timeout is unknown (an imported function). */
  visibilityTimeoutSeconds: 15 * 60,
  /** The visibility timeout is this many times the queue runner's timeout (AWS's advice for SQS event sources). */
  visibilityTimeoutFactor: 6,
  retentionDays: 4,
} as const;

/** How one-time jobs due within 15 minutes reach the job runner. */
export type TimerTransport = 'scheduler' | 'sqs';

/** The props of {@link TransactionalOutboxProps} about the SQS timer transport (docs/jobs.md, "SQS timers"). */
export interface TimerTransportProps {
  /**
   * How one-time jobs due within 15 minutes are delivered. `'sqs'`: the dispatcher sends each a delayed
   * message (`SendMessageBatch`, `DelaySeconds` ≤ 900) to an encrypted timer queue that `jobQueueRunner`
   * consumes, which takes them off the Scheduler's API rates and schedule quota; jobs due later, and recurring
   * ones, still get Scheduler schedules. Requires `jobQueueRunner`.
   * @default 'scheduler'
   */
  readonly timerTransport?: TimerTransport;
  /**
   * With `timerTransport: 'sqs'`: the function consuming the timer queue (its handler is
   * `jobQueueRunner({ jobs })`, the same jobs as the job runner's). The construct grants it what the job runner
   * gets and adds the queue's event source mapping (`ReportBatchItemFailures`). It may be the job runner
   * itself only if its handler serves both event shapes.
   * @default - none
   */
  readonly jobQueueRunner?: lambda.IFunction;
  /**
   * Receives of a timer message (its first delivery included) before it moves to the timer dead-letter queue;
   * a delivery that met the run under another lease, or arrived early, counts as one (1–1000).
   * @default 10
   */
  readonly timerQueueMaxReceiveCount?: number;
  /**
   * Visibility timeout of the timer queue: how long before a message reported failed is delivered again.
   * Must be at least the queue runner's timeout.
   * @default - 6 × the queue runner's timeout (15 minutes when it is unknown)
   */
  readonly timerQueueVisibilityTimeout?: Duration;
}

/** What {@link createTimerQueue} made. */
export interface TimerQueue {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly mapping: lambda.EventSourceMapping;
}

/** Problems of the timer props, for the construct's one validation error. */
export function timerTransportProblems(props: TimerTransportProps): string[] {
  const problems: string[] = [];
  const transport = props.timerTransport ?? TIMER_QUEUE_DEFAULTS.timerTransport;
  if (transport !== 'scheduler' && transport !== 'sqs')
    problems.push(`timerTransport must be 'scheduler' or 'sqs' (got ${JSON.stringify(transport)})`);
  if (transport === 'sqs' && !props.jobQueueRunner)
    problems.push("timerTransport 'sqs' needs jobQueueRunner: the function whose handler is jobQueueRunner({ jobs })");
  if (transport !== 'sqs') {
    for (const key of ['jobQueueRunner', 'timerQueueMaxReceiveCount', 'timerQueueVisibilityTimeout'] as const)
      if (props[key] !== undefined) problems.push(`${key} applies only with timerTransport 'sqs'`);
  }
  const count = props.timerQueueMaxReceiveCount;
  if (count !== undefined && !(Number.isInteger(count) && count >= 1 && count <= 1000))
    problems.push(`timerQueueMaxReceiveCount must be an integer from 1 to 1000 (got ${count})`);
  const visibility = props.timerQueueVisibilityTimeout;
  if (visibility && !visibility.isUnresolved() && visibility.toSeconds() > 12 * 60 * 60)
    problems.push(`timerQueueVisibilityTimeout must be at most 12 hours (got ${visibility.toSeconds()} seconds)`);
  return problems;
}

/**
 * The SQS timer transport: the timer queue (SSE-SQS, TLS only, a redrive policy to its own dead-letter
 * queue after `timerQueueMaxReceiveCount` receives) and its event source mapping on the queue runner, with
 * partial batch responses (`ReportBatchItemFailures`), so that only the failed messages of a batch come back.
 */
export function createTimerQueue(scope: Construct, runner: lambda.IFunction, props: TimerTransportProps): TimerQueue {
  const d = TIMER_QUEUE_DEFAULTS;
  const deadLetterQueue = createDeadLetterQueue(scope, 'TimerDeadLetterQueue', 'job timers that kept failing');
  const runnerTimeout = runner instanceof lambda.Function ? runner.timeout : undefined;
  const visibilityTimeout =
    props.timerQueueVisibilityTimeout ??
    (runnerTimeout && !runnerTimeout.isUnresolved()
      ? Duration.seconds(Math.min(12 * 60 * 60, d.visibilityTimeoutFactor * runnerTimeout.toSeconds()))
      : Duration.seconds(d.visibilityTimeoutSeconds));
  const queue = new sqs.Queue(scope, 'TimerQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout,
    retentionPeriod: Duration.days(d.retentionDays),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.timerQueueMaxReceiveCount ?? d.maxReceiveCount },
  });
  queue.grantConsumeMessages(runner);
  const mapping = new lambda.EventSourceMapping(scope, 'TimerQueueMapping', {
    target: runner,
    eventSourceArn: queue.queueArn,
    batchSize: d.batchSize,
    reportBatchItemFailures: true,
  });
  // Lambda checks the role's queue permissions when it creates the mapping.
  if (runner.role) mapping.node.addDependency(runner.role);
  return { queue, deadLetterQueue, mapping };
}
