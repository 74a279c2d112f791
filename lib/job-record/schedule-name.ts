import { createHash } from 'node:crypto';

/** A valid EventBridge Scheduler name (schedules and schedule groups): 1–64 characters of `[0-9a-zA-Z-_.]`. */
export const SCHEDULER_NAME_PATTERN = /^[0-9a-zA-Z\-_.]{1,64}$/;
/** The form every hashed name has, and no verbatim name may have: `-` and 23 lowercase hex characters at the end. */
const HASHED_FORM = /-[0-9a-f]{23}$/;

/**
 * The EventBridge Scheduler schedule name of a job, derived from its key, one to one:
 * - the key itself when it is a valid schedule name (1–64 characters of `[0-9a-zA-Z-_.]`) that does not
 *   end like a hashed name (`-` and 23 lowercase hex characters);
 * - otherwise the key's valid characters (at most 40; `job` when none) followed by `-` and 23 hex
 *   characters of the key's SHA-256 (92 bits).
 *
 * Verbatim names never have the hashed form and hashed names always do, so a key can never take
 * another key's hashed name (a valid key that looks hashed is hashed itself); two hashed names are equal
 * only if two keys share a 92-bit SHA-256 prefix. The same key always maps to the same name.
 *
 * @example
 * scheduleNameFor('expire-order-42')            // 'expire-order-42'
 * scheduleNameFor('expire order/42')            // 'expireorder42-3f1c…' (deterministic)
 */
export function scheduleNameFor(jobKey: string): string {
  if (SCHEDULER_NAME_PATTERN.test(jobKey) && !HASHED_FORM.test(jobKey)) return jobKey;
  const readable = jobKey.replace(/[^0-9a-zA-Z\-_.]/g, '').slice(0, 40);
  const hash = createHash('sha256').update(jobKey, 'utf8').digest('hex').slice(0, 23);
  return `${readable || 'job'}-${hash}`;
}
