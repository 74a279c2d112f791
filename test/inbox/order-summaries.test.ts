import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { startOrdersService, type OrdersService } from '../../scripts/orders-local.js';
import { orderSummaryKey, type OrderSummary } from '../../examples/orders/functions/order-summaries.js';

let service: OrdersService;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  service = await startOrdersService({
    port: 0,
    clock: 'manual',
    expirySeconds: 900,
    dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
    tablePrefix: `sum-${randomUUID().slice(0, 8)}`,
  });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: service.dynamodbEndpoint, ...LOCAL_AWS_CONFIG }));
}, 60_000);

afterAll(async () => {
  await service?.stop();
  doc?.destroy();
});

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => undefined) };
}

async function summary(customerId: string, day: string): Promise<OrderSummary | undefined> {
  return (
    await doc.send(
      new GetCommand({ TableName: service.ordersTable, Key: orderSummaryKey(customerId, day), ConsistentRead: true }),
    )
  ).Item as OrderSummary | undefined;
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('example service: the order-summaries inbox consumer fed by the order events', () => {
  it('placed and paid orders ⇒ one summary per customer and day; a redelivered event counts once', async () => {
    const customerId = `c-${randomUUID().slice(0, 8)}`;
    const day = new Date().toISOString().slice(0, 10);
    const a = await post('/orders', { customerId, items: [{ sku: 'book', quantity: 2, unitPrice: 12.5 }] });
    const b = await post('/orders', { customerId, items: [{ sku: 'pen', quantity: 1, unitPrice: 3 }] });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect((await post(`/orders/${a.body.orderId}/pay`, { paymentReference: 'pay-1' })).status).toBe(200);
    const done = await eventually(
      () => summary(customerId, day),
      (s) => s?.paidOrders === 1 && s?.placedOrders === 2,
    );
    expect(done).toMatchObject({ customerId, day, placedOrders: 2, placedTotal: 28, paidOrders: 1, paidTotal: 25 });

    // EventBridge is at-least-once: deliver the OrderPaid event to the consumer again.
    const paid = service.stack.eventBridge.events.find(
      (e) => e.detailType === 'OrderPaid' && (e.detail as any).data.orderId === a.body.orderId,
    )!;
    const { handler } = await import('../../examples/orders/functions/order-summaries.js');
    const { sqsRecordOf } = await import('../../lib/local/sqs-record.js');
    const envelope = {
      version: '0',
      id: randomUUID(),
      'detail-type': paid.detailType,
      source: paid.source,
      account: '0',
      time: paid.time.toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: paid.detail,
    };
    const again = await Promise.all([
      handler({ Records: [sqsRecordOf(envelope)] }),
      handler({ Records: [sqsRecordOf(envelope)] }),
    ]);
    expect(again).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(await summary(customerId, day)).toMatchObject({ paidOrders: 1, paidTotal: 25 });
  }, 60_000);
});
