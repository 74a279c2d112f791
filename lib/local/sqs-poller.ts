/**
 * A local stand-in for Lambda's SQS event source mapping: it long-polls a queue with the real `SQSClient`,
 * invokes a handler with `SQSEvent`s, deletes what succeeded (all but `batchItemFailures` with
 * `ReportBatchItemFailures`), and leaves failures to reappear after their visibility timeout — so the queue's
 * redrive policy moves a message that keeps failing to its dead-letter queue, as on AWS.
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { LOCAL_AWS_CONFIG } from './dynamodb-local.js';
import { localLambdaContext } from './stream-record.js';

/** The handler the poller invokes, as Lambda would. */
export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void | undefined | null>;

/** Options of {@link startSqsPoller}. */
export interface SqsPollerOptions {
  readonly queueUrl: string;
  readonly handler: SqsHandler;
  /** An SQS client, or the local SQS endpoint to make one for. */
  readonly client?: SQSClient;
  readonly endpoint?: string;
  /** Messages per invocation (1–10000; more than 10 are gathered over several receives). @default 10 */
  readonly batchSize?: number;
  /** How long a batch may be gathered before the invocation. @default 0 */
  readonly maximumBatchingWindowMs?: number;
  /** Invocations in flight at once (the mapping's `ScalingConfig.MaximumConcurrency`). @default 2 */
  readonly maximumConcurrency?: number;
  /** Honour `batchItemFailures` (`FunctionResponseTypes: ['ReportBatchItemFailures']`). @default true */
  readonly reportBatchItemFailures?: boolean;
  /** Long-poll wait of each receive, seconds (0–20). @default 1 */
  readonly waitTimeSeconds?: number;
  /** The function timeout: `getRemainingTimeInMillis()` counts down from it; a slower invocation counts as an error. @default 30000 */
  readonly functionTimeoutMs?: number;
  /** @default 'sqs-consumer' */
  readonly functionName?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
}

/** One invocation of the handler. */
export interface SqsInvocation {
  readonly requestId: string;
  readonly messageIds: readonly string[];
  /** Ids reported in `batchItemFailures` (or all of them when the invocation failed). */
  readonly failed: readonly string[];
  readonly error?: string;
}

/** A running poller. */
export interface SqsPoller {
  readonly invocations: readonly SqsInvocation[];
  /** Errors of the polling loop itself (receive/delete calls that failed), in order. */
  readonly pollErrors: readonly unknown[];
  /** Batches received and not yet finished (being gathered, in the handler, or its deletes in flight). */
  readonly inFlight: number;
  /**
   * Resolves once the queue holds no message that is visible or in flight (everything was handled, or moved
   * to the dead-letter queue). With a manual clock, advance it so failed messages become visible again.
   */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** An SQS message as Lambda delivers it in an `SQSEvent`. */
export function toSqsRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  const messageAttributes: SQSMessageAttributes = Object.fromEntries(
    Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => [
      name,
      {
        dataType: v.DataType ?? 'String',
        stringListValues: [],
        binaryListValues: [],
        ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
        ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      },
    ]),
  );
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? '',
      SenderId: a.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes,
    md5OfBody: m.MD5OfBody ?? '',
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  } as SQSRecord;
}

/**
 * Starts polling `queueUrl` like an SQS event source mapping: up to `maximumConcurrency` invocations at once,
 * each with up to `batchSize` messages; on success the batch is deleted, with `ReportBatchItemFailures` all but
 * the reported ones (an identifier not in the batch fails the whole batch, as in Lambda); a thrown error or a
 * timeout deletes nothing. What is not deleted comes back after the visibility timeout with a higher
 * `ApproximateReceiveCount`, until the queue's redrive policy moves it to the dead-letter queue.
 *
 * @example
 * ```ts
 * const poller = startSqsPoller({ endpoint: sqs.endpoint, queueUrl, handler: jobRunnerSqsHandler });
 * await poller.drain();
 * await poller.stop();
 * ```
 */
