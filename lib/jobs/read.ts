/** Reading job state: one job by key (consistent), or jobs by status through the sparse, sharded status index. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  ScanCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from '../errors.js';
import type { JobScheduleSpec } from '../outbox/messages.js';
import { ENV, OUTBOX_SCHEMA } from '../outbox/schema.js';
import { getDefaultClient, toDocumentClient } from '../unit-of-work/settings.js';
import { JOB_STATUS, jobRecordKey, type JobRecord, type JobStatus } from '../job-record/record.js';
import { indexedJobStatuses, jobIndexPartition } from '../job-record/status-index.js';

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
    leaseUntil:
      record.jobStatus === JOB_STATUS.RUNNING && record.leaseUntil !== undefined
        ? new Date(record.leaseUntil).toISOString()
        : undefined,
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

async function resolve(
  options: JobReadOptions,
  component: string,
): Promise<{ table: string; client: DynamoDBDocumentClient }> {
  const table = options.outboxTable ?? process.env[ENV.outboxTable];
  if (!table)
    throw new ConfigurationError(
      component,
      `"outboxTable" is required (or set the ${ENV.outboxTable} environment variable)`,
    );
  return { table, client: options.client ? toDocumentClient(options.client) : getDefaultClient() };
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
  /** Jobs per page (1–100). @default 50 */
  readonly limit?: number;
  /** `cursor` of the previous page (of the same status and order). */
  readonly cursor?: string;
  /** Most recently changed first. @default true */
  readonly newestFirst?: boolean;
  /**
   * For a status the job-status index does not hold: scan the table instead (reads every item of the
   * table: for local stacks and small tables; needs `dynamodb:Scan`). Without it such a status is refused.
   * @default false
   */
  readonly scan?: boolean;
  /** The statuses the index holds. @default `indexedJobStatuses()` (`UOW_JOB_INDEX_STATUSES`, else FAILED and DEAD) */
  readonly indexedStatuses?: readonly JobStatus[];
}

/** One page of {@link listJobs}. */
export interface JobPage {
  readonly jobs: readonly JobView[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  readonly cursor?: string;
}

type Cursor = { readonly after: string } | { readonly from: Record<string, unknown> };
const encodeCursor = (c: Cursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
function decodeCursor(text: string | undefined): Cursor | undefined {
  if (text === undefined) return undefined;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (('after' in c && typeof c.after === 'string') || ('from' in c && typeof c.from === 'object' && c.from !== null))
      return c;
  } catch {
    // reported below
  }
  throw new ConfigurationError('listJobs', '"cursor" is not a cursor listJobs returned');
}

type Key = Record<string, unknown>;

/** The job records of `keys`, read consistently, in the order of `keys` (absent ones left out). */
async function readRecords(client: DynamoDBDocumentClient, table: string, keys: readonly Key[]): Promise<JobRecord[]> {
  const found = new Map<string, JobRecord>();
  let pending: Key[] = keys.map((k) => ({
    [OUTBOX_SCHEMA.partitionKey]: k[OUTBOX_SCHEMA.partitionKey],
    [OUTBOX_SCHEMA.sortKey]: k[OUTBOX_SCHEMA.sortKey],
  }));
  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** round)));
    const out = await client.send(
      new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of out.Responses?.[table] ?? [])
      found.set(String(item[OUTBOX_SCHEMA.partitionKey]), item as JobRecord);
    pending = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
  }
  return keys
    .map((k) => found.get(String(k[OUTBOX_SCHEMA.partitionKey])))
    .filter((r): r is JobRecord => r !== undefined);
}

