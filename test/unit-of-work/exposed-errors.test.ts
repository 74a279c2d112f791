import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import * as errors from '../../lib/errors.js';
import { type ConditionFailedError, unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { createBusinessTable, createTestOutboxTable, lambdaContext, localClients } from '../support/ddb.js';

const TABLE = 'secret-orders-table';
const KEY_VALUE = 'order#secret-4711';
const ref = { label: 'pay order', table: TABLE, key: { pk: KEY_VALUE }, index: 0, item: { pk: KEY_VALUE, total: 99 } };

/** How to build each error class (an unknown class is built from generic arguments that carry a table and a key). */
const fixtures: Record<string, () => Error> = {
  ConditionFailedError: () => new errors.ConditionFailedError(ref),
  DuplicateJobError: () => new errors.DuplicateJobError(KEY_VALUE, 'expire-order'),
  TransactionConflictError: () => new errors.TransactionConflictError(3, [ref]),
  IdempotencyPayloadMismatchError: () => new errors.IdempotencyPayloadMismatchError(`idem#${KEY_VALUE}`),
  JobNotFoundError: () => new (errors as any).JobNotFoundError('retryJob', KEY_VALUE),
  IdempotencyConflictError: () =>
    new errors.IdempotencyConflictError(`idem#${KEY_VALUE}`, 'Another commit with this idempotency key collided'),
};

describe('errors safe to expose', () => {
  const classes = Object.entries(errors).filter(
    ([, v]) => typeof v === 'function' && v.prototype instanceof errors.UnitOfWorkError,
  ) as [string, new (...a: any[]) => errors.UnitOfWorkError][];

  it.each(classes)('%s: if exposed (expose: true), its message names no table and no key value', (name, Class) => {
    let error: errors.UnitOfWorkError | undefined;
    try {
      error = (fixtures[name]?.() as errors.UnitOfWorkError) ?? new Class(ref, TABLE, { pk: KEY_VALUE });
    } catch {
      error = undefined; // a class whose constructor needs other arguments; the exposed ones all have fixtures
    }
    if (!error?.expose) return;
    expect(error.message).not.toContain(TABLE);
    expect(error.message).not.toContain(KEY_VALUE);
  });

  it('the exposed ones keep table, key and item as fields', () => {
    const e = fixtures.ConditionFailedError!() as ConditionFailedError;
    expect(e.message).toBe('Condition failed on "pay order"');
    expect(e).toMatchObject({ table: TABLE, key: { pk: KEY_VALUE }, item: { total: 99 } });
    expect(fixtures.DuplicateJobError!()).toMatchObject({ key: KEY_VALUE, jobName: 'expire-order' });
  });

  describe('through @middy/http-error-handler on DynamoDB Local', () => {
    const { raw, doc } = localClients();
    let orders: string;
    let outbox: string;
    beforeAll(async () => {
      [orders, outbox] = await Promise.all([
        createBusinessTable(raw, 'secret-orders-table'),
        createTestOutboxTable(raw),
      ]);
    });

    it('a 409 body names the operation label only, and the log line of the commit keeps table and key', async () => {
      const lines: { message: string; extra: any }[] = [];
      const logger = {
        debug: (message: string, extra: any) => lines.push({ message, extra }),
        info() {},
        warn() {},
        error() {},
      };
      const handler = middy<any, any, Error, UnitOfWorkContext>()
        .use(httpErrorHandler({ logger: false }))
        .use(unitOfWork({ outboxTable: outbox, client: doc, logger }))
        .handler(async (_e, { uow }) => {
          uow.update({
            TableName: orders,
            Key: { pk: KEY_VALUE },
            UpdateExpression: 'SET paid = :t',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':t': true },
            label: 'pay order',
          });
          return { statusCode: 200 };
        });
      const response = await handler({}, lambdaContext());
      expect(response.statusCode).toBe(409);
      expect(response.body).toBe('Condition failed on "pay order"');
      expect(response.body).not.toContain(orders);
      expect(response.body).not.toContain(KEY_VALUE);
      const line = lines.find((l) => l.message === 'unit of work commit');
      expect(line?.extra.error).toMatchObject({
        name: 'ConditionFailedError',
        label: 'pay order',
        table: orders,
        key: { pk: KEY_VALUE },
      });
    });
  });
});
