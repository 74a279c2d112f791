/**
 * `npm start` with `--timer-transport sqs`: the timer queue's consumer (the example's job queue runner behind
 * the local event source mapping player) and the timeline lines of the timers sent and run.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ConsoleRecorder } from '../lib/local/console/recorder.js';
import type { LocalOutboxStack } from '../lib/local/outbox-stack.js';
import type { LocalTarget } from '../lib/local/scheduler-store.js';
import type { TimelineWriter } from './timeline.js';

/** The timer transports `npm start` can run with. */
export const TIMER_TRANSPORTS = ['scheduler', 'sqs'] as const;
/** One of {@link TIMER_TRANSPORTS}. */
export type LocalTimerTransport = (typeof TIMER_TRANSPORTS)[number];

type TimerJob = { name?: string; key?: string; version?: number; scheduleName?: string; scheduledTime?: string };
const jobOf = (body: string | undefined): TimerJob => {
  try {
    return JSON.parse(body ?? '{}') as TimerJob;
  } catch {
    return {};
  }
};

/**
 * Starts consuming `stack.timers` with the example's `jobQueueRunner` and writes to the timeline: `SCHEDULE` for
 * each timer message the dispatcher sent (with its delay), `JOB` for each delivery and how it ended. With a dev
 * console recorder, the timers and their runs show on its timeline too (each message is run as a batch of its own).
 */
export async function consumeTimers(
  stack: LocalOutboxStack,
  say: TimelineWriter,
  recorder?: ConsoleRecorder,
): Promise<void> {
  const timers = stack.timers;
  if (!timers) throw new Error('the local stack was started without timers');
  timers.client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'SendMessageBatchCommand') {
        const input = args.input as { Entries?: { MessageBody?: string; DelaySeconds?: number }[] };
        recorder?.recordTimersQueued(input.Entries ?? []);
        for (const entry of input.Entries ?? []) {
          const job = jobOf(entry.MessageBody);
          say(
            'SCHEDULE',
            `timer queued ${job.key} v${job.version} in ${entry.DelaySeconds ?? 0} s (SQS ${timers.queueName})`,
          );
        }
      }
      return result;
    },
    { step: 'initialize', name: 'timeline-timers' },
  );
  const { handler: queueRunner } = await import('../examples/orders/functions/job-queue-runner.js');
  const handler = recorder ? recordedRuns(queueRunner, recorder) : queueRunner;
  timers.consume(async (event: SQSEvent, context) => {
    for (const r of event.Records) {
      const job = jobOf(r.body);
      say('JOB', `run ${job.name} (${job.key}) from the timer queue, receive ${r.attributes.ApproximateReceiveCount}`);
    }
    const response = await handler(event, context);
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const r of event.Records) {
      const job = jobOf(r.body);
      say(
        failed.has(r.messageId) ? 'ERROR' : 'JOB',
        `${job.name} (${job.key}) ${failed.has(r.messageId) ? 'reported failed: SQS redelivers it after the visibility timeout' : 'done (ran, or skipped as cancelled/superseded)'}`,
      );
    }
    return response;
  });
  say(
    'INFO',
    `timers: one-time jobs due within 15 minutes go to the local SQS queue ${timers.queueName} (${timers.sqs.endpoint})`,
  );
}

/** The queue runner with each message run as a one-record batch through the recorder's job-run tracking. */
function recordedRuns(
  queueRunner: (event: SQSEvent, context: never) => Promise<SQSBatchResponse>,
  recorder: ConsoleRecorder,
): (event: SQSEvent, context: unknown) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      const run: LocalTarget = async () => {
        const response = await queueRunner({ Records: [record] }, context as never);
        if (response.batchItemFailures.length > 0)
          throw new Error('reported failed: SQS redelivers it after the visibility timeout');
        return { outcome: 'done' };
      };
      const job = jobOf(record.body);
      try {
        await recorder.wrapTarget(run)(job, timerContext(record, job));
      } catch {
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}

const timerContext = (record: SQSRecord, job: TimerJob) => ({
  scheduleArn: record.eventSourceARN,
  scheduleName: job.scheduleName ?? '',
  groupName: 'sqs',
  scheduledTime: job.scheduledTime ?? '',
  attemptNumber: Number(record.attributes.ApproximateReceiveCount ?? '1'),
  executionId: record.messageId,
});
