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

/**
 * ISO 8601 UTC text with whole seconds (`2026-11-22T10:15:00Z`): the form Scheduler `at(...)` expressions and
 * `<aws.scheduler.scheduled-time>` use. `'floor'` drops the milliseconds (an occurrence as the Scheduler
 * renders it); `'ceil'` rounds up to the next whole second (a due time never earlier than asked).
 */
export function isoSeconds(ms: number, rounding: 'floor' | 'ceil'): string {
  const seconds = rounding === 'ceil' ? Math.ceil(ms / 1000) : Math.floor(ms / 1000);
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
