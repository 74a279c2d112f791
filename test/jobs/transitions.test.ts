import { describe, it, expect } from '@jest/globals';
import { defineJobs, retryDelaySeconds, scheduleJob, type JobContext, type JobPayloads } from '../../lib/jobs/index.js';
import { JOB_RUNNER_DEFAULTS } from '../../lib/jobs/options.js';
import type { JobRecord } from '../../lib/job-record/record.js';
import {
  claimParams,
  errorSummary,
  failureOutcome,
  heldLease,
  isRecurring,
  lostTransition,
  normalizeOccurrence,
  releaseParams,
  skipReason,
} from '../../lib/job-record/transitions.js';
import type { UnitOfWork } from '../../lib/unit-of-work/unit-of-work.js';

const record = (over: Partial<JobRecord>): JobRecord =>
  ({
    jobId: 'j1',
    jobKey: 'k',
    jobName: 'n',
    version: 1,
    jobStatus: 'SCHEDULED',
    attempts: 1,
    maxAttempts: 3,
    schedule: { at: '2026-11-22T10:00:00Z' },
    ...over,
  }) as JobRecord;

describe('job state machine (pure)', () => {
  it('backs off exponentially up to the cap', () => {
    const b = { ...JOB_RUNNER_DEFAULTS.backoff };
    expect([1, 2, 3, 4, 7, 8, 20].map((n) => retryDelaySeconds(n, b))).toEqual([60, 120, 240, 480, 3600, 3600, 3600]);
    expect(retryDelaySeconds(3, { baseSeconds: 10, factor: 3, maxSeconds: 1000 })).toBe(90);
  });

  it('a failed one-time attempt is retried under a larger version until attempts run out; a recurring one is never retried', () => {
    const now = Date.parse('2026-11-22T10:00:00.250Z');
    expect(failureOutcome(record({ attempts: 1, version: 1 }), now, 60)).toEqual({
      status: 'FAILED',
      retryAt: '2026-11-22T10:01:01Z',
      newVersion: 2,
    });
    expect(failureOutcome(record({ attempts: 2, version: 7 }), now, 60)).toMatchObject({ newVersion: 8 }); // claimed + 1, whatever the clock
    expect(failureOutcome(record({ attempts: 3 }), now, 60)).toEqual({ status: 'DEAD' });
    expect(failureOutcome(record({ attempts: 9, schedule: { rate: '5 minutes' } }), now, 60)).toEqual({
      status: 'SCHEDULED',
    });
    expect(isRecurring({ cron: '0 8 * * ? *' })).toBe(true);
    expect(isRecurring({ at: '2026-11-22T10:00:00Z' })).toBe(false);
  });

  it('normalizes occurrences so that they compare as strings', () => {
    expect(normalizeOccurrence('2026-11-22T10:01:00.000Z')).toBe('2026-11-22T10:01:00Z');
    expect(normalizeOccurrence('2026-11-22T11:01:00+01:00')).toBe('2026-11-22T10:01:00Z');
    expect(normalizeOccurrence('<aws.scheduler.scheduled-time>')).toBeUndefined();
    expect(normalizeOccurrence(undefined)).toBeUndefined();
  });

  it('says why a delivery is skipped', () => {
    const d = { jobId: 'j1', version: 1, occurrence: '2026-11-22T10:00:00Z' };
    const now = 1_000_000;
    expect(skipReason(undefined, d, now)).toMatch(/no job record/);
    expect(skipReason(record({ jobId: 'other' }), d, now)).toMatch(/belongs to another job/);
    expect(skipReason(record({ jobStatus: 'CANCELLED' }), d, now)).toBe('the job was CANCELLED');
    expect(skipReason(record({ version: 7 }), d, now)).toBe('stale delivery: schedule version 1, job record version 7');
    expect(skipReason(record({ jobStatus: 'RUNNING', leaseUntil: now + 1 }), d, now)).toMatch(
      /RUNNING under another runner's lease until/,
    );
    expect(skipReason(record({ schedule: { rate: '1 minute' }, lastOccurrence: d.occurrence }), d, now)).toMatch(
      /already ran/,
    );
  });

  it('a live lease on the delivered run is "held" (the delivery throws, to be retried); anything else is a skip', () => {
    const d = { jobId: 'j1', version: 1, occurrence: '2026-11-22T10:00:00Z' };
    const now = 1_000_000;
    expect(heldLease(record({ jobStatus: 'RUNNING', leaseUntil: now + 1 }), d, now)).toBe(now + 1);
    expect(heldLease(record({ jobStatus: 'RUNNING', leaseUntil: now }), d, now)).toBe(now);
    expect(heldLease(record({ jobStatus: 'RUNNING', leaseUntil: now - 1 }), d, now)).toBeUndefined(); // expired: the claim takes it
    expect(heldLease(record({ jobStatus: 'SUCCEEDED', leaseUntil: now + 1 }), d, now)).toBeUndefined();
    expect(heldLease(record({ jobStatus: 'RUNNING', leaseUntil: now + 1, version: 2 }), d, now)).toBeUndefined(); // stale delivery
    expect(heldLease(record({ jobStatus: 'RUNNING', leaseUntil: now + 1, jobId: 'j2' }), d, now)).toBeUndefined();
    expect(heldLease(undefined, d, now)).toBeUndefined();
    const rate = { rate: '1 minute' };
    expect(
      heldLease(
        record({ schedule: rate, jobStatus: 'RUNNING', leaseUntil: now + 1, lastOccurrence: d.occurrence }),
        d,
        now,
      ),
    ).toBe(now + 1);
    const earlier = record({
      schedule: rate,
      jobStatus: 'RUNNING',
      leaseUntil: now + 1,
      lastOccurrence: '2026-11-22T09:59:00Z',
    });
    expect(heldLease(earlier, d, now)).toBeUndefined(); // a recurring job runs one occurrence at a time: an overlapping one is skipped
    expect(skipReason(earlier, d, now)).toMatch(
      /^occurrence 2026-11-22T10:00:00Z overlaps occurrence 2026-11-22T09:59:00Z, still RUNNING under another runner's lease until/,
    );
    const later = record({
      schedule: rate,
      jobStatus: 'RUNNING',
      leaseUntil: now + 1,
      lastOccurrence: '2026-11-22T10:01:00Z',
    });
    expect(heldLease(later, d, now)).toBeUndefined();
    expect(skipReason(later, d, now)).toBe(
      'occurrence 2026-11-22T10:00:00Z already ran (last occurrence 2026-11-22T10:01:00Z)',
    );
  });

  it('a permanent failure is DEAD at once; an unrecordable one releases the lease under the claim; an error summary never throws', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(failureOutcome(record({ attempts: 1, maxAttempts: 3 }), now, 60, true)).toEqual({ status: 'DEAD' });
    expect(failureOutcome(record({ attempts: 1, schedule: { cron: '0 8 * * ? *' } }), now, 60, true)).toEqual({
      status: 'SCHEDULED',
    });
    const p = releaseParams(
      { table: 't', key: 'k', version: 4, leaseToken: 'tok' },
      { name: 'Error', message: 'boom' },
      now,
    );
    expect(p.ConditionExpression).toBe('#status = :running AND #version = :claimedVersion AND leaseToken = :token');
    expect(p.UpdateExpression).toContain('leaseUntil = :released');
    expect(p.UpdateExpression).not.toContain('#status =');
    expect(p.ExpressionAttributeValues).toMatchObject({
      ':released': now - 1,
      ':claimedVersion': 4,
      ':token': 'tok',
      ':error': { name: 'Error', message: 'boom' },
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(errorSummary(circular)).toEqual({ name: 'Error', message: '[object Object]' });
    expect(errorSummary(10n)).toEqual({ name: 'Error', message: '[object BigInt]' });
    expect(errorSummary(new TypeError('x'.repeat(2000))).message).toHaveLength(1000);
  });

  it('tells a lost transition apart from its own commit that went through', () => {
    expect(
      lostTransition(record({ jobStatus: 'SUCCEEDED', leaseToken: 't', lastOutcome: 'SUCCEEDED' }), 't'),
    ).toMatchObject({ outcome: 'already-committed', recorded: 'succeeded' });
    expect(
      lostTransition(
        record({ jobStatus: 'SCHEDULED', leaseToken: 't', lastOutcome: 'SUCCEEDED', schedule: { rate: '5 minutes' } }),
        't',
      ),
    ).toMatchObject({ recorded: 'succeeded' });
    expect(lostTransition(record({ jobStatus: 'FAILED', leaseToken: 't', lastOutcome: 'FAILED' }), 't')).toMatchObject({
      recorded: 'failed',
    });
    expect(lostTransition(record({ jobStatus: 'DEAD', leaseToken: 't', lastOutcome: 'FAILED' }), 't')).toMatchObject({
      recorded: 'dead',
    });
    expect(
      lostTransition(record({ jobStatus: 'CANCELLED', leaseToken: 't', lastOutcome: 'FAILED' }), 't').outcome,
    ).toBe('cancelled');
    expect(lostTransition(record({ jobStatus: 'RUNNING', leaseToken: 'other' }), 't')).toMatchObject({
      outcome: 'lost',
      reason: expect.stringContaining('another lease'),
    });
    expect(lostTransition(undefined, 't').outcome).toBe('lost');
  });

  it('claims only the delivered job and version, and lets a recurring occurrence run once', () => {
    const p = claimParams({
      table: 't',
      key: 'k',
      jobId: 'j',
      version: 3,
      occurrence: '2026-11-22T10:00:00Z',
      nowMs: 5,
      leaseUntil: 10,
      leaseToken: 'tok',
    });
    expect(p.Key).toEqual({ pk: 'job#k', sk: 'job' });
    expect(p.ConditionExpression).toContain('jobId = :jobId AND #version = :version');
    expect(p.ConditionExpression).toContain('lastOccurrence < :occurrence');
    expect(p.ExpressionAttributeValues).toMatchObject({
      ':version': 3,
      ':leaseUntil': 10,
      ':token': 'tok',
      ':nowMs': 5,
    });
  });

  it('records errors by name and message', () => {
    expect(errorSummary(new TypeError('x'))).toEqual({ name: 'TypeError', message: 'x' });
    expect(errorSummary('plain')).toEqual({ name: 'Error', message: 'plain' });
    expect(errorSummary({ code: 1 })).toEqual({ name: 'Error', message: '{"code":1}' });
    expect(errorSummary(new Error('y'.repeat(2000))).message).toHaveLength(1000);
  });
});

describe('typed job definitions', () => {
  const jobs = defineJobs({
    'expire-unpaid-order': async (_payload: { orderId: string }, _ctx: JobContext) => undefined,
    'send-reminder': (_payload: { email: string; times: number }) => undefined,
  });

  it("carry each job's payload type from the definition to scheduleJob (checked by tsc; wrong names and payloads do not compile)", () => {
    const calls: unknown[] = [];
    const uow = {
      schedule: (input: unknown) => (calls.push(input), { jobId: 'j', key: 'k', scheduleName: 'k' }),
    } as unknown as UnitOfWork;
    scheduleJob<typeof jobs>(uow, { job: 'expire-unpaid-order', payload: { orderId: 'o1' }, delay: 60 });
    scheduleJob<typeof jobs>(uow, { job: 'send-reminder', payload: { email: 'a@b.c', times: 2 }, rate: '1 day' });
    // @ts-expect-error a misspelt job name
    scheduleJob<typeof jobs>(uow, { job: 'expire-unpaid-ordr', payload: { orderId: 'o1' }, delay: 60 });
    // @ts-expect-error the payload of another job
    scheduleJob<typeof jobs>(uow, { job: 'expire-unpaid-order', payload: { email: 'a@b.c', times: 2 }, delay: 60 });
    // @ts-expect-error a payload field of the wrong type
    scheduleJob<typeof jobs>(uow, { job: 'send-reminder', payload: { email: 'a@b.c', times: 'twice' }, delay: 60 });
    const payloads: JobPayloads<typeof jobs> = {
      'expire-unpaid-order': { orderId: 'x' },
      'send-reminder': { email: 'e', times: 1 },
    };
    expect(payloads['send-reminder'].times).toBe(1);
    expect(calls).toHaveLength(5);
    expect(calls[0]).toEqual({ job: 'expire-unpaid-order', payload: { orderId: 'o1' }, delay: 60 });
  });
});
