/**
 * EventBridge Scheduler expressions for the local Scheduler: parsing with the service's rules
 * (`at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)`, 6-field `cron(...)`) and the next occurrence in a time zone.
 */
import { isoSeconds } from '../iso-time.js';

const MINUTE = 60_000;

/** Wall-clock time in some time zone. */
interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether `tz` is an IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function wallOf(ms: number, tz: string): Wall {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return { y: +parts.year!, mo: +parts.month!, d: +parts.day!, h: +parts.hour!, mi: +parts.minute!, s: +parts.second! };
}

const wallMs = (w: Wall): number => Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s);

/** The UTC instant of a wall-clock time in `tz` (in a DST gap: the instant just after it). */
export function zonedToUtc(w: Wall, tz: string): number {
  const guess = wallMs(w);
  const offset1 = wallMs(wallOf(guess, tz)) - guess;
  const t1 = guess - offset1;
  const offset2 = wallMs(wallOf(t1, tz)) - t1;
  return offset1 === offset2 ? t1 : guess - offset2;
}

// ---------------------------------------------------------------- cron

type DayTest = (y: number, mo: number, d: number) => boolean;

/** A parsed 6-field cron expression. */
export interface Cron {
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly months: ReadonlySet<number>;
  readonly years: ReadonlySet<number>;
  readonly day: DayTest;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const daysInMonth = (y: number, mo: number): number => new Date(Date.UTC(y, mo, 0)).getUTCDate();
/** 1 = Sunday … 7 = Saturday, as cron counts. */
const weekday = (y: number, mo: number, d: number): number => new Date(Date.UTC(y, mo - 1, d)).getUTCDay() + 1;

function parseSet(text: string, min: number, max: number, names: string[] = [], nameBase = 1): Set<number> {
  const value = (v: string): number => {
    const i = names.indexOf(v.toUpperCase());
    const n = i >= 0 ? i + nameBase : /^\d+$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= min && n <= max)) throw new Error(`"${v}" is out of range ${min}-${max}`);
    return n;
  };
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`bad step in "${part}"`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [min, max];
    else if (range!.includes('-')) {
      const [a, b] = range!.split('-');
      [lo, hi] = [value(a!), value(b!)];
      if (lo > hi) throw new Error(`range "${range}" goes backwards`);
    } else {
      lo = value(range!);
      hi = stepText === undefined ? lo : max;
    }
    for (let n = lo; n <= hi; n += step) out.add(n);
  }
  return out;
}

function nearestWeekday(y: number, mo: number, day: number): number {
  const last = daysInMonth(y, mo);
  const d = Math.min(day, last);
  const wd = weekday(y, mo, d);
  if (wd === 7) return d === 1 ? 3 : d - 1; // Saturday → Friday (or Monday the 3rd)
  if (wd === 1) return d === last ? d - 2 : d + 1; // Sunday → Monday (or Friday before)
  return d;
}

function parseDayOfMonth(text: string): DayTest {
  const tests: DayTest[] = text.split(',').map((part): DayTest => {
    if (part.toUpperCase() === 'L') return (y, mo, d) => d === daysInMonth(y, mo);
    if (part.toUpperCase() === 'LW') return (y, mo, d) => d === nearestWeekday(y, mo, daysInMonth(y, mo));
    const w = /^(\d{1,2})W$/i.exec(part);
    if (w) {
      const n = Number(w[1]);
      if (n < 1 || n > 31) throw new Error(`"${part}" is out of range 1-31`);
      return (y, mo, d) => d === nearestWeekday(y, mo, n);
    }
    const set = parseSet(part, 1, 31);
    return (_y, _mo, d) => set.has(d);
  });
  return (y, mo, d) => tests.some((t) => t(y, mo, d));
}

function parseDayOfWeek(text: string): DayTest {
  const tests: DayTest[] = text.split(',').map((part): DayTest => {
    const dayValue = (v: string): number => [...parseSet(v, 1, 7, DAYS)][0]!;
    const hash = /^(\w+)#([1-5])$/.exec(part);
    if (hash) {
      const wd = dayValue(hash[1]!);
      const nth = Number(hash[2]);
      return (y, mo, d) => weekday(y, mo, d) === wd && Math.ceil(d / 7) === nth;
    }
    if (part.toUpperCase() === 'L') return (y, mo, d) => weekday(y, mo, d) === 7;
    const last = /^(\w+)L$/i.exec(part);
    if (last) {
      const wd = dayValue(last[1]!);
      return (y, mo, d) => weekday(y, mo, d) === wd && d + 7 > daysInMonth(y, mo);
    }
    const set = parseSet(part, 1, 7, DAYS);
    return (y, mo, d) => set.has(weekday(y, mo, d));
  });
  return (y, mo, d) => tests.some((t) => t(y, mo, d));
}

