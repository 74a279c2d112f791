import { DispatchError } from '../errors.js';
import type { Caller } from './calls.js';
import { backoffDelay, mayRetry } from './retry.js';

/** What one batch call answered for one of its entries. */
export type EntryOutcome<R> =
  | { readonly ok: R }
  /** A failure no resend can fix (the sender's fault): the entry is rejected at once. */
  | { readonly rejected: string }
  /** A failure worth resending the entry for (the service's fault, or no result entry). */
  | { readonly retry: string };

/** One entry of a batch call and the promise of its caller. */
export interface BatchEntry<R> {
  /** Names the entry in errors, e.g. `PutEvents <event id>`. */
  readonly label: string;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/**
 * Sends `entries` with batch calls that answer per entry (`PutEvents`, `SendMessageBatch`): `call` makes one
 * call through the caller (throttling and server errors of the whole call are retried there) and maps its
 * answer to one {@link EntryOutcome} per entry, in order. Accepted entries resolve, rejected ones reject; the
 * entries to retry are sent again, only those, with full-jitter backoff while attempts and the invocation's
 * time are left, then reject. A call that failed for good rejects every entry it carried.
 */
export async function sendWithResends<R, E extends BatchEntry<R>>(
  entries: readonly E[],
  caller: Caller,
  call: (entries: readonly E[]) => Promise<readonly EntryOutcome<R>[]>,
  onResend: (count: number) => void,
): Promise<void> {
  let pending = entries;
  for (let attempt = 1; pending.length > 0; attempt++) {
    let outcomes: readonly EntryOutcome<R>[];
    try {
      const sent = pending;
      outcomes = await caller.call(() => call(sent));
    } catch (error) {
      caller.stats.callsFailed++; // the call failed for good (after the caller's retries)
      for (const e of pending)
        e.reject(new DispatchError(e.label, `the call failed: ${(error as Error).message}`, { cause: error }));
      return;
    }
    const resend: { entry: E; reason: string }[] = [];
    pending.forEach((e, i) => {
      const outcome = outcomes[i] ?? { retry: 'no result entry' };
      if ('ok' in outcome) e.resolve(outcome.ok);
      else if ('rejected' in outcome) {
        caller.stats.callsFailed++; // each entry that failed for good counts as one
        e.reject(new DispatchError(e.label, `rejected: ${outcome.rejected}`));
      } else resend.push({ entry: e, reason: outcome.retry });
    });
    if (resend.length === 0) return;
    const delay = backoffDelay(attempt, caller.policy, caller.clock.random);
    if (!mayRetry(attempt, delay, caller.policy, caller.clock.remainingMs())) {
      for (const { entry, reason } of resend) {
        caller.stats.callsFailed++;
        entry.reject(new DispatchError(entry.label, `still failing after ${attempt} attempts: ${reason}`));
      }
      return;
    }
    onResend(resend.length);
    await caller.clock.sleep(delay);
    pending = resend.map((r) => r.entry);
  }
}
