/**
 * Adapters that deliver the local stand-ins' failures into a (local) SQS queue in the format AWS uses: the
 * stream poller's on-failure destination record (Lambda's invocation record with `DDBStreamBatchInfo`) and the
 * Scheduler's dead-letter message (the target input as body, the error in message attributes).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_CONFIG } from './dynamodb-local.js';
import type { DeadLetter } from './scheduler-store.js';
import type { StreamFailure } from './stream-poller.js';

/** Where the adapters send: a client (or the local SQS endpoint to make one for) and the queue URL. */
export interface SqsDestinationOptions {
  readonly queueUrl: string;
  readonly client?: SQSClient;
  readonly endpoint?: string;
}

/** Lambda's on-failure destination record for a stream batch: the poller's {@link StreamFailure} without its local extras. */
export function lambdaStreamFailureRecord(
  failure: StreamFailure,
): Omit<StreamFailure, 'records' | 'failedSequenceNumbers' | 'error'> {
  const { records: _r, failedSequenceNumbers: _f, error: _e, ...record } = failure;
  return record;
}

/**
 * An `onFailure` for `startStreamPoller` that sends Lambda's on-failure record (as JSON, the way Lambda writes
 * it to an SQS destination) to the queue.
 *
 * @example
 * ```ts
 * startStreamPoller({ ..., onFailure: streamFailureToSqs({ endpoint: sqs.endpoint, queueUrl: sqs.queueUrl('stream-dlq') }) });
 * ```
 */
export function streamFailureToSqs(options: SqsDestinationOptions): (failure: StreamFailure) => Promise<void> {
  const client = options.client ?? new SQSClient({ endpoint: options.endpoint, ...LOCAL_AWS_CONFIG });
  return async (failure) => {
    await client.send(
      new SendMessageCommand({
        QueueUrl: options.queueUrl,
        MessageBody: JSON.stringify(lambdaStreamFailureRecord(failure)),
      }),
    );
  };
}

/**
 * An `onDeadLetter` for `startLocalScheduler` that sends each dead letter (body = the schedule's target input,
 * attributes = `ERROR_CODE`, `ERROR_MESSAGE`, …) to the queue. `settled()` resolves when every send finished.
 */
export function schedulerDeadLetterToSqs(
  options: SqsDestinationOptions,
): ((message: DeadLetter) => void) & { settled(): Promise<void> } {
  const client = options.client ?? new SQSClient({ endpoint: options.endpoint, ...LOCAL_AWS_CONFIG });
  const pending = new Set<Promise<unknown>>();
  const send = (message: DeadLetter): void => {
    const attributes = Object.fromEntries(
      Object.entries(message.attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
    );
    const p = client
      .send(
        new SendMessageCommand({
          QueueUrl: options.queueUrl,
          MessageBody: message.body,
          MessageAttributes: attributes,
        }),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  return Object.assign(send, {
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  });
}
