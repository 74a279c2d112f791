/**
 * The example service's job runner Lambda: the EventBridge Scheduler target of every job schedule.
 *
 * Environment: `UOW_OUTBOX_TABLE` (outbox/jobs table, set by the construct's grants), `ORDERS_TABLE`,
 * `UOW_EVENT_SOURCE` (CloudEvents source of `OrderExpired` and `JobFailed`; default `orders`),
 * `DYNAMODB_ENDPOINT` (local runs only).
 */
import { jobRunner } from '../../../lib/jobs/index.js';
import { ENV } from '../../../lib/outbox/schema.js';
import { ordersClient, ordersConfig } from './env.js';
import { orderJobs } from './jobs.js';

const { ordersTable, outboxTable } = ordersConfig();
const client = ordersClient();

/** Scheduler target handler. */
export const handler = jobRunner({
  jobs: orderJobs({ client, ordersTable }),
  outboxTable,
  client,
  source: process.env[ENV.eventSource] ?? 'orders',
});
