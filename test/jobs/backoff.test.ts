/** Per-job retry backoff (defineJobs) over the runner's, with injected randomness and clock; the shared backoff rule. */
import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { ConfigurationError } from '../../lib/index.js';
import { exponentialBackoffDelay } from '../../lib/backoff.js';
import { defineJobs, jobRunner, retryDelaySeconds } from '../../lib/jobs/index.js';
import { createTestOutboxTable, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;

beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'job-backoff');
});

const fail = (): never => {
  throw new Error('down');
};

describe('per-job backoff, on DynamoDB Local', () => {
  it("the retry time honours the job's own backoff with equal jitter; a job without one uses the runner's", async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) => {
      uow.schedule({ job: 'own', payload: {}, delay: 0, key: `own-${id}`, maxAttempts: 5 });
      uow.schedule({ job: 'plain', payload: {}, delay: 0, key: `plain-${id}`, maxAttempts: 5 });
    });
    const now = Date.parse('2030-01-01T00:00:00Z');
    const jobs = defineJobs(
      { own: fail, plain: fail },
      { backoff: { own: { baseSeconds: 100, factor: 3, jitter: true } } },
    );
    const handler = jobRunner({
      jobs,
      outboxTable: outbox,
      client: doc,
      source: 'jobs-test',
      logger: memoryLogger(),
      backoff: { baseSeconds: 40, maxSeconds: 200 },
      clock: () => now,
      random: () => 0.5,
    });
    expect(await handler(await deliveryFor(doc, outbox, `own-${id}`))).toMatchObject({ outcome: 'failed' });
    expect(await handler(await deliveryFor(doc, outbox, `plain-${id}`))).toMatchObject({ outcome: 'failed' });
    // own: cap 100 × 3^0 = 100 (maxSeconds 200 from the runner), equal jitter at 0.5 ⇒ 75 s; plain: 40 s, no jitter
    expect((await jobRecord(doc, outbox, `own-${id}`))!.nextRunAt).toBe('2030-01-01T00:01:15Z');
    expect((await jobRecord(doc, outbox, `plain-${id}`))!.nextRunAt).toBe('2030-01-01T00:00:40Z');
    // second failure of own: cap min(200, 300) = 200, jitter 0.5 ⇒ 150 s
    const later = jobRunner({
      jobs,
      outboxTable: outbox,
      client: doc,
      logger: memoryLogger(),
      backoff: { maxSeconds: 200 },
      clock: () => now + 75_000,
      random: () => 0.5,
    });
    expect(await later(await deliveryFor(doc, outbox, `own-${id}`))).toMatchObject({ outcome: 'failed', attempt: 2 });
    expect((await jobRecord(doc, outbox, `own-${id}`))!.nextRunAt).toBe('2030-01-01T00:03:45Z');
  });

  it('defineJobs refuses a bad per-job backoff with a ConfigurationError naming the job and the option', () => {
    const bad = () => defineJobs({ send: fail }, { backoff: { send: { factor: 0.5, jitter: 'yes' as never } } });
    expect(bad).toThrow(ConfigurationError);
    expect(bad).toThrow('backoff["send"].factor" must be a number of at least 1');
    expect(bad).toThrow('backoff["send"].jitter" must be true or false');
    expect(() => defineJobs({ send: fail }, { backoff: { sned: { baseSeconds: 1 } } as never })).toThrow(
      'backoff["sned"]: there is no job "sned"',
    );
    expect(() => defineJobs({ send: fail }, { backoff: { send: { base: 1 } as never } })).toThrow(
      'unknown backoff["send"] option "base"',
    );
  });
});

describe('the shared backoff rule', () => {
  it('none = the cap; full in [0, cap); equal in [cap/2, cap); the runner default keeps its numbers', () => {
    const b = { base: 10, factor: 2, max: 50 };
    expect([0, 1, 2, 3].map((n) => exponentialBackoffDelay(n, { ...b, jitter: 'none' }))).toEqual([10, 20, 40, 50]);
    expect(exponentialBackoffDelay(2, { ...b, jitter: 'full' }, () => 0.25)).toBe(10);
    expect(exponentialBackoffDelay(2, { ...b, jitter: 'equal' }, () => 0)).toBe(20);
    expect(exponentialBackoffDelay(2, { ...b, jitter: 'equal' }, () => 0.5)).toBe(30);
    expect(retryDelaySeconds(2, { baseSeconds: 60, factor: 2, maxSeconds: 3600, jitter: true }, () => 0)).toBe(60);
  });
});
