/**
 * The `order-summaries` projection: an inbox consumer (EventBridge rule → SQS → this Lambda) that keeps one
 * summary item per customer and day in the orders table, from `OrderPlaced` and `OrderPaid`. Each event
 * counts exactly once: its dedup record commits with the summary update, redeliveries are acknowledged.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSBatchResponse } from 'aws-lambda';
import { inboxConsumer, type InboxConsumerHandler } from '../../../lib/inbox/index.js';
import type { LoggerLike } from '../../../lib/index.js';
import { ordersClient, ordersConfig } from './env.js';
import { orderEvents, type OrderEvent } from './events.js';

import { ORDER_SUMMARIES } from './order-summaries-rule.js';

export { ORDER_SUMMARIES, ORDER_SUMMARIES_PATTERN } from './order-summaries-rule.js';

/** Key of the summary item of a customer's day (UTC date of the event), in the orders table. */
export const orderSummaryKey = (customerId: string, day: string): { pk: string } => ({
  pk: `summary#${customerId}#${day}`,
});

/** A summary item. */
export interface OrderSummary {
  readonly pk: string;
  readonly customerId: string;
  readonly day: string;
  readonly placedOrders?: number;
  readonly placedTotal?: number;
  readonly paidOrders?: number;
  readonly paidTotal?: number;
}

/** What the projection needs. */
export interface OrderSummariesDeps {
  readonly ordersTable: string;
  readonly outboxTable: string;
  readonly client: DynamoDBDocumentClient;
  readonly logger?: LoggerLike;
}

/** Builds the projection's SQS consumer. */
export function orderSummaries(deps: OrderSummariesDeps): InboxConsumerHandler<'SQS'> {
  return inboxConsumer<OrderEvent>(
    (event, { uow }) => {
      if (event.type !== 'OrderPlaced' && event.type !== 'OrderPaid') return; // not ours: acknowledged
      const day = event.time.slice(0, 10);
      const counters =
        event.type === 'OrderPlaced' ? 'placedOrders :one, placedTotal :total' : 'paidOrders :one, paidTotal :total';
      uow.update({
        TableName: deps.ordersTable,
        Key: orderSummaryKey(event.data.customerId, day),
        UpdateExpression: `SET customerId = :customer, #day = :day ADD ${counters}`,
        ExpressionAttributeNames: { '#day': 'day' },
        ExpressionAttributeValues: {
          ':customer': event.data.customerId,
          ':day': day,
          ':one': 1,
          ':total': event.data.total,
        },
        label: `summarize ${event.type} ${event.data.orderId}`,
      });
    },
    {
      name: ORDER_SUMMARIES,
      outboxTable: deps.outboxTable,
      client: deps.client,
      source: 'orders',
      parse: (record) => orderEvents.parse(record.body),
      ...(deps.logger ? { logger: deps.logger } : {}),
    },
  );
}

let consumer: InboxConsumerHandler<'SQS'> | undefined;

/** The Lambda handler (SQS event source with `ReportBatchItemFailures`), configured from the environment. */
export const handler = (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  consumer ??= orderSummaries({ ...ordersConfig(), client: ordersClient() });
  return consumer(event, context);
};
