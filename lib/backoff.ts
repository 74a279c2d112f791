/**
 * The one exponential backoff of the library (dependency-free, pure): commit conflict retries, the
 * dispatcher's Scheduler/EventBridge retries and job retries all compute their delays here.
 */

/** How a delay is drawn below its cap. */
export type BackoffJitter =
  /** Exactly the cap. */
  | 'none'
  /** Uniform in [0, cap) ("full jitter"). */
  | 'full'
  /** Uniform in [cap/2, cap) ("equal jitter"): never less than half the cap. */
  | 'equal';

/** An exponential backoff: the cap of step `n` (0-based) is `min(max, base × factor^n)`. */
export interface ExponentialBackoff {
  /** Cap of step 0, in the caller's unit (milliseconds or seconds). */
  readonly base: number;
  /** Growth per step, at least 1. */
  readonly factor: number;
  /** Largest cap, in the caller's unit. */
  readonly max: number;
  readonly jitter: BackoffJitter;
}

/**
 * The delay of step `step` (0 for the first retry), unrounded: `min(max, base × factor^step)` drawn as
 * `jitter` says with `random` (a number in [0, 1); injected in tests).
 */
export function exponentialBackoffDelay(
  step: number,
  backoff: ExponentialBackoff,
  random: () => number = Math.random,
): number {
  const cap = Math.min(backoff.max, backoff.base * backoff.factor ** Math.max(0, step));
  if (backoff.jitter === 'none') return cap;
  if (backoff.jitter === 'full') return random() * cap;
  return cap / 2 + (random() * cap) / 2;
}
