/**
 * What routes order events to the `order-summaries` projection: a pure module (no library import), shared by
 * the consumer, the local stack's subscription and the CDK stack's EventBridge rule.
 */

/** Name of the consumer (part of its dedup keys). */
export const ORDER_SUMMARIES = 'order-summaries';

/** The events the projection consumes, as an EventBridge event pattern. */
export const ORDER_SUMMARIES_PATTERN = { source: ['orders'], 'detail-type': ['OrderPlaced', 'OrderPaid'] };
