/**
 * The one definition of the outbox/jobs table and of the stream filter, shared by the library that
 * writes the items, the local runtime that creates the table and the CDK construct that deploys it.
 * This module imports nothing, so a CDK app and a Lambda bundle can both load it cheaply.
 */

/** Attribute names and values of the outbox/jobs table. */
export const OUTBOX_SCHEMA = {
  /** Partition key attribute (string). */
  partitionKey: 'pk',
  /** Sort key attribute (string). */
  sortKey: 'sk',
  /** TTL attribute: epoch seconds after which DynamoDB may delete the item. */
  ttlAttribute: 'ttl',
  /** Attribute that says what an item is; the stream filter matches it. */
  kindAttribute: '_kind',
  /** Value of {@link OUTBOX_SCHEMA.kindAttribute} on outbox items. */
  outboxKind: 'outbox',
  /** Value of {@link OUTBOX_SCHEMA.kindAttribute} on job records. */
  jobKind: 'job',
  /**
   * The region that wrote an outbox item or job record (`AWS_REGION` of the writer): with global tables every
   * replica's stream carries every write, and the construct's `globalTable` filter lets only the origin dispatch.
   */
  regionAttribute: '_region',
  /**
   * Sparse, sharded index of job records by status, for `listJobs` (lib/job-record/status-index.ts writes its
   * attributes). Only the statuses listed in `UOW_JOB_INDEX_STATUSES` (default {@link defaultStatuses}) are
   * in it, each spread over {@link shards} partition keys `<status>#<shard>`; keys only are projected
   * (`listJobs` reads the records themselves, consistently).
   */
  jobStatusIndex: {
    name: 'jobs-by-status-shard',
    /** `<status>#<shard>`. */
    partitionKey: 'jobIndexPk',
    /** `<ISO time of the change>#<job key>`. */
    sortKey: 'jobIndexSk',
    /** Partition keys per status: each takes 1,000 write units/s, so one status carries 16,000 index writes/s. */
    shards: 16,
    /** The statuses indexed when `UOW_JOB_INDEX_STATUSES` is not set: what an operator must act on. */
    defaultStatuses: ['FAILED', 'DEAD'],
  },
} as const;

/** Key prefixes of the items the library writes. */
export const OUTBOX_KEYS = {
  outboxPk: (commitId: string): string => `outbox#${commitId}`,
  outboxSk: (part: number): string => `part#${String(part).padStart(3, '0')}`,
  jobPk: (jobKey: string): string => `job#${jobKey}`,
  jobSk: 'job',
} as const;

/** Table settings both `createOutboxTable` (local) and the CDK construct apply. */
export const OUTBOX_TABLE_DEFINITION = {
  billingMode: 'PAY_PER_REQUEST',
  streamViewType: 'NEW_IMAGE',
  attributes: [
    { name: OUTBOX_SCHEMA.partitionKey, type: 'S' },
    { name: OUTBOX_SCHEMA.sortKey, type: 'S' },
    { name: OUTBOX_SCHEMA.jobStatusIndex.partitionKey, type: 'S' },
    { name: OUTBOX_SCHEMA.jobStatusIndex.sortKey, type: 'S' },
  ],
  ttlAttribute: OUTBOX_SCHEMA.ttlAttribute,
  /** Projection of the {@link OUTBOX_SCHEMA.jobStatusIndex} GSI: keys only (one write unit per index write). */
  jobStatusIndexProjection: 'KEYS_ONLY',
} as const;

/**
 * Event-source-mapping filter pattern: only INSERTs of outbox items reach the dispatcher. Job-record
 * updates (MODIFY), TTL deletes (REMOVE) and business items never do.
 */
export const OUTBOX_STREAM_FILTER_PATTERN = {
  eventName: ['INSERT'],
  dynamodb: {
    NewImage: {
      [OUTBOX_SCHEMA.kindAttribute]: { S: [OUTBOX_SCHEMA.outboxKind] },
    },
  },
} as const;

/**
 * The stream filter of one region of a global table: {@link OUTBOX_STREAM_FILTER_PATTERN} and the item's
 * {@link OUTBOX_SCHEMA.regionAttribute} equal to `region`, so a replica dispatches only what was committed in its
 * own region (replicated items are the origin's to publish and schedule). Items without the attribute (written
 * outside Lambda, or before the library stamped it) do not pass.
 */
export function originRegionFilterPattern(region: string) {
  return {
    ...OUTBOX_STREAM_FILTER_PATTERN,
    dynamodb: {
      NewImage: { ...OUTBOX_STREAM_FILTER_PATTERN.dynamodb.NewImage, [OUTBOX_SCHEMA.regionAttribute]: { S: [region] } },
    },
  };
}

/**
 * The writing region, stored in {@link OUTBOX_SCHEMA.regionAttribute} of every outbox item and job record
 * (`AWS_REGION`, always set in Lambda), or undefined when it is unknown (the attribute is then left out).
 */
export function originRegion(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.AWS_REGION || undefined;
}

/** Default outbox-item retention: 7 days. */
export const DEFAULT_OUTBOX_RETENTION_SECONDS = 7 * 24 * 60 * 60;

/** Environment variables the library reads (and the construct's `grantWriter` sets). */
export const ENV = {
  outboxTable: 'UOW_OUTBOX_TABLE',
  eventSource: 'UOW_EVENT_SOURCE',
  eventBusName: 'UOW_EVENT_BUS_NAME',
  scheduleGroup: 'UOW_SCHEDULE_GROUP',
  jobRunnerArn: 'UOW_JOB_RUNNER_ARN',
  schedulerRoleArn: 'UOW_SCHEDULER_ROLE_ARN',
  jobDeadLetterQueueArn: 'UOW_JOB_DLQ_ARN',
  /** Job statuses the job-status index holds, comma-separated (`NONE` for none). @default FAILED,DEAD */
  jobIndexStatuses: 'UOW_JOB_INDEX_STATUSES',
  /** Outbox dispatcher: calls to Scheduler/EventBridge in flight at once (1 = records one by one, in order). */
  dispatchConcurrency: 'UOW_DISPATCH_CONCURRENCY',
  /** Scheduler target retry policy: `MaximumRetryAttempts` (0–185) of the job schedules the dispatcher creates. */
  scheduleMaxRetryAttempts: 'UOW_SCHEDULE_MAX_RETRY_ATTEMPTS',
  /** Scheduler target retry policy: `MaximumEventAgeInSeconds` (60–86400) of the job schedules. */
  scheduleMaxEventAgeSeconds: 'UOW_SCHEDULE_MAX_EVENT_AGE_SECONDS',
  /** Outbox dispatcher: URL of the SQS timer queue of one-time jobs due within 15 minutes (unset = Scheduler only). */
  timerQueueUrl: 'UOW_TIMER_QUEUE_URL',
} as const;
