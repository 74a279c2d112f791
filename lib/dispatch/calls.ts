import { DispatchError } from '../errors.js';
import { createLimiter, type Limiter } from './limiter.js';
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
  /** Calls retried after throttling or a server error. */
  retries: number;
  throttled: number;
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
    retries: 0,
    throttled: 0,
  };
}

/** How the adapters make calls: through one limiter, with retries bounded by the invocation's time. */
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

/** A {@link Caller} of one invocation: no call starts once `clock.remainingMs()` is 0 or less. */
export function createCaller(concurrency: number, policy: BackoffPolicy, clock: RetryClock, stats: DispatchStats): Caller {
  const limiter = createLimiter(concurrency);
  return {
    limiter,
    policy,
    clock,
    stats,
    call: (send) =>
      retrying(() => limiter.run(() => (clock.remainingMs() > 0 ? send() : Promise.reject(timedOut()))), policy, clock, {
        onRetry: (error) => {
          stats.retries++;
          if (isThrottlingError(error)) stats.throttled++;
        },
      }),
  };
}
