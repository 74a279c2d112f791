import { InvalidOperationError } from '../errors.js';
import type { JobScheduleSpec } from '../outbox/messages.js';
import type { ScheduleWhen } from './types.js';
import { isoSeconds } from '../iso-time.js';

const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAYS = 'SUN|MON|TUE|WED|THU|FRI|SAT';

/** Per field: allowed numeric range and the names it accepts. */
const CRON_FIELDS = [
  { name: 'minutes', min: 0, max: 59, names: '', special: '' },
  { name: 'hours', min: 0, max: 23, names: '', special: '' },
  { name: 'day-of-month', min: 1, max: 31, names: '', special: '?LW' },
  { name: 'month', min: 1, max: 12, names: MONTHS, special: '' },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS, special: '?L#' },
  { name: 'year', min: 1970, max: 2199, names: '', special: '' },
] as const;

function checkCronField(field: (typeof CRON_FIELDS)[number], text: string): string | undefined {
  if (text === '*') return undefined;
  if (text === '?')
    return field.special.includes('?') ? undefined : `"?" is only allowed in day-of-month or day-of-week`;
  const value = new RegExp(`^(\\d+|${field.names || '(?!)'})$`, 'i');
  const inRange = (v: string): boolean =>
    /^\d+$/.test(v) ? Number(v) >= field.min && Number(v) <= field.max : value.test(v);
  for (const part of text.split(',')) {
    if (field.name === 'day-of-month' && /^(L|LW|\d{1,2}W)$/i.test(part)) continue;
    if (field.name === 'day-of-week' && (/^\d#[1-5]$/.test(part) || /^(\d|[A-Z]{3})L$/i.test(part))) continue;
    const [range, step] = part.split('/');
    if (step !== undefined && !/^\d+$/.test(step)) return `bad step "${step}"`;
    if (range === '*' && step !== undefined) continue;
    const bounds = (range ?? '').split('-');
    if (bounds.length > 2 || !bounds.every((b) => value.test(b) && inRange(b)))
      return `"${part}" is not a value or range within ${field.min}-${field.max}${field.names ? ` or ${field.names}` : ''}`;
  }
  return undefined;
}

/** Checks a 6-field EventBridge Scheduler cron body; returns the body. Throws naming the bad field. */
export function validateCron(expression: string, operation: string): string {
  const body = expression
    .trim()
    .replace(/^cron\((.*)\)$/s, '$1')
    .trim();
  const fields = body.split(/\s+/);
  if (fields.length !== 6)
    throw new InvalidOperationError(
      operation,
      `cron "${expression}" must have 6 fields (minutes hours day-of-month month day-of-week year), it has ${fields.length}`,
    );
  fields.forEach((text, i) => {
    const problem = checkCronField(CRON_FIELDS[i]!, text);
    if (problem) throw new InvalidOperationError(operation, `cron "${expression}": ${CRON_FIELDS[i]!.name} ${problem}`);
  });
  if ((fields[2] === '?') === (fields[4] === '?'))
    throw new InvalidOperationError(
      operation,
      `cron "${expression}": exactly one of day-of-month and day-of-week must be "?"`,
    );
  return fields.join(' ');
}

/** Checks a rate body such as `5 minutes`; returns the body. */
export function validateRate(expression: string, operation: string): string {
  const body = expression
    .trim()
    .replace(/^rate\((.*)\)$/s, '$1')
    .trim();
  const match = /^(\d+) (minute|minutes|hour|hours|day|days)$/.exec(body);
  if (!match)
    throw new InvalidOperationError(operation, `rate "${expression}" must look like "5 minutes", "1 hour" or "2 days"`);
  const value = Number(match[1]);
  const unit = match[2]!;
  if (value < 1) throw new InvalidOperationError(operation, `rate "${expression}" must be at least 1`);
  if ((value === 1) !== !unit.endsWith('s'))
    throw new InvalidOperationError(
      operation,
      `rate "${expression}": use the singular unit for 1 and the plural otherwise ("1 minute", "5 minutes")`,
    );
  return body;
}

function validateTimezone(timezone: string, operation: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new InvalidOperationError(operation, `timezone "${timezone}" is not an IANA time zone`);
  }
}

/**
 * Latest one-time run the library accepts: the end of 2199, the last year EventBridge Scheduler's cron
 * expressions take (an `at(...)` is a four-digit-year timestamp; later instants could not be delivered).
 */
export const LATEST_SCHEDULE_TIME_MS = Date.UTC(2199, 11, 31, 23, 59, 59);

/** ISO UTC time with whole seconds: `2026-11-22T10:15:00Z`. */
export function toScheduleTime(ms: number): string {
  return isoSeconds(ms, 'ceil');
}

/**
 * Turns a {@link ScheduleWhen} into the stored {@link JobScheduleSpec}: exactly one of `at`, `delay`,
 * `cron`, `rate`; a `delay` becomes an `at`; `at` must not be in the past. Throws {@link InvalidOperationError}.
 */
export function normalizeSchedule(when: ScheduleWhen, now: number, operation: string): JobScheduleSpec {
  if (typeof when !== 'object' || when === null)
    throw new InvalidOperationError(operation, 'expects { at | delay | cron | rate }');
  const given = (['at', 'delay', 'cron', 'rate'] as const).filter((k) => when[k] !== undefined);
  if (given.length !== 1)
    throw new InvalidOperationError(
      operation,
      given.length === 0
        ? 'give exactly one of at, delay, cron, rate (none given)'
        : `give exactly one of at, delay, cron, rate (got ${given.join(', ')})`,
    );
  if (when.timezone !== undefined && typeof when.timezone !== 'string')
    throw new InvalidOperationError(operation, 'timezone must be a string');
  if (when.timezone !== undefined) validateTimezone(when.timezone, operation);
  if (when.at !== undefined) {
    const ms =
      when.at instanceof Date ? when.at.getTime() : typeof when.at === 'string' ? Date.parse(when.at) : Number.NaN;
    if (!Number.isFinite(ms))
      throw new InvalidOperationError(
        operation,
        `at ${when.at instanceof Date ? 'is an invalid Date' : `${typeof when.at === 'string' ? JSON.stringify(when.at) : typeof when.at} is not a valid date`}`,
      );
    if (ms < now)
      throw new InvalidOperationError(
        operation,
        `at ${new Date(ms).toISOString()} is in the past (now ${new Date(now).toISOString()})`,
      );
    if (ms > LATEST_SCHEDULE_TIME_MS)
      throw new InvalidOperationError(
        operation,
        `at ${new Date(ms).toISOString()} is after ${new Date(LATEST_SCHEDULE_TIME_MS).toISOString()}, the latest time EventBridge Scheduler can take`,
      );
    return { at: toScheduleTime(ms) };
  }
  if (when.delay !== undefined) {
    if (typeof when.delay !== 'number' || !Number.isFinite(when.delay) || when.delay < 0)
      throw new InvalidOperationError(operation, `delay ${String(when.delay)} must be a number of seconds, 0 or more`);
    if (now + when.delay * 1000 > LATEST_SCHEDULE_TIME_MS)
      throw new InvalidOperationError(
        operation,
        `delay ${when.delay} seconds runs after ${new Date(LATEST_SCHEDULE_TIME_MS).toISOString()}, the latest time EventBridge Scheduler can take`,
      );
    return { at: toScheduleTime(now + when.delay * 1000) };
  }
  if (when.cron !== undefined) {
    if (typeof when.cron !== 'string') throw new InvalidOperationError(operation, 'cron must be a string');
    return { cron: validateCron(when.cron, operation), timezone: when.timezone ?? 'UTC' };
  }
  if (typeof when.rate !== 'string') throw new InvalidOperationError(operation, 'rate must be a string');
  return { rate: validateRate(when.rate, operation), ...(when.timezone ? { timezone: when.timezone } : {}) };
}
