/**
 * The runner tells its own success update from the handler's writes by a typed marker, not by label text:
 * a handler write that borrows the success update's label and fails its condition is the handler's failure
 * (FAILED, retried), never taken for a lost lease. DynamoDB Local.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ConditionFailedError, defineJobs } from '../../lib/index.js';
import { jobRunner, scheduleJob } from '../../lib/jobs/index.js';
import { createBusinessTable, createTestOutboxTable, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;
let business: string;

beforeAll(async () => {
  [outbox, business] = await Promise.all([
    createTestOutboxTable(raw, 'library-write-outbox'),
    createBusinessTable(raw, 'library-write'),
  ]);
});

describe('the library marks its own writes', () => {
  it("a handler's failed condition under the success update's label is a job failure, not a lost lease", async () => {
    const key = `lw-${randomUUID()}`;
    const jobs = defineJobs({
      mimic: async (_payload: { n: number }, { uow, job }) => {
        uow.update({
          TableName: business,
          Key: { pk: `missing-${job.jobId}` },
          UpdateExpression: 'SET #n = :n',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#n': 'n' },
          ExpressionAttributeValues: { ':n': 1 },
          label: `job ${job.key} SUCCEEDED`, // the label the runner gives its own success update
        });
      },
    });
    await inUnitOfWork(doc, outbox, (uow) =>
      scheduleJob<typeof jobs>(uow, { job: 'mimic', payload: { n: 1 }, delay: 0, key }),
    );
    const run = jobRunner({ jobs, outboxTable: outbox, client: doc, logger: memoryLogger(), random: () => 0.5 });
    const result = await run(await deliveryFor(doc, outbox, key));
    expect(result).toMatchObject({ outcome: 'failed', error: { name: 'ConditionFailedError' } });
    expect(await jobRecord(doc, outbox, key)).toMatchObject({ jobStatus: 'FAILED', attempts: 1 });
  });

  it('marks the failing action of the success update on ConditionFailedError.libraryWrite', () => {
    const error = new ConditionFailedError({ label: 'x', table: 't', index: 0, libraryWrite: 'job-success' });
    expect(error.libraryWrite).toBe('job-success');
    expect(new ConditionFailedError({ label: 'x', table: 't', index: 0 }).libraryWrite).toBeUndefined();
  });
});