/** Parses the body of a `cron(...)` expression. Throws an Error saying what is wrong. */
export function parseCron(body: string): Cron {
  const f = body.trim().split(/\s+/);
  if (f.length !== 6)
    throw new Error(`cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${f.length}`);
  const [min, hour, dom, mon, dow, year] = f as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?')) throw new Error('exactly one of day-of-month and day-of-week must be "?"');
  const field = <T>(name: string, fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw new Error(`cron ${name}: ${(error as Error).message}`);
    }
  };
  const day =
    dom === '?' ? field('day-of-week', () => parseDayOfWeek(dow)) : field('day-of-month', () => parseDayOfMonth(dom));
  return {
    minutes: [...field('minutes', () => parseSet(min, 0, 59))].sort((a, b) => a - b),
    hours: [...field('hours', () => parseSet(hour, 0, 23))].sort((a, b) => a - b),
    months: field('month', () => parseSet(mon, 1, 12, MONTHS)),
    years: field('year', () => parseSet(year, 1970, 2199)),
    day,
  };
}

/** The first cron occurrence strictly after `afterMs`, in `tz`; `undefined` when there is none (years exhausted). */
export function nextCron(cron: Cron, afterMs: number, tz: string): number | undefined {
  const start = wallOf(afterMs, tz);
  const maxYear = Math.max(...cron.years);
  let date = new Date(Date.UTC(start.y, start.mo - 1, start.d));
  for (let i = 0; i < 366 * 12; i++, date = new Date(date.getTime() + 86_400_000)) {
    const y = date.getUTCFullYear();
    const mo = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    if (y > maxYear) return undefined;
    if (!cron.years.has(y) || !cron.months.has(mo) || !cron.day(y, mo, d)) continue;
    for (const h of cron.hours)
      for (const mi of cron.minutes) {
        const t = zonedToUtc({ y, mo, d, h, mi, s: 0 }, tz);
        if (t > afterMs) return t;
      }
  }
  return undefined;
}

// ---------------------------------------------------------------- expressions

/** A parsed schedule expression. */
export type ScheduleExpression =
  | { readonly kind: 'at'; readonly wall: Wall }
  | { readonly kind: 'rate'; readonly everyMs: number }
  | { readonly kind: 'cron'; readonly cron: Cron };

const UNIT_MS = { minute: MINUTE, hour: 60 * MINUTE, day: 1440 * MINUTE } as const;

/** Parses `at(...)`, `rate(...)` or `cron(...)`. Throws an Error with the service-like reason. */
export function parseScheduleExpression(expression: string): ScheduleExpression {
  const at = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/.exec(expression);
  if (at) {
    const [y, mo, d, h, mi, s] = at.slice(1).map(Number) as [number, number, number, number, number, number];
    if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59)
      throw new Error(`invalid date in ${expression}`);
    return { kind: 'at', wall: { y, mo, d, h, mi, s } };
  }
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2]!;
    if (value < 1) throw new Error('the rate value must be a positive integer');
    if ((value === 1) !== !unit.endsWith('s'))
      throw new Error(`use "${value} ${value === 1 ? unit.replace(/s$/, '') : `${unit.replace(/s$/, '')}s`}"`);
    return { kind: 'rate', everyMs: value * UNIT_MS[unit.replace(/s$/, '') as keyof typeof UNIT_MS] };
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron) return { kind: 'cron', cron: parseCron(cron[1]!) };
  throw new Error('expected at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)');
}

/** When a schedule fires next, given where it stands. */
export interface OccurrenceContext {
  readonly timezone: string;
  /** Creation (or last update) time: recurring schedules start here unless `startMs` is given. */
  readonly sinceMs: number;
  readonly startMs?: number;
  readonly endMs?: number;
  /** The scheduled time of the last occurrence fired since `sinceMs`, if any. */
  readonly lastMs?: number;
}

/** The scheduled time of the next occurrence, or `undefined` when the schedule has no more. */
export function nextOccurrence(expression: ScheduleExpression, ctx: OccurrenceContext): number | undefined {
  let next: number | undefined;
  if (expression.kind === 'at') next = ctx.lastMs === undefined ? zonedToUtc(expression.wall, ctx.timezone) : undefined;
  else if (expression.kind === 'rate') {
    const first = ctx.startMs ?? ctx.sinceMs;
    next = ctx.lastMs === undefined ? first : ctx.lastMs + expression.everyMs;
  } else {
    const floor = Math.max(ctx.sinceMs - 1, (ctx.startMs ?? Number.NEGATIVE_INFINITY) - 1);
    next = nextCron(expression.cron, ctx.lastMs ?? floor, ctx.timezone);
  }
  if (next !== undefined && ctx.endMs !== undefined && next > ctx.endMs) return undefined;
  return next;
}

/** `2026-11-22T10:15:00Z`: how `<aws.scheduler.scheduled-time>` is rendered. */
export function schedulerTime(ms: number): string {
  return isoSeconds(ms, 'floor');
}