export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const region = options.region ?? 'us-east-1';
  const functionName = options.functionName ?? 'sqs-consumer';
  const batchSize = options.batchSize ?? 10;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw new RangeError(`startSqsPoller: batchSize ${batchSize} must be 1-10000`);
  const concurrency = options.maximumConcurrency ?? 2;
  const reportFailures = options.reportBatchItemFailures ?? true;
  const wait = options.waitTimeSeconds ?? 1;
  const timeoutMs = options.functionTimeoutMs ?? 30_000;
  const windowMs = options.maximumBatchingWindowMs ?? 0;
  const ownClient = !options.client;
  const client = options.client ?? new SQSClient({ endpoint: options.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  const invocations: SqsInvocation[] = [];
  const pollErrors: unknown[] = [];
  const abort = new AbortController();
  let running = true;
  let inFlight = 0;
  let queueArn: string | undefined;

  const arn = async (): Promise<string> => {
    queueArn ??=
      (await client.send(new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] })))
        .Attributes?.QueueArn ?? '';
    return queueArn;
  };

  const gather = async (): Promise<Message[]> => {
    const batch: Message[] = [];
    const until = Date.now() + windowMs;
    for (;;) {
      const out = await client
        .send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: Math.min(10, batchSize - batch.length),
            WaitTimeSeconds: batch.length ? 0 : wait,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        )
        .catch((error: unknown) => {
          if (batch.length > 0) inFlight--; // what was gathered comes back after its visibility timeout
          throw error;
        });
      const got = out.Messages ?? [];
      if (batch.length === 0 && got.length > 0) inFlight++; // held from the first receive on
      batch.push(...got);
      if (!running || batch.length === 0 || batch.length >= batchSize) break;
      if (got.length === 10) continue; // a full receive: more may be waiting
      if (Date.now() >= until) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(20, until - Date.now())));
    }
    return batch;
  };

  const invoke = async (messages: Message[]): Promise<void> => {
    const requestId = randomUUID();
    const records = messages.map((m) => toSqsRecord(m, queueArn ?? '', region));
    let response: SQSBatchResponse | void | undefined | null;
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      response = await Promise.race([
        options.handler({ Records: records }, localLambdaContext(functionName, region, requestId, timeoutMs)),
        new Promise<never>(
          (_, reject) =>
            (timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs} ms`)), timeoutMs)),
        ),
      ]);
    } catch (e) {
      error = (e as Error)?.message ?? String(e);
    } finally {
      clearTimeout(timer);
    }
    const ids = records.map((r) => r.messageId);
    const reported = !error && reportFailures ? (response?.batchItemFailures ?? []).map((f) => f?.itemIdentifier) : [];
    const wholeBatch = error !== undefined || reported.some((id) => typeof id !== 'string' || !ids.includes(id));
    const failed = wholeBatch ? ids : ids.filter((id) => reported.includes(id));
    invocations.push({
      requestId,
      messageIds: ids,
      failed,
      ...(error ? { error } : wholeBatch && reported.length ? { error: 'invalid batchItemFailures' } : {}),
    });
    const done = records.filter((r) => !failed.includes(r.messageId));
    for (let i = 0; i < done.length; i += 10) {
      const entries = done.slice(i, i + 10).map((r, n) => ({ Id: String(n), ReceiptHandle: r.receiptHandle }));
      const out = await client.send(new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }));
      if (out.Failed?.length)
        pollErrors.push(
          new Error(
            `DeleteMessageBatch failed for ${out.Failed.length} entries: ${out.Failed.map((f) => f.Code).join(', ')}`,
          ),
        );
    }
  };

  const worker = async (): Promise<void> => {
    while (running) {
      try {
        await arn();
        const messages = await gather();
        if (messages.length > 0) await invoke(messages).finally(() => inFlight--);
      } catch (error) {
        if (!running) break;
        pollErrors.push(error);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());

  return {
    invocations,
    pollErrors,
    get inFlight() {
      return inFlight;
    },
    async drain(timeout = 10_000) {
      const until = Date.now() + timeout;
      for (;;) {
        const a =
          (
            await client.send(
              new GetQueueAttributesCommand({
                QueueUrl: options.queueUrl,
                AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
              }),
            )
          ).Attributes ?? {};
        if (Number(a.ApproximateNumberOfMessages) === 0 && Number(a.ApproximateNumberOfMessagesNotVisible) === 0)
          return;
        if (Date.now() > until)
          throw new Error(
            `sqs poller did not drain within ${timeout} ms (${a.ApproximateNumberOfMessages} visible, ${a.ApproximateNumberOfMessagesNotVisible} in flight)`,
          );
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      running = false;
      abort.abort();
      await Promise.all(workers);
      if (ownClient) client.destroy();
    },
  };
}
