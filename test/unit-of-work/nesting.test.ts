import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import { ExecuteStatementCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import {
  EscapedWriteError,
  InvalidOperationError,
  NoUnitOfWorkError,
  ReadOnlyUnitOfWorkError,
  currentUnitOfWork,
  guardClient,
  unitOfWork,
  withUnitOfWork,
  type UnitOfWork,
  type UnitOfWorkContext,
} from '../../lib/index.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  recordTransactions,
} from '../support/ddb.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'nest'), createTestOutboxTable(raw)]);
});

const wrap = (fn: (event: any, context: UnitOfWorkContext) => Promise<unknown>, opts: Record<string, unknown> = {}) =>
  middy<any, any, Error, UnitOfWorkContext>()
    .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'nest-test', ...opts }))
    .handler(fn);

const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;

/** A service that knows nothing about the handler: it finds the unit of work ambiently. */
async function saveAudit(id: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 1));
  currentUnitOfWork().put({ TableName: orders, Item: { pk: id, kind: 'audit' }, label: `audit ${id}` });
}

describe('propagation', () => {
  it('required joins the invocation: a nested service writes into the same single transaction', async () => {
    const rec = recordTransactions(doc);
    const start = rec.inputs.length;
    const [a, b] = [uid('req'), uid('req')];
    await wrap(async (_e, { uow }) => {
      uow.put({ TableName: orders, Item: { pk: a } });
      await withUnitOfWork(async (inner) => {
        expect(inner).toBe(uow);
        await saveAudit(b);
      });
    })({}, lambdaContext());
    expect(rec.inputs.length - start).toBe(1);
    expect(rec.inputs.at(-1).TransactItems.map((i: any) => i.Put.Item.pk)).toEqual([a, b]);
  });

  it('requiresNew commits on its own and survives the failure of the outer unit of work', async () => {
    const [outer, inner] = [uid('outer'), uid('inner')];
    const failure = new Error('outer fails later');
    await expect(
      wrap(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: outer } });
        await withUnitOfWork(
          async (own) => {
            expect(own).not.toBe(uow);
            await saveAudit(inner);
          },
          { propagation: 'requiresNew' },
        );
        expect(currentUnitOfWork()).toBe(uow);
        throw failure;
      })({}, lambdaContext()),
    ).rejects.toBe(failure);
    expect(await getItem(doc, orders, { pk: inner })).toMatchObject({ kind: 'audit' });
    expect(await getItem(doc, orders, { pk: outer })).toBeUndefined();
  });

  it('operations of sibling scopes never mix, even interleaved', async () => {
    const rec = recordTransactions(doc);
    const start = rec.inputs.length;
    const ids = [uid('sib'), uid('sib'), uid('sib')];
    const seen: UnitOfWork[] = [];
    await wrap(async () => {
      await Promise.all(
        ids.map((id, n) =>
          withUnitOfWork(
            async (uow) => {
              seen.push(uow);
              await new Promise((r) => setTimeout(r, 5 * (3 - n)));
              await saveAudit(`${id}-a`);
              await new Promise((r) => setTimeout(r, 3 * n));
              currentUnitOfWork().publish({ type: `Sibling${n}`, data: { id } });
            },
            { propagation: 'requiresNew' },
          ),
        ),
      );
    })({}, lambdaContext());
    expect(new Set(seen).size).toBe(3);
    const sent = rec.inputs.slice(start);
    expect(sent).toHaveLength(3);
    for (const tx of sent) {
      const writes = tx.TransactItems.filter((i: any) => i.Put.TableName === orders).map((i: any) => i.Put.Item.pk);
      expect(writes).toHaveLength(1);
      const n = ids.findIndex((id) => writes[0] === `${id}-a`);
      const messages = JSON.parse(tx.TransactItems.find((i: any) => i.Put.TableName === outbox).Put.Item.messages);
      expect(messages.map((m: any) => m.event.type)).toEqual([`Sibling${n}`]);
    }
  });

  it('mandatory throws NoUnitOfWorkError without one and joins when there is one', async () => {
    await expect(withUnitOfWork(async () => 1, { propagation: 'mandatory' })).rejects.toBeInstanceOf(NoUnitOfWorkError);
    await wrap(async (_e, { uow }) => {
      await withUnitOfWork(async (joined) => expect(joined).toBe(uow), { propagation: 'mandatory' });
    })({}, lambdaContext());
  });

  it('withUnitOfWork outside any handler opens, commits and returns', async () => {
    const id = uid('standalone');
    const result = await withUnitOfWork(
      async (uow) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        return 42;
      },
      { outboxTable: outbox, client: doc },
    );
    expect(result).toBe(42);
    expect(await getItem(doc, orders, { pk: id })).toBeDefined();
  });

  it('has no ambient unit of work outside, nor after the invocation ended', async () => {
    expect(() => currentUnitOfWork()).toThrow(NoUnitOfWorkError);
    let late: Promise<unknown> | undefined;
    let captured: UnitOfWork | undefined;
    await wrap(async (_e, { uow }) => {
      captured = uow;
      late = new Promise((resolve) =>
        setTimeout(
          () =>
            resolve(
              Promise.resolve()
                .then(() => currentUnitOfWork())
                .catch((e) => e),
            ),
          30,
        ),
      );
    })({}, lambdaContext());
    expect(await late).toBeInstanceOf(NoUnitOfWorkError);
    expect(() => captured!.put({ TableName: orders, Item: { pk: 'late' } })).toThrow(InvalidOperationError);
    expect(() => currentUnitOfWork()).toThrow(NoUnitOfWorkError);
  });
});

