/**
 * The SQS timer transport, locally: the local SQS with a timer queue (and its dead-letter queue), the client
 * the dispatcher sends with, and the event source mapping player that feeds the queue to `jobQueueRunner`.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_CONFIG } from './dynamodb-local.js';
import { startLocalSqs, type LocalSqs, type LocalSqsOptions } from './sqs-endpoint.js';
import { startSqsPoller, type SqsHandler, type SqsPoller, type SqsPollerOptions } from './sqs-poller.js';

/** Options of {@link startLocalTimerQueue}. */
export interface LocalTimerQueueOptions {
  /** The local SQS. @default a real clock on a free port */
  readonly sqs?: LocalSqsOptions;
  /** @default 'job-timers' (its dead-letter queue: `<name>-dlq`) */
  readonly queueName?: string;
  /** How long a message reported failed stays invisible before it is delivered again. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Receives after which a message moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Settings of the poller {@link LocalTimerQueue.consume} starts (batch size, concurrency, timeout). */
  readonly poller?: Partial<Omit<SqsPollerOptions, 'queueUrl' | 'handler' | 'client' | 'endpoint'>>;
}

/** A running local timer queue. */
export interface LocalTimerQueue {
  readonly sqs: LocalSqs;
  /** A client on the local SQS (`maxAttempts: 1`): pass it as the dispatcher's `clients.sqs`. */
  readonly client: SQSClient;
  readonly queueName: string;
  /** The dispatcher's `timerQueueUrl`. */
  readonly queueUrl: string;
  readonly deadLetterQueueName: string;
  readonly deadLetterQueueUrl: string;
  /** The poller started by {@link consume}, if any. */
  readonly poller: SqsPoller | undefined;
  /**
   * Starts the event source mapping player (`ReportBatchItemFailures`) that invokes `handler`, usually
   * `jobQueueRunner(...)`, with the timer messages as they become due. Once per queue.
   */
  consume(handler: SqsHandler, options?: LocalTimerQueueOptions['poller']): SqsPoller;
  /** Resolves once no timer is delayed, visible or in flight (every one ran, was skipped or dead-lettered). */
  drain(timeoutMs?: number): Promise<void>;
  /** Stops the poller, the client and the local SQS. */
  stop(): Promise<void>;
}

/**
 * Starts a {@link LocalTimerQueue}: a local SQS holding the timer queue, with a redrive policy to its
 * dead-letter queue after `maxReceiveCount` receives, as the construct creates it with `timerTransport: 'sqs'`.
 *
 * @example
 * ```ts
 * const timers = await startLocalTimerQueue({ visibilityTimeoutSeconds: 2 });
 * const dispatcher = outboxDispatcher({ ..., timerQueueUrl: timers.queueUrl, clients: { sqs: timers.client } });
 * timers.consume(jobQueueRunner({ jobs, outboxTable, client }));
 * ```
 */
export async function startLocalTimerQueue(options: LocalTimerQueueOptions = {}): Promise<LocalTimerQueue> {
  const sqs = await startLocalSqs(options.sqs);
  const queueName = options.queueName ?? 'job-timers';
  const deadLetterQueueName = `${queueName}-dlq`;
  const deadLetterQueueUrl = sqs.createQueue(deadLetterQueueName);
  const queueUrl = sqs.createQueue(queueName, {
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: sqs.queueArn(deadLetterQueueName),
      maxReceiveCount: options.maxReceiveCount ?? 5,
    }),
  });
  const client = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  let poller: SqsPoller | undefined;
  return {
    sqs,
    client,
    queueName,
    queueUrl,
    deadLetterQueueName,
    deadLetterQueueUrl,
    get poller() {
      return poller;
    },
    consume(handler, pollerOptions) {
      if (poller) throw new Error(`the timer queue ${queueName} already has a consumer`);
      poller = startSqsPoller({
        functionName: 'job-queue-runner',
        ...options.poller,
        ...pollerOptions,
        client,
        queueUrl,
        handler,
      });
      return poller;
    },
    async drain(timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const c = sqs.counts(queueName);
        if (c.visible + c.notVisible + c.delayed === 0 && (poller?.inFlight ?? 0) === 0) return;
        if (Date.now() > until)
          throw new Error(
            `timer queue ${queueName} did not drain within ${timeoutMs} ms (${c.delayed} delayed, ${c.visible} visible, ${c.notVisible} in flight)`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      await poller?.stop();
      client.destroy();
      await sqs.stop();
    },
  };
}
