import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { InvalidOperationError } from '../errors.js';
import type { JobDefinitions } from './definitions.js';
import type { JobRunnerInput } from '../job-record/delivery-input.js';
import type { JobRunnerOptions } from './options.js';
import { jobRunner, type JobRunnerContext, type JobRunResult } from './runner.js';
import { normalizeOccurrence } from '../job-record/transitions.js';

/** Options of {@link jobQueueRunner}: those of {@link jobRunner}, plus what a queued timer may be early by. */
export interface JobQueueRunnerOptions<TJobs extends JobDefinitions = JobDefinitions> extends JobRunnerOptions<TJobs> {
  /**
   * How much earlier than its `scheduledTime` a message may arrive and still run (SQS delays have second
   * precision and hosts' clocks differ). An earlier message is reported failed and redelivered after
   * the queue's visibility timeout. @default 1000
   */
  readonly earlyToleranceMs?: number;
}

/** The SQS event source handler returned by {@link jobQueueRunner}. */
export type JobQueueRunnerHandler = (event: SQSEvent, context?: JobRunnerContext) => Promise<SQSBatchResponse>;

/**
 * The job delivery a timer message carries: its body is the {@link JobRunnerInput} the Scheduler target gets,
 * with `attemptNumber` and `executionId` taken from the SQS receive count and message id.
 */
export function deliveryOfTimerMessage(record: SQSRecord): JobRunnerInput {
  let body: Partial<JobRunnerInput>;
  try {
    body = JSON.parse(record.body) as Partial<JobRunnerInput>;
  } catch (error) {
    const operation = `jobQueueRunner message ${record.messageId}`;
    throw new InvalidOperationError(operation, 'the message body is not JSON', { cause: error });
  }
  return {
    ...body,
    attemptNumber: record.attributes?.ApproximateReceiveCount ?? '1',
    executionId: record.messageId,
  } as JobRunnerInput;
}

/**
 * The job runner as the consumer of the SQS timer queue (event source mapping with
 * `ReportBatchItemFailures`): every message is one job delivery, run by the very handler {@link jobRunner}
 * returns (same claim, lease, version check and exactly-once commit). A duplicate or a message of a
 * cancelled or superseded version is skipped (acknowledged); a message whose run is under another lease
 * (`JobLeaseHeldError`), a message that arrives before its `scheduledTime` (minus `earlyToleranceMs`), and
 * any error are returned in `batchItemFailures`, so SQS redelivers only those after the visibility timeout.
 *
 * @example
 * ```ts
 * export const handler = jobQueueRunner({ jobs: defineJobs({ 'expire-unpaid-order': expireUnpaidOrder }) });
 * ```
 */
export function jobQueueRunner<const TJobs extends JobDefinitions>(
  options: JobQueueRunnerOptions<TJobs>,
): JobQueueRunnerHandler {
  const { earlyToleranceMs = 1000, ...runnerOptions } = options;
  const run = jobRunner(runnerOptions as JobRunnerOptions<TJobs>);
  const clock = options.clock ?? Date.now;
  return async (event, context) => {
    const recordHandler = async (record: SQSRecord): Promise<JobRunResult> => {
      const delivery = deliveryOfTimerMessage(record);
      const due = Date.parse(normalizeOccurrence(delivery.scheduledTime) ?? '');
      if (Number.isFinite(due) && due - clock() > earlyToleranceMs)
        throw new InvalidOperationError(
          `job ${delivery.key}`,
          `the timer message arrived before its scheduledTime ${delivery.scheduledTime}: it is retried after the visibility timeout`,
        );
      return run(delivery, context);
    };
    const processor = new BatchProcessor(EventType.SQS);
    const response = await processPartialResponse(event, recordHandler, processor, {
      ...(context ? { context: context as never } : {}),
      throwOnFullBatchFailure: false,
    });
    return { batchItemFailures: [...response.batchItemFailures] };
  };
}
