/**
 * Operator actions on job records (the dev console, a CLI): cancel a job now, retry a DEAD job. Each is one
 * conditional TransactWriteItems that changes the job record and writes the outbox message the dispatcher
 * turns into the schedule change, so a concurrent runner, cancel or second retry can never interleave.
 */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { v7 as uuidv7 } from 'uuid';
import { InvalidOperationError } from '../errors.js';
import type { OutboxMessage } from '../outbox/messages.js';
import { DEFAULT_OUTBOX_RETENTION_SECONDS, OUTBOX_SCHEMA } from '../outbox/schema.js';
import { sendTransaction } from '../unit-of-work/commit.js';
import { withUnitOfWork } from '../unit-of-work/context.js';
import { resolveOutboxTable, toDocumentClient } from '../unit-of-work/settings.js';
import { buildTransaction } from '../unit-of-work/transaction.js';
import type { BufferedWrite } from '../unit-of-work/writes.js';
import { JOB_STATUS, jobRecordKey, type JobRecord } from './record.js';

/** Where the job lives and who asks. */
export interface JobAdminOptions {
  /** @default process.env.UOW_OUTBOX_TABLE */
  readonly outboxTable?: string;
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  /** Recorded on the outbox item (who asked: `console`, `cli`, a request id). */
  readonly correlationId?: string;
}

/** Options of {@link retryJob}. */
export interface RetryJobOptions extends JobAdminOptions {
  /** When the retry runs. @default the next whole second */
  readonly at?: Date;
  /** How long the outbox item is kept (TTL), in seconds. @default 7 days */
  readonly retentionSeconds?: number;
}

/** What {@link retryJob} committed. */
export interface RetriedJob {
  readonly key: string;
  /** The job record's new version (the schedule is made for it; deliveries of older versions are skipped). */
  readonly version: number;
  /** ISO time the retry is scheduled for. */
  readonly at: string;
}

async function readRecord(client: DynamoDBDocumentClient, table: string, key: string): Promise<JobRecord | undefined> {
  const out = await client.send(new GetCommand({ TableName: table, Key: jobRecordKey(key), ConsistentRead: true }));
  return out.Item as JobRecord | undefined;
}

const wholeSecond = (ms: number): string => new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * Gives a DEAD job a new life: in one transaction, conditional on the record being DEAD at the version read,
 * the record becomes SCHEDULED with its attempts reset, a new version and `at` as its time (its TTL removed;
 * `lastError` kept), and an outbox item asks the dispatcher to create its schedule. Of concurrent retries
 * exactly one commits; the others fail with `ConditionFailedError`.
 *
 * @throws InvalidOperationError when there is no such job, or it is not DEAD (naming its status).
 * @example
 * ```ts
 * await retryJob(`expire-${orderId}`, { outboxTable: 'orders-outbox', client });
 * ```
 */
export async function retryJob(key: string, options: RetryJobOptions): Promise<RetriedJob> {
  const op = `retryJob(${key})`;
  if (typeof key !== 'string' || key === '') throw new InvalidOperationError(op, 'key must be a non-empty string');
  const table = resolveOutboxTable(options, 'retryJob(options)');
  const client = toDocumentClient(options.client);
  const record = await readRecord(client, table, key);
  if (!record) throw new InvalidOperationError(op, 'there is no job with this key (never committed, or removed by TTL)');
  if (record.jobStatus !== JOB_STATUS.DEAD) throw new InvalidOperationError(op, `the job is ${record.jobStatus}; only a DEAD job can be retried`);
  const nowMs = Date.now();
  const atMs = options.at?.getTime() ?? nowMs + 1;
  if (!Number.isFinite(atMs)) throw new InvalidOperationError(op, 'at must be a valid Date');
  const at = wholeSecond(atMs);
  const version = Math.max(record.version + 1, nowMs);
  const params = {
    TableName: table,
    Key: jobRecordKey(key),
    UpdateExpression:
      'SET #status = :scheduled, #version = :version, #schedule = :schedule, nextRunAt = :at, attempts = :zero, #updated = :now REMOVE #ttl, leaseUntil',
    ConditionExpression: '#status = :dead AND #version = :read',
    ExpressionAttributeNames: { '#status': 'jobStatus', '#version': 'version', '#schedule': 'schedule', '#updated': OUTBOX_SCHEMA.jobStatusIndex.sortKey, '#ttl': OUTBOX_SCHEMA.ttlAttribute },
    ExpressionAttributeValues: {
      ':scheduled': JOB_STATUS.SCHEDULED, ':dead': JOB_STATUS.DEAD, ':version': version, ':read': record.version,
      ':schedule': { at }, ':at': at, ':zero': 0, ':now': new Date(nowMs).toISOString(),
    },
  };
  const label = `retry job ${key}`;
  const write: BufferedWrite = { kind: 'Update', params, ref: { label, table, key: params.Key }, bytes: 0, itemBytes: 0, role: 'jobChange', jobKey: key, jobName: record.jobName };
  const message: OutboxMessage = { kind: 'job.reschedule', key, scheduleName: record.scheduleName, version, schedule: { at } };
  const built = buildTransaction({
    commitId: uuidv7(),
    outboxTable: table,
    writes: [write],
    messages: [message],
    now: new Date(nowMs),
    retentionSeconds: options.retentionSeconds ?? DEFAULT_OUTBOX_RETENTION_SECONDS,
    correlationId: options.correlationId,
  });
  await sendTransaction(client, built, 3);
  return { key, version, at };
}

/**
 * Cancels a job now, through a unit of work of its own (`uow.cancelJob(key)`): the record becomes
 * CANCELLED and the dispatcher deletes its schedule. A job that finished meanwhile makes the commit fail
 * with `ConditionFailedError`.
 *
 * @throws InvalidOperationError when there is no such job, or it already finished (naming its status).
 * @example
 * ```ts
 * await cancelJobNow(`expire-${orderId}`, { outboxTable: 'orders-outbox', client });
 * ```
 */
export async function cancelJobNow(key: string, options: JobAdminOptions): Promise<void> {
  const op = `cancelJob(${key})`;
  if (typeof key !== 'string' || key === '') throw new InvalidOperationError(op, 'key must be a non-empty string');
  const table = resolveOutboxTable(options, 'cancelJobNow(options)');
  const record = await readRecord(toDocumentClient(options.client), table, key);
  if (!record) throw new InvalidOperationError(op, 'there is no job with this key (never committed, or removed by TTL)');
  const cancellable: readonly string[] = [JOB_STATUS.SCHEDULED, JOB_STATUS.FAILED, JOB_STATUS.RUNNING];
  if (!cancellable.includes(record.jobStatus)) throw new InvalidOperationError(op, `the job is ${record.jobStatus}; only SCHEDULED, FAILED or RUNNING jobs can be cancelled`);
  await withUnitOfWork((uow) => uow.cancelJob(key), {
    outboxTable: table,
    client: options.client,
    propagation: 'requiresNew',
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
  });
}
