import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  InvalidOperationError,
  ReadOnlyUnitOfWorkError,
  TransactionLimitError,
  unitOfWork,
  withUnitOfWork,
  type UnitOfWork,
  type UnitOfWorkContext,
} from '../../lib/index.js';
import {
  createTestUnitOfWork,
  runHandler,
  unitOfWorkMatchers,
  type MatcherContext,
  type UnitOfWorkMatchers,
} from '../../lib/testing/index.js';
import { createBusinessTable, createTestOutboxTable, localClients, recordTransactions } from '../support/ddb.js';

declare module 'expect' {
  interface Matchers<R> extends UnitOfWorkMatchers<R> {}
}
expect.extend(unitOfWorkMatchers);

const { raw, doc } = localClients();
let outbox: string;
let items: string;
beforeAll(async () => {
  [outbox, items] = await Promise.all([
    createTestOutboxTable(raw, 'testing-outbox'),
    createBusinessTable(raw, 'testing-items'),
  ]);
});

/** A client whose every call would fail: nothing a test unit of work does may reach it. */
const unreachable = new DynamoDBClient({
  endpoint: 'http://127.0.0.1:9',
  region: 'us-east-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  maxAttempts: 1,
});

function placeOrderHandler() {
  return middy<{ orderId: string; fail?: boolean }, { statusCode: number }, Error, UnitOfWorkContext>()
    .use(httpErrorHandler({ logger: false }))
    .use(
      unitOfWork({
        outboxTable: 'orders-outbox',
        client: unreachable,
        source: 'orders',
        tableKeys: { orders: ['pk'] },
      }),
    )
    .handler(async (event, { uow }) => {
      uow.put({
        TableName: 'orders',
        Item: { pk: event.orderId, status: 'PENDING' },
        ConditionExpression: 'attribute_not_exists(pk)',
        label: 'create order',
      });
      uow.publish({ type: 'OrderPlaced', subject: event.orderId, data: { orderId: event.orderId, total: 10 } });
      uow.schedule({
        job: 'expire-unpaid-order',
        payload: { orderId: event.orderId },
        delay: 900,
        key: `expire-${event.orderId}`,
      });
      if (event.fail) throw new Error('payment service down');
      return { statusCode: 201 };
    });
}

