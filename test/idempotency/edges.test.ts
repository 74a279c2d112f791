import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { RequiresNewRefusedError, unitOfWork, withUnitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { defineJobs, jobRunner, type JobContext } from '../../lib/jobs/index.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  scanAll,
} from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';

const { raw, doc } = localClients();
let orders: string;
let audit: string;
let outbox: string;
let otherRecords: string;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  [orders, audit, outbox, otherRecords] = await Promise.all([
    createBusinessTable(raw, 'idem-orders'),
    createBusinessTable(raw, 'idem-audit'),
    createTestOutboxTable(raw),
    createTestOutboxTable(raw, 'records'),
  ]);
});

const auditEntries = async (id: string): Promise<unknown[]> =>
  (await scanAll(doc, audit)).filter((i) => String(i.pk).startsWith(id));

describe('the idempotency ClientRequestToken identifies the record, table included', () => {
  it('the same key against another records table, within 10 minutes, commits (no false "expired and deleted")', async () => {
    const key = uid('key');
    const handlerWith = (table: string | undefined, id: string) =>
      middy<any, any, Error, UnitOfWorkContext>()
        .use(
          unitOfWork({
            outboxTable: outbox,
            client: doc,
            logger: silent,
            idempotency: { key: (e) => e.key, ...(table ? { table } : {}) },
          }),
        )
        .handler(async (_e, { uow }) => {
          uow.put({ TableName: orders, Item: { pk: id } });
          return id;
        });
    const [a, b] = [uid('a'), uid('b')];
    expect(await handlerWith(undefined, a)({ key }, lambdaContext())).toBe(a);
    expect(await handlerWith(otherRecords, b)({ key }, lambdaContext())).toBe(b);
    expect(await getItem(doc, orders, { pk: b })).toBeDefined();
  });
});

describe('requiresNew inside an exactly-once unit of work', () => {
  const idempotent = (id: string, inner: Record<string, unknown>) =>
    middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent, idempotency: { key: (e) => e.key } }))
      .handler(async (_e, { uow }) => {
        uow.update({
          TableName: orders,
          Key: { pk: id },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
        });
        await withUnitOfWork(async (own) => own.put({ TableName: audit, Item: { pk: `${id}-${randomUUID()}` } }), {
          propagation: 'requiresNew',
          ...inner,
        });
        return { statusCode: 201 };
      });

  it('is refused by default with RequiresNewRefusedError: three concurrent duplicates write no audit entry and nothing else', async () => {
    const [id, key] = [uid('refused'), uid('key')];
    const results = await Promise.allSettled(
      [0, 1, 2].map(() => idempotent(id, {})({ key, body: '{}' }, lambdaContext())),
    );
    for (const r of results)
      expect(r).toMatchObject({ status: 'rejected', reason: expect.any(RequiresNewRefusedError) });
    expect(await auditEntries(id)).toHaveLength(0);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('with commitsOnEveryAttempt: true, one commit per attempt that ran (documented); the exactly-once part still once', async () => {
    const [id, key] = [uid('optin'), uid('key')];
    const results = await Promise.all(
      [0, 1, 2].map(() => idempotent(id, { commitsOnEveryAttempt: true })({ key, body: '{}' }, lambdaContext())),
    );
    for (const r of results) expect(r).toEqual({ statusCode: 201 });
    expect(await getItem(doc, orders, { pk: id })).toMatchObject({ n: 1 });
    const entries = (await auditEntries(id)).length;
    expect(entries).toBeGreaterThanOrEqual(1);
    expect(entries).toBeLessThanOrEqual(3);
  });

  it('without idempotency, requiresNew is allowed as before', async () => {
    const id = uid('plain');
    await middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent }))
      .handler(async () =>
        withUnitOfWork(async (own) => own.put({ TableName: audit, Item: { pk: `${id}-1` } }), {
          propagation: 'requiresNew',
        }),
      )({}, lambdaContext());
    expect(await auditEntries(id)).toHaveLength(1);
  });

  it('is refused in a job run too: concurrent duplicate deliveries write no audit entry; the run fails naming the error', async () => {
    const id = uid('job');
    const key = `audit-${id}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'audited', payload: { id }, delay: 60, key }));
    const handler = jobRunner({
      jobs: defineJobs({
        audited: async (p: { id: string }, { uow }: JobContext) => {
          uow.update({
            TableName: orders,
            Key: { pk: p.id },
            UpdateExpression: 'ADD n :one',
            ExpressionAttributeValues: { ':one': 1 },
          });
          await withUnitOfWork(async (own) => own.put({ TableName: audit, Item: { pk: `${p.id}-${randomUUID()}` } }), {
            propagation: 'requiresNew',
          });
        },
      }),
      outboxTable: outbox,
      client: doc,
      source: 'idem-test',
      logger: memoryLogger(),
    });
    const delivery = await deliveryFor(doc, outbox, key);
    const results = await Promise.allSettled([0, 1, 2].map(() => handler({ ...delivery, executionId: randomUUID() })));
    expect(results.some((r) => r.status === 'fulfilled' && (r.value as { outcome: string }).outcome === 'failed')).toBe(
      true,
    );
    expect(await auditEntries(id)).toHaveLength(0);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
    expect(await jobRecord(doc, outbox, key)).toMatchObject({ lastError: { name: 'RequiresNewRefusedError' } });
  });
});
