import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createError } from '@middy/util';
import { ordersClient, ordersConfig } from './env.js';
import { httpHandler, json } from './http.js';

/** `GET /orders/{id}`: a query, in a read-only unit of work (any write would throw). */
export const handler = httpHandler<undefined>(
  async (event) => {
    const { ordersTable } = ordersConfig();
    const orderId = event.pathParameters?.id ?? '';
    const order = (
      await ordersClient().send(new GetCommand({ TableName: ordersTable, Key: { pk: orderId }, ConsistentRead: true }))
    ).Item;
    if (!order) throw createError(404, `order ${orderId} not found`, { expose: true });
    return json(200, order);
  },
  { readOnly: true },
);
