import { DispatchError } from '../errors.js';
import { createAdaptiveLimiter, type AdaptiveLimiter } from './adaptive-limiter.js';
import type { Limiter } from './limiter.js';
import { isThrottlingError, retrying, type BackoffPolicy, type RetryClock } from './retry.js';

/** Counters of one invocation, logged as one line per batch. */
export interface DispatchStats {
  records: number;
  ignored: number;
  failed: number;
  eventsPublished: number;
  /** Entries resent after PutEvents reported them failed. */
  eventsResent: number;
  putEventsCalls: number;
  schedulesCreated: number;
  schedulesUpdated: number;
  schedulesDeleted: number;
  /** Creates that found the schedule already there (a redelivery). */
  schedulesAlreadyPresent: number;
  /** Deletes of schedules that were already gone. */
  schedulesAlreadyGone: number;
  /**
   * Job messages whose job record moved (newer reschedule, cancel, retry) while their schedule call was
   * in flight, after which the dispatcher converged the schedule to the record's current state.
   */
  jobsReconciled: number;
  /** Timer messages of one-time jobs accepted by the SQS timer queue (`SendMessageBatch` entries). */
  timersSent: number;
  /** Timer messages resent after `SendMessageBatch` reported them failed (not the sender's fault). */
  timersResent: number;
  sendMessageBatchCalls: number;
  /** Job messages that needed no call: no schedule was ever made for the job and it is due no more. */
  jobsWithoutCall: number;
  /** Calls retried after throttling or a server error. */
  retries: number;
  /** Answers with throttling (EventBridge, Scheduler or DynamoDB), each one, retried or not. */
  throttled: number;
  /**
   * Calls to EventBridge or Scheduler that failed for good (after their retries; answers that mean "already
   * there" or "already gone" are not failures); each PutEvents entry that failed for good counts as one.
   */
  callsFailed: number;
}

/** Fresh zeroed counters. */
export function newStats(): DispatchStats {
  return {
    records: 0,
    ignored: 0,
    failed: 0,
    eventsPublished: 0,
    eventsResent: 0,
    putEventsCalls: 0,
    schedulesCreated: 0,
    schedulesUpdated: 0,
    schedulesDeleted: 0,
    schedulesAlreadyPresent: 0,
    schedulesAlreadyGone: 0,
    jobsReconciled: 0,
    timersSent: 0,
    timersResent: 0,
    sendMessageBatchCalls: 0,
    jobsWithoutCall: 0,
    retries: 0,
    throttled: 0,
    callsFailed: 0,
  };
}

/** How the adapters make calls to one AWS service: through its limiter, with retries bounded by the invocation's time. */
export interface Caller {
  /** Runs one AWS call in a limiter slot, retrying throttling and server errors. */
  call<T>(send: () => Promise<T>): Promise<T>;
  readonly limiter: Limiter;
  readonly policy: BackoffPolicy;
  readonly clock: RetryClock;
  readonly stats: DispatchStats;
}

/**
 * The error of a call that would start after the invocation's deadline: Lambda has frozen or ended the
 * sandbox by then, so no call may start (a poller that let a timed-out invocation run on would see it call).
 */
function timedOut(): DispatchError {
  return new DispatchError('call', 'not started: the invocation has no time left (it timed out)');
}

/** The AWS services the dispatcher calls, each with its own flow control. */
export type DispatchService = 'scheduler' | 'events' | 'dynamodb' | 'sqs';

/** One {@link AdaptiveLimiter} per {@link DispatchService}. */
export type ServiceLimiters = Readonly<Record<DispatchService, AdaptiveLimiter>>;

/**
 * The limiters of one dispatcher (one per Lambda container, as the handler is made at cold start): AIMD
 * windows of at most `concurrency` calls in flight, cut by throttling, grown back by successes, and kept
 * across invocations so a window learned under throttling is not reset by the next batch.
 */
export function createServiceLimiters(concurrency: number): ServiceLimiters {
  const make = (): AdaptiveLimiter => createAdaptiveLimiter({ max: concurrency, isThrottle: isThrottlingError });
  return { scheduler: make(), events: make(), dynamodb: make(), sqs: make() };
}

/**
 * A {@link Caller} of one invocation to one service through `limiter`: throttled and 5xx calls are retried
 * with full-jitter backoff while the invocation's time (minus the safety margin) allows; each attempt takes
 * a limiter slot of its own, so a call backing off holds none. No call starts once `clock.remainingMs()` is 0.
 * Every throttled answer counts in `stats.throttled`, the last one too.
 */
export function createCaller(limiter: Limiter, policy: BackoffPolicy, clock: RetryClock, stats: DispatchStats): Caller {
  return {
    limiter,
    policy,
    clock,
    stats,
    call: (send) =>
      retrying(
        () =>
          limiter
            .run(() => (clock.remainingMs() > 0 ? send() : Promise.reject(timedOut())))
            .catch((error: unknown) => {
              if (isThrottlingError(error)) stats.throttled++;
              throw error;
            }),
        policy,
        clock,
        { onRetry: () => void stats.retries++ },
      ),
  };
}
