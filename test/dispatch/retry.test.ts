/** Retries of one call (lib/dispatch/retry.ts). */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createCaller, newStats } from '../../lib/dispatch/calls.js';
import { createLimiter } from '../../lib/dispatch/limiter.js';
import { backoffDelay, isRetryableError, mayRetry, retrying, type RetryClock } from '../../lib/dispatch/retry.js';

describe('retries', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, safetyMarginMs: 500 };

  it('no call starts once the invocation has no time left (a timed-out invocation stops calling the endpoints)', async () => {
    let left = 5000;
    const caller = createCaller(
      createLimiter(4),
      policy,
      { remainingMs: () => left, sleep: async () => undefined, random: () => 0 },
      newStats(),
    );
    let sent = 0;
    const send = async () => ++sent;
    await expect(caller.call(send)).resolves.toBe(1);
    left = 0;
    await expect(caller.call(send)).rejects.toThrow(
      'call: not started: the invocation has no time left (it timed out)',
    );
    left = -250;
    await expect(caller.call(send)).rejects.toThrow(/not started/);
    expect(sent).toBe(1);
  });

  it('full-jitter backoff stays within [0, min(max, base × 2^(n-1))]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (n, r) => {
        const d = backoffDelay(n, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** (n - 1)));
      }),
    );
  });

  it('stops when attempts or the invocation time run out', () => {
    expect(mayRetry(1, 100, policy, 10_000)).toBe(true);
    expect(mayRetry(5, 100, policy, 10_000)).toBe(false);
    expect(mayRetry(1, 100, policy, 550)).toBe(false);
  });

  it('classifies throttling, 5xx and network errors as retryable, client errors not', () => {
    expect(isRetryableError(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe(true);
    expect(
      isRetryableError(Object.assign(new Error('x'), { name: 'Whatever', $metadata: { httpStatusCode: 503 } })),
    ).toBe(true);
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(
      isRetryableError(
        Object.assign(new Error('x'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(false);
    expect(
      isRetryableError(
        Object.assign(new Error('x'), { name: 'ConflictException', $metadata: { httpStatusCode: 409 } }),
      ),
    ).toBe(false);
  });

  it('retrying() sleeps between attempts and rethrows the last error', async () => {
    const sleeps: number[] = [];
    const clock: RetryClock = {
      remainingMs: () => 60_000,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    };
    let n = 0;
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    await expect(retrying(async () => (++n < 3 ? Promise.reject(throttled) : 'ok'), policy, clock)).resolves.toBe('ok');
    expect(sleeps).toEqual([50, 100]);
    n = 0;
    await expect(retrying(async () => Promise.reject(throttled), policy, clock)).rejects.toBe(throttled);
    const permanent = new Error('no');
    await expect(retrying(async () => Promise.reject(permanent), policy, clock)).rejects.toBe(permanent);
  });
});
