import { describe, it, expect, beforeAll } from '@jest/globals';
import { Entity as ElectroEntity } from 'electrodb';
import {
  $add,
  Entity as ToolboxEntity,
  PutItemCommand,
  PutTransaction,
  Table,
  UpdateItemCommand,
  UpdateTransaction,
  item,
  number,
  string,
} from 'dynamodb-toolbox';
import { ConditionFailedError, InvalidOperationError, withUnitOfWork } from '../../lib/index.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  localClients,
  recordTransactions,
  scanAll,
} from '../support/ddb.js';

/**
 * The params ElectroDB 3.9 and dynamodb-toolbox 2.10 build are buffered as they are and commit in the unit
 * of work's one TransactWriteItems, on DynamoDB Local; their failing conditions name the operation.
 */

const { raw, doc } = localClients();
const sent = recordTransactions(doc);
let shop: string;
let outbox: string;

/** ElectroDB: orders keyed `$shop#orderid_<id>` / `$order_1`. */
let Order: ElectroEntity<string, string, string, any>;
/** dynamodb-toolbox: stock keyed `stock#<sku>` / `stock`. */
let Stock: ToolboxEntity<any, any, any>;

beforeAll(async () => {
  [shop, outbox] = await Promise.all([createBusinessTable(raw, 'libs', ['pk', 'sk']), createTestOutboxTable(raw)]);
  Order = new ElectroEntity(
    {
      model: { entity: 'order', version: '1', service: 'shop' },
      attributes: {
        orderId: { type: 'string', required: true },
        status: { type: 'string' },
        total: { type: 'number' },
      },
      indexes: { primary: { pk: { field: 'pk', composite: ['orderId'] }, sk: { field: 'sk', composite: [] } } },
    },
    { table: shop },
  ) as never;
  const table = new Table({
    name: shop,
    partitionKey: { name: 'pk', type: 'string' },
    sortKey: { name: 'sk', type: 'string' },
    documentClient: doc,
  });
  Stock = new ToolboxEntity({
    name: 'Stock',
    schema: item({ sku: string().key(), qty: number() }),
    table,
    computeKey: ({ sku }: { sku: string }) => ({ pk: `stock#${sku}`, sk: 'stock' }),
  }) as never;
});

const options = () => ({ outboxTable: outbox, client: doc, source: 'libraries-test' });
const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;
const stockKey = (sku: string) => ({ pk: `stock#${sku}`, sk: 'stock' });
const orderKey = (orderId: string) => ({ pk: `$shop#orderid_${orderId}`, sk: '$order_1' });