describe('the ambient unit of work never leaks into the caller', () => {
  it('a wrapped handler called inside another unit of work leaves the caller its own', async () => {
    const [outerId, innerId] = [uid('caller'), uid('callee')];
    const inner = wrap(async (_e, { uow }) => {
      expect(currentUnitOfWork()).toBe(uow);
      uow.put({ TableName: orders, Item: { pk: innerId } });
    });
    await withUnitOfWork(
      async (outer) => {
        outer.put({ TableName: orders, Item: { pk: outerId } });
        await inner({}, lambdaContext());
        expect(currentUnitOfWork()).toBe(outer);
        await saveAudit(`${outerId}-after`);
      },
      { outboxTable: outbox, client: doc },
    );
    expect(await getItem(doc, orders, { pk: innerId })).toBeDefined();
    expect(await getItem(doc, orders, { pk: outerId })).toBeDefined();
    expect(await getItem(doc, orders, { pk: `${outerId}-after` })).toMatchObject({ kind: 'audit' });
  });

  it('a unit of work left open by a later middleware answering early does not reach the caller', async () => {
    const earlyAnswer = { before: async () => 'from cache' };
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'nest-test' }))
      .use(earlyAnswer)
      .handler(async () => 'from handler');
    expect(await handler({}, lambdaContext())).toBe('from cache');
    expect(() => currentUnitOfWork()).toThrow(NoUnitOfWorkError);
    const id = uid('after-early');
    await withUnitOfWork(async (uow) => uow.put({ TableName: orders, Item: { pk: id } }), {
      outboxTable: outbox,
      client: doc,
    });
    expect(await getItem(doc, orders, { pk: id })).toBeDefined();
  });
});

describe('onCommitted', () => {
  it('runs once, in order, after the commit succeeded; a failing callback does not fail the invocation', async () => {
    const id = uid('cb');
    const calls: string[] = [];
    const warnings: unknown[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn: (...args: unknown[]) => warnings.push(args) };
    const result = await wrap(
      async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        uow.onCommitted(async () => {
          calls.push(`first:${(await getItem(doc, orders, { pk: id })) ? 'visible' : 'missing'}`);
        });
        uow.onCommitted(() => {
          calls.push('second');
          throw new Error('callback broke');
        });
        uow.onCommitted(() => calls.push('third'));
        return 'done';
      },
      { logger },
    )({}, lambdaContext());
    expect(result).toBe('done');
    expect(calls).toEqual(['first:visible', 'second', 'third']);
    expect(warnings).toHaveLength(1);
  });

  it('never runs when the commit fails or the handler throws', async () => {
    const calls: string[] = [];
    const taken = uid('taken');
    await doc.send(new PutCommand({ TableName: orders, Item: { pk: taken } }));
    await expect(
      wrap(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: taken }, ConditionExpression: 'attribute_not_exists(pk)' });
        uow.onCommitted(() => calls.push('after failed commit'));
      })({}, lambdaContext()),
    ).rejects.toThrow(/Condition failed/);
    await expect(
      wrap(async (_e, { uow }) => {
        uow.onCommitted(() => calls.push('after throw'));
        throw new Error('handler');
      })({}, lambdaContext()),
    ).rejects.toThrow('handler');
    expect(calls).toEqual([]);
  });

  it('a callback of a joined scope waits for the outermost commit', async () => {
    const id = uid('joined');
    const calls: string[] = [];
    await wrap(async (_e, { uow }) => {
      await withUnitOfWork(async (inner) => {
        inner.put({ TableName: orders, Item: { pk: id } });
        inner.onCommitted(() => calls.push('inner'));
      });
      calls.push('inner scope returned');
      expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
      uow.onCommitted(() => calls.push('outer'));
    })({}, lambdaContext());
    expect(calls).toEqual(['inner scope returned', 'inner', 'outer']);
  });
});

