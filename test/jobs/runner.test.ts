import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { UnknownJobError } from '../../lib/errors.js';
import { currentUnitOfWork } from '../../lib/index.js';
import { defineJobs, jobRunner, type JobContext } from '../../lib/jobs/index.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  recordTransactions,
} from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, jobRecord, memoryLogger, messagesAbout } from '../support/jobs.js';

const { raw, doc } = localClients();
let counters: string;
let outbox: string;

beforeAll(async () => {
  [counters, outbox] = await Promise.all([
    createBusinessTable(raw, 'counters'),
    createTestOutboxTable(raw, 'jobs-outbox'),
  ]);
});

/** A job with three effects: a write, an event, and a follow-up job. */
const count = async (payload: { id: string }, { uow, job }: JobContext): Promise<void> => {
  uow.update({
    TableName: counters,
    Key: { pk: payload.id },
    UpdateExpression: 'ADD n :one',
    ExpressionAttributeValues: { ':one': 1 },
    label: 'count',
  });
  uow.publish({ type: 'Counted', data: { id: payload.id, attempt: job.attempt } });
};

function runnerWith(
  jobs: Record<string, (payload: any, ctx: JobContext) => Promise<void> | void>,
  extra: Record<string, unknown> = {},
) {
  const logger = memoryLogger();
  const handler = jobRunner({
    jobs: defineJobs(jobs),
    outboxTable: outbox,
    client: doc,
    source: 'jobs-test',
    logger,
    ...extra,
  });
  return { handler, logger };
}

