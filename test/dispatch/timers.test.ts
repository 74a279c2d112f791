/**
 * The SQS timer transport's pieces: which jobs go to SQS, the delay, the message, when a schedule may exist,
 * the `timerQueueUrl` setting, and the batching sender on the local SQS (real SQSClient), including entries
 * the response reports failed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SQSClient, type SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { createCaller, newStats } from '../../lib/dispatch/calls.js';
import { resolveDispatcherConfig } from '../../lib/dispatch/config.js';
import { mayHaveSchedule } from '../../lib/dispatch/decide.js';
import { createAdaptiveLimiter } from '../../lib/dispatch/adaptive-limiter.js';
import { createLimiter } from '../../lib/dispatch/limiter.js';
import { isThrottlingError } from '../../lib/dispatch/retry.js';
import type { RetryClock } from '../../lib/dispatch/retry.js';
import { createTimerSender } from '../../lib/dispatch/timer-sender.js';
import { isTimerDue, jobTimer, timerDelaySeconds } from '../../lib/dispatch/timers.js';
import type { JobRecord } from '../../lib/job-record/record.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { tokenBucketQuota } from '../../lib/local/quota.js';
import { startLocalSqs, type LocalSqs } from '../../lib/local/sqs-endpoint.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const at = (seconds: number) => new Date(NOW + seconds * 1000).toISOString();

describe('which jobs get an SQS timer, and its delay', () => {
  it('one-time jobs due within 900 s (plus the second an `at` is rounded up by) or overdue; never recurring ones', () => {
    expect(isTimerDue({ at: at(0) }, NOW)).toBe(true);
    expect(isTimerDue({ at: at(-30) }, NOW)).toBe(true);
    expect(isTimerDue({ at: at(900) }, NOW)).toBe(true);
    expect(isTimerDue({ at: at(901) }, NOW)).toBe(true);
    expect(isTimerDue({ at: at(902) }, NOW)).toBe(false);
    expect(isTimerDue({ rate: '5 minutes' }, NOW)).toBe(false);
    expect(isTimerDue({ cron: '0 8 * * ? *' }, NOW)).toBe(false);
    expect(isTimerDue(undefined, NOW)).toBe(false);
  });

  it('DelaySeconds = ceil(seconds until due), clamped to 0..900', () => {
    expect(timerDelaySeconds(NOW + 1500, NOW)).toBe(2);
    expect(timerDelaySeconds(NOW + 2000, NOW)).toBe(2);
    expect(timerDelaySeconds(NOW - 5000, NOW)).toBe(0);
    expect(timerDelaySeconds(NOW + 900_600, NOW)).toBe(900);
  });

  it('the body is the Scheduler target input with the occurrence filled in (attempt and execution id from SQS)', () => {
    const job = { jobId: 'j1', key: 'k', name: 'n', version: 3, payload: { a: 1 }, scheduleName: 'k' };
    const timer = jobTimer(job, at(120), NOW + 500);
    expect(timer.delaySeconds).toBe(120);
    expect(timer.scheduledTime).toBe('2030-01-01T00:02:00Z');
    expect(JSON.parse(timer.body)).toEqual({ ...job, scheduledTime: '2030-01-01T00:02:00Z' });
  });
});

describe('mayHaveSchedule: whether a cancel or a move to SQS must delete a Scheduler schedule', () => {
  const rec = (fields: Partial<JobRecord>): JobRecord =>
    ({ createdAt: at(0), schedule: { at: at(900) }, version: 1, jobStatus: 'SCHEDULED', ...fields }) as JobRecord;
  it('no: a job created due within the window, never rescheduled or retried (v1; v2 after its cancel)', () => {
    expect(mayHaveSchedule(rec({}))).toBe(false);
    expect(mayHaveSchedule(rec({ schedule: { at: at(901) } }))).toBe(false); // `delay: 900`, rounded up
    expect(mayHaveSchedule(rec({ version: 2, jobStatus: 'CANCELLED' }))).toBe(false);
  });
  it('yes: due later when created, rescheduled or retried, recurring, or no record', () => {
    expect(mayHaveSchedule(rec({ schedule: { at: at(902) } }))).toBe(true);
    expect(mayHaveSchedule(rec({ version: 2, jobStatus: 'SCHEDULED' }))).toBe(true);
    expect(mayHaveSchedule(rec({ version: 3, jobStatus: 'CANCELLED' }))).toBe(true);
    expect(mayHaveSchedule(rec({ schedule: { rate: '5 minutes' } }))).toBe(true);
    expect(mayHaveSchedule(undefined)).toBe(true);
  });
});

describe('timerQueueUrl setting', () => {
  const base = { jobRunnerArn: 'arn:aws:lambda:us-east-1:1:function:r', schedulerRoleArn: 'arn:aws:iam::1:role/s' };
  it('comes from UOW_TIMER_QUEUE_URL, is off by default, and must be a queue URL', () => {
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/timers';
    expect(resolveDispatcherConfig(base, { UOW_TIMER_QUEUE_URL: url }).timerQueueUrl).toBe(url);
    expect(resolveDispatcherConfig(base, {}).timerQueueUrl).toBeUndefined();
    expect(() => resolveDispatcherConfig({ ...base, timerQueueUrl: 'timers' }, {})).toThrow(/timerQueueUrl/);
  });
});

describe('timer sender on the local SQS', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  let url: string;
  /** Turns the next responses' first successful entry into a failure of this kind (the queue kept the message). */
  const rewrites: ({ senderFault: boolean } | undefined)[] = [];
  const clock: RetryClock = { remainingMs: () => 60_000, sleep: async () => undefined, random: () => 0.5 };
  const policy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, safetyMarginMs: 0 };
  beforeAll(async () => {
    sqs = await startLocalSqs({ clock: 'manual' });
    client = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    url = sqs.createQueue('timers');
    client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const rewrite = rewrites.shift();
        const o = out.output as SendMessageBatchCommandOutput;
        if (rewrite && o.Successful?.length) {
          const [first, ...rest] = o.Successful;
          o.Successful = rest;
          o.Failed = [{ Id: first!.Id, SenderFault: rewrite.senderFault, Code: 'InternalError', Message: 'injected' }];
        }
        return out;
      },
      { step: 'initialize', name: 'rewriteBatchResult' },
    );
  });
  afterAll(async () => {
    client?.destroy();
    await sqs?.stop();
  });
  const timer = (n: number, delaySeconds = 0) => ({ body: `{"n":${n}}`, delaySeconds, scheduledTime: at(0) });

  it('packs the timers of one tick into calls of 10 with their delays', async () => {
    const stats = newStats();
    const sender = createTimerSender(client, url, createCaller(createLimiter(4), policy, clock, stats));
    const ids = await Promise.all(Array.from({ length: 23 }, (_, n) => sender.send(timer(n, n % 3), `t${n}`)));
    expect(new Set(ids).size).toBe(23);
    expect(stats).toMatchObject({ sendMessageBatchCalls: 3, timersSent: 23 });
    expect(sqs.counts('timers')).toMatchObject({ visible: 8, delayed: 15 });
    expect(sqs.calls.filter((c) => c.operation === 'SendMessageBatch')).toHaveLength(3);
  });

  it('resends an entry failed without sender fault; rejects one failed by the sender, and only that one', async () => {
    const stats = newStats();
    const sender = createTimerSender(client, url, createCaller(createLimiter(4), policy, clock, stats));
    rewrites.push({ senderFault: false });
    await expect(Promise.all([sender.send(timer(1), 'a'), sender.send(timer(2), 'b')])).resolves.toHaveLength(2);
    expect(stats).toMatchObject({ sendMessageBatchCalls: 2, timersResent: 1, timersSent: 2 });
    rewrites.push({ senderFault: true });
    const [a, b] = await Promise.allSettled([sender.send(timer(3), 'c'), sender.send(timer(4), 'd')]);
    expect(a).toMatchObject({ status: 'rejected', reason: { name: 'DispatchError' } });
    expect((a as PromiseRejectedResult).reason.message).toMatch(/SendMessageBatch c.*rejected: InternalError/);
    expect(b.status).toBe('fulfilled');
  });
});

