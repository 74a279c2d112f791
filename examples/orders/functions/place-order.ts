import { randomUUID } from 'node:crypto';
import { expiryJobKey, ordersConfig, type Order } from './env.js';
import { orderEvents } from './events.js';
import { httpHandler, json } from './http.js';

/** Body of `POST /orders`. */
export interface PlaceOrderBody {
  readonly customerId: string;
  readonly items: readonly { sku: string; quantity: number; unitPrice: number }[];
}

const bodySchema = {
  type: 'object',
  required: ['customerId', 'items'],
  additionalProperties: false,
  properties: {
    customerId: { type: 'string', minLength: 1, maxLength: 128 },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        type: 'object',
        required: ['sku', 'quantity', 'unitPrice'],
        additionalProperties: false,
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 64 },
          quantity: { type: 'integer', minimum: 1, maximum: 1000 },
          unitPrice: { type: 'number', minimum: 0, maximum: 1_000_000 },
        },
      },
    },
  },
};

/**
 * `POST /orders`: creates the order (conditional put), publishes `OrderPlaced` and schedules
 * `expire-unpaid-order` after `ORDER_EXPIRY_SECONDS` (15 minutes by default): all in one commit.
 */
export const handler = httpHandler<PlaceOrderBody>(
  async (event, { uow }) => {
    const { ordersTable, expiryDelaySeconds } = ordersConfig();
    const orderId = randomUUID();
    const now = Date.now();
    const total = Math.round(event.body.items.reduce((sum, i) => sum + i.quantity * i.unitPrice, 0) * 100) / 100;
    const order: Order = {
      pk: orderId,
      orderId,
      customerId: event.body.customerId,
      items: event.body.items,
      total,
      status: 'PENDING',
      version: 1,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(Math.floor((now + expiryDelaySeconds * 1000) / 1000) * 1000 + 1000).toISOString(), // whole second, strictly in the future
    };
    uow.put({
      TableName: ordersTable,
      Item: order,
      ConditionExpression: 'attribute_not_exists(pk)',
      label: `create order ${orderId}`,
    });
    orderEvents.publish(uow, 'OrderPlaced', { orderId, customerId: order.customerId, total }, { subject: orderId });
    uow.schedule({ job: 'expire-unpaid-order', key: expiryJobKey(orderId), payload: { orderId }, at: order.expiresAt });
    return json(201, order);
  },
  { bodySchema },
);
