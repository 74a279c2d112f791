import type { Limiter } from './limiter.js';

/** Settings of an {@link AdaptiveLimiter}. */
export interface AdaptiveLimiterOptions {
  /** Calls in flight allowed at the start. @default max */
  readonly initial?: number;
  /** The window never shrinks below this. @default 1 */
  readonly min?: number;
  /** The window never grows above this (the configured concurrency). */
  readonly max: number;
  /** Factor the window is multiplied by on throttling. @default 0.5 */
  readonly decrease?: number;
  /** Whether a call's error means "slow down" (throttling). */
  readonly isThrottle: (error: unknown) => boolean;
}

/**
 * A {@link Limiter} whose window of calls in flight follows AIMD, as TCP congestion control does: each
 * success grows the window by `1 / window` (about one call per window of successes), a throttled call cuts
 * it by `decrease`. Throttles of calls that started before the last cut do not cut again, so one burst of
 * rejections halves the window once, not once per rejected call.
 */
export interface AdaptiveLimiter extends Limiter {
  /** The current window (fractional; `floor(limit)` calls may be in flight). */
  readonly limit: number;
  /** Throttles that cut the window. */
  readonly cuts: number;
}

/**
 * Creates an {@link AdaptiveLimiter}.
 *
 * @example
 * const limiter = createAdaptiveLimiter({ max: 16, isThrottle: isThrottlingError });
 * await limiter.run(() => scheduler.send(command));
 */
export function createAdaptiveLimiter(options: AdaptiveLimiterOptions): AdaptiveLimiter {
  const min = options.min ?? 1;
  const max = options.max;
  const decrease = options.decrease ?? 0.5;
  if (!Number.isInteger(min) || min < 1) throw new RangeError(`min must be an integer ≥ 1, got ${min}`);
  if (!Number.isInteger(max) || max < min) throw new RangeError(`max must be an integer ≥ min (${min}), got ${max}`);
  if (!(decrease > 0 && decrease < 1)) throw new RangeError(`decrease must be in (0, 1), got ${decrease}`);
  let limit = clamp(options.initial ?? max, min, max);
  let active = 0;
  let peak = 0;
  let epoch = 0;
  let cuts = 0;
  const waiting: (() => void)[] = [];

  const admit = (): void => {
    while (waiting.length > 0 && active < Math.floor(limit)) {
      active++;
      waiting.shift()!();
    }
  };
  const acquire = async (): Promise<void> => {
    if (waiting.length === 0 && active < Math.floor(limit)) {
      active++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const onSuccess = (): void => {
    limit = Math.min(max, limit + 1 / limit);
  };
  const onThrottle = (startedIn: number): void => {
    if (startedIn !== epoch) return;
    limit = Math.max(min, limit * decrease);
    epoch++;
    cuts++;
  };

  return {
    get active() {
      return active;
    },
    get peak() {
      return peak;
    },
    get limit() {
      return limit;
    },
    get cuts() {
      return cuts;
    },
    async run<T>(fn: () => Promise<T>): Promise<T> {
      await acquire();
      peak = Math.max(peak, active);
      const startedIn = epoch;
      try {
        const result = await fn();
        onSuccess();
        return result;
      } catch (error) {
        if (options.isThrottle(error)) onThrottle(startedIn);
        throw error;
      } finally {
        active--;
        admit();
      }
    },
  };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
