/** Schedule expressions (parsing like the service, next occurrences in a time zone) and event patterns. */
import { describe, expect, it } from '@jest/globals';
import { matchesAnyPattern, matchesPattern } from '../../lib/local/event-pattern.js';
import {
  nextCron,
  nextOccurrence,
  parseCron,
  parseScheduleExpression,
  schedulerTime,
  zonedToUtc,
} from '../../lib/local/schedule-expression.js';
import { OUTBOX_STREAM_FILTER_PATTERN } from '../../lib/outbox/schema.js';

const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('schedule expressions', () => {
  it('accepts the three forms and rejects what the service rejects', () => {
    expect(parseScheduleExpression('at(2026-11-22T10:15:00)')).toMatchObject({ kind: 'at' });
    expect(parseScheduleExpression('rate(1 hour)')).toEqual({ kind: 'rate', everyMs: 3_600_000 });
    expect(parseScheduleExpression('rate(5 minutes)')).toEqual({ kind: 'rate', everyMs: 300_000 });
    expect(parseScheduleExpression('cron(0/15 8-17 ? * MON-FRI *)')).toMatchObject({ kind: 'cron' });
    for (const bad of [
      'at(2026-11-22 10:15:00)',
      'at(2026-02-30T10:15:00)',
      'at(2026-11-22T10:15:00Z)',
      'rate(1 minutes)',
      'rate(5 minute)',
      'rate(0 minutes)',
      'rate(5 seconds)',
      'cron(0 8 * * *)',
      'cron(0 8 * * * *)',
      'cron(0 8 ? * ? *)',
      'cron(60 8 * * ? *)',
      'cron(0 24 * * ? *)',
      'cron(0 8 * 13 ? *)',
      'cron(0 8 ? * FOO *)',
      'every day',
    ])
      expect(() => parseScheduleExpression(bad)).toThrow();
  });

  it('at() is a wall time in the schedule time zone', () => {
    const at = parseScheduleExpression('at(2026-07-01T09:00:00)');
    expect(iso(nextOccurrence(at, { timezone: 'UTC', sinceMs: 0 }))).toBe('2026-07-01T09:00:00.000Z');
    expect(iso(nextOccurrence(at, { timezone: 'Europe/Paris', sinceMs: 0 }))).toBe('2026-07-01T07:00:00.000Z');
    expect(nextOccurrence(at, { timezone: 'UTC', sinceMs: 0, lastMs: t('2026-07-01T09:00:00Z') })).toBeUndefined();
  });

  it('rate() starts at creation (or StartDate) and repeats; EndDate stops it', () => {
    const rate = parseScheduleExpression('rate(5 minutes)');
    const since = t('2026-01-01T00:00:00Z');
    expect(iso(nextOccurrence(rate, { timezone: 'UTC', sinceMs: since }))).toBe('2026-01-01T00:00:00.000Z');
    expect(iso(nextOccurrence(rate, { timezone: 'UTC', sinceMs: since, lastMs: since }))).toBe(
      '2026-01-01T00:05:00.000Z',
    );
    expect(iso(nextOccurrence(rate, { timezone: 'UTC', sinceMs: since, startMs: t('2026-02-01T00:00:00Z') }))).toBe(
      '2026-02-01T00:00:00.000Z',
    );
    expect(
      nextOccurrence(rate, { timezone: 'UTC', sinceMs: since, lastMs: since, endMs: since + 60_000 }),
    ).toBeUndefined();
  });

  it('cron() in a time zone, across daylight saving time', () => {
    const eight = parseCron('0 8 * * ? *');
    expect(iso(nextCron(eight, t('2026-01-10T12:00:00Z'), 'Europe/Paris'))).toBe('2026-01-11T07:00:00.000Z');
    expect(iso(nextCron(eight, t('2026-07-10T12:00:00Z'), 'Europe/Paris'))).toBe('2026-07-11T06:00:00.000Z');
    expect(iso(nextCron(eight, t('2026-03-28T12:00:00Z'), 'Europe/Paris'))).toBe('2026-03-29T06:00:00.000Z'); // DST starts that night
    expect(iso(nextCron(parseCron('30 2 * * ? *'), t('2026-03-29T00:00:00Z'), 'America/New_York'))).toBe(
      '2026-03-29T06:30:00.000Z',
    );
  });

  it('cron() supports lists, ranges, steps, names, L, W and #', () => {
    const from = t('2026-11-22T10:07:00Z'); // a Sunday
    expect(iso(nextCron(parseCron('0/15 * * * ? *'), from, 'UTC'))).toBe('2026-11-22T10:15:00.000Z');
    expect(iso(nextCron(parseCron('0 9 ? * MON-FRI *'), from, 'UTC'))).toBe('2026-11-23T09:00:00.000Z');
    expect(iso(nextCron(parseCron('0 9 L * ? *'), from, 'UTC'))).toBe('2026-11-30T09:00:00.000Z');
    expect(iso(nextCron(parseCron('0 9 ? * 6#4 *'), from, 'UTC'))).toBe('2026-11-27T09:00:00.000Z'); // 4th Friday
    expect(iso(nextCron(parseCron('0 9 ? * 2L *'), from, 'UTC'))).toBe('2026-11-30T09:00:00.000Z'); // last Monday
    expect(iso(nextCron(parseCron('0 9 1W * ? *'), from, 'UTC'))).toBe('2026-12-01T09:00:00.000Z'); // Tue 1 Dec
    expect(iso(nextCron(parseCron('0 9 ? JAN,JUL 2 2027'), from, 'UTC'))).toBe('2027-01-04T09:00:00.000Z');
    expect(nextCron(parseCron('0 9 1 1 ? 2025'), from, 'UTC')).toBeUndefined();
  });

  it('renders scheduled times like the service and converts wall times', () => {
    expect(schedulerTime(t('2026-11-22T10:15:00.900Z'))).toBe('2026-11-22T10:15:00Z');
    expect(iso(zonedToUtc({ y: 2026, mo: 11, d: 22, h: 10, mi: 0, s: 0 }, 'Asia/Tokyo'))).toBe(
      '2026-11-22T01:00:00.000Z',
    );
  });
});

