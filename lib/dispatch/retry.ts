import { exponentialBackoffDelay } from '../backoff.js';

/** Backoff settings of {@link retrying} and of the PutEvents resend loop. */
export interface BackoffPolicy {
  /** Attempts, the first one included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** No retry starts unless its delay plus this margin fits in the remaining time. */
  readonly safetyMarginMs: number;
}

/** Time and randomness of the retry loops (injected in tests). */
export interface RetryClock {
  /** Milliseconds left in the invocation (`Infinity` outside Lambda). */
  remainingMs(): number;
  sleep(ms: number): Promise<void>;
  /** A number in [0, 1). */
  random(): number;
}

/** The clock of a real invocation: `remaining` is `context.getRemainingTimeInMillis` when there is one. */
export function realRetryClock(remaining?: () => number): RetryClock {
  return {
    remainingMs: remaining ?? (() => Number.POSITIVE_INFINITY),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: Math.random,
  };
}

/**
 * "Full jitter" exponential backoff: before retry number `retry` (1 for the first retry) wait a random
 * time in [0, min(maxDelayMs, baseDelayMs × 2^(retry-1))].
 */
export function backoffDelay(
  retry: number,
  policy: Pick<BackoffPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number,
): number {
  const backoff = { base: policy.baseDelayMs, factor: 2, max: policy.maxDelayMs, jitter: 'full' } as const;
  return Math.floor(exponentialBackoffDelay(retry - 1, backoff, random));
}

/**
 * Whether another attempt may start: attempts are left, and the delay plus the safety margin fits in
 * the time left of the invocation.
 */
export function mayRetry(attemptsMade: number, delayMs: number, policy: BackoffPolicy, remainingMs: number): boolean {
  return attemptsMade < policy.maxAttempts && delayMs + policy.safetyMarginMs < remainingMs;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottledException',
  'SlowDown',
  'LimitExceededException',
  // SQS (SendMessageBatch of the timer transport): a 400 with a client fault, yet a request to slow down.
  'RequestThrottled',
  'KmsThrottled',
]);
const TRANSIENT = new Set([
  'InternalServerException',
  'InternalFailure',
  'InternalServerError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** Throttling, a 5xx / server fault, or a network error: worth another attempt. */
export function isRetryableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: string;
    code?: string;
    $fault?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if (e.name && (THROTTLING.has(e.name) || TRANSIENT.has(e.name))) return true;
  if (e.code && NETWORK.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  return e.$fault === 'server';
}

/** Whether the error is a throttling error (for the batch counters). */
export function isThrottlingError(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name !== undefined && THROTTLING.has(name);
}

/**
 * Runs `fn` until it succeeds, retrying errors `isRetryable` accepts with {@link backoffDelay} while
 * attempts and time are left; then rethrows the last error.
 */
export async function retrying<T>(
  fn: (attempt: number) => Promise<T>,
  policy: BackoffPolicy,
  clock: RetryClock,
  hooks: {
    isRetryable?: (error: unknown) => boolean;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  } = {},
): Promise<T> {
  const retryable = hooks.isRetryable ?? isRetryableError;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!retryable(error)) throw error;
      const delay = backoffDelay(attempt, policy, clock.random);
      if (!mayRetry(attempt, delay, policy, clock.remainingMs())) throw error;
      hooks.onRetry?.(error, attempt, delay);
      await clock.sleep(delay);
    }
  }
}
