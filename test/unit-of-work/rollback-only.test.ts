import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  ConditionFailedError,
  ConfigurationError,
  RollbackOnlyError,
  unitOfWork,
  withUnitOfWork,
  type UnitOfWorkContext,
} from '../../lib/index.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  recordTransactions,
  scanAll,
} from '../support/ddb.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'rbo'), createTestOutboxTable(raw)]);
});

const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;
const wrap = (fn: (event: any, context: UnitOfWorkContext) => Promise<unknown>) =>
  middy<any, any, Error, UnitOfWorkContext>()
    .use(httpErrorHandler({ logger: false }))
    .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'rbo-test', logger: silent }))
    .handler(fn);

/** A service that reserves stock in the caller's unit of work, then fails half-way. */
async function reserveStock(id: string, fail: boolean): Promise<void> {
  await withUnitOfWork(async (uow) => {
    uow.put({ TableName: orders, Item: { pk: `${id}-stock` }, label: 'reserve stock' });
    await new Promise((r) => setTimeout(r, 1));
    if (fail) throw new Error('out of stock');
    uow.publish({ type: 'StockReserved', data: { id } });
  });
}

describe('rollback-only: a joined scope that fails poisons its unit of work', () => {
  it('a handler that catches the scope error and answers normally commits nothing: 500, RollbackOnlyError with the cause', async () => {
    const id = uid('order');
    const rec = recordTransactions(doc);
    const start = rec.inputs.length;
    const response = await wrap(async (_e, { uow }) => {
      uow.put({ TableName: orders, Item: { pk: id }, label: 'create order' });
      try {
        await reserveStock(id, true);
      } catch {
        return { statusCode: 409, body: 'no stock' };
      }
      return { statusCode: 201 };
    })({}, lambdaContext());
    expect(response.statusCode).toBe(500);
    expect(rec.inputs.length - start).toBe(0);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
    expect(await getItem(doc, orders, { pk: `${id}-stock` })).toBeUndefined();
  });

  it('withUnitOfWork owning the unit throws RollbackOnlyError whose cause is the scope error', async () => {
    const id = uid('own');
    const failure = new ConditionFailedError({ label: 'inner', table: orders, index: 0 });
    const error = await withUnitOfWork(
      async (uow) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        await withUnitOfWork(
          async () => {
            throw failure;
          },
          { propagation: 'mandatory' },
        ).catch(() => undefined);
        return 'returned normally';
      },
      { outboxTable: outbox, client: doc, logger: silent },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(RollbackOnlyError);
    expect(error.cause).toBe(failure);
    expect(error.commitId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('requiresNew keeps its own outcome: a failed inner requiresNew does not poison the outer, a committed one survives the outer failing', async () => {
    const [outer, audit] = [uid('outer'), uid('audit')];
    await withUnitOfWork(
      async (uow) => {
        uow.put({ TableName: orders, Item: { pk: outer } });
        await withUnitOfWork(
          async () => {
            throw new Error('inner fails alone');
          },
          { propagation: 'requiresNew' },
        ).catch(() => undefined);
        expect(uow.rollbackOnly).toBe(false);
      },
      { outboxTable: outbox, client: doc, logger: silent },
    );
    expect(await getItem(doc, orders, { pk: outer })).toBeDefined();

    const outer2 = uid('outer');
    const error = await withUnitOfWork(
      async (uow) => {
        uow.put({ TableName: orders, Item: { pk: outer2 } });
        await withUnitOfWork(async (own) => own.put({ TableName: orders, Item: { pk: audit } }), {
          propagation: 'requiresNew',
        });
        await withUnitOfWork(async () => {
          throw new Error('joined fails');
        }).catch(() => undefined);
      },
      { outboxTable: outbox, client: doc, logger: silent },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(RollbackOnlyError);
    expect(await getItem(doc, orders, { pk: audit })).toBeDefined();
    expect(await getItem(doc, orders, { pk: outer2 })).toBeUndefined();
  });

  it('property: a unit of work commits everything iff no joined scope threw, whatever the nesting (seeded)', async () => {
    type Scope = { fail: boolean; caught: boolean; requiresNew: boolean; children: Scope[] };
    const scope: fc.Memo<Scope> = fc.memo((depth) =>
      fc.record({
        fail: fc.boolean(),
        caught: fc.constant(true),
        requiresNew: fc.boolean(),
        children: depth > 1 ? fc.array(scope(depth - 1), { maxLength: 2 }) : fc.constant([]),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(scope(3), { minLength: 1, maxLength: 3 }), async (scopes) => {
        const run = uid('prop');
        let n = 0;
        // What must commit: a unit's writes commit iff none of its joined descendants (not across requiresNew) failed.
        const expected = new Map<string, boolean>();
        const poisons = (s: Scope): boolean => s.fail || s.children.some((c) => !c.requiresNew && poisons(c));
        const exec = async (s: Scope, unitKeys: string[]): Promise<void> => {
          const opts = s.requiresNew ? { propagation: 'requiresNew' as const } : {};
          const ownKeys: string[] = s.requiresNew ? [] : unitKeys;
          const promise = withUnitOfWork(async (uow) => {
            const key = `${run}-${n++}`;
            uow.put({ TableName: orders, Item: { pk: key } });
            ownKeys.push(key);
            for (const c of s.children) await exec(c, ownKeys);
            if (s.fail) throw new Error('scope fails');
          }, opts).catch(() => undefined);
          await promise;
          if (s.requiresNew) for (const k of ownKeys) expected.set(k, !poisons(s));
        };
        const rootKeys: string[] = [];
        const root: Scope = { fail: false, caught: false, requiresNew: false, children: scopes };
        await withUnitOfWork(
          async (uow) => {
            uow.put({ TableName: orders, Item: { pk: `${run}-root` } });
            rootKeys.push(`${run}-root`);
            for (const c of scopes) await exec(c, rootKeys);
          },
          { outboxTable: outbox, client: doc, logger: silent },
        ).catch((e) => {
          if (!(e instanceof RollbackOnlyError)) throw e;
        });
        for (const k of rootKeys) expected.set(k, !poisons(root));
        const items = (await scanAll(doc, orders)).map((i) => i.pk as string).filter((pk) => pk.startsWith(`${run}-`));
        const committed = new Set(items);
        for (const [k, yes] of expected) expect([k, committed.has(k)]).toEqual([k, yes]);
      }),
      { numRuns: 25, seed: 10_001 },
    );
  });
});

describe('a joining scope refuses options that contradict the unit of work it joins', () => {
  it.each([
    [
      'readOnly: true into a writable unit',
      { readOnly: true },
      '"readOnly" (true) contradicts the unit of work it joins (writable)',
    ],
    ['another outboxTable', { outboxTable: 'another-outbox' }, '"outboxTable" (another-outbox)'],
    ['another client', { client: new DynamoDBClient({ region: 'us-east-1' }) }, '"client" differs'],
    ['another retentionSeconds', { retentionSeconds: 120 }, '"retentionSeconds" (120)'],
    ['a clientRequestToken', { clientRequestToken: 'tok' }, '"clientRequestToken" has no effect'],
    ['contradicting tableKeys', { tableKeys: { [`t`]: ['id'] } }, '"tableKeys.t" (id) contradicts'],
  ])('%s: ConfigurationError at the call, nothing buffered by it', async (_name, options, message) => {
    const error = await withUnitOfWork(
      async () => {
        await withUnitOfWork(
          async (uow) => uow.put({ TableName: orders, Item: { pk: uid('never') } }),
          options as never,
        );
      },
      { outboxTable: outbox, client: doc, logger: silent, tableKeys: { t: ['pk'] } },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(message);
  });

  it('the same values, and tableKeys of new tables, are accepted (the latter are declared on the joined unit)', async () => {
    const id = uid('same');
    await withUnitOfWork(
      async (outer) => {
        await withUnitOfWork(
          async (uow) => {
            expect(uow).toBe(outer);
            uow.put({ TableName: orders, Item: { pk: id } });
            expect(() =>
              uow.update({
                TableName: orders,
                Key: { pk: id },
                UpdateExpression: 'SET a = :a',
                ExpressionAttributeValues: { ':a': 1 },
              }),
            ).toThrow(/same item|already/);
          },
          { outboxTable: outbox, client: doc, readOnly: false, tableKeys: { [orders]: ['pk'] } },
        );
      },
      { outboxTable: outbox, client: doc, logger: silent },
    );
  });
});
