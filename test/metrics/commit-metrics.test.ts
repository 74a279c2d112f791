import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import { unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { METRICS } from '../../lib/metrics/names.js';
import { createBusinessTable, createTestOutboxTable, lambdaContext, localClients } from '../support/ddb.js';
import { emfLines } from '../support/emf.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'metrics'), createTestOutboxTable(raw)]);
});

const handler = (metrics?: { namespace?: string; service?: string } | false, idempotent = false) =>
  middy<any, any, Error, UnitOfWorkContext>()
    .use(
      unitOfWork({
        outboxTable: outbox,
        client: doc,
        source: 'metrics',
        ...(metrics !== undefined ? { metrics } : {}),
        ...(idempotent ? { idempotency: { key: (e: { key: string }) => e.key } } : {}),
      }),
    )
    .handler(async (_e, { uow }) => {
      uow.put({ TableName: orders, Item: { pk: `a-${uow.id}` } });
      uow.publish({ type: 'OrderPlaced', data: {} });
      uow.schedule({ job: 'expire', payload: {}, delay: 900, key: `expire-${uow.id}` });
      return 'ok';
    });

describe('commit metrics (EMF on stdout)', () => {
  it('emits the declared commit metrics with namespace and exactly the declared dimensions', async () => {
    let result: unknown;
    const docs = await emfLines(async () => {
      result = await handler({ namespace: 'Test/Uow', service: 'orders' })({}, lambdaContext('req-m-1'));
    });
    expect(result).toBe('ok');
    expect(docs).toHaveLength(1);
    const emf = docs[0];
    const directive = emf._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe('Test/Uow');
    expect(directive.Dimensions).toEqual([[...METRICS.commitsCommitted.dimensions]]);
    expect(emf.service).toBe('orders');
    const units = Object.fromEntries(directive.Metrics.map((m: any) => [m.Name, m.Unit]));
    expect(units[METRICS.commitsCommitted.name]).toBe('Count');
    expect(emf[METRICS.commitsCommitted.name]).toBe(1);
    expect(emf[METRICS.commitActions.name]).toBe(3); // put + outbox item + job record
    expect(emf[METRICS.commitEvents.name]).toBe(1);
    expect(emf[METRICS.commitJobs.name]).toBe(1);
    expect(emf[METRICS.commitAttempts.name]).toBe(1);
    expect(emf[METRICS.commitConflictsRetried.name]).toBe(0);
  });

  it('counts an idempotent commit (its idempotency record is one more action); a replay commits nothing', async () => {
    const idempotent = handler({ namespace: 'Test/Uow', service: 'orders' }, true);
    const event = { key: `idem-${Math.random()}` };
    const first = await emfLines(async () => expect(await idempotent(event, lambdaContext('req-i-1'))).toBe('ok'));
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      service: 'orders',
      [METRICS.commitsCommitted.name]: 1,
      [METRICS.commitActions.name]: 4, // put + outbox item + job record + idempotency record
      [METRICS.commitEvents.name]: 1,
      [METRICS.commitJobs.name]: 1,
      [METRICS.commitAttempts.name]: 1,
    });
    const replay = await emfLines(async () => expect(await idempotent(event, lambdaContext('req-i-2'))).toBe('ok'));
    expect(replay).toEqual([]);
  });

  it('counts a commit that fails (idempotent or not) as CommitsFailed with its attempts only', async () => {
    for (const idempotent of [false, true]) {
      const failing = middy<any, any, Error, UnitOfWorkContext>()
        .use(
          unitOfWork({
            outboxTable: outbox,
            client: doc,
            metrics: { service: 'orders' },
            ...(idempotent ? { idempotency: { key: (e: { key: string }) => e.key } } : {}),
          }),
        )
        .handler(async (_e, { uow }) => {
          uow.put({ TableName: orders, Item: { pk: 'x' }, ConditionExpression: 'attribute_exists(nope)' });
          return 'ok';
        });
      const docs = await emfLines(() =>
        expect(failing({ key: `fail-${Math.random()}` }, lambdaContext())).rejects.toThrow(),
      );
      expect(docs).toHaveLength(1);
      expect(docs[0]).toMatchObject({ [METRICS.commitsFailed.name]: 1, [METRICS.commitAttempts.name]: 1 });
      expect(docs[0]![METRICS.commitsCommitted.name]).toBeUndefined();
      expect(docs[0]![METRICS.commitActions.name]).toBeUndefined();
    }
  });

  it('emits nothing by default, nor with metrics: false', async () => {
    expect(await emfLines(() => handler()({}, lambdaContext('req-m-2')))).toEqual([]);
    expect(await emfLines(() => handler(false)({}, lambdaContext('req-m-3')))).toEqual([]);
  });

  it('rejects a bad metrics option naming it', () => {
    expect(() => unitOfWork({ outboxTable: 'outbox', metrics: { nameSpace: 'x' } as never })).toThrow(
      /"metrics" option/,
    );
  });
});