describe('ElectroDB and dynamodb-toolbox params in one unit of work', () => {
  it('ElectroDB create/update().where() and toolbox PutTransaction/UpdateTransaction commit in one TransactWriteItems', async () => {
    const orderId = uid('o');
    const sku = uid('s');
    await withUnitOfWork(async (uow) => {
      uow.put({ ...Order.create({ orderId, status: 'new', total: 3 }).params(), label: 'create order' });
      uow.put({
        ...Stock.build(PutTransaction)
          .item({ sku, qty: 5 })
          .options({ condition: { attr: 'qty', exists: false } })
          .params().Put,
        label: 'stock in',
      });
    }, options());
    const before = sent.inputs.length;
    await withUnitOfWork(async (uow) => {
      uow.update({
        ...Order.update({ orderId })
          .set({ status: 'paid' })
          .where(({ status }: any, { eq }: any) => eq(status, 'new'))
          .params(),
        label: 'pay order',
      });
      uow.update({
        ...Stock.build(UpdateTransaction)
          .item({ sku, qty: $add(-1) })
          .options({ condition: { attr: 'qty', gte: 1 } })
          .params().Update,
        label: 'reserve stock',
      });
      uow.publish({ type: 'OrderPaid', data: { orderId } });
    }, options());
    expect(sent.inputs.length).toBe(before + 1);
    expect(sent.inputs.at(-1).TransactItems).toHaveLength(3); // two updates and the outbox item
    expect(await getItem(doc, shop, orderKey(orderId))).toMatchObject({ orderId, status: 'paid', total: 3 });
    expect(await getItem(doc, shop, stockKey(sku))).toMatchObject({ sku, qty: 4 });
  });

  it('a failing ElectroDB where() names its operation; nothing of the unit of work is written', async () => {
    const orderId = uid('o');
    const sku = uid('s');
    await withUnitOfWork(
      async (uow) =>
        uow.put({ ...Order.create({ orderId, status: 'shipped', total: 1 }).params(), label: 'create order' }),
      options(),
    );
    const failing = withUnitOfWork(async (uow) => {
      uow.put({ ...Stock.build(PutTransaction).item({ sku, qty: 9 }).params().Put, label: 'stock in' });
      uow.update({
        ...Order.update({ orderId })
          .set({ status: 'paid' })
          .where(({ status }: any, { eq }: any) => eq(status, 'new'))
          .params(),
        label: 'pay order',
      });
    }, options());
    await expect(failing).rejects.toBeInstanceOf(ConditionFailedError);
    await expect(failing).rejects.toMatchObject({
      label: 'pay order',
      table: shop,
      key: orderKey(orderId),
      item: expect.objectContaining({ status: 'shipped' }),
    });
    expect(await getItem(doc, shop, stockKey(sku))).toBeUndefined();
  });

  it('a failing toolbox UpdateTransaction condition names its operation', async () => {
    const sku = uid('s');
    await withUnitOfWork(
      async (uow) => uow.put({ ...Stock.build(PutTransaction).item({ sku, qty: 0 }).params().Put, label: 'stock in' }),
      options(),
    );
    const failing = withUnitOfWork(async (uow) => {
      uow.update({
        ...Stock.build(UpdateTransaction)
          .item({ sku, qty: $add(-1) })
          .options({ condition: { attr: 'qty', gte: 1 } })
          .params().Update,
        label: 'reserve stock',
      });
      uow.publish({ type: 'StockReserved', data: { sku } });
    }, options());
    await expect(failing).rejects.toMatchObject({
      name: 'ConditionFailedError',
      label: 'reserve stock',
      key: stockKey(sku),
    });
    expect(await getItem(doc, shop, stockKey(sku))).toMatchObject({ qty: 0 });
    const events = (await scanAll(doc, outbox)).filter((o) => String(o.messages).includes(sku));
    expect(events).toEqual([]);
  });

  it('a duplicate ElectroDB create names the item key from its condition, with no tableKeys configured', async () => {
    const orderId = uid('o');
    const create = () =>
      withUnitOfWork(
        async (uow) => uow.put({ ...Order.create({ orderId, total: 1 }).params(), label: 'create order' }),
        options(),
      );
    await create();
    await expect(create()).rejects.toMatchObject({
      name: 'ConditionFailedError',
      label: 'create order',
      table: shop,
      key: orderKey(orderId),
    });
  });
});

describe('library-specific keys', () => {
  it('accepts toolbox PutItemCommand(...).params() as it is: ToolboxItem is dropped, the Item commits', async () => {
    const sku = uid('s');
    const params = Stock.build(PutItemCommand).item({ sku, qty: 2 }).params();
    expect(params).toHaveProperty('ToolboxItem');
    await withUnitOfWork(async (uow) => uow.put(params as never), options());
    expect(await getItem(doc, shop, stockKey(sku))).toEqual(params.Item);
  });

  it('accepts toolbox UpdateItemCommand(...).params() as it is', async () => {
    const sku = uid('s');
    await withUnitOfWork(
      async (uow) => uow.put({ ...Stock.build(PutTransaction).item({ sku, qty: 2 }).params().Put, label: 'stock in' }),
      options(),
    );
    const params = Stock.build(UpdateItemCommand)
      .item({ sku, qty: $add(3) })
      .params();
    await withUnitOfWork(async (uow) => uow.update({ ...params, label: 'restock' } as never), options());
    expect(await getItem(doc, shop, stockKey(sku))).toMatchObject({ qty: 5 });
  });

  it('refuses request fields a transaction cannot take, naming them (e.g. toolbox returnValues)', async () => {
    const params = Stock.build(PutItemCommand)
      .item({ sku: uid('s'), qty: 2 })
      .options({ returnValues: 'ALL_OLD' })
      .params();
    const failing = withUnitOfWork(async (uow) => uow.put({ ...params, label: 'stock in' } as never), options());
    await expect(failing).rejects.toBeInstanceOf(InvalidOperationError);
    await expect(failing).rejects.toThrow(/^stock in: ReturnValues is not allowed in a transaction Put/);
  });
});