describe('lambda-unit-of-work/testing: the real unit of work, committing in memory', () => {
  it('runHandler runs a real Middy handler built with a real client; the commit never leaves the process', async () => {
    const run = await runHandler(placeOrderHandler(), { orderId: 'o-1' }, { context: { awsRequestId: 'req-9' } });
    expect(run.error).toBeUndefined();
    expect(run.result).toEqual({ statusCode: 201 });
    expect(run).toHaveCommitted();
    expect(run).toHaveWritten('orders', { pk: 'o-1' });
    expect(run).not.toHaveWritten('orders', { pk: 'o-2' });
    expect(run).toHavePublished('OrderPlaced', { orderId: 'o-1', total: expect.any(Number) });
    expect(run).not.toHavePublished('OrderPaid');
    expect(run).toHaveScheduled(
      'expire-unpaid-order',
      { orderId: 'o-1' },
      { key: 'expire-o-1', schedule: { at: expect.any(String) } },
    );
    expect(run.events[0]).toMatchObject({ correlationid: 'req-9', source: 'orders', subject: 'o-1' });
    expect(run.transactions).toHaveLength(1);
    expect(run.transactions[0]!.TransactItems).toHaveLength(3); // order, job record, outbox item: the real transaction
  });

  it('a failing handler: the error is returned, nothing committed, nothing recorded', async () => {
    const run = await runHandler(placeOrderHandler(), { orderId: 'o-3', fail: true });
    expect(run.result).toMatchObject({ statusCode: 500 }); // httpErrorHandler rendered it
    expect(run).not.toHaveCommitted();
    expect(run).not.toHavePublished('OrderPlaced');
    expect(run).not.toHaveWritten('orders');
    expect(run.transactions).toHaveLength(0);
  });

  it('createTestUnitOfWork validates every operation as the real one does', async () => {
    const t = createTestUnitOfWork({ source: 'svc', tableKeys: { items: ['pk'] } });
    expect(() => t.uow.publish({ type: 'X', data: undefined })).toThrow(InvalidOperationError);
    t.uow.put({ TableName: 'items', Item: { pk: 'a' }, label: 'first' });
    expect(() =>
      t.uow.update({
        TableName: 'items',
        Key: { pk: 'a' },
        UpdateExpression: 'SET x = :x',
        ExpressionAttributeValues: { ':x': 1 },
        label: 'second',
      }),
    ).toThrow(/second/);
    for (let i = 0; i < 98; i++) t.uow.put({ TableName: 'items', Item: { pk: `i${i}` } });
    t.uow.publish({ type: 'Last', data: null }); // 99 writes + the outbox item = 100 actions
    expect(() => t.uow.put({ TableName: 'items', Item: { pk: 'over' } })).toThrow(TransactionLimitError);
    expect(t).not.toHaveCommitted();
    expect(t).toHavePublished('Last'); // open: what it would commit
    await t.commit();
    expect(t).toHaveCommitted();
    expect(t.transactions[0]!.TransactItems).toHaveLength(100);
    expect(() => t.uow.publish({ type: 'Late', data: 1 })).toThrow(/already committed/);
    const ro = createTestUnitOfWork({ readOnly: true });
    expect(() => ro.uow.put({ TableName: 'items', Item: { pk: 'a' } })).toThrow(ReadOnlyUnitOfWorkError);
    expect(() => createTestUnitOfWork({ retentionSeconds: 1 })).toThrow(
      /createTestUnitOfWork\(options\): "retentionSeconds"/,
    );
  });

  it('records cancellations, reschedules and onCommitted callbacks as a commit does', async () => {
    const t = createTestUnitOfWork();
    let called = 0;
    t.uow.cancelJob('old-job');
    t.uow.rescheduleJob('other-job', { delay: 60 });
    t.uow.onCommitted(() => void called++);
    expect(t.jobChanges.map((c) => c.kind)).toEqual(['cancel', 'reschedule']);
    expect(called).toBe(0);
    await t.commit();
    expect(called).toBe(1);
  });

  it('failure messages say what was expected and what the unit of work has', () => {
    const t = createTestUnitOfWork();
    t.uow.publish({ type: 'A', data: { n: 1 } });
    const ctx: MatcherContext = { isNot: false, equals: (a, b) => JSON.stringify(a) === JSON.stringify(b) };
    const published = unitOfWorkMatchers.toHavePublished.call(ctx, t, 'B', { n: 2 });
    expect(published.pass).toBe(false);
    expect(published.message()).toBe(
      'expected the unit of work to have published B with data {"n":2}; it has events [{"type":"A","data":{"n":1}}]',
    );
    expect(unitOfWorkMatchers.toHaveCommitted.call(ctx, t).message()).toBe(
      'expected the unit of work to have committed; it has state "open"',
    );
    expect(() => unitOfWorkMatchers.toHaveCommitted.call(ctx, { nope: 1 })).toThrow(
      /toHaveCommitted: expected a UnitOfWork/,
    );
  });

  // What only DynamoDB checks (a Put without key attributes on a table whose keys are not declared, conditions)
  // is not simulated: with tableKeys declared, both refuse the same operations.
  it('property: the test unit of work accepts and refuses exactly what the real one does, and sends the same transaction (seeded)', async () => {
    type Op = { kind: 'put' | 'update' | 'publish' | 'schedule'; key: string; bad: boolean };
    const op = fc.record({
      kind: fc.constantFrom('put', 'update', 'publish', 'schedule'),
      key: fc.constantFrom('a', 'b', 'c'),
      bad: fc.boolean(),
    }) as fc.Arbitrary<Op>;
    const apply = (uow: UnitOfWork, run: string, ops: Op[]): string[] =>
      ops.map((o) => {
        try {
          if (o.kind === 'put')
            uow.put({ TableName: items, Item: o.bad ? { other: o.key } : { pk: `${run}-${o.key}` } });
          if (o.kind === 'update')
            uow.update({
              TableName: items,
              Key: { pk: `${run}-${o.key}` },
              UpdateExpression: o.bad ? '' : 'SET n = :n',
              ExpressionAttributeValues: { ':n': 1 },
            });
          if (o.kind === 'publish') uow.publish({ type: o.bad ? '' : `E${o.key}`, data: { k: o.key } });
          if (o.kind === 'schedule')
            uow.schedule({ job: 'j', payload: { k: o.key }, delay: o.bad ? -5 : 60, key: `${run}-job-${o.key}` });
          return 'ok';
        } catch (e) {
          return (e as Error).name;
        }
      });
    const shape = (input: any, run: string) =>
      input?.TransactItems.map((a: any) => {
        const [kind, body] = Object.entries(a)[0] as [string, any];
        const key = JSON.stringify(body.Key ?? body.Item?.pk ?? '');
        return `${kind} ${body.TableName === items ? 'items' : 'outbox'} ${key.includes('outbox#') ? 'outbox item' : key.replace(run, 'RUN')}`;
      });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const run = randomUUID();
        const t = createTestUnitOfWork({ outboxTable: outbox, tableKeys: { [items]: ['pk'] } });
        const fake = apply(t.uow, run, ops);
        const fakeCommit = await t.commit().then(
          () => 'ok',
          (e: Error) => e.name,
        );
        const record = recordTransactions(doc);
        let real: string[] = [];
        const realCommit = await withUnitOfWork((uow) => void (real = apply(uow, run, ops)), {
          outboxTable: outbox,
          client: doc,
          source: 'test',
          tableKeys: { [items]: ['pk'] },
          propagation: 'requiresNew',
        }).then(
          () => 'ok',
          (e: Error) => e.name,
        );
        expect(fake).toEqual(real);
        expect(fakeCommit).toBe(realCommit);
        expect(shape(t.transactions[0], run)).toEqual(shape(record.inputs.at(-1), run));
      }),
      { seed: 4015, numRuns: 60 },
    );
  });
});
