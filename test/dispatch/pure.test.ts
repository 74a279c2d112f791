/** The dispatcher's pure core: mapping, decisions, configuration, backoff and the limiter (no I/O). */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ConfigurationError } from '../../lib/errors.js';
import { createCaller, newStats } from '../../lib/dispatch/calls.js';
import { resolveDispatcherConfig, tableNameFromStreamArn } from '../../lib/dispatch/config.js';
import {
  desiredSchedule,
  isImagelessOutboxInsert,
  isOutboxInsert,
  sameSchedule,
  scheduleFingerprint,
} from '../../lib/dispatch/decide.js';
import { outboxDispatcher } from '../../lib/dispatch/dispatcher.js';
import { scheduleRequestOfRecord } from '../../lib/dispatch/jobs.js';
import { createLimiter } from '../../lib/dispatch/limiter.js';
import {
  chunkPutEvents,
  jobScheduleInputJson,
  jobScheduleRequest,
  scheduleExpressionOf,
  toPutEventsEntry,
} from '../../lib/dispatch/map.js';
import { backoffDelay, isRetryableError, mayRetry, retrying, type RetryClock } from '../../lib/dispatch/retry.js';
import { JOB_STATUS, type JobRecord, type JobStatus } from '../../lib/jobs/record.js';
import { putEventsEntrySize } from '../../lib/outbox/put-events-size.js';
import type { CloudEvent, JobEnvelope } from '../../lib/outbox/messages.js';

const config = resolveDispatcherConfig(
  {
    jobRunnerArn: 'arn:aws:lambda:eu-west-1:111122223333:function:runner',
    schedulerRoleArn: 'arn:aws:iam::111122223333:role/sched',
    deadLetterQueueArn: 'arn:aws:sqs:eu-west-1:111122223333:dlq',
  },
  {},
);
const job: JobEnvelope = {
  jobId: 'j-1',
  key: 'expire-1',
  name: 'expire',
  version: 1,
  payload: { orderId: '1' },
  scheduleName: 'expire-1',
};
const cloudEvent: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: 'orders',
  type: 'OrderPlaced',
  time: '2026-11-22T10:00:00.123Z',
  datacontenttype: 'application/json',
  data: { a: 'é' },
};

describe('mapping to PutEvents', () => {
  it('maps a CloudEvent to an entry: Source/DetailType from the event, Detail the envelope, Time the event time', () => {
    expect(toPutEventsEntry(cloudEvent, 'orders-bus')).toEqual({
      EventBusName: 'orders-bus',
      Source: 'orders',
      DetailType: 'OrderPlaced',
      Detail: JSON.stringify(cloudEvent),
      Time: new Date('2026-11-22T10:00:00.123Z'),
    });
  });

  it('counts entry size as EventBridge does (UTF-8 bytes + 14 for Time)', () => {
    const entry = toPutEventsEntry(cloudEvent, 'b');
    expect(putEventsEntrySize(entry)).toBe(14 + 6 + 11 + Buffer.byteLength(JSON.stringify(cloudEvent)));
  });

  it('chunks keep order and never exceed 10 entries or 256 KB (unless one entry alone does)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 120_000 }), { maxLength: 60 }), (sizes) => {
        const items = sizes.map((n, i) => ({ i, entry: { Source: 's', DetailType: 't', Detail: 'x'.repeat(n) } }));
        const chunks = chunkPutEvents(items, (x) => x.entry);
        expect(chunks.flat().map((x) => x.i)).toEqual(items.map((x) => x.i));
        for (const chunk of chunks) {
          expect(chunk.length).toBeLessThanOrEqual(10);
          const bytes = chunk.reduce((n, x) => n + putEventsEntrySize(x.entry), 0);
          if (chunk.length > 1) expect(bytes).toBeLessThanOrEqual(256 * 1024);
        }
      }),
    );
  });
});

