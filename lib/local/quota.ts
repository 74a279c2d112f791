/**
 * Service quotas for the local endpoints: a token bucket (requests per second, burst) per service or per
 * operation, answering the service's throttling error as AWS does when a request rate quota is exceeded.
 */
import { LocalServiceError } from './http.js';

/** A rate: `requestsPerSecond` refilled continuously into a bucket of `burst` tokens (default: one second's worth). */
export interface QuotaRate {
  readonly requestsPerSecond: number;
  readonly burst?: number;
}

/** Options of {@link tokenBucketQuota}. */
export interface TokenBucketQuotaOptions extends Partial<QuotaRate> {
  /** A bucket per operation (e.g. `{ CreateSchedule: { requestsPerSecond: 50 } }`); others use the shared rate, if any. */
  readonly operations?: Readonly<Record<string, QuotaRate>>;
  /** The time in milliseconds (monotonic). @default performance.now */
  readonly now?: () => number;
}

/** How many calls were admitted and throttled, per operation. */
export interface QuotaStats {
  readonly admitted: number;
  readonly throttled: number;
  readonly byOperation: Readonly<Record<string, { readonly admitted: number; readonly throttled: number }>>;
}

/** A quota an endpoint consults before each call (the `quota` option of the local endpoints). */
export interface LocalQuota {
  /**
   * Takes a token for `operation`, or throws the throttling error: `ThrottlingException` with `error` as its
   * HTTP status (default 400), or the error `error` makes.
   */
  admit(operation: string, error?: number | (() => LocalServiceError)): void;
  readonly stats: QuotaStats;
  /** Zeroes the counters (the buckets keep their tokens). */
  resetStats(): void;
}

interface Bucket {
  tokens: number;
  at: number;
  readonly rate: number;
  readonly burst: number;
}

function bucket(rate: QuotaRate, now: number, what: string): Bucket {
  const burst = rate.burst ?? Math.max(1, rate.requestsPerSecond);
  if (!(rate.requestsPerSecond > 0) || !Number.isFinite(rate.requestsPerSecond))
    throw new RangeError(`tokenBucketQuota: ${what} requestsPerSecond must be a positive number`);
  if (!(burst >= 1) || !Number.isFinite(burst))
    throw new RangeError(`tokenBucketQuota: ${what} burst must be at least 1`);
  return { tokens: burst, at: now, rate: rate.requestsPerSecond, burst };
}

/**
 * A token-bucket request quota: every call takes one token; tokens refill at `requestsPerSecond` up to `burst`;
 * a call that finds the bucket empty is throttled (nothing of it is applied). Give it to a local endpoint as
 * `quota` (`startLocalScheduler`, `startLocalEventBridge`, `startLocalSqs`).
 *
 * @example
 * ```ts
 * const quota = tokenBucketQuota({ operations: { CreateSchedule: { requestsPerSecond: 50, burst: 50 } } });
 * const scheduler = await startLocalScheduler({ quota });
 * // ... offer 200 CreateSchedule/s ...
 * quota.stats.byOperation.CreateSchedule; // { admitted, throttled }
 * ```
 */
export function tokenBucketQuota(options: TokenBucketQuotaOptions): LocalQuota {
  const now = options.now ?? (() => performance.now());
  const start = now();
  const shared =
    options.requestsPerSecond !== undefined
      ? bucket(
          {
            requestsPerSecond: options.requestsPerSecond,
            ...(options.burst !== undefined ? { burst: options.burst } : {}),
          },
          start,
          'the shared',
        )
      : undefined;
  const buckets = new Map(Object.entries(options.operations ?? {}).map(([op, rate]) => [op, bucket(rate, start, op)]));
  if (!shared && buckets.size === 0)
    throw new RangeError('tokenBucketQuota: give requestsPerSecond, or operations with their rates');
  let byOperation: Record<string, { admitted: number; throttled: number }> = {};
  let admitted = 0;
  let throttled = 0;
  return {
    admit(operation, error = 400) {
      const b = buckets.get(operation) ?? shared;
      const counts = (byOperation[operation] ??= { admitted: 0, throttled: 0 });
      if (!b) {
        admitted++;
        counts.admitted++;
        return;
      }
      const t = now();
      b.tokens = Math.min(b.burst, b.tokens + ((t - b.at) / 1000) * b.rate);
      b.at = t;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        admitted++;
        counts.admitted++;
        return;
      }
      throttled++;
      counts.throttled++;
      throw typeof error === 'function'
        ? error()
        : new LocalServiceError('ThrottlingException', 'Rate exceeded', error);
    },
    get stats() {
      return { admitted, throttled, byOperation: structuredClone(byOperation) };
    },
    resetStats() {
      admitted = 0;
      throttled = 0;
      byOperation = {};
    },
  };
}
