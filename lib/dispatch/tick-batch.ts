/**
 * The "collect in one tick, then send" step shared by the dispatcher's batched calls (BatchGetItem of job
 * records, PutEvents, SendMessageBatch): what concurrent record handlers ask for before the event loop turns
 * is handed to `flush` at once, so that one call carries many of them.
 */

/** A queue flushed on the next turn of the event loop (or at once when it holds `flushAt` items). */
export interface TickBatch<T> {
  /** Queues `item`; `flush` gets it with the others queued in the same tick. */
  add(item: T): void;
}

/**
 * A {@link TickBatch} handing its items to `flush` in the order they were added, on `setImmediate` (after
 * the promise jobs of the current tick, so every record handler started in parallel has asked by then), or
 * synchronously once `flushAt` items wait. `flush` must not throw: it settles each item's own promise.
 */
export function createTickBatch<T>(flush: (items: T[]) => void, flushAt = Number.POSITIVE_INFINITY): TickBatch<T> {
  let queue: T[] = [];
  let scheduled = false;
  const run = (): void => {
    scheduled = false;
    const items = queue;
    queue = [];
    if (items.length > 0) flush(items);
  };
  return {
    add(item) {
      queue.push(item);
      if (queue.length >= flushAt) run();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(run);
      }
    },
  };
}
