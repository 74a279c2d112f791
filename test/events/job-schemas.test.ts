import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SchemaValidationError } from '../../lib/index.js';
import { defineJobs, jobRunner, scheduleJob, type JobContext } from '../../lib/jobs/index.js';
import { createTestOutboxTable, lambdaContext, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;
beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'job-schemas');
});

/** The payload schemas live apart from the handlers, so a scheduling Lambda imports only them. */
const jobSchemas = { remind: z.object({ orderId: z.string().min(1), times: z.number().int().default(1) }) };
const seen: unknown[] = [];
const jobs = defineJobs(
  {
    remind: async (payload: { orderId: string; times: number }, _ctx: JobContext) => void seen.push(payload),
    free: async (_payload: unknown) => undefined,
  },
  { schemas: jobSchemas },
);
type Jobs = typeof jobs;

describe('job payload schemas (defineJobs({ schemas })): validated at schedule and at run', () => {
  it('scheduleJob refuses a bad payload naming the job and path, and schedules the schema output', async () => {
    const orderId = randomUUID();
    await expect(
      inUnitOfWork(doc, outbox, (uow) =>
        scheduleJob<Jobs>(
          uow,
          { job: 'remind', payload: { orderId: '', times: 2 }, delay: 60 },
          { schemas: jobSchemas },
        ),
      ),
    ).rejects.toThrow(/^schedule\(remind\): the job payload does not match its schema \(at orderId: /);
    await inUnitOfWork(doc, outbox, (uow) =>
      scheduleJob<Jobs>(
        uow,
        { job: 'remind', payload: { orderId } as never, delay: 60, key: `r-${orderId}` },
        { schemas: jobSchemas },
      ),
    );
    expect(JSON.parse((await jobRecord(doc, outbox, `r-${orderId}`))!.payload)).toEqual({ orderId, times: 1 }); // default applied
    // a job without a schema is scheduled as it is
    await inUnitOfWork(doc, outbox, (uow) =>
      scheduleJob<Jobs>(uow, { job: 'free', payload: { anything: 1 }, delay: 60 }, { schemas: jobSchemas }),
    );
  });

  it('the runner validates the delivered payload: a bad one fails the run with SchemaValidationError and never reaches the handler', async () => {
    const key = `bad-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'remind', payload: { orderId: 42 }, delay: 60, key })); // unvalidated path
    const handler = jobRunner({ jobs, outboxTable: outbox, client: doc, source: 'jobs', logger: memoryLogger() });
    const before = seen.length;
    const result = await handler(await deliveryFor(doc, outbox, key), lambdaContext());
    expect(result).toMatchObject({
      outcome: 'failed',
      error: {
        name: 'SchemaValidationError',
        message: expect.stringMatching(/^run\(remind\): the job payload does not match its schema \(at orderId: /),
      },
    });
    expect(seen.length).toBe(before);
    expect(new SchemaValidationError('x', 'y', []).name).toBe('SchemaValidationError');

    const good = `good-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'remind', payload: { orderId: good }, delay: 60, key: good }),
    );
    expect(await handler(await deliveryFor(doc, outbox, good), lambdaContext())).toMatchObject({
      outcome: 'succeeded',
    });
    expect(seen.at(-1)).toEqual({ orderId: good, times: 1 }); // the handler gets the schema's output
  });
});
