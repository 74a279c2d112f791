/**
 * The SQS timer transport of one-time jobs due within 15 minutes: the message a job gets (pure) and the
 * sender that packs the timer messages of a batch into `SendMessageBatch` calls.
 */
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobEnvelope, JobScheduleSpec } from '../outbox/messages.js';
import type { Caller } from './calls.js';
import { SQS_MAX_DELAY_SECONDS, SQS_TIMER_WINDOW_MS } from './config.js';
import { atBody, jobScheduleInputJson } from './map.js';
import { type BatchEntry, type EntryOutcome, sendWithResends } from './resend.js';

/** Entries per `SendMessageBatch` call (an SQS limit). */
export const SEND_MESSAGE_BATCH_MAX_ENTRIES = 10;

/** One delayed SQS message that delivers a job to `jobQueueRunner`. */
export interface JobTimer {
  /** The JSON body: the job runner input the Scheduler target would get, `scheduledTime` filled in. */
  readonly body: string;
  /** `DelaySeconds`, 0–900. */
  readonly delaySeconds: number;
  /** The occurrence (`yyyy-mm-ddThh:mm:ssZ`): the `at` time, rounded up to the second. */
  readonly scheduledTime: string;
}

/** Whether a schedule is a one-time job due within {@link SQS_TIMER_WINDOW_MS} of `nowMs` (or overdue). */
export function isTimerDue(schedule: JobScheduleSpec | undefined, nowMs: number): boolean {
  if (schedule?.at === undefined || schedule.cron !== undefined || schedule.rate !== undefined) return false;
  const due = Date.parse(schedule.at);
  return Number.isFinite(due) && due - nowMs <= SQS_TIMER_WINDOW_MS;
}

/** `DelaySeconds` of a timer due at `dueMs`: the seconds until then, rounded up, clamped to 0–900. */
export function timerDelaySeconds(dueMs: number, nowMs: number): number {
  return Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil((dueMs - nowMs) / 1000)));
}

/**
 * The timer of a one-time job due at `at`: its body is the Scheduler target `Input` of the job
 * (`jobScheduleInputJson`, payload left out past 8192 characters) with `scheduledTime` set to the occurrence;
 * `attemptNumber` and `executionId` are left to `jobQueueRunner`, which takes them from the SQS receive
 * count and message id.
 */
export function jobTimer(job: JobEnvelope, at: string, nowMs: number): JobTimer {
  const scheduledTime = `${atBody(at)}Z`;
  const {
    attemptNumber: _a,
    executionId: _e,
    ...input
  } = JSON.parse(jobScheduleInputJson(job)) as Record<string, unknown>;
  return {
    body: JSON.stringify({ ...input, scheduledTime }),
    delaySeconds: timerDelaySeconds(Date.parse(scheduledTime), nowMs),
    scheduledTime,
  };
}

/** Sends timer messages to the timer queue, grouping those of concurrent callers into full calls. */
export interface TimerSender {
  /** Resolves with the SQS message id once the queue accepted the message; rejects with a `DispatchError`. */
  send(timer: JobTimer, ref: string): Promise<string>;
}

interface Pending extends BatchEntry<string> {
  readonly entry: Omit<SendMessageBatchRequestEntry, 'Id'>;
}

/**
 * A {@link TimerSender} for one invocation. Timers sent in the same tick (the job messages of a whole batch)
 * are packed into `SendMessageBatch` calls of ≤ 10 entries, sent in parallel through the caller's limiter
 * (throttling cuts its AIMD window and is retried with backoff, as for the other services). Entries the
 * response lists as `Failed` without `SenderFault` are resent with backoff, only those, while attempts and
 * time are left; a sender fault, or a call that failed for good, rejects its entries (their records fail, and
 * Lambda redelivers them: a duplicate timer is harmless, the runner's claim runs the job once).
 */
export function createTimerSender(client: SQSClient, queueUrl: string, caller: Caller): TimerSender {
  let queue: Pending[] = [];
  let scheduled = false;

  const sendChunk = (chunk: Pending[]): Promise<void> =>
    sendWithResends(
      chunk,
      caller,
      async (pending) => {
        caller.stats.sendMessageBatchCalls++;
        const Entries = pending.map((p, i) => ({ Id: `t${i}`, ...p.entry }));
        const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
        const ok = new Map((result.Successful ?? []).map((s) => [s.Id, s.MessageId ?? '']));
        const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
        return pending.map((_, i): EntryOutcome<string> => {
          const id = `t${i}`;
          if (ok.has(id)) {
            caller.stats.timersSent++;
            return { ok: ok.get(id)! };
          }
          const f = failed.get(id);
          const reason = f ? `${f.Code} ${f.Message ?? ''}`.trim() : 'no result entry';
          return f?.SenderFault ? { rejected: reason } : { retry: reason };
        });
      },
      (count) => {
        caller.stats.timersResent += count;
      },
    );

  const flush = (): void => {
    scheduled = false;
    const items = queue;
    queue = [];
    for (let i = 0; i < items.length; i += SEND_MESSAGE_BATCH_MAX_ENTRIES)
      void sendChunk(items.slice(i, i + SEND_MESSAGE_BATCH_MAX_ENTRIES));
  };

  return {
    send(timer, ref) {
      return new Promise<string>((resolve, reject) => {
        const entry = { MessageBody: timer.body, DelaySeconds: timer.delaySeconds };
        queue.push({ label: `SendMessageBatch ${ref}`, entry, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
