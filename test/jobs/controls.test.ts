import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { InvalidOperationError, NonRetriableError, RetryAfterError } from '../../lib/index.js';
import { defineJobs, jobRunner, type JobContext } from '../../lib/jobs/index.js';
import { createTestOutboxTable, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, jobRecord, memoryLogger, messagesAbout } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;

beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'job-controls');
});

function runnerWith(
  jobs: Record<string, (payload: any, ctx: JobContext) => Promise<void> | void>,
  extra: Record<string, unknown> = {},
) {
  return jobRunner({
    jobs: defineJobs(jobs),
    outboxTable: outbox,
    client: doc,
    source: 'jobs-test',
    logger: memoryLogger(),
    ...extra,
  });
}

describe('job controls a handler throws, on DynamoDB Local', () => {
  it('NonRetriableError on attempt 1 of 5 ⇒ DEAD now, JobFailed published, no retry, later deliveries skipped', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'charge', payload: { id }, delay: 60, key: `nr-${id}`, maxAttempts: 5 }),
    );
    let runs = 0;
    const handler = runnerWith({
      charge: () => {
        runs++;
        throw new NonRetriableError(`card of ${id} declined`);
      },
    });
    const delivery = await deliveryFor(doc, outbox, `nr-${id}`);
    const result = await handler(delivery);

    expect(result).toMatchObject({
      outcome: 'dead',
      attempt: 1,
      error: { name: 'NonRetriableError', message: `card of ${id} declined` },
    });
    expect(await jobRecord(doc, outbox, `nr-${id}`)).toMatchObject({
      jobStatus: 'DEAD',
      attempts: 1,
      maxAttempts: 5,
      lastError: { name: 'NonRetriableError' },
    });
    const messages = await messagesAbout(doc, outbox, `nr-${id}`);
    expect(messages.map((m) => m.kind)).toEqual(['job.schedule', 'event']);
    expect((messages[1] as any).event).toMatchObject({
      type: 'JobFailed',
      data: { key: `nr-${id}`, attempts: 1, maxAttempts: 5, error: { name: 'NonRetriableError' } },
    });
    expect(await handler({ ...delivery, executionId: 'again' })).toMatchObject({ outcome: 'skipped' });
    expect(runs).toBe(1);
  });

  it('an ordinary error with attempts left is retried (the control: only NonRetriableError is final)', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'charge', payload: { id }, delay: 60, key: `plain-${id}`, maxAttempts: 5 }),
    );
    const handler = runnerWith({
      charge: () => {
        throw new Error('card declined');
      },
    });
    expect(await handler(await deliveryFor(doc, outbox, `plain-${id}`))).toMatchObject({
      outcome: 'failed',
      retryVersion: 2,
    });
  });

  it('RetryAfterError(seconds) ⇒ the retry at failure + seconds, not the backoff; the reschedule message carries that time', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'call', payload: { id }, delay: 60, key: `ra-${id}` }),
    );
    const handler = runnerWith(
      {
        call: () => {
          throw new RetryAfterError(7, 'rate limited');
        },
      },
      { backoff: { baseSeconds: 3000 } },
    );
    const t0 = Date.now();
    const result = await handler(await deliveryFor(doc, outbox, `ra-${id}`));
    const t1 = Date.now();

    expect(result).toMatchObject({
      outcome: 'failed',
      retryVersion: 2,
      error: { name: 'RetryAfterError', message: 'rate limited' },
    });
    const job = await jobRecord(doc, outbox, `ra-${id}`);
    const retryAt = Date.parse(job!.nextRunAt!);
    expect(retryAt).toBeGreaterThanOrEqual(t0 + 7_000 - 1_000); // whole seconds (rounded up)
    expect(retryAt).toBeLessThanOrEqual(t1 + 8_000);
    expect(job).toMatchObject({ jobStatus: 'FAILED', version: 2, schedule: { at: job!.nextRunAt } });
    const messages = await messagesAbout(doc, outbox, `ra-${id}`);
    expect(messages[1]).toMatchObject({ kind: 'job.reschedule', version: 2, schedule: { at: job!.nextRunAt } });
  });

  it('RetryAfterError on the last attempt ⇒ DEAD (it counts as an attempt)', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'call', payload: { id }, delay: 60, key: `ra-last-${id}`, maxAttempts: 1 }),
    );
    const handler = runnerWith({
      call: () => {
        throw new RetryAfterError(5);
      },
    });
    expect(await handler(await deliveryFor(doc, outbox, `ra-last-${id}`))).toMatchObject({
      outcome: 'dead',
      error: { name: 'RetryAfterError' },
    });
  });

  it('RetryAfterError with a bad number names the constructor and the value', () => {
    expect(() => new RetryAfterError(-1)).toThrow(InvalidOperationError);
    expect(() => new RetryAfterError(Number.NaN)).toThrow(
      'new RetryAfterError(seconds): seconds must be a number, 0 or more (got NaN)',
    );
  });
});
