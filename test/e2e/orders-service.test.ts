import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { startOrdersService, type OrdersService } from '../../scripts/orders-local.js';

let service: OrdersService;
let doc: DynamoDBDocumentClient;

beforeAll(async () => {
  service = await startOrdersService({
    port: 0,
    clock: 'manual',
    expirySeconds: 900,
    dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
    tablePrefix: `e2e-${randomUUID().slice(0, 8)}`,
  });
  doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: service.dynamodbEndpoint, ...LOCAL_AWS_CONFIG }));
}, 60_000);

afterAll(async () => {
  await service?.stop();
  doc?.destroy();
});

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* error messages are plain text */
  }
  return { status: response.status, body: parsed };
}

const placeOrder = () =>
  http('POST', '/orders', { customerId: 'c-1', items: [{ sku: 'book', quantity: 2, unitPrice: 12.5 }] });
const events = (type: string, orderId: string) =>
  service.stack.eventBridge.events.filter((e) => e.detailType === type && (e.detail as any).data.orderId === orderId);
/** Moves the local Scheduler's manual clock just past `iso` and fires what became due. */
const advancePast = (iso: string) =>
  service.stack.scheduler.advance(Math.max(0, Date.parse(iso) - service.stack.scheduler.clock.now()) + 1000);
const order = async (id: string) =>
  (await doc.send(new GetCommand({ TableName: service.ordersTable, Key: { pk: id }, ConsistentRead: true }))).Item;

describe('the example orders service, end to end over HTTP', () => {
  it('placed order ⇒ OrderPlaced published ⇒ schedule created ⇒ expiry fires ⇒ EXPIRED and OrderExpired published', async () => {
    const placed = await placeOrder();
    expect(placed.status).toBe(201);
    const id = placed.body.orderId as string;
    await service.stack.drain();
    expect(events('OrderPlaced', id)).toHaveLength(1);
    const schedule = service.stack.scheduler.getSchedule(`expire-${id}`);
    expect(schedule?.ScheduleExpression).toBe(`at(${placed.body.expiresAt.replace('.000Z', '')})`);
    expect(events('OrderExpired', id)).toHaveLength(0);

    const deliveries = await advancePast(placed.body.expiresAt);
    expect(deliveries.map((d) => JSON.parse(d.input).key)).toContain(`expire-${id}`);
    await service.stack.drain();
    expect(await order(id)).toMatchObject({ status: 'EXPIRED', version: 2 });
    expect(events('OrderExpired', id)).toHaveLength(1);
    expect((await http('GET', `/orders/${id}`)).body.status).toBe('EXPIRED');
    const late = await http('POST', `/orders/${id}/pay`, { paymentReference: 'late' });
    expect(late.status).toBe(409);
    expect(late.body).toEqual({ message: `order ${id} is EXPIRED and cannot be paid` });
  });

  it('a paid order ⇒ OrderPaid, its schedule deleted, and it never expires', async () => {
    const placed = await placeOrder();
    const id = placed.body.orderId as string;
    await service.stack.drain();
    expect(service.stack.scheduler.getSchedule(`expire-${id}`)).toBeDefined();
    const paid = await http('POST', `/orders/${id}/pay`, { paymentReference: 'pay-1' });
    expect(paid.status).toBe(200);
    await service.stack.drain();
    expect(service.stack.scheduler.getSchedule(`expire-${id}`)).toBeUndefined();
    expect(events('OrderPaid', id)).toHaveLength(1);
    await advancePast(placed.body.expiresAt);
    await service.stack.drain();
    expect(await order(id)).toMatchObject({ status: 'PAID', version: 2 });
    expect(events('OrderExpired', id)).toHaveLength(0);
  });

  it('a double payment ⇒ 409 with a clear message, and nothing changed', async () => {
    const id = (await placeOrder()).body.orderId as string;
    expect((await http('POST', `/orders/${id}/pay`, { paymentReference: 'pay-1' })).status).toBe(200);
    await service.stack.drain();
    const before = await order(id);
    const publishedBefore = service.stack.eventBridge.events.length;
    const second = await fetch(`${service.url}/orders/${id}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ paymentReference: 'pay-2' }),
    });
    expect(second.status).toBe(409);
    expect(second.headers.get('content-type')).toBe('application/json');
    expect(await second.json()).toEqual({ message: `order ${id} is PAID and cannot be paid` });
    await service.stack.drain();
    expect(await order(id)).toEqual(before);
    expect(service.stack.eventBridge.events.length).toBe(publishedBefore);
  });

  it('answers 400 naming what is wrong, and 404 for an unknown order', async () => {
    const bad = await fetch(`${service.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c', items: [{ sku: 'a', quantity: 0, unitPrice: 1 }] }),
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/json');
    expect(await bad.json()).toEqual({ message: 'Invalid request: body/items/0/quantity must be >= 1' });
    expect(await http('GET', '/orders/nope')).toEqual({ status: 404, body: { message: 'order nope not found' } });
  });

  it('answers oversized, huge and mistyped input with a JSON 400 (no 500, no coercion of "2")', async () => {
    const item = (over: Record<string, unknown>) => ({
      customerId: 'c-1',
      items: [{ sku: 'book', quantity: 2, unitPrice: 12.5, ...over }],
    });
    expect(await http('POST', '/orders', item({ sku: 'x'.repeat(500 * 1024) }))).toEqual({
      status: 400,
      body: { message: 'Invalid request: body/items/0/sku must NOT have more than 64 characters' },
    });
    expect(await http('POST', '/orders', item({ unitPrice: 1e308 }))).toEqual({
      status: 400,
      body: { message: 'Invalid request: body/items/0/unitPrice must be <= 1000000' },
    });
    expect(await http('POST', '/orders', item({ quantity: '2' }))).toEqual({
      status: 400,
      body: { message: 'Invalid request: body/items/0/quantity must be integer' },
    });
    expect(await http('POST', '/orders', item({ quantity: 1001 }))).toEqual({
      status: 400,
      body: { message: 'Invalid request: body/items/0/quantity must be <= 1000' },
    });
    const malformed = await fetch(`${service.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"customerId":',
    });
    expect({
      status: malformed.status,
      type: malformed.headers.get('content-type'),
      body: await malformed.json(),
    }).toMatchObject({ status: 422, type: 'application/json', body: { message: expect.any(String) } });
  });

  it('answers any JSON body with 201 or a 4xx whose body is JSON with a message (seeded property)', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant('2'),
    );
    const body = fc.oneof(
      fc.record(
        {
          customerId: value,
          items: fc.array(fc.record({ sku: value, quantity: value, unitPrice: value }, { requiredKeys: [] }), {
            maxLength: 3,
          }),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (sent) => {
        const reply = await http('POST', '/orders', sent);
        if (reply.status === 201) return;
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
        expect(typeof reply.body?.message).toBe('string');
      }),
      { seed: 0x0de5, numRuns: 60 },
    );
  });
});
