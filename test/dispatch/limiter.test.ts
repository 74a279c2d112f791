/** The bounded-concurrency limiter (lib/dispatch/limiter.ts). */
import { describe, expect, it } from '@jest/globals';
import { createLimiter } from '../../lib/dispatch/limiter.js';

describe('limiter', () => {
  it('never runs more than its limit at once and starts waiting calls in order', async () => {
    const limit = createLimiter(3);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        limit.run(async () => {
          started.push(i);
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 2 + (i % 3)));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(limit.peak).toBe(3);
    expect(started).toEqual([...started].sort((a, b) => a - b));
    expect(() => createLimiter(0)).toThrow(RangeError);
  });
});
