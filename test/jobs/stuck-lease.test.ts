/**
 * A job must never stay RUNNING silently: a delivery that finds another runner's live lease throws
 * JobLeaseHeldError (Lambda retries it, then its on-failure destination gets it), a failure that cannot be
 * recorded releases the lease, and every failure after the claim (a payload that is not JSON) is recorded.
 * Real DynamoDB Local; the only fault is injected on a real client (a middleware that throws on one call).
 */
import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { JobLeaseHeldError, TransactionConflictError } from '../../lib/errors.js';
import { jobRunner, type JobContext } from '../../lib/jobs/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { createBusinessTable, createTestOutboxTable, getItem, localClients } from '../support/ddb.js';
import { deliveryFor, gate, inUnitOfWork, jobRecord, memoryLogger, messagesAbout, sleep } from '../support/jobs.js';

const { raw, doc } = localClients();
let counters: string;
let outbox: string;

beforeAll(async () => {
  [counters, outbox] = await Promise.all([
    createBusinessTable(raw, 'counters'),
    createTestOutboxTable(raw, 'stuck-outbox'),
  ]);
});

/** A real client whose failure transactions (and, optionally, lease releases) fail, as under throttling or a hot item. */
function faultyClient(faults: { failureTransaction: boolean; release: boolean }): DynamoDBDocumentClient {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: process.env.DYNAMODB_ENDPOINT }),
    {
      marshallOptions: { removeUndefinedValues: true },
    },
  );
  client.middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      const input = args.input;
      const command = String(context.commandName);
      const isFailureTx = command.startsWith('TransactWrite') && JSON.stringify(input).includes('lastError = :error');
      const isRelease = command.startsWith('Update') && String(input.UpdateExpression).includes(':released');
      if ((isFailureTx && faults.failureTransaction) || (isRelease && faults.release))
        throw Object.assign(new Error('Transaction cancelled'), {
          name: 'TransactionCanceledException',
          $fault: 'client',
          CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
        });
      return next(args);
    },
    { step: 'initialize', name: `faults-${randomUUID()}` },
  );
  return client;
}

/** A job that fails on attempt 1 and counts on the next one; `clock` is the runner's (manual) clock. */
function runner(client: DynamoDBDocumentClient, clock: { now: number }) {
  const runs: number[] = [];
  const logger = memoryLogger();
  const handler = jobRunner({
    jobs: {
      flaky: async (payload: { id: string }, { uow, job }: JobContext) => {
        runs.push(job.attempt);
        if (job.attempt === 1) throw new Error('attempt 1 failed');
        uow.update({
          TableName: counters,
          Key: { pk: payload.id },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
          label: 'count',
        });
      },
      count: async (payload: unknown, { uow, job }: JobContext) => {
        runs.push(job.attempt);
        uow.put({ TableName: counters, Item: { pk: `${job.key}-ran`, payload } });
      },
    },
    outboxTable: outbox,
    client,
    source: 'stuck-test',
    logger,
    maxConflictRetries: 1,
    leaseMarginMs: 0,
    clock: () => clock.now,
  });
  return { handler, runs, logger };
}

const context = (remainingMs: number) => ({ awsRequestId: randomUUID(), getRemainingTimeInMillis: () => remainingMs });

