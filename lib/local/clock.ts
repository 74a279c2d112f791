/** The clock of the local Scheduler: manual (tests move it) or real (wall clock, for `npm start`). */
export interface LocalClock {
  readonly mode: 'manual' | 'real';
  /** Epoch milliseconds. */
  now(): number;
  /** Moves a manual clock forward; throws on a real clock. */
  advance(ms: number): void;
  /** Sets a manual clock; throws on a real clock or when going backwards. */
  set(time: Date | number): void;
}

/** A clock tests move by hand, starting at `start` (default: now). */
export function manualClock(start: Date | number = Date.now()): LocalClock {
  let now = typeof start === 'number' ? start : start.getTime();
  return {
    mode: 'manual',
    now: () => now,
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance(${ms}): the clock only moves forward`);
      now += ms;
    },
    set(time) {
      const t = typeof time === 'number' ? time : time.getTime();
      if (t < now)
        throw new RangeError(
          `set(${new Date(t).toISOString()}): the clock is already at ${new Date(now).toISOString()}`,
        );
      now = t;
    },
  };
}

/** The wall clock. */
export function realClock(): LocalClock {
  const refuse = (): never => {
    throw new Error('the local Scheduler runs on the real clock: advance()/set() need clock: "manual"');
  };
  return { mode: 'real', now: () => Date.now(), advance: refuse, set: refuse };
}

/**
 * The wall clock plus an offset that only grows: it runs in real time (the Scheduler checks it every tick),
 * and `advance()`/`set()` jump it ahead, e.g. to run a job now instead of at its time (`npm start`'s console).
 */
export function shiftableClock(): LocalClock {
  let offset = 0;
  const now = (): number => Date.now() + offset;
  return {
    mode: 'real',
    now,
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance(${ms}): the clock only moves forward`);
      offset += ms;
    },
    set(time) {
      const t = typeof time === 'number' ? time : time.getTime();
      if (t < now())
        throw new RangeError(
          `set(${new Date(t).toISOString()}): the clock is already at ${new Date(now()).toISOString()}`,
        );
      offset = t - Date.now();
    },
  };
}
