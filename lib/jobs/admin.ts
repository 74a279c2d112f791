/**
 * Operator actions on one job, outside any handler: revive a DEAD job, cancel a pending one. Each is a
 * transactional change through a unit of work of its own (new job version + the outbox message that makes
 * the dispatcher re-create or delete the schedule), so it is as safe as the same call inside a handler.
 * Shared by the `lambda-unit-of-work jobs` CLI and the console.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError, InvalidOperationError, JobNotFoundError } from '../errors.js';
import { withUnitOfWork } from '../unit-of-work/context.js';
import type { LoggerLike } from '../logger.js';
import { getJob, type JobView } from './read.js';
import { JOB_STATUS, TERMINAL_JOB_STATUSES } from '../job-record/record.js';

/** Where and how an admin action writes. */
export interface JobAdminOptions {
  /** @default process.env.UOW_OUTBOX_TABLE */
  readonly outboxTable?: string;
  /** @default a client from the environment */
  readonly client?: DynamoDBClient | DynamoDBDocumentClient;
  /** Only check and report what would change; write nothing. @default false */
  readonly dryRun?: boolean;
  /** Recorded as the correlation id of the commit (e.g. `cli:<user>`). */
  readonly correlationId?: string;
  /** Logger of the unit of work. */
  readonly logger?: LoggerLike;
}

/** Options of {@link retryJob}. */
export interface RetryJobOptions extends JobAdminOptions {
  /** When the revived job runs: an instant, or seconds from now. @default now */
  readonly at?: Date | string;
  readonly delay?: number;
}

/** What an admin action did: the job before, and after (absent on a dry run). */
export interface JobAdminResult {
  readonly key: string;
  readonly action: 'retried' | 'cancelled';
  readonly dryRun: boolean;
  readonly before: JobView;
  readonly after?: JobView;
}

async function currentJob(operation: string, key: string, options: JobAdminOptions): Promise<JobView> {
  if (typeof key !== 'string' || key === '')
    throw new InvalidOperationError(operation, 'key must be a non-empty string');
  const job = await getJob(key, options);
  if (!job) throw new JobNotFoundError(operation, key);
  return job;
}

async function commit(
  operation: string,
  key: string,
  options: JobAdminOptions,
  change: Parameters<typeof withUnitOfWork>[0],
): Promise<JobView> {
  try {
    await withUnitOfWork(change, {
      propagation: 'requiresNew',
      ...(options.outboxTable ? { outboxTable: options.outboxTable } : {}),
      ...(options.client ? { client: options.client } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    const now = await getJob(key, options);
    throw new InvalidOperationError(
      `${operation}(${key})`,
      `the job changed meanwhile (now ${now ? now.status : 'gone'}); nothing was written`,
      { cause: error },
    );
  }
  const after = await getJob(key, options);
  if (!after) throw new JobNotFoundError(operation, key);
  return after;
}

/**
 * Revives a DEAD job: in one transaction its record becomes SCHEDULED under a new version with attempts
 * counted from 0, and a `job.reschedule` outbox message makes the dispatcher re-create its schedule (due
 * now, or at `at`/`delay`). A job in any other status is refused with `InvalidOperationError`, a missing one
 * with `JobNotFoundError`; a job that changes between the check and the commit is refused by the commit's
 * condition (nothing is written).
 *
 * @example
 * ```ts
 * const { after } = await retryJob('expire-order-42', { outboxTable: 'orders-outbox' });
 * after?.status; // 'SCHEDULED'
 * ```
 */
export async function retryJob(key: string, options: RetryJobOptions = {}): Promise<JobAdminResult> {
  const before = await currentJob('retryJob', key, options);
  if (before.status !== JOB_STATUS.DEAD)
    throw new InvalidOperationError(
      `retryJob(${key})`,
      `the job is ${before.status}; only a DEAD job can be retried (reschedule or cancel a pending one)`,
    );
  const when = options.at !== undefined ? { at: options.at } : { delay: options.delay ?? 0 };
  if (options.dryRun) return { key, action: 'retried', dryRun: true, before };
  const after = await commit('retryJob', key, options, (uow) => uow.retryJob(key, when, before.version));
  return { key, action: 'retried', dryRun: false, before, after };
}

/**
 * Cancels a job that is SCHEDULED, FAILED or RUNNING, exactly as `uow.cancelJob(key)` in a handler: the record
 * becomes CANCELLED and the dispatcher deletes its schedule; a delivery already on its way skips it. A job that
 * already finished is refused with `InvalidOperationError`, a missing one with `JobNotFoundError`.
 */
export async function cancelJob(key: string, options: JobAdminOptions = {}): Promise<JobAdminResult> {
  const before = await currentJob('cancelJob', key, options);
  if (TERMINAL_JOB_STATUSES.includes(before.status))
    throw new InvalidOperationError(
      `cancelJob(${key})`,
      `the job is already ${before.status}; only SCHEDULED, FAILED or RUNNING jobs can be cancelled`,
    );
  if (options.dryRun) return { key, action: 'cancelled', dryRun: true, before };
  const after = await commit('cancelJob', key, options, (uow) => uow.cancelJob(key));
  return { key, action: 'cancelled', dryRun: false, before, after };
}
