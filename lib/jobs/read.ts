/** Reading job state: one job by key (consistent), or jobs by status through the sparse status index. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from '../errors.js';
import type { JobScheduleSpec } from '../outbox/messages.js';
import { ENV, OUTBOX_SCHEMA } from '../outbox/schema.js';
import { toDocumentClient } from '../unit-of-work/settings.js';
import { JOB_STATUS, jobRecordKey, type JobRecord, type JobStatus } from './record.js';

/** Where to read jobs from. */
export interface JobReadOptions {
  /** @default process.env.UOW_OUTBOX_TABLE */
  readonly outboxTable?: string;
  /** @default a client from the environment */
  readonly client?: DynamoDBClient | DynamoDBDocumentClient;
}

/** A job as `getJob`/`listJobs` return it: the record with its payload parsed and its lease as an ISO time. */
export interface JobView {
  readonly key: string;
  readonly jobId: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly version: number;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly payload: unknown;
  readonly schedule: JobScheduleSpec;
  readonly scheduleName: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly nextRunAt?: string;
  readonly lastRunAt?: string;
  readonly lastOccurrence?: string;
  readonly lastOutcome?: 'SUCCEEDED' | 'FAILED';
  readonly lastError?: { readonly name: string; readonly message: string };
  /** Lease of a RUNNING job. */
  readonly leaseUntil?: string;
  readonly correlationId?: string;
}

/** The view of a stored job record (pure). */
export function toJobView(record: JobRecord): JobView {
  let payload: unknown = record.payload;
  try {
    payload = JSON.parse(record.payload);
  } catch {
    // kept as stored
  }
  const optional = {
    nextRunAt: record.nextRunAt,
    lastRunAt: record.lastRunAt,
    lastOccurrence: record.lastOccurrence,
    lastOutcome: record.lastOutcome,
    lastError: record.lastError,
    leaseUntil: record.jobStatus === JOB_STATUS.RUNNING && record.leaseUntil !== undefined ? new Date(record.leaseUntil).toISOString() : undefined,
    correlationId: record.correlationId,
  };
  return {
    key: record.jobKey,
    jobId: record.jobId,
    name: record.jobName,
    status: record.jobStatus,
    version: record.version,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    payload,
    schedule: record.schedule,
    scheduleName: record.scheduleName,
    createdAt: record.createdAt,
    updatedAt: record.jobUpdatedAt,
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

let defaultClient: DynamoDBDocumentClient | undefined;

async function resolve(options: JobReadOptions, component: string): Promise<{ table: string; client: DynamoDBDocumentClient }> {
  const table = options.outboxTable ?? process.env[ENV.outboxTable];
  if (!table) throw new ConfigurationError(component, `"outboxTable" is required (or set the ${ENV.outboxTable} environment variable)`);
  if (options.client) return { table, client: toDocumentClient(options.client) };
  if (!defaultClient) {
    const { DynamoDBClient: Client } = await import('@aws-sdk/client-dynamodb');
    defaultClient = toDocumentClient(new Client({}));
  }
  return { table, client: defaultClient };
}

/**
 * The current state of the job with this key (strongly consistent read), or `undefined` when there is
 * none (never committed, or removed by TTL after it finished).
 *
 * @example
 * ```ts
 * const job = await getJob(`expire-${orderId}`, { outboxTable: 'orders-outbox' });
 * if (job?.status === 'DEAD') console.log(job.lastError);
 * ```
 */
export async function getJob(key: string, options: JobReadOptions = {}): Promise<JobView | undefined> {
  const { table, client } = await resolve(options, 'getJob');
  const out = await client.send(new GetCommand({ TableName: table, Key: jobRecordKey(key), ConsistentRead: true }));
  return out.Item ? toJobView(out.Item as JobRecord) : undefined;
}

/** Options of {@link listJobs}. */
export interface ListJobsOptions extends JobReadOptions {
  /** Jobs per page. @default 50 */
  readonly limit?: number;
  /** `cursor` of the previous page. */
  readonly cursor?: string;
  /** Most recently changed first. @default true */
  readonly newestFirst?: boolean;
}

/** One page of {@link listJobs}. */
export interface JobPage {
  readonly jobs: readonly JobView[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly cursor?: string;
}

/**
 * The jobs in one status, by last change (a Query on the sparse status index, so eventually consistent:
 * a change shows up here a moment after `getJob` sees it).
 *
 * @example
 * ```ts
 * const { jobs } = await listJobs('FAILED', { outboxTable: 'orders-outbox', limit: 20 });
 * ```
 */
export async function listJobs(status: JobStatus, options: ListJobsOptions = {}): Promise<JobPage> {
  if (!Object.values(JOB_STATUS).includes(status)) throw new ConfigurationError('listJobs', `status "${String(status)}" is not one of ${Object.values(JOB_STATUS).join(', ')}`);
  const { table, client } = await resolve(options, 'listJobs');
  const index = OUTBOX_SCHEMA.jobStatusIndex;
  const out = await client.send(
    new QueryCommand({
      TableName: table,
      IndexName: index.name,
      KeyConditionExpression: '#status = :status',
      ExpressionAttributeNames: { '#status': index.partitionKey },
      ExpressionAttributeValues: { ':status': status },
      ScanIndexForward: options.newestFirst === false,
      Limit: options.limit ?? 50,
      ...(options.cursor ? { ExclusiveStartKey: JSON.parse(Buffer.from(options.cursor, 'base64url').toString('utf8')) as Record<string, unknown> } : {}),
    }),
  );
  const jobs = (out.Items ?? []).filter((i) => i[OUTBOX_SCHEMA.kindAttribute] === OUTBOX_SCHEMA.jobKind).map((i) => toJobView(i as JobRecord));
  return { jobs, ...(out.LastEvaluatedKey ? { cursor: Buffer.from(JSON.stringify(out.LastEvaluatedKey), 'utf8').toString('base64url') } : {}) };
}