describe('event patterns (Lambda filter criteria, EventBridge rules)', () => {
  const insert = { eventName: 'INSERT', dynamodb: { NewImage: { _kind: { S: 'outbox' }, n: { N: '5' } } } };

  it('the outbox stream filter passes only INSERTs of outbox items', () => {
    expect(matchesPattern(OUTBOX_STREAM_FILTER_PATTERN, insert)).toBe(true);
    expect(matchesPattern(OUTBOX_STREAM_FILTER_PATTERN, { ...insert, eventName: 'MODIFY' })).toBe(false);
    expect(
      matchesPattern(OUTBOX_STREAM_FILTER_PATTERN, {
        eventName: 'INSERT',
        dynamodb: { NewImage: { _kind: { S: 'job' } } },
      }),
    ).toBe(false);
    expect(matchesPattern(OUTBOX_STREAM_FILTER_PATTERN, { eventName: 'INSERT', dynamodb: {} })).toBe(false);
  });

  it('supports prefix, suffix, anything-but, exists, numeric and equals-ignore-case', () => {
    const e = {
      source: 'orders.api',
      'detail-type': 'OrderPlaced',
      detail: { total: 42, tags: ['a', 'b'], currency: 'eur' },
    };
    expect(matchesPattern({ source: [{ prefix: 'orders.' }] }, e)).toBe(true);
    expect(matchesPattern({ source: [{ suffix: '.api' }] }, e)).toBe(true);
    expect(matchesPattern({ 'detail-type': [{ 'anything-but': ['OrderCancelled'] }] }, e)).toBe(true);
    expect(matchesPattern({ detail: { coupon: [{ exists: false }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { coupon: [{ exists: true }] } }, e)).toBe(false);
    expect(matchesPattern({ detail: { total: [{ numeric: ['>', 40, '<=', 42] }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { total: [{ numeric: ['>', 42] }] } }, e)).toBe(false);
    expect(matchesPattern({ detail: { tags: ['b'] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { currency: [{ 'equals-ignore-case': 'EUR' }] } }, e)).toBe(true);
    expect(matchesAnyPattern([], e)).toBe(true);
    expect(matchesAnyPattern([{ source: ['x'] }, { source: ['orders.api'] }], e)).toBe(true);
  });
});
