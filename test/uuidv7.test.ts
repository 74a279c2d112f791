import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { createUuidV7Generator, uuidv7 } from '../lib/uuidv7.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const millisOf = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('uuidv7 (lib/uuidv7.ts)', () => {
  it('is an RFC 9562 version 7 UUID carrying the current Unix milliseconds', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(UUID_V7);
    expect(millisOf(id)).toBeGreaterThanOrEqual(before);
    expect(millisOf(id)).toBeLessThanOrEqual(after);
  });

  it('50 000 ids in a row are distinct and strictly increasing as strings (many per millisecond)', () => {
    const ids = Array.from({ length: 50_000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) if (!(ids[i - 1]! < ids[i]!)) throw new Error(`${ids[i - 1]} !< ${ids[i]}`);
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
  });

  it('stays strictly increasing whatever the clock does (steps back, stands still)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: -5000, max: 5000 }), fc.constant(0)), { minLength: 1, maxLength: 6000 }),
        (steps) => {
          let clock = 1_767_225_600_000; // 2026-01-01
          const next = createUuidV7Generator(() => clock);
          let previous = next();
          for (const step of steps) {
            clock += step;
            const id = next();
            expect(id).toMatch(UUID_V7);
            if (!(previous < id)) return false;
            // Never earlier than the clock, and never ahead by more than the overflowed counters.
            expect(millisOf(id)).toBeGreaterThanOrEqual(Math.min(clock, millisOf(previous)));
            previous = id;
          }
          return true;
        },
      ),
      { seed: 0x7e57, numRuns: 60 },
    );
  });

  it('past 4096 ids in one millisecond the counter overflows into the timestamp, still increasing', () => {
    const next = createUuidV7Generator(() => 1_767_225_600_000);
    const ids = Array.from({ length: 10_000 }, () => next());
    for (let i = 1; i < ids.length; i++) expect(ids[i - 1]! < ids[i]!).toBe(true);
    expect(millisOf(ids[0]!)).toBe(1_767_225_600_000);
    expect(millisOf(ids.at(-1)!)).toBeGreaterThan(1_767_225_600_000);
  });

  it('fills the random bits: the last 62 bits of 10 000 ids take about half ones', () => {
    const next = createUuidV7Generator(() => 0);
    let ones = 0;
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const tail = BigInt(`0x${next().replace(/-/g, '').slice(16)}`) & ((1n << 62n) - 1n);
      ones += tail
        .toString(2)
        .split('')
        .filter((b) => b === '1').length;
    }
    expect(ones / (n * 62)).toBeGreaterThan(0.49);
    expect(ones / (n * 62)).toBeLessThan(0.51);
  });
});
