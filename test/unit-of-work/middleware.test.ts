import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import { ConditionFailedError, DuplicateJobError, unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { OUTBOX_SCHEMA } from '../../lib/outbox/schema.js';
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

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'orders'), createTestOutboxTable(raw)]);
});

function handlerOf(fn: (event: any, context: UnitOfWorkContext) => Promise<unknown>) {
  return middy<any, any, Error, UnitOfWorkContext>()
    .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'orders-test' }))
    .handler(fn);
}

describe('unitOfWork middleware on DynamoDB Local', () => {
  it('commits W writes, E events and J jobs in one TransactWriteItems of W + J + 1 actions, messages in order', async () => {
    const record = recordTransactions(doc);
    const before = record.inputs.length;
    const id = `o-${Date.now()}`;
    const handler = handlerOf(async (_e, { uow }) => {
      for (let i = 0; i < 3; i++)
        uow.put({ TableName: orders, Item: { pk: `${id}-${i}`, total: i }, label: `order ${i}` });
      const e1 = uow.publish({ type: 'OrderPlaced', data: { id } });
      uow.schedule({ job: 'expire', payload: { id }, delay: 900, key: `expire-${id}` });
      const e2 = uow.publish({ type: 'OrderNoted', data: { n: 2 } });
      uow.schedule({ job: 'remind', payload: { id }, rate: '5 minutes', key: `remind-${id}` });
      return { e1, e2 };
    });
    const { e1, e2 } = (await handler({}, lambdaContext('req-1'))) as { e1: string; e2: string };
    const sent = record.inputs.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0].TransactItems).toHaveLength(3 + 2 + 1);
    const outboxItems = (await scanAll(doc, outbox)).filter(
      (i) => i[OUTBOX_SCHEMA.kindAttribute] === 'outbox' && (i.messages as string).includes(id),
    );
    expect(outboxItems).toHaveLength(1);
    const messages = JSON.parse(outboxItems[0]!.messages as string);
    expect(messages.map((m: any) => m.kind)).toEqual(['event', 'job.schedule', 'event', 'job.schedule']);
    expect(messages[0].event).toMatchObject({
      id: e1,
      type: 'OrderPlaced',
      source: 'orders-test',
      specversion: '1.0',
      correlationid: 'req-1',
      data: { id },
    });
    expect(messages[2].event.id).toBe(e2);
    expect(messages[1].job).toMatchObject({ key: `expire-${id}`, name: 'expire', version: 1, payload: { id } });
    expect(outboxItems[0]!.correlationId).toBe('req-1');
    expect(outboxItems[0]![OUTBOX_SCHEMA.ttlAttribute]).toBeGreaterThan(Date.now() / 1000 + 6 * 86400);
    expect(await getItem(doc, orders, { pk: `${id}-2` })).toMatchObject({ total: 2 });
    expect(await getItem(doc, outbox, { pk: `job#expire-${id}`, sk: 'job' })).toMatchObject({
      jobStatus: 'SCHEDULED',
      jobName: 'expire',
      version: 1,
    });
  });

  it('leaves nothing written when the condition of the LAST operation fails, and names it', async () => {
    const id = `a-${Date.now()}`;
    await doc.send(
      new (await import('@aws-sdk/lib-dynamodb')).PutCommand({
        TableName: orders,
        Item: { pk: `${id}-taken`, owner: 'someone' },
      }),
    );
    const handler = handlerOf(async (_e, { uow }) => {
      uow.put({ TableName: orders, Item: { pk: `${id}-1` } });
      uow.publish({ type: 'OrderPlaced', data: { id } });
      uow.schedule({ job: 'expire', payload: { id }, delay: 60, key: `expire-${id}` });
      uow.put({
        TableName: orders,
        Item: { pk: `${id}-taken` },
        ConditionExpression: 'attribute_not_exists(pk)',
        label: 'claim the taken one',
      });
    });
    const error = (await handler({}, lambdaContext()).catch((e) => e)) as ConditionFailedError;
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect(error.label).toBe('claim the taken one');
    expect(error.key).toEqual({ pk: `${id}-taken` });
    expect(error.item).toEqual({ pk: `${id}-taken`, owner: 'someone' });
    expect(error.statusCode).toBe(409);
    expect(await getItem(doc, orders, { pk: `${id}-1` })).toBeUndefined();
    expect(await getItem(doc, outbox, { pk: `job#expire-${id}`, sk: 'job' })).toBeUndefined();
    expect((await scanAll(doc, outbox)).some((i) => String(i.messages ?? '').includes(id))).toBe(false);
  });

  it('discards everything when the handler throws, and the original error propagates untouched', async () => {
    const id = `t-${Date.now()}`;
    const original = new TypeError('boom');
    const record = recordTransactions(doc);
    const before = record.inputs.length;
    const handler = handlerOf(async (_e, { uow }) => {
      uow.put({ TableName: orders, Item: { pk: id } });
      uow.publish({ type: 'X', data: null });
      throw original;
    });
    await expect(handler({}, lambdaContext())).rejects.toBe(original);
    expect(record.inputs.length).toBe(before);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('sends nothing when nothing is buffered', async () => {
    const record = recordTransactions(doc);
    const before = record.inputs.length;
    const handler = handlerOf(async () => 'ok');
    await expect(handler({}, lambdaContext())).resolves.toBe('ok');
    expect(record.inputs.length).toBe(before);
  });

  it('maps a second job with the same key to DuplicateJobError', async () => {
    const key = `dup-${Date.now()}`;
    const handler = handlerOf(async (_e, { uow }) => {
      uow.schedule({ job: 'expire', payload: {}, delay: 60, key });
    });
    await handler({}, lambdaContext());
    const error = await handler({}, lambdaContext()).catch((e) => e);
    expect(error).toBeInstanceOf(DuplicateJobError);
    expect(error.key).toBe(key);
    expect(error.message).not.toContain(key); // exposed (409): the key stays a field
  });

  it('answers 409 through @middy/http-error-handler when a condition fails', async () => {
    const id = `h-${Date.now()}`;
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(httpErrorHandler({ logger: false }))
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'orders-test' }))
      .handler(async (_e, { uow }) => {
        uow.update({
          TableName: orders,
          Key: { pk: id },
          UpdateExpression: 'SET paid = :t',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':t': true },
          label: 'pay order',
        });
        return { statusCode: 200, body: 'paid' };
      });
    const response = await handler({}, lambdaContext());
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain('pay order');
  });
});
