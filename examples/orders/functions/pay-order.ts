import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createError } from '@middy/util';
import { expiryJobKey, ordersClient, ordersConfig, type Order } from './env.js';
import { orderEvents } from './events.js';
import { httpHandler, json } from './http.js';

/** Body of `POST /orders/{id}/pay`. */
export interface PayOrderBody {
  readonly paymentReference: string;
}

const bodySchema = {
  type: 'object',
  required: ['paymentReference'],
  additionalProperties: false,
  properties: { paymentReference: { type: 'string', minLength: 1, maxLength: 128 } },
};

/**
 * `POST /orders/{id}/pay`: marks a PENDING order PAID with an optimistic version check, cancels its expiry
 * job and publishes `OrderPaid`, in one commit. Paying twice, or paying an expired order, answers 409.
 */
export const handler = httpHandler<PayOrderBody>(
  async (event, { uow }) => {
    const { ordersTable } = ordersConfig();
    const orderId = event.pathParameters?.id ?? '';
    const current = (
      await ordersClient().send(new GetCommand({ TableName: ordersTable, Key: { pk: orderId }, ConsistentRead: true }))
    ).Item as Order | undefined;
    if (!current) throw createError(404, `order ${orderId} not found`, { expose: true });
    if (current.status !== 'PENDING')
      throw createError(409, `order ${orderId} is ${current.status} and cannot be paid`, { expose: true });
    const paidAt = new Date().toISOString();
    uow.update({
      TableName: ordersTable,
      Key: { pk: orderId },
      UpdateExpression: 'SET #status = :paid, version = :next, paidAt = :paidAt, paymentReference = :ref',
      ConditionExpression: '#status = :pending AND version = :version',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':paid': 'PAID',
        ':pending': 'PENDING',
        ':version': current.version,
        ':next': current.version + 1,
        ':paidAt': paidAt,
        ':ref': event.body.paymentReference,
      },
      label: `pay order ${orderId}`,
    });
    uow.cancelJob(expiryJobKey(orderId));
    orderEvents.publish(
      uow,
      'OrderPaid',
      { orderId, customerId: current.customerId, total: current.total, paymentReference: event.body.paymentReference },
      { subject: orderId },
    );
    return json(200, {
      ...current,
      status: 'PAID',
      version: current.version + 1,
      paidAt,
      paymentReference: event.body.paymentReference,
    });
  },
  { bodySchema },
);
