import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { defineJobs, jobQueueRunner } from '../../lib/jobs/index.js';
import { createBusinessTable, createTestOutboxTable, getItem, lambdaContext, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let counters: string;
let outbox: string;
beforeAll(async () => {
  [counters, outbox] = await Promise.all([
    createBusinessTable(raw, 'qcounters'),
    createTestOutboxTable(raw, 'q-outbox'),
  ]);
});

const message = (body: unknown): SQSRecord =>
  ({
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:1:timers',
    awsRegion: 'us-east-1',
  }) as never;

describe('jobQueueRunner: SQS timer messages run through the jobRunner claim', () => {
  it('duplicate messages of one occurrence in concurrent invocations ⇒ the job runs once; none is lost', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'count', payload: { id }, delay: 1, key: `q-${id}` }));
    const body = await deliveryFor(doc, outbox, `q-${id}`);
    const handler = jobQueueRunner({
      jobs: defineJobs({
        count: async (p: { id: string }, { uow }) => {
          uow.update({
            TableName: counters,
            Key: { pk: p.id },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
          });
        },
      }),
      outboxTable: outbox,
      client: doc,
      logger: memoryLogger(),
      earlyToleranceMs: 5000,
    });
    const results = await Promise.all([1, 2, 3].map(() => handler({ Records: [message(body)] }, lambdaContext())));
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
    // a duplicate that found the run under a lease is reported failed (retried later), the rest acknowledged
    const failed = results.flatMap((r) => r.batchItemFailures);
    expect(failed.length).toBeLessThanOrEqual(2);
    const again = await handler({ Records: [message(body)] }, lambdaContext());
    expect(again.batchItemFailures).toEqual([]); // a later redelivery is skipped and acknowledged
    expect(await getItem(doc, counters, { pk: id })).toMatchObject({ n: 1 });
  });

  it('a message that arrives before its scheduledTime is reported failed, nothing runs', async () => {
    const id = randomUUID();
    await inUnitOfWork(doc, outbox, (uow) =>
      uow.schedule({ job: 'count', payload: { id }, delay: 600, key: `q-${id}` }),
    );
    const body = await deliveryFor(doc, outbox, `q-${id}`);
    let runs = 0;
    const handler = jobQueueRunner({
      jobs: defineJobs({
        count: () => {
          runs++;
        },
      }),
      outboxTable: outbox,
      client: doc,
      logger: memoryLogger(),
    });
    const m = message(body);
    expect(await handler({ Records: [m] }, lambdaContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: m.messageId }],
    });
    expect(runs).toBe(0);
  });
});
