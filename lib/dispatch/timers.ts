/**
 * The SQS timer transport of one-time jobs due within 15 minutes: which jobs, and the message a job gets
 * (pure). The sender, which loads the SQS client, is in `timer-sender.ts`, imported only when timers are on.
 */
import type { JobEnvelope, JobScheduleSpec } from '../outbox/messages.js';
import { SQS_MAX_DELAY_SECONDS, SQS_TIMER_WINDOW_MS } from './config.js';
import { atBody, jobScheduleInputJson } from './map.js';

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