/** A page from the index: every shard queried at once, merged by sort key, then the records read. */
async function indexPage(
  client: DynamoDBDocumentClient,
  table: string,
  status: JobStatus,
  limit: number,
  newestFirst: boolean,
  after?: string,
): Promise<JobPage> {
  const index = OUTBOX_SCHEMA.jobStatusIndex;
  const shards = Array.from({ length: index.shards }, (_, shard) =>
    client.send(
      new QueryCommand({
        TableName: table,
        IndexName: index.name,
        KeyConditionExpression:
          after === undefined ? '#pk = :pk' : `#pk = :pk AND #sk ${newestFirst ? '<' : '>'} :after`,
        ExpressionAttributeNames: {
          '#pk': index.partitionKey,
          ...(after === undefined ? {} : { '#sk': index.sortKey }),
        },
        ExpressionAttributeValues: {
          ':pk': jobIndexPartition(status, shard),
          ...(after === undefined ? {} : { ':after': after }),
        },
        ScanIndexForward: !newestFirst,
        Limit: limit,
      }),
    ),
  );
  const answers = await Promise.all(shards);
  const sortKey = (item: Key) => String(item[index.sortKey]);
  const merged = answers
    .flatMap((a) => a.Items ?? [])
    .sort((a, b) => (newestFirst ? -1 : 1) * sortKey(a).localeCompare(sortKey(b)));
  const page = merged.slice(0, limit);
  const more = merged.length > limit || answers.some((a) => a.LastEvaluatedKey !== undefined);
  // The index is eventually consistent: a record that has left the status since is not returned.
  const jobs = (await readRecords(client, table, page)).filter((r) => r.jobStatus === status).map(toJobView);
  return {
    jobs,
    ...(more && page.length > 0 ? { cursor: encodeCursor({ after: sortKey(page[page.length - 1]!) }) } : {}),
  };
}

/** A page from a Scan of the whole table (the fallback for statuses the index does not hold). */
async function scanPage(
  client: DynamoDBDocumentClient,
  table: string,
  status: JobStatus,
  limit: number,
  newestFirst: boolean,
  from?: Key,
): Promise<JobPage> {
  const records: JobRecord[] = [];
  let start = from;
  let cursor: Key | undefined;
  do {
    const out = await client.send(
      new ScanCommand({
        TableName: table,
        ConsistentRead: true,
        FilterExpression: '#kind = :job AND #status = :status',
        ExpressionAttributeNames: { '#kind': OUTBOX_SCHEMA.kindAttribute, '#status': 'jobStatus' },
        ExpressionAttributeValues: { ':job': OUTBOX_SCHEMA.jobKind, ':status': status },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (out.Items ?? []) as JobRecord[];
    const room = limit - records.length;
    records.push(...items.slice(0, room));
    start = out.LastEvaluatedKey;
    // More matches than room: the next page starts right after the last one kept (its key is a scan position).
    if (items.length > room) cursor = { pk: records[records.length - 1]!.pk, sk: records[records.length - 1]!.sk };
    else if (records.length >= limit) cursor = start;
  } while (start && records.length < limit);
  const sign = newestFirst ? -1 : 1;
  const jobs = records.sort((a, b) => sign * a.jobUpdatedAt.localeCompare(b.jobUpdatedAt)).map(toJobView);
  return { jobs, ...(cursor ? { cursor: encodeCursor({ from: cursor }) } : {}) };
}

/**
 * The jobs in one status, by last change. A status the job-status index holds (`UOW_JOB_INDEX_STATUSES`,
 * default FAILED and DEAD) is a Query of each of its shards at once, merged into one order by time of the
 * change; the records are then read consistently, so a job that has left the status since is not returned
 * (a page may hold fewer than `limit`). Any other status needs `scan: true`: a Scan of the whole table,
 * ordered within each page only.
 *
 * @example
 * ```ts
 * const { jobs } = await listJobs('FAILED', { outboxTable: 'orders-outbox', limit: 20 });
 * const local = await listJobs('SCHEDULED', { outboxTable: 'local-outbox', scan: true });
 * ```
 */
export async function listJobs(status: JobStatus, options: ListJobsOptions = {}): Promise<JobPage> {
  const all = Object.values(JOB_STATUS);
  if (!all.includes(status))
    throw new ConfigurationError('listJobs', `status "${String(status)}" is not one of ${all.join(', ')}`);
  const limit = options.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new ConfigurationError('listJobs', `"limit" must be an integer from 1 to 100 (got ${limit})`);
  const cursor = decodeCursor(options.cursor);
  const indexed = (options.indexedStatuses ?? indexedJobStatuses()).includes(status);
  if (!indexed && !options.scan) {
    throw new ConfigurationError(
      'listJobs',
      `status ${status} is not in the job-status index (${ENV.jobIndexStatuses}): pass { scan: true } to scan the table, or index it`,
    );
  }
  if (cursor && 'after' in cursor !== indexed)
    throw new ConfigurationError('listJobs', '"cursor" belongs to another listing');
  const { table, client } = await resolve(options, 'listJobs');
  const newestFirst = options.newestFirst !== false;
  if (indexed)
    return indexPage(client, table, status, limit, newestFirst, cursor && 'after' in cursor ? cursor.after : undefined);
  return scanPage(client, table, status, limit, newestFirst, cursor && 'from' in cursor ? cursor.from : undefined);
}