describe('job runner on DynamoDB Local: one run, and its status, commit together', () => {
  it("fire ⇒ SUCCEEDED in the same TransactWriteItems as the job's writes, events and follow-up jobs", async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `count-${id}` }),
    );
    const { handler } = runnerWith({
      count: async (payload: { id: string }, ctx: JobContext) => {
        await count(payload, ctx);
        ctx.uow.schedule({ job: 'count', payload: { id: `${id}-next` }, delay: 120, key: `count-${id}-next` });
      },
    });
    const record = recordTransactions(doc);
    const before = record.inputs.length;
    const result = await handler(await deliveryFor(doc, outbox, `count-${id}`), lambdaContext());

    expect(result).toMatchObject({ outcome: 'succeeded', key: `count-${id}`, attempt: 1 });
    const sent = record.inputs.slice(before);
    expect(sent).toHaveLength(1); // the job's writes + its status + the follow-up job record + one outbox item
    const actions = sent[0].TransactItems.map((a: any) => Object.values(a)[0] as any);
    expect(actions.map((a: any) => a.Key?.pk ?? a.Item?.pk)).toEqual([
      `job#count-${id}`,
      id,
      `job#count-${id}-next`,
      expect.stringMatching(/^outbox#/),
    ]);
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
    const job = await jobRecord(doc, outbox, `count-${id}`);
    expect(job).toMatchObject({ jobStatus: 'SUCCEEDED', lastOutcome: 'SUCCEEDED', attempts: 1, version: 1 });
    expect(job!.leaseUntil).toBeUndefined();
    expect(job!.ttl).toBeGreaterThan(Date.now() / 1000 + 6 * 86400);
    const messages = await messagesAbout(doc, outbox, id);
    const fromJob = messages.filter((m) => m.commitId === messages.find((x) => x.kind === 'event')!.commitId);
    expect(fromJob.map((m) => m.kind)).toEqual(['event', 'job.schedule']);
    expect(await jobRecord(doc, outbox, `count-${id}-next`)).toMatchObject({ jobStatus: 'SCHEDULED', version: 1 });
  });

  it('two concurrent deliveries of the same occurrence ⇒ effects once (the one that finds the run under its lease throws, to be retried); a later duplicate is skipped and says why', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `count-${id}` }),
    );
    let runs = 0;
    const { handler, logger } = runnerWith({
      count: async (p: { id: string }, ctx: JobContext) => {
        runs++;
        await count(p, ctx);
      },
    });
    const delivery = await deliveryFor(doc, outbox, `count-${id}`);
    const results = await Promise.allSettled([
      handler({ ...delivery, executionId: 'a' }),
      handler({ ...delivery, executionId: 'b', attemptNumber: '2' }),
    ]);

    const outcomes = results.map((r) => (r.status === 'fulfilled' ? r.value.outcome : (r.reason as Error).name)).sort();
    expect([
      ['JobLeaseHeldError', 'succeeded'],
      ['skipped', 'succeeded'],
    ]).toContainEqual(outcomes); // during the run, or after it
    expect(runs).toBe(1);
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
    expect((await messagesAbout(doc, outbox, id)).filter((m) => m.kind === 'event')).toHaveLength(1);
    const late = await handler({ ...delivery, executionId: 'c' });
    expect(late).toMatchObject({ outcome: 'skipped', reason: 'the job already SUCCEEDED' });
    expect(runs).toBe(1);
    expect(
      logger.lines.some((l) => l.level === 'info' && l.message.includes('skipped: the job already SUCCEEDED')),
    ).toBe(true);
  });

  it('a failing job ⇒ FAILED with attempts and error, none of its writes or events, a retry rescheduled (new version, backoff) in its own transaction', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'flaky', payload: { id }, delay: 60, key: `flaky-${id}` }),
    );
    const { handler } = runnerWith(
      {
        flaky: async (p: { id: string }, ctx: JobContext) => {
          await count(p, ctx);
          ctx.uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `never-${id}` });
          throw new RangeError(`payment provider down for ${p.id}`);
        },
      },
      { backoff: { baseSeconds: 120 } },
    );
    const t0 = Date.now();
    const result = await handler(await deliveryFor(doc, outbox, `flaky-${id}`));

    expect(result).toMatchObject({
      outcome: 'failed',
      attempt: 1,
      error: { name: 'RangeError', message: `payment provider down for ${id}` },
    });
    const job = await jobRecord(doc, outbox, `flaky-${id}`);
    expect(job).toMatchObject({
      jobStatus: 'FAILED',
      attempts: 1,
      lastOutcome: 'FAILED',
      lastError: { name: 'RangeError', message: `payment provider down for ${id}` },
    });
    expect(job!.version).toBe(result.retryVersion);
    expect(job!.version).toBe(2); // the version rule: claimed version + 1
    const retryAt = Date.parse(job!.nextRunAt!);
    expect(retryAt).toBeGreaterThanOrEqual(t0 + 120_000);
    expect(retryAt).toBeLessThan(Date.now() + 122_000);
    expect(job!.schedule).toEqual({ at: job!.nextRunAt });
    expect(await getItem(doc, counters, { pk: id })).toBeUndefined();
    expect(await jobRecord(doc, outbox, `never-${id}`)).toBeUndefined();
    const messages = await messagesAbout(doc, outbox, `flaky-${id}`);
    expect(messages.map((m) => m.kind)).toEqual(['job.schedule', 'job.reschedule']);
    expect(messages[1]).toMatchObject({
      kind: 'job.reschedule',
      key: `flaky-${id}`,
      version: job!.version,
      schedule: { at: job!.nextRunAt },
    });
    expect((await messagesAbout(doc, outbox, id)).some((m) => m.kind === 'event')).toBe(false);
  });

  it('attempts exhausted ⇒ DEAD and a JobFailed event; the retry backoff grows; later deliveries are skipped', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'broken', payload: { id }, delay: 60, key: `broken-${id}`, maxAttempts: 3 }),
    );
    let runs = 0;
    const { handler, logger } = runnerWith({
      broken: () => {
        runs++;
        throw new Error(`broken ${runs}`);
      },
    });
    const first = await handler(await deliveryFor(doc, outbox, `broken-${id}`));
    const second = await handler(await deliveryFor(doc, outbox, `broken-${id}`));
    const gap = (r: typeof first) => Date.parse(r.retryAt!) - Date.now();
    expect(first.outcome).toBe('failed');
    expect(second.outcome).toBe('failed');
    expect(gap(second)).toBeGreaterThan(gap(first) + 50_000); // 60 s, then 120 s
    const stale = await deliveryFor(doc, outbox, `broken-${id}`);
    const third = await handler(stale);
    expect(third).toMatchObject({ outcome: 'dead', attempt: 3, error: { message: 'broken 3' } });
    expect(await jobRecord(doc, outbox, `broken-${id}`)).toMatchObject({
      jobStatus: 'DEAD',
      attempts: 3,
      lastError: { name: 'Error', message: 'broken 3' },
    });
    const messages = await messagesAbout(doc, outbox, `broken-${id}`);
    expect(messages.map((m) => m.kind)).toEqual(['job.schedule', 'job.reschedule', 'job.reschedule', 'event']);
    const failed = messages[3] as any;
    expect(failed.event).toMatchObject({
      type: 'JobFailed',
      source: 'jobs-test',
      subject: `broken-${id}`,
      data: {
        key: `broken-${id}`,
        name: 'broken',
        attempts: 3,
        maxAttempts: 3,
        error: { message: 'broken 3' },
        payload: { id },
      },
    });
    expect(await handler({ ...stale, executionId: 'again' })).toMatchObject({
      outcome: 'skipped',
      reason: 'the job is DEAD (attempts exhausted)',
    });
    expect(runs).toBe(3);
    // each run's log line carries that run's outcome, as its result does
    const outcomes = logger.lines
      .filter((l) => l.message.startsWith(`job broken-${id}`))
      .map((l) => l.attributes?.outcome);
    expect(outcomes).toEqual(['failed', 'failed', 'dead', 'skipped']);
  });

  it('an unknown job name is a recorded failure naming the job and the known ones', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'expire-unpaid-ordr', payload: { id }, delay: 60, key: `typo-${id}`, maxAttempts: 1 }),
    );
    const { handler } = runnerWith({ count, 'expire-unpaid-order': () => undefined });
    const result = await handler(await deliveryFor(doc, outbox, `typo-${id}`));
    expect(result.outcome).toBe('dead');
    expect(result.error).toEqual({
      name: 'UnknownJobError',
      message: 'Unknown job "expire-unpaid-ordr": this job runner knows "count", "expire-unpaid-order"',
    });
    expect(new UnknownJobError('x', ['a']).knownJobs).toEqual(['a']);
  });

  it('a job that cancels its own record fails at that call, naming it', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'selfish', payload: { id }, delay: 60, key: `self-${id}`, maxAttempts: 1 }),
    );
    const { handler } = runnerWith({ selfish: (_p: unknown, { uow, job }: JobContext) => uow.cancelJob(job.key) });
    const result = await handler(await deliveryFor(doc, outbox, `self-${id}`));
    expect(result.outcome).toBe('dead');
    expect(result.error!.message).toContain(`cancelJob(self-${id})`);
  });

  it('runs the handler in its own unit of work, the ambient one, even when the runner is called inside another unit of work', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'ambient', payload: { id }, delay: 60, key: `amb-${id}` }),
    );
    const seen: { same: boolean; outer: boolean }[] = [];
    const { handler } = runnerWith({
      ambient: (p: { id: string }, ctx: JobContext) => {
        seen.push({ same: currentUnitOfWork() === ctx.uow, outer: ctx.uow === outerUow });
        currentUnitOfWork().put({ TableName: counters, Item: { pk: p.id, via: 'ambient' } });
      },
    });
    let outerUow: unknown;
    const delivery = await deliveryFor(doc, outbox, `amb-${id}`);
    const result = await inUnitOfWork(doc, outbox, async (outer) => {
      outerUow = outer;
      outer.put({ TableName: counters, Item: { pk: `${id}-outer` } });
      return handler(delivery);
    });
    expect(result.outcome).toBe('succeeded');
    expect(seen).toEqual([{ same: true, outer: false }]);
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ via: 'ambient' });
    expect(await getItem(doc, counters, { pk: `${id}-outer` })).toBeDefined();
  });

  it('a success commit applied by DynamoDB whose answer is lost is reported from the record: succeeded, once', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `lost-answer-${id}` }),
    );
    const { doc: lossy } = localClients();
    let lose = true;
    lossy.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args); // applied by DynamoDB …
        if (lose && context.commandName === 'TransactWriteItemsCommand') {
          lose = false;
          throw Object.assign(new Error('socket hang up'), { name: 'InternalServerError', $fault: 'server' }); // … answer lost
        }
        return out;
      },
      { step: 'initialize', name: 'loseOneAnswer' },
    );
    const handler = jobRunner({
      jobs: defineJobs({ count }),
      outboxTable: outbox,
      client: lossy,
      source: 'jobs-test',
      logger: memoryLogger(),
    });
    const result = await handler(await deliveryFor(doc, outbox, `lost-answer-${id}`));
    expect(lose).toBe(false);
    expect(await jobRecord(doc, outbox, `lost-answer-${id}`)).toMatchObject({
      jobStatus: 'SUCCEEDED',
      lastOutcome: 'SUCCEEDED',
    });
    expect(result).toMatchObject({ outcome: 'succeeded', attempt: 1 });
    expect(result).not.toHaveProperty('error');
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
  });

  it('jobRunner({ jobs: {} }) serves a service without jobs (docs/deploy.md): a delivery is an UnknownJobError failure, recorded', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 60, key: `nojobs-${id}`, maxAttempts: 1 }),
    );
    const handler = jobRunner({ jobs: {}, outboxTable: outbox, client: doc, logger: memoryLogger() });
    const result = await handler(await deliveryFor(doc, outbox, `nojobs-${id}`));
    expect(result).toMatchObject({
      outcome: 'dead',
      error: { name: 'UnknownJobError', message: 'Unknown job "count": this job runner knows no jobs' },
    });
    expect(await jobRecord(doc, outbox, `nojobs-${id}`)).toMatchObject({ jobStatus: 'DEAD' });
  });

  it('rejects a delivery that is not a job input, and bad options when it is created', async () => {
    const { handler } = runnerWith({ count });
    await expect(handler({ key: 'k' } as any)).rejects.toThrow(
      /not a job delivery: missing or invalid name, jobId, version, scheduledTime/,
    );
    expect(() => jobRunner({ jobs: { a: 1 } as any, outboxTable: outbox, readOnly: true, leaseMs: 3 } as any)).toThrow(
      /readOnly.*the job "a" must be a function.*unknown option "leaseMs"/,
    );
  });
});
