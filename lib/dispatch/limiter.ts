/** Runs async functions with at most `concurrency` of them in flight. */
export interface Limiter {
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Calls in flight now. */
  readonly active: number;
  /** Most calls that were ever in flight at once. */
  readonly peak: number;
}

/**
 * A FIFO semaphore: `run(fn)` starts `fn` as soon as fewer than `concurrency` calls are in flight.
 *
 * @example
 * const limit = createLimiter(10);
 * await Promise.all(items.map((item) => limit.run(() => send(item))));
 */
export function createLimiter(concurrency: number): Limiter {
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new RangeError(`concurrency must be an integer ≥ 1, got ${concurrency}`);
  const waiting: (() => void)[] = [];
  let active = 0;
  let peak = 0;
  // A finishing call hands its slot straight to the next waiter, so no newcomer can overtake it.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return {
    get active() {
      return active;
    },
    get peak() {
      return peak;
    },
    async run<T>(fn: () => Promise<T>): Promise<T> {
      if (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
      else active++;
      peak = Math.max(peak, active);
      try {
        return await fn();
      } finally {
        release();
      }
    },
  };
}