describe('a stuck lease always gets another delivery and ends visibly', () => {
  it('the failure could not be recorded nor the lease released ⇒ redeliveries inside the lease throw JobLeaseHeldError; one after it reclaims and finishes', async () => {
    const id = randomUUID();
    const key = `stuck-${id}`;
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'flaky', payload: { id }, delay: 60, key, maxAttempts: 3 }),
    );
    const delivery = await deliveryFor(doc, outbox, key);
    const clock = { now: Date.now() };

    const broken = runner(faultyClient({ failureTransaction: true, release: true }), clock);
    await expect(broken.handler(delivery, context(300_000))).rejects.toBeInstanceOf(TransactionConflictError);
    const stuck = await jobRecord(doc, outbox, key);
    expect(stuck).toMatchObject({ jobStatus: 'RUNNING', attempts: 1, leaseUntil: clock.now + 300_000 });
    expect(stuck!.ttl).toBeUndefined();
    expect(
      broken.logger.lines.some(
        (l) => l.level === 'error' && l.message.includes('stays RUNNING until its lease expires'),
      ),
    ).toBe(true);

    // Lambda's async retries (+1 min, +3 min) fall inside the 5-minute lease: they fail, so they are retried and then dead-lettered, never "succeed".
    const healthy = runner(doc, clock);
    const failedAt = clock.now;
    for (const after of [60_000, 180_000]) {
      clock.now = failedAt + after;
      const retry = healthy.handler(
        { ...delivery, executionId: `retry-${after}`, attemptNumber: '2' },
        context(300_000),
      );
      await expect(retry).rejects.toBeInstanceOf(JobLeaseHeldError);
      await expect(retry).rejects.toMatchObject({
        key,
        leaseUntil: stuck!.leaseUntil,
        retryable: true,
        message: expect.stringContaining(`Job "${key}" is RUNNING under another runner's lease until`),
      });
    }
    expect(healthy.runs).toEqual([]);
    expect(
      healthy.logger.lines.some(
        (l) => l.level === 'warn' && l.message.includes('this delivery fails so that it is retried'),
      ),
    ).toBe(true);
    expect(await jobRecord(doc, outbox, key)).toMatchObject({ jobStatus: 'RUNNING', attempts: 1 });

    // A redrive from the dead-letter queue (or any delivery) after the lease reclaims the job and finishes it.
    clock.now = stuck!.leaseUntil! + 1;
    expect(await healthy.handler({ ...delivery, executionId: 'redrive' }, context(300_000))).toMatchObject({
      outcome: 'succeeded',
      attempt: 2,
    });
    expect(healthy.runs).toEqual([2]);
    expect(await jobRecord(doc, outbox, key)).toMatchObject({ jobStatus: 'SUCCEEDED', attempts: 2 });
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
  });

  it('the failure could not be recorded but the lease was released ⇒ the very next delivery reclaims it (no wait for the lease)', async () => {
    const id = randomUUID();
    const key = `released-${id}`;
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'flaky', payload: { id }, delay: 60, key, maxAttempts: 3 }),
    );
    const delivery = await deliveryFor(doc, outbox, key);
    const clock = { now: Date.now() };

    const broken = runner(faultyClient({ failureTransaction: true, release: false }), clock);
    await expect(broken.handler(delivery, context(300_000))).rejects.toBeInstanceOf(TransactionConflictError);
    const released = await jobRecord(doc, outbox, key);
    expect(released).toMatchObject({
      jobStatus: 'RUNNING',
      attempts: 1,
      lastOutcome: 'FAILED',
      lastError: { name: 'Error', message: 'attempt 1 failed' },
    });
    expect(released!.leaseUntil).toBeLessThan(clock.now);
    expect(broken.logger.lines.some((l) => l.level === 'error' && l.message.includes('its lease was released'))).toBe(
      true,
    );

    clock.now += 60_000; // Lambda's first async retry
    const healthy = runner(doc, clock);
    expect(
      await healthy.handler({ ...delivery, executionId: 'retry-1', attemptNumber: '2' }, context(300_000)),
    ).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    expect(await jobRecord(doc, outbox, key)).toMatchObject({
      jobStatus: 'SUCCEEDED',
      attempts: 2,
      lastOutcome: 'SUCCEEDED',
    });
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
  });

  it('a duplicate delivery during a healthy run throws JobLeaseHeldError; its retry finds the job SUCCEEDED and skips; effects once', async () => {
    const id = randomUUID();
    const key = `dup-${id}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'count', payload: { id }, delay: 60, key }));
    const delivery = await deliveryFor(doc, outbox, key);
    const hold = gate();
    const runs: number[] = [];
    const handler = jobRunner({
      jobs: {
        count: async (_p: unknown, { uow, job }: JobContext) => {
          runs.push(job.attempt);
          await hold.promise;
          uow.update({
            TableName: counters,
            Key: { pk: id },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
            label: 'count',
          });
        },
      },
      outboxTable: outbox,
      client: doc,
      logger: memoryLogger(),
    });
    const first = handler({ ...delivery, executionId: 'a' }, context(30_000));
    while (runs.length === 0) await sleep(10);
    await expect(handler({ ...delivery, executionId: 'b' }, context(30_000))).rejects.toBeInstanceOf(JobLeaseHeldError);
    hold.open();
    expect(await first).toMatchObject({ outcome: 'succeeded', attempt: 1 });
    expect(await handler({ ...delivery, executionId: 'b', attemptNumber: '2' }, context(30_000))).toMatchObject({
      outcome: 'skipped',
      reason: 'the job already SUCCEEDED',
    });
    expect(runs).toEqual([1]);
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
  });
});

describe('every failure after the claim is recorded: nothing is left RUNNING', () => {
  async function corrupt(key: string, update: string, values?: Record<string, unknown>): Promise<void> {
    await doc.send(
      new UpdateCommand({
        TableName: outbox,
        Key: { pk: `job#${key}`, sk: 'job' },
        UpdateExpression: update,
        ...(values ? { ExpressionAttributeValues: values } : {}),
      }),
    );
  }

  it('a stored payload that is not JSON ⇒ DEAD at once (no retry can fix it) with a JobFailed event carrying the raw text', async () => {
    const id = randomUUID();
    const key = `badjson-${id}`;
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key, maxAttempts: 3 }),
    );
    const delivery = await deliveryFor(doc, outbox, key);
    await corrupt(key, 'SET payload = :bad', { ':bad': `{"id": "${id}"` });
    const { handler, runs } = runner(doc, { now: Date.now() });
    const result = await handler(delivery, context(30_000));

    expect(result).toMatchObject({
      outcome: 'dead',
      attempt: 1,
      error: {
        name: 'InvalidOperationError',
        message: expect.stringContaining(`job ${key}: the stored payload is not JSON`),
      },
    });
    expect(runs).toEqual([]);
    const record = await jobRecord(doc, outbox, key);
    expect(record).toMatchObject({
      jobStatus: 'DEAD',
      attempts: 1,
      lastOutcome: 'FAILED',
      lastError: { name: 'InvalidOperationError' },
    });
    expect(record!.leaseUntil).toBeUndefined();
    const failed = (await messagesAbout(doc, outbox, key)).find((m) => m.kind === 'event') as any;
    expect(failed.event).toMatchObject({
      type: 'JobFailed',
      subject: key,
      data: { key, attempts: 1, maxAttempts: 3, payload: `{"id": "${id}"` },
    });
  });

  it('no payload attribute at all ⇒ DEAD too; a recurring job with a bad payload records the failed occurrence and stays SCHEDULED', async () => {
    const id = randomUUID();
    const oneTime = `nopayload-${id}`;
    const recurring = `badrec-${id}`;
    await inUnitOfWork(doc, outbox, (uow) => {
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: oneTime });
      uow.schedule({ job: 'count', payload: { id }, rate: '5 minutes', key: recurring });
    });
    const deliveries = [
      await deliveryFor(doc, outbox, oneTime),
      await deliveryFor(doc, outbox, recurring, '2026-11-22T10:05:00Z'),
    ];
    await corrupt(oneTime, 'REMOVE payload');
    await corrupt(recurring, 'SET payload = :bad', { ':bad': 'not json' });
    const { handler, runs } = runner(doc, { now: Date.now() });

    expect(await handler(deliveries[0]!, context(30_000))).toMatchObject({
      outcome: 'dead',
      error: { message: expect.stringContaining('not JSON') },
    });
    expect(await jobRecord(doc, outbox, oneTime)).toMatchObject({ jobStatus: 'DEAD' });
    expect(await handler(deliveries[1]!, context(30_000))).toMatchObject({
      outcome: 'failed',
      error: { message: expect.stringContaining('not JSON') },
    });
    const rec = await jobRecord(doc, outbox, recurring);
    expect(rec).toMatchObject({
      jobStatus: 'SCHEDULED',
      lastOutcome: 'FAILED',
      lastOccurrence: '2026-11-22T10:05:00Z',
    });
    expect(rec!.leaseUntil).toBeUndefined();
    expect(runs).toEqual([]);
  });

  it('a handler that throws something JSON cannot describe (a circular object) is still recorded as FAILED, not left RUNNING', async () => {
    const id = randomUUID();
    const key = `circular-${id}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'weird', payload: { id }, delay: 60, key }));
    const handler = jobRunner({
      jobs: {
        weird: () => {
          const thrown: Record<string, unknown> = { reason: 'circular' };
          thrown.self = thrown;
          throw thrown;
        },
      },
      outboxTable: outbox,
      client: doc,
      logger: memoryLogger(),
    });
    expect(await handler(await deliveryFor(doc, outbox, key), context(30_000))).toMatchObject({
      outcome: 'failed',
      error: { name: 'Error', message: '[object Object]' },
    });
    expect(await jobRecord(doc, outbox, key)).toMatchObject({ jobStatus: 'FAILED', attempts: 1 });
  });
});
