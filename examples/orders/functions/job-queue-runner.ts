/**
 * The example service's job queue runner Lambda: the consumer of the SQS timer queue (`timerTransport: 'sqs'`),
 * running the same jobs as the job runner, with the same claim, lease and version rules.
 *
 * Environment: as the job runner's (`UOW_OUTBOX_TABLE`, `ORDERS_TABLE`, `UOW_EVENT_SOURCE`, `DYNAMODB_ENDPOINT`).
 */
import { jobQueueRunner } from '../../../lib/jobs/index.js';
import { ENV } from '../../../lib/outbox/schema.js';
import { ordersClient, ordersConfig } from './env.js';
import { orderJobs } from './jobs.js';

const { ordersTable, outboxTable } = ordersConfig();
const client = ordersClient();

/** SQS event source handler (partial batch responses). */
export const handler = jobQueueRunner({
  jobs: orderJobs({ client, ordersTable }),
  outboxTable,
  client,
  source: process.env[ENV.eventSource] ?? 'orders',
});
