/**
 * ISO 8601 text of a time in milliseconds, formatted once per millisecond: a commit stamps its events, job
 * records and outbox item with the current time, mostly within the same millisecond, and `toISOString()` costs
 * about half a microsecond each time.
 */
let lastMs = Number.NaN;
let lastText = '';

/** `new Date(ms).toISOString()`, reusing the text of the last call when `ms` is the same. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastText;
}
