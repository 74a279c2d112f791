/**
 * The example service's jobs. A pure module (no environment, no clients created at import): the job
 * runner Lambda (functions/job-runner.ts) and the local runtime both build the jobs from their own clients.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { defineJobs, type JobContext } from '../../../lib/jobs/index.js';
import { orderEvents } from './events.js';

/** What the expiry job reads of an order (`pk` is the order id; see `Order` in ./env.ts). */
export interface ExpirableOrder {
  readonly pk: string;
  readonly status: 'PENDING' | 'PAID' | 'EXPIRED';
  readonly version: number;
}

/** Payload of `expire-unpaid-order`. */
export interface ExpireUnpaidOrderPayload {
  readonly orderId: string;
}

/** What the order jobs need. */
export interface OrderJobDeps {
  /** Client used to read orders (writes go on the job's unit of work). */
  readonly client: DynamoDBDocumentClient;
  /** The orders table (`ORDERS_TABLE`). */
  readonly ordersTable: string;
}

/** Event published when an unpaid order expires. */
export const ORDER_EXPIRED = 'OrderExpired' as const;

/**
 * `expire-unpaid-order`: expires the order if it is still PENDING, and publishes `OrderExpired`. The
 * update is conditional on the status and version read, so an order paid in between is never expired:
 * the commit fails, the attempt is retried, and the retry finds it PAID and does nothing.
 */
export function expireUnpaidOrder(deps: OrderJobDeps) {
  return async (payload: ExpireUnpaidOrderPayload, { uow, job, logger }: JobContext): Promise<void> => {
    const { Item } = await deps.client.send(
      new GetCommand({ TableName: deps.ordersTable, Key: { pk: payload.orderId }, ConsistentRead: true }),
    );
    const order = Item as ExpirableOrder | undefined;
    if (!order || order.status !== 'PENDING') {
      logger.info(`order ${payload.orderId} is ${order?.status ?? 'missing'}: nothing to expire`, { jobKey: job.key });
      return;
    }
    uow.update({
      TableName: deps.ordersTable,
      Key: { pk: order.pk },
      UpdateExpression: 'SET #status = :expired, #version = :next, expiredAt = :now',
      ConditionExpression: '#status = :pending AND #version = :version',
      ExpressionAttributeNames: { '#status': 'status', '#version': 'version' },
      ExpressionAttributeValues: {
        ':expired': 'EXPIRED',
        ':pending': 'PENDING',
        ':version': order.version,
        ':next': order.version + 1,
        ':now': new Date().toISOString(),
      },
      label: 'expire unpaid order',
    });
    orderEvents.publish(uow, ORDER_EXPIRED, { orderId: order.pk, expiredBy: job.key }, { subject: order.pk });
  };
}

/**
 * The example service's job definitions.
 *
 * @example
 * ```ts
 * const runner = jobRunner({ jobs: orderJobs({ client, ordersTable: 'orders' }), outboxTable: 'outbox', source: 'orders' });
 * // when placing an order (type only: the API handler does not bundle the job code)
 * scheduleJob<OrderJobs>(uow, { job: 'expire-unpaid-order', payload: { orderId }, delay: 900, key: `expire-${orderId}` });
 * ```
 */
export function orderJobs(deps: OrderJobDeps) {
  return defineJobs({
    'expire-unpaid-order': expireUnpaidOrder(deps),
  });
}

/** Job name → handler type of the example service, for `scheduleJob<OrderJobs>(uow, …)`. */
export type OrderJobs = ReturnType<typeof orderJobs>;
