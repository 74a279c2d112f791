import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createAdaptiveLimiter } from '../../lib/dispatch/adaptive-limiter.js';

class Throttled extends Error {
  override readonly name = 'ThrottlingException';
}
const isThrottle = (e: unknown): boolean => e instanceof Throttled;
const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('createAdaptiveLimiter', () => {
  it('halves the window once for a burst of throttles from calls started in one window', async () => {
    const limiter = createAdaptiveLimiter({ max: 16, isThrottle });
    const calls = Array.from({ length: 16 }, () =>
      limiter.run(async () => {
        await tick(1);
        throw new Throttled();
      }),
    );
    await Promise.allSettled(calls);
    expect(limiter.cuts).toBe(1);
    expect(limiter.limit).toBe(8);
  });

  it('after a cut, admits no more calls than the new window', async () => {
    const limiter = createAdaptiveLimiter({ max: 8, isThrottle });
    await Promise.allSettled(Array.from({ length: 8 }, () => limiter.run(async () => Promise.reject(new Throttled()))));
    expect(limiter.limit).toBe(4);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started = 0;
    const calls = Array.from({ length: 10 }, () =>
      limiter.run(async () => {
        started++;
        await gate;
      }),
    );
    await tick(5);
    expect(started).toBe(4);
    release();
    await Promise.all(calls);
    expect(started).toBe(10);
  });

  it('grows back additively: one window of successes adds about one slot', async () => {
    const limiter = createAdaptiveLimiter({ max: 100, initial: 10, isThrottle });
    for (let i = 0; i < 10; i++) await limiter.run(async () => undefined);
    expect(limiter.limit).toBeGreaterThan(10.9);
    expect(limiter.limit).toBeLessThan(11);
  });

  it('never lets more than floor(window) calls run and stays within [min, max] (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ throttle: fc.boolean(), delay: fc.integer({ min: 0, max: 2 }) }), {
          minLength: 1,
          maxLength: 60,
        }),
        async (plan) => {
          const limiter = createAdaptiveLimiter({ max: 6, min: 1, isThrottle });
          let inFlight = 0;
          let violations = 0;
          await Promise.allSettled(
            plan.map((step) =>
              limiter.run(async () => {
                inFlight++;
                if (inFlight > 6 || limiter.active > 6) violations++;
                await tick(step.delay);
                inFlight--;
                if (step.throttle) throw new Throttled();
              }),
            ),
          );
          expect(violations).toBe(0);
          expect(limiter.limit).toBeGreaterThanOrEqual(1);
          expect(limiter.limit).toBeLessThanOrEqual(6);
          expect(limiter.active).toBe(0);
        },
      ),
      { seed: 1702, numRuns: 40 },
    );
  });

  it('rejects far fewer calls than a fixed window against a server that throttles above 4 calls in flight', async () => {
    // Counts, not wall time: each worker makes a fixed number of attempts, so a loaded machine changes nothing.
    const offer = async (run: (fn: () => Promise<void>) => Promise<void>): Promise<number> => {
      let inFlight = 0;
      let throttled = 0;
      const call = async (): Promise<void> => {
        inFlight++;
        try {
          await tick(0);
          if (inFlight > 4) throw new Throttled();
        } finally {
          inFlight--;
        }
      };
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          for (let i = 0; i < 25; i++) await run(call).catch(() => throttled++);
        }),
      );
      return throttled / (32 * 25);
    };
    const adaptive = createAdaptiveLimiter({ max: 32, isThrottle });
    const adaptiveShare = await offer((fn) => adaptive.run(fn));
    const fixedShare = await offer((fn) => fn());
    // A fixed window of 32 is throttled about 7 calls in 8; AIMD keeps the rejected share far lower.
    expect(fixedShare).toBeGreaterThan(0.7);
    expect(adaptiveShare).toBeLessThan(fixedShare / 2);
    expect(adaptive.limit).toBeLessThanOrEqual(8);
  });

  it('refuses settings out of range', () => {
    expect(() => createAdaptiveLimiter({ max: 0, isThrottle })).toThrow(/max must be an integer/);
    expect(() => createAdaptiveLimiter({ max: 4, decrease: 1, isThrottle })).toThrow(/decrease must be in/);
  });
});
