/** Mapping outbox messages to PutEvents entries and Scheduler requests (lib/dispatch/map.ts). */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  chunkPutEvents,
  jobScheduleInputJson,
  jobScheduleRequest,
  scheduleExpressionOf,
  toPutEventsEntry,
} from '../../lib/dispatch/map.js';
import { putEventsEntrySize } from '../../lib/outbox/put-events-size.js';

import { cloudEvent, config, job } from '../support/dispatch-fixtures.js';

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