describe('readOnly', () => {
  it('refuses every write, event and job, and sends nothing', async () => {
    const rec = recordTransactions(doc);
    const start = rec.inputs.length;
    const errors: unknown[] = [];
    const result = await wrap(
      async (_e, { uow }) => {
        const attempts: (() => unknown)[] = [
          () => uow.put({ TableName: orders, Item: { pk: 'x' } }),
          () =>
            uow.update({
              TableName: orders,
              Key: { pk: 'x' },
              UpdateExpression: 'SET a = :a',
              ExpressionAttributeValues: { ':a': 1 },
            }),
          () => uow.delete({ TableName: orders, Key: { pk: 'x' } }),
          () =>
            uow.conditionCheck({ TableName: orders, Key: { pk: 'x' }, ConditionExpression: 'attribute_exists(pk)' }),
          () => uow.publish({ type: 'T', data: null }),
          () => uow.schedule({ job: 'j', payload: null, delay: 5 }),
          () => uow.cancelJob('k'),
          () => uow.rescheduleJob('k', { delay: 5 }),
        ];
        for (const attempt of attempts) {
          try {
            attempt();
          } catch (e) {
            errors.push(e);
          }
        }
        return (await doc.send(new GetCommand({ TableName: orders, Key: { pk: 'nothing' } }))).Item ?? 'read ok';
      },
      { readOnly: true },
    )({}, lambdaContext());
    expect(result).toBe('read ok');
    expect(errors).toHaveLength(8);
    for (const e of errors) expect(e).toBeInstanceOf(ReadOnlyUnitOfWorkError);
    expect(rec.inputs.length).toBe(start);
  });
});

describe('guardClient', () => {
  it('refuses direct writes inside a unit of work, lets reads, outside writes and the commit itself through', async () => {
    const guarded = guardClient(localClients().doc);
    const [inside, outside, committed] = [uid('g'), uid('g'), uid('g')];
    const errors: unknown[] = [];
    await wrap(
      async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: committed } });
        await guarded.send(new PutCommand({ TableName: orders, Item: { pk: inside } })).catch((e) => errors.push(e));
        await guarded
          .send(new ExecuteStatementCommand({ Statement: `INSERT INTO "${orders}" VALUE {'pk': '${inside}'}` }))
          .catch((e) => errors.push(e));
        await guarded.send(new GetItemCommand({ TableName: orders, Key: { pk: { S: committed } } }));
        await guarded.send(
          new ExecuteStatementCommand({ Statement: `SELECT * FROM "${orders}" WHERE pk = '${committed}'` }),
        );
      },
      { client: guarded },
    )({}, lambdaContext());
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(EscapedWriteError);
    expect((errors[0] as EscapedWriteError).message).toMatch(
      /Put(Item)?Command on nest-.*buffer it on the unit of work/,
    );
    expect((errors[1] as EscapedWriteError).command).toBe('ExecuteStatementCommand');
    expect(await getItem(doc, orders, { pk: inside })).toBeUndefined();
    expect(await getItem(doc, orders, { pk: committed })).toBeDefined();
    await guarded.send(new PutCommand({ TableName: orders, Item: { pk: outside } }));
    expect(await getItem(doc, orders, { pk: outside })).toBeDefined();
  });
});
