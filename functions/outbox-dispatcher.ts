/**
 * Lambda entry point of the outbox dispatcher (DynamoDB stream of the outbox table, with
 * `ReportBatchItemFailures`). Configuration comes from the environment (UOW_JOB_RUNNER_ARN,
 * UOW_SCHEDULER_ROLE_ARN, UOW_EVENT_BUS_NAME, UOW_SCHEDULE_GROUP, UOW_JOB_DLQ_ARN, UOW_OUTBOX_TABLE,
 * UOW_DISPATCH_CONCURRENCY, …) and is checked at cold start.
 */
import { outboxDispatcher } from '../lib/dispatch/index.js';

export const handler = outboxDispatcher();
