/** Token-bucket quotas on the local Scheduler and EventBridge: throttled calls answer as the services do and apply nothing. */
import { describe, it, expect } from '@jest/globals';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateScheduleCommand, SchedulerClient, ThrottlingException } from '@aws-sdk/client-scheduler';
import fc from 'fast-check';
import { isThrottlingError } from '../../lib/dispatch/retry.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { startLocalEventBridge } from '../../lib/local/eventbridge-endpoint.js';
import { tokenBucketQuota } from '../../lib/local/quota.js';
import { startLocalScheduler } from '../../lib/local/scheduler-endpoint.js';

describe('tokenBucketQuota', () => {
  it('admits the burst, then requestsPerSecond; counts per operation; a bucket per operation', () => {
    let t = 0;
    const quota = tokenBucketQuota({
      requestsPerSecond: 10,
      burst: 5,
      operations: { CreateSchedule: { requestsPerSecond: 2, burst: 1 } },
      now: () => t,
    });
    const take = (op: string): boolean => {
      try {
        quota.admit(op);
        return true;
      } catch (e) {
        expect(e).toMatchObject({ type: 'ThrottlingException', status: 400 });
        return false;
      }
    };
    expect(Array.from({ length: 7 }, () => take('GetSchedule'))).toEqual([true, true, true, true, true, false, false]);
    t = 100; // 0.1 s → 1 token
    expect([take('GetSchedule'), take('GetSchedule')]).toEqual([true, false]);
    expect([take('CreateSchedule'), take('CreateSchedule')]).toEqual([true, false]);
    t = 600; // 0.5 s at 2/s → 1 token
    expect([take('CreateSchedule'), take('CreateSchedule')]).toEqual([true, false]);
    expect(quota.stats.byOperation).toEqual({
      GetSchedule: { admitted: 6, throttled: 3 },
      CreateSchedule: { admitted: 2, throttled: 2 },
    });
  });

  it('property: over any arrival pattern, admitted ≤ burst + rate × elapsed (seeded)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 20 }),
        (gaps, rate, burst) => {
          let t = 0;
          const quota = tokenBucketQuota({ requestsPerSecond: rate, burst, now: () => t });
          for (const gap of gaps) {
            t += gap;
            try {
              quota.admit('Op');
            } catch {
              // throttled
            }
          }
          expect(quota.stats.admitted).toBeLessThanOrEqual(burst + (rate * t) / 1000 + 1e-9);
          expect(quota.stats.admitted + quota.stats.throttled).toBe(gaps.length);
        },
      ),
      { seed: 1302, numRuns: 200 },
    );
  });
});

describe('quota on the local endpoints', () => {
  it('Scheduler: over the quota CreateSchedule answers ThrottlingException (429) and creates nothing', async () => {
    const quota = tokenBucketQuota({ operations: { CreateSchedule: { requestsPerSecond: 1, burst: 2 } } });
    const scheduler = await startLocalScheduler({ quota });
    const client = new SchedulerClient({ endpoint: scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    const create = (name: string) =>
      client.send(
        new CreateScheduleCommand({
          Name: name,
          ScheduleExpression: 'at(2030-01-01T00:00:00)',
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: {
            Arn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
            RoleArn: 'arn:aws:iam::000000000000:role/r',
          },
        }),
      );
    try {
      await create('s1');
      await create('s2');
      const error = await create('s3').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ThrottlingException);
      expect(error).toMatchObject({ $metadata: { httpStatusCode: 429 } });
      expect(isThrottlingError(error)).toBe(true);
      expect(scheduler.getSchedule('s3')).toBeUndefined();
      expect(scheduler.calls.map((c) => c.outcome)).toEqual(['ok', 'ok', 'ThrottlingException']);
      await new Promise((r) => setTimeout(r, 1100));
      await create('s3');
      expect(scheduler.getSchedule('s3')).toBeDefined();
    } finally {
      client.destroy();
      await scheduler.stop();
    }
  });

  it('EventBridge: over the quota PutEvents answers ThrottlingException (400) and publishes nothing', async () => {
    const quota = tokenBucketQuota({ requestsPerSecond: 1, burst: 1 });
    const bus = await startLocalEventBridge({ quota });
    const client = new EventBridgeClient({ endpoint: bus.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    const put = () => client.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'T', Detail: '{}' }] }));
    try {
      await put();
      const error = await put().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      expect(isThrottlingError(error)).toBe(true);
      expect(bus.events).toHaveLength(1);
      expect(quota.stats).toMatchObject({ admitted: 1, throttled: 1 });
    } finally {
      client.destroy();
      await bus.stop();
    }
  });
});