describe('mapping to Scheduler', () => {
  it('one-time: at(...) in UTC that deletes itself; recurring cron with its zone, rate without', () => {
    expect(scheduleExpressionOf({ at: '2026-11-22T10:15:00Z' })).toEqual({
      ScheduleExpression: 'at(2026-11-22T10:15:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
    });
    expect(scheduleExpressionOf({ at: '2026-11-22T11:15:00.200+01:00' }).ScheduleExpression).toBe(
      'at(2026-11-22T10:15:01)',
    );
    expect(scheduleExpressionOf({ cron: '0 8 * * ? *', timezone: 'Europe/Paris' })).toEqual({
      ScheduleExpression: 'cron(0 8 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      ActionAfterCompletion: 'NONE',
    });
    expect(scheduleExpressionOf({ cron: '0 8 * * ? *' }).ScheduleExpressionTimezone).toBe('UTC');
    expect(scheduleExpressionOf({ rate: '5 minutes' })).toEqual({
      ScheduleExpression: 'rate(5 minutes)',
      ActionAfterCompletion: 'NONE',
    });
    expect(() => scheduleExpressionOf({})).toThrow(RangeError);
  });

  it('builds the whole CreateSchedule request', () => {
    expect(jobScheduleRequest(job, { at: '2026-11-22T10:15:00Z' }, config)).toEqual({
      Name: 'expire-1',
      GroupName: 'default',
      ScheduleExpression: 'at(2026-11-22T10:15:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Description: 'job expire key expire-1 v1',
      Target: {
        Arn: 'arn:aws:lambda:eu-west-1:111122223333:function:runner',
        RoleArn: 'arn:aws:iam::111122223333:role/sched',
        Input: JSON.stringify({
          ...job,
          scheduledTime: '<aws.scheduler.scheduled-time>',
          attemptNumber: '<aws.scheduler.attempt-number>',
          executionId: '<aws.scheduler.execution-id>',
        }),
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: 'arn:aws:sqs:eu-west-1:111122223333:dlq' },
      },
    });
  });

  it('leaves out a payload that would make Input exceed 8192 characters', () => {
    const json = jobScheduleInputJson({ ...job, payload: 'p'.repeat(9000) });
    expect(json.length).toBeLessThanOrEqual(8192);
    expect(JSON.parse(json)).toMatchObject({ jobId: 'j-1', payloadOmitted: true });
  });
});

describe('decisions on job records', () => {
  const rec = (status: JobStatus, version = 1, jobId = 'j-1') => ({ jobId, version, jobStatus: status }) as JobRecord;

  it('the schedule a record calls for: this job at this version while it waits for a delivery, none otherwise', () => {
    const r = (status: JobStatus, schedule: JobRecord['schedule'], version = 1, jobId = 'j-1') =>
      ({ ...rec(status, version, jobId), schedule }) as JobRecord;
    const at = { at: '2026-11-22T10:15:00Z' };
    const cron = { cron: '0 8 * * ? *' };
    for (const s of [JOB_STATUS.SCHEDULED, JOB_STATUS.FAILED])
      expect(desiredSchedule(r(s, at, 7))).toEqual({ present: true, jobId: 'j-1', version: 7 });
    expect(desiredSchedule(r(JOB_STATUS.RUNNING, cron, 7))).toEqual({ present: true, jobId: 'j-1', version: 7 }); // later occurrences
    expect(desiredSchedule(r(JOB_STATUS.RUNNING, at))).toMatchObject({ present: false }); // its one occurrence fired
    for (const s of [JOB_STATUS.CANCELLED, JOB_STATUS.SUCCEEDED, JOB_STATUS.DEAD])
      expect(desiredSchedule(r(s, cron))).toEqual({ present: false, why: `the job is ${s}` });
    expect(desiredSchedule(undefined)).toEqual({ present: false, why: 'no job record' });
  });

  it('two schedules are the same only when every field that decides what they do is equal', () => {
    const base = jobScheduleRequest(job, { at: '2026-11-22T10:15:00Z' }, config);
    const described: typeof base = { ...base, Description: 'another text' };
    expect(sameSchedule(base, described)).toBe(true); // cosmetic
    const reordered = {
      ...base,
      Target: {
        ...base.Target!,
        Input: JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(base.Target!.Input!)).reverse())),
      },
    };
    expect(sameSchedule(base, reordered)).toBe(true); // the same Input, re-serialized
    const variants = [
      jobScheduleRequest(job, { at: '2026-11-22T10:16:00Z' }, config),
      jobScheduleRequest(job, { cron: '0 8 * * ? *' }, config),
      jobScheduleRequest(job, { cron: '0 8 * * ? *', timezone: 'Europe/Paris' }, config),
      jobScheduleRequest({ ...job, version: 2 }, { at: '2026-11-22T10:15:00Z' }, config),
      jobScheduleRequest({ ...job, jobId: 'j-2' }, { at: '2026-11-22T10:15:00Z' }, config),
      jobScheduleRequest({ ...job, payload: { orderId: '2' } }, { at: '2026-11-22T10:15:00Z' }, config),
      jobScheduleRequest(job, { at: '2026-11-22T10:15:00Z' }, { ...config, jobRunnerArn: `${config.jobRunnerArn}-v2` }),
      { ...base, State: 'DISABLED' as const },
      undefined,
    ];
    for (const v of variants) expect(sameSchedule(base, v)).toBe(false);
    expect(new Set(variants.map(scheduleFingerprint)).size).toBe(variants.length);
  });

  it("the request a record calls for carries the record's job, version, payload and schedule, or none", () => {
    const record = {
      ...rec(JOB_STATUS.SCHEDULED, 9),
      jobKey: 'expire-1',
      jobName: 'expire',
      payload: '{"orderId":"1"}',
      schedule: { rate: '10 minutes' },
    } as JobRecord;
    expect(scheduleRequestOfRecord(record, 'expire-1', config)).toEqual(
      jobScheduleRequest({ ...job, version: 9 }, { rate: '10 minutes' }, config),
    );
    expect(scheduleRequestOfRecord({ ...record, jobStatus: JOB_STATUS.CANCELLED }, 'expire-1', config)).toBeUndefined();
    expect(scheduleRequestOfRecord(undefined, 'expire-1', config)).toBeUndefined();
    expect(() => scheduleRequestOfRecord({ ...record, payload: '{' }, 'expire-1', config)).toThrow(
      /schedule expire-1: the job record payload is not JSON/,
    );
  });

  it('an outbox INSERT without NewImage is told apart from records the dispatcher ignores', () => {
    const rec2 = (eventName: 'INSERT' | 'MODIFY', pk: string, image: boolean) =>
      ({
        eventName,
        dynamodb: {
          Keys: { pk: { S: pk }, sk: { S: 'part#000' } },
          ...(image ? { NewImage: { pk: { S: pk }, _kind: { S: 'outbox' } } } : {}),
        },
      }) as any;
    expect(isImagelessOutboxInsert(rec2('INSERT', 'outbox#c1', false))).toBe(true);
    expect(isImagelessOutboxInsert(rec2('INSERT', 'outbox#c1', true))).toBe(false);
    expect(isOutboxInsert(rec2('INSERT', 'outbox#c1', true))).toBe(true);
    expect(isImagelessOutboxInsert(rec2('MODIFY', 'outbox#c1', false))).toBe(false);
    expect(isImagelessOutboxInsert(rec2('INSERT', 'job#k', false))).toBe(false);
    expect(isImagelessOutboxInsert({ eventName: 'INSERT' } as any)).toBe(false);
  });
});

