/** The key → schedule name mapping is one to one, valid and deterministic (fast-check, seeded). */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { scheduleNameFor } from '../../lib/job-record/schedule-name.js';

const VALID = /^[0-9a-zA-Z\-_.]{1,64}$/;
const SEED = 17_2026;

/** Keys that stress the mapping: valid names, invalid ones, long ones, and other keys' hashed names. */
const keys = fc.oneof(
  fc.stringMatching(/^[0-9a-zA-Z\-_.]{1,64}$/),
  fc.string({ minLength: 1, maxLength: 80 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
  fc.string({ minLength: 1, maxLength: 30 }).map((k) => scheduleNameFor(`${k} `)), // a hashed name used as a key
  fc.stringMatching(/^[a-z]{1,8}-[0-9a-f]{23}$/), // looks hashed
);

describe('scheduleNameFor', () => {
  it('a valid key that equals another key’s hashed name gets a name of its own (the collision of issue 17)', () => {
    const other = 'expire order/42';
    const hashed = scheduleNameFor(other);
    expect(hashed).toMatch(/^expireorder42-[0-9a-f]{23}$/);
    expect(scheduleNameFor(hashed)).not.toBe(hashed);
    expect(scheduleNameFor('expire-order-42')).toBe('expire-order-42'); // ordinary valid keys stay readable
  });

  it('distinct keys get distinct, valid names; the same key always the same name', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keys, { minLength: 2, maxLength: 40 }), (batch) => {
        const names = batch.map(scheduleNameFor);
        for (const n of names) expect(n).toMatch(VALID);
        expect(new Set(names).size).toBe(batch.length);
        expect(batch.map(scheduleNameFor)).toEqual(names);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('a key and the hashed name of any other key never collide', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), (k) => {
        const hashedOfOther = scheduleNameFor(`${k}/`);
        fc.pre(hashedOfOther !== `${k}/`);
        expect(scheduleNameFor(hashedOfOther)).not.toBe(hashedOfOther);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });
});
