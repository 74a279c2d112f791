/**
 * `redrive job-dlq`: deliveries EventBridge Scheduler could not make (the dead-letter message body is the
 * schedule's target input, the job runner input). Each is decided against the job record: run it now (with a
 * job runner), reschedule it through a unit of work (the dispatcher creates a schedule due now), drop it (the
 * job moved on: finished, cancelled, superseded, gone), or keep it (RUNNING under a live lease).
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import { ConditionFailedError } from '../errors.js';
import type { JobRunnerInput } from '../job-record/delivery-input.js';
import { JOB_STATUS, TERMINAL_JOB_STATUSES, jobRecordKey, type JobRecord } from '../job-record/record.js';
import { isRecurring } from '../job-record/transitions.js';
import { withUnitOfWork } from '../unit-of-work/context.js';
import { toDocumentClient } from '../unit-of-work/settings.js';
import { redriveQueue, type DlqOptions, type RedriveSummary } from './dlq.js';

/** Options of {@link redriveJobDlq}. */
export interface JobDlqRedriveOptions extends DlqOptions {
  readonly outboxTable: string;
  readonly dynamodb: DynamoDBClient | DynamoDBDocumentClient;
  /**
   * Runs a delivery now (e.g. the `jobRunner(...)` handler, or a Lambda invoke). Without it, pending jobs are
   * rescheduled to now through a unit of work instead.
   */
  readonly run?: (input: JobRunnerInput) => Promise<unknown>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** What to do with one dead-lettered delivery. */
export type JobDlqAction = 'run' | 'reschedule' | 'drop' | 'keep';

/** What happened to one dead-letter message. */
export interface JobDlqReport {
  readonly messageId: string;
  readonly key?: string;
  readonly version?: number;
  readonly action: JobDlqAction;
  /** `done`, `would` (dry run) or `failed`. */
  readonly result: 'done' | 'would' | 'failed';
  readonly reason: string;
  /** What the run returned (a `JobRunResult` from the job runner). */
  readonly runResult?: unknown;
}

/** Decides what a dead-lettered delivery of `input` calls for, given the job record now (pure). */
export function jobDlqAction(
  record: JobRecord | undefined,
  input: Pick<JobRunnerInput, 'jobId' | 'version'>,
  nowMs: number,
  canRun: boolean,
): { action: JobDlqAction; reason: string } {
  if (!record) return { action: 'drop', reason: 'no job record (expired, or never committed)' };
  if (record.jobId !== input.jobId)
    return { action: 'drop', reason: `the key belongs to another job now (${record.jobId})` };
  if (record.version > input.version)
    return { action: 'drop', reason: `superseded by job record version ${record.version}` };
  if (TERMINAL_JOB_STATUSES.includes(record.jobStatus))
    return { action: 'drop', reason: `the job is ${record.jobStatus}` };
  if (record.jobStatus === JOB_STATUS.RUNNING && (record.leaseUntil ?? 0) > nowMs)
    return { action: 'keep', reason: `RUNNING under a lease until ${new Date(record.leaseUntil!).toISOString()}` };
  if (canRun)
    return { action: 'run', reason: `the job is ${record.jobStatus} at version ${record.version}: delivered now` };
  if (isRecurring(record.schedule))
    return {
      action: 'keep',
      reason: 'a missed occurrence of a recurring job: only a runner can deliver it (its schedule keeps running)',
    };
  if (record.jobStatus === JOB_STATUS.RUNNING)
    return { action: 'keep', reason: 'RUNNING with an expired lease: only a runner can reclaim it' };
  return {
    action: 'reschedule',
    reason: `the job is ${record.jobStatus} at version ${record.version}: rescheduled to now`,
  };
}

function parseInput(body: string | undefined): JobRunnerInput | undefined {
  try {
    const input = JSON.parse(body ?? '') as JobRunnerInput;
    return typeof input?.key === 'string' && typeof input.jobId === 'string' && typeof input.version === 'number'
      ? input
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Redrives the job dead-letter queue (see the module comment). A message is deleted once its delivery ran,
 * was rescheduled, or no longer applies; it is kept when the run or the reschedule failed, or the job is
 * RUNNING under a live lease.
 *
 * @example
 * ```ts
 * const summary = await redriveJobDlq({ sqs, queueUrl, outboxTable: 'orders-outbox', dynamodb, run: jobRunnerHandler });
 * ```
 */
export async function redriveJobDlq(options: JobDlqRedriveOptions): Promise<RedriveSummary<JobDlqReport>> {
  const doc = toDocumentClient(options.dynamodb);
  const now = options.now ?? Date.now;
  return redriveQueue<JobDlqReport>(options, async (message: Message) => {
    const messageId = message.MessageId!;
    const input = parseInput(message.Body);
    if (!input)
      return {
        delete: false,
        report: {
          messageId,
          action: 'keep',
          result: 'failed',
          reason: 'the body is not a job runner input (jobId, key, version)',
        },
      };
    const base = { messageId, key: input.key, version: input.version };
    const read = async () =>
      (
        await doc.send(
          new GetCommand({ TableName: options.outboxTable, Key: jobRecordKey(input.key), ConsistentRead: true }),
        )
      ).Item as JobRecord | undefined;
    const { action, reason } = jobDlqAction(await read(), input, now(), options.run !== undefined);
    if (action === 'drop' || action === 'keep')
      return {
        delete: action === 'drop',
        report: { ...base, action, result: options.dryRun ? 'would' : 'done', reason },
      };
    if (options.dryRun) return { delete: false, report: { ...base, action, result: 'would', reason } };
    try {
      if (action === 'run') {
        const runResult = await options.run!({ ...input, attemptNumber: '1', executionId: `redrive-${randomUUID()}` });
        return { delete: true, report: { ...base, action, result: 'done', reason, runResult } };
      }
      await withUnitOfWork((uow) => uow.rescheduleJob(input.key, { delay: 0 }), {
        outboxTable: options.outboxTable,
        client: doc,
        propagation: 'requiresNew',
        correlationId: `redrive:${messageId}`,
      });
      return { delete: true, report: { ...base, action, result: 'done', reason } };
    } catch (error) {
      const why =
        error instanceof ConditionFailedError
          ? `the job changed meanwhile (${(await read())?.jobStatus ?? 'gone'})`
          : (error as Error).message;
      return { delete: false, report: { ...base, action, result: 'failed', reason: `${reason}; failed: ${why}` } };
    }
  });
}