describe('timer sender under an SQS request quota', () => {
  it('throttled SendMessageBatch calls (RequestThrottled) cut the AIMD window and are retried: every timer is sent', async () => {
    const sqs = await startLocalSqs({ clock: 'manual', quota: tokenBucketQuota({ requestsPerSecond: 20, burst: 2 }) });
    const client = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    try {
      const url = sqs.createQueue('throttled');
      const stats = newStats();
      const limiter = createAdaptiveLimiter({ max: 8, isThrottle: isThrottlingError });
      const realSleep: RetryClock = {
        remainingMs: () => 60_000,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        random: Math.random,
      };
      const policy = { maxAttempts: 50, baseDelayMs: 20, maxDelayMs: 200, safetyMarginMs: 0 };
      const sender = createTimerSender(client, url, createCaller(limiter, policy, realSleep, stats));
      const timers = Array.from({ length: 80 }, (_, n) => ({
        body: `{"n":${n}}`,
        delaySeconds: 5,
        scheduledTime: at(5),
      }));
      await Promise.all(timers.map((t, n) => sender.send(t, `t${n}`)));
      expect(sqs.counts('throttled').delayed).toBe(80);
      expect(stats.throttled).toBeGreaterThan(0);
      expect(limiter.cuts).toBeGreaterThan(0);
    } finally {
      client.destroy();
      await sqs.stop();
    }
  });
});