describe('configuration', () => {
  it('names every missing setting with its environment variable', () => {
    const error = (() => {
      try {
        resolveDispatcherConfig({}, {});
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('UOW_JOB_RUNNER_ARN');
    expect(error.message).toContain('UOW_SCHEDULER_ROLE_ARN');
    expect(error.missing).toHaveLength(2);
  });

  it('reads the environment, applies defaults, and checks values', () => {
    const c = resolveDispatcherConfig(
      {},
      {
        UOW_JOB_RUNNER_ARN: 'arn:aws:lambda:x:1:function:r',
        UOW_SCHEDULER_ROLE_ARN: 'arn:aws:iam::1:role/r',
        UOW_EVENT_BUS_NAME: 'orders',
        UOW_SCHEDULE_GROUP: 'jobs',
        UOW_DISPATCH_CONCURRENCY: '4',
        UOW_SCHEDULE_MAX_RETRY_ATTEMPTS: '10',
        UOW_OUTBOX_TABLE: 'outbox',
      },
    );
    expect(c).toMatchObject({
      eventBusName: 'orders',
      scheduleGroup: 'jobs',
      concurrency: 4,
      outboxTable: 'outbox',
      scheduleRetryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 86400 },
    });
    expect(() => resolveDispatcherConfig({ ...c, concurrency: 0 }, {})).toThrow(
      /concurrency .*UOW_DISPATCH_CONCURRENCY/,
    );
    expect(() => resolveDispatcherConfig({ ...c, scheduleGroup: 'bad group' }, {})).toThrow(/scheduleGroup/);
    expect(() => resolveDispatcherConfig({ ...c, scheduleRetryPolicy: { maximumEventAgeInSeconds: 10 } }, {})).toThrow(
      /60-86400/,
    );
  });

  it('rejects unknown options at creation', () => {
    expect(() =>
      outboxDispatcher({ jobRunnerArn: 'arn:a', schedulerRoleArn: 'arn:b', env: {}, eventBus: 'x' } as never),
    ).toThrow(/unknown option "eventBus"/);
  });

  it('the Lambda entry point builds its handler from the environment at cold start', async () => {
    const names = ['UOW_JOB_RUNNER_ARN', 'UOW_SCHEDULER_ROLE_ARN', 'UOW_EVENT_BUS_NAME', 'UOW_SCHEDULE_GROUP'] as const;
    const saved = names.map((k) => [k, process.env[k]] as const);
    Object.assign(process.env, {
      UOW_JOB_RUNNER_ARN: 'arn:aws:lambda:us-east-1:111122223333:function:runner',
      UOW_SCHEDULER_ROLE_ARN: 'arn:aws:iam::111122223333:role/sched',
      UOW_EVENT_BUS_NAME: 'orders',
      UOW_SCHEDULE_GROUP: 'orders-jobs',
    });
    try {
      const { handler } = await import('../../functions/outbox-dispatcher.js');
      expect(handler.config).toMatchObject({
        eventBusName: 'orders',
        scheduleGroup: 'orders-jobs',
        jobRunnerArn: 'arn:aws:lambda:us-east-1:111122223333:function:runner',
        concurrency: 16,
      });
    } finally {
      for (const [k, v] of saved)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  it('finds the table name in a stream ARN', () => {
    expect(tableNameFromStreamArn('arn:aws:dynamodb:us-east-1:123:table/outbox-1/stream/2026-11-22T00:00:00.000')).toBe(
      'outbox-1',
    );
    expect(tableNameFromStreamArn(undefined)).toBeUndefined();
  });
});

describe('retries', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, safetyMarginMs: 500 };

  it('no call starts once the invocation has no time left (a timed-out invocation stops calling the endpoints)', async () => {
    let left = 5000;
    const caller = createCaller(
      createLimiter(4),
      policy,
      { remainingMs: () => left, sleep: async () => undefined, random: () => 0 },
      newStats(),
    );
    let sent = 0;
    const send = async () => ++sent;
    await expect(caller.call(send)).resolves.toBe(1);
    left = 0;
    await expect(caller.call(send)).rejects.toThrow(
      'call: not started: the invocation has no time left (it timed out)',
    );
    left = -250;
    await expect(caller.call(send)).rejects.toThrow(/not started/);
    expect(sent).toBe(1);
  });

  it('full-jitter backoff stays within [0, min(max, base × 2^(n-1))]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (n, r) => {
        const d = backoffDelay(n, policy, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.min(1000, 100 * 2 ** (n - 1)));
      }),
    );
  });

  it('stops when attempts or the invocation time run out', () => {
    expect(mayRetry(1, 100, policy, 10_000)).toBe(true);
    expect(mayRetry(5, 100, policy, 10_000)).toBe(false);
    expect(mayRetry(1, 100, policy, 550)).toBe(false);
  });

  it('classifies throttling, 5xx and network errors as retryable, client errors not', () => {
    expect(isRetryableError(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe(true);
    expect(
      isRetryableError(Object.assign(new Error('x'), { name: 'Whatever', $metadata: { httpStatusCode: 503 } })),
    ).toBe(true);
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(
      isRetryableError(
        Object.assign(new Error('x'), { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(false);
    expect(
      isRetryableError(
        Object.assign(new Error('x'), { name: 'ConflictException', $metadata: { httpStatusCode: 409 } }),
      ),
    ).toBe(false);
  });

  it('retrying() sleeps between attempts and rethrows the last error', async () => {
    const sleeps: number[] = [];
    const clock: RetryClock = {
      remainingMs: () => 60_000,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
    };
    let n = 0;
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    await expect(retrying(async () => (++n < 3 ? Promise.reject(throttled) : 'ok'), policy, clock)).resolves.toBe('ok');
    expect(sleeps).toEqual([50, 100]);
    n = 0;
    await expect(retrying(async () => Promise.reject(throttled), policy, clock)).rejects.toBe(throttled);
    const permanent = new Error('no');
    await expect(retrying(async () => Promise.reject(permanent), policy, clock)).rejects.toBe(permanent);
  });
});

describe('limiter', () => {
  it('never runs more than its limit at once and starts waiting calls in order', async () => {
    const limit = createLimiter(3);
    let active = 0;
    let peak = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        limit.run(async () => {
          started.push(i);
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 2 + (i % 3)));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(limit.peak).toBe(3);
    expect(started).toEqual([...started].sort((a, b) => a - b));
    expect(() => createLimiter(0)).toThrow(RangeError);
  });
});
