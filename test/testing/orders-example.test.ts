import { describe, it, expect, beforeAll } from '@jest/globals';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { runHandler, unitOfWorkMatchers, type UnitOfWorkMatchers } from '../../lib/testing/index.js';

declare module 'expect' {
  interface Matchers<R> extends UnitOfWorkMatchers<R> {}
}
expect.extend(unitOfWorkMatchers);

let placeOrder: (event: APIGatewayProxyEventV2, context: any) => Promise<any>;
beforeAll(async () => {
  // What the stack sets; nothing listens here: the handler's client points nowhere and is never reached.
  Object.assign(process.env, {
    ORDERS_TABLE: 'unit-orders',
    UOW_OUTBOX_TABLE: 'unit-outbox',
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  ({ handler: placeOrder } = await import('../../examples/orders/functions/place-order.js'));
});

const post = (body: unknown): APIGatewayProxyEventV2 => ({
  version: '2.0',
  routeKey: 'POST /orders',
  rawPath: '/orders',
  rawQueryString: '',
  headers: { 'content-type': 'application/json' },
  requestContext: { http: { method: 'POST', path: '/orders' } } as never,
  isBase64Encoded: false,
  body: JSON.stringify(body),
});

describe('the example place-order handler, unit-tested with lambda-unit-of-work/testing (no DynamoDB)', () => {
  it('creates the order, publishes the typed OrderPlaced and schedules its expiry, in one commit', async () => {
    const run = await runHandler(
      placeOrder,
      post({ customerId: 'c-1', items: [{ sku: 'book', quantity: 2, unitPrice: 12.5 }] }),
    );
    expect(run.result).toMatchObject({ statusCode: 201 });
    const orderId = JSON.parse(run.result.body).orderId;
    expect(run).toHaveCommitted();
    expect(run).toHaveWritten('unit-orders', { pk: orderId });
    expect(run).toHavePublished('OrderPlaced', { orderId, customerId: 'c-1', total: 25 });
    expect(run).toHaveScheduled('expire-unpaid-order', { orderId }, { key: `expire-${orderId}` });
  });

  it('a bad body is a 400 and commits nothing', async () => {
    const run = await runHandler(placeOrder, post({ customerId: '', items: [] }));
    expect(run.result).toMatchObject({ statusCode: 400 });
    expect(run).not.toHaveCommitted();
    expect(run).not.toHavePublished('OrderPlaced');
  });
});
