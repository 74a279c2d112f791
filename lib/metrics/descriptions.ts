import type { METRICS } from './names.js';

/**
 * What one data point of each metric means: the docs' metrics table (`metricsTable`) reads it. Kept apart
 * from {@link METRICS} so that the Lambda bundles, which emit metrics, do not carry the prose.
 */
export const METRIC_DESCRIPTIONS: Readonly<Record<keyof typeof METRICS, string>> = {
  commitsCommitted: 'Units of work committed (one TransactWriteItems succeeded)',
  commitsFailed: 'Units of work that did not commit (after their retries)',
  commitActions: 'Item actions (put/update/delete/condition check) committed',
  commitEvents: 'Domain events committed to the outbox',
  commitJobs: 'Job changes (schedule, reschedule, cancel) committed',
  commitAttempts: 'TransactWriteItems calls made (attempts, retries included)',
  commitConflictsRetried: 'Commits retried after a transaction conflict',
  dispatchRecords: 'Outbox stream records the dispatcher received',
  eventsPublished: 'Events PutEvents accepted',
  schedulesCreated: 'Job schedules created',
  schedulesUpdated: 'Job schedules updated',
  schedulesDeleted: 'Job schedules deleted',
  timersQueued: "Job timers sent to the SQS timer queue (timerTransport 'sqs')",
  dispatchFailures:
    'Calls to EventBridge, Scheduler or SQS that failed for good, after their retries (each PutEvents entry that failed for good counts as one)',
  callsThrottled:
    'Answers with throttling to the dispatcher (EventBridge, Scheduler, SQS, DynamoDB reads), each one, retried or not',
  partialBatchFailures:
    'Stream records reported as batchItemFailures (Lambda redelivers from the first; the function does not fail)',
  dispatchLagMs: "Publish time minus commit time (the outbox item's createdAt), per record dispatched in full",
  jobRuns: 'Job deliveries by outcome',
  jobRunDurationMs: 'Duration of a job run, claim to commit',
  jobRunAttempts: 'Attempt number of each job run',
  jobsDead: 'Jobs that became DEAD (attempts exhausted or a permanent failure)',
  jobLeasesExpired:
    'Jobs found RUNNING past their lease (the run holding it crashed or timed out) and reclaimed or ended',
};
