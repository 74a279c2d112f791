import { createHash } from 'node:crypto';

const VALID_NAME = /^[0-9a-zA-Z\-_.]{1,64}$/;

/**
 * The EventBridge Scheduler schedule name of a job, derived from its key: the key itself when it is a
 * valid schedule name (1–64 characters of `[0-9a-zA-Z-_.]`); otherwise the key's valid characters
 * (at most 40) followed by `-` and 23 hex characters of its SHA-256, so different keys never share a
 * name in practice and the same key always maps to the same name.
 *
 * @example
 * scheduleNameFor('expire-order-42')            // 'expire-order-42'
 * scheduleNameFor('expire order/42')            // 'expireorder42-3f1c…' (deterministic)
 */
export function scheduleNameFor(jobKey: string): string {
  if (VALID_NAME.test(jobKey)) return jobKey;
  const readable = jobKey.replace(/[^0-9a-zA-Z\-_.]/g, '').slice(0, 40);
  const hash = createHash('sha256').update(jobKey, 'utf8').digest('hex').slice(0, 23);
  return readable ? `${readable}-${hash}` : `job-${hash}`;
}
