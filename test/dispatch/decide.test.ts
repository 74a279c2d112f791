/** The dispatcher's decisions on job records (lib/dispatch/decide.ts, no I/O). */
import { describe, expect, it } from '@jest/globals';
import {
  desiredSchedule,
  isImagelessOutboxInsert,
  isOutboxInsert,
  sameSchedule,
  scheduleFingerprint,
} from '../../lib/dispatch/decide.js';
import { scheduleRequestOfRecord } from '../../lib/dispatch/jobs.js';
import { jobScheduleRequest } from '../../lib/dispatch/map.js';
import { JOB_STATUS, type JobRecord, type JobStatus } from '../../lib/job-record/record.js';

import { config, job } from '../support/dispatch-fixtures.js';

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
