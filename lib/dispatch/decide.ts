/**
 * Pure decisions of the dispatcher: which stream records to handle, which schedule a job record calls for,
 * and whether two schedules do the same thing.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { JOB_STATUS, type JobRecord } from '../job-record/record.js';
import { isRecurring } from '../job-record/transitions.js';
import type { CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { OUTBOX_KEYS, OUTBOX_SCHEMA } from '../outbox/schema.js';
import { SQS_TIMER_WINDOW_MS } from './config.js';

/**
 * Whether a stream record is an INSERT of an outbox item (the only records the dispatcher acts on; the
 * event source mapping filter lets only those through, this check covers a stack without the filter).
 */
export function isOutboxInsert(record: DynamoDBRecord): boolean {
  return (
    record.eventName === 'INSERT' &&
    record.dynamodb?.NewImage?.[OUTBOX_SCHEMA.kindAttribute]?.S === OUTBOX_SCHEMA.outboxKind
  );
}

/**
 * Whether a stream record is an INSERT of an outbox item that carries no `NewImage` (its key says
 * `outbox#…`): the table's stream view type is `KEYS_ONLY` or `OLD_IMAGE`, so the messages cannot be read.
 * The dispatcher reports such a record as failed instead of acknowledging it: its messages would be lost.
 */
export function isImagelessOutboxInsert(record: DynamoDBRecord): boolean {
  const pk = record.dynamodb?.Keys?.[OUTBOX_SCHEMA.partitionKey]?.S;
  return (
    record.eventName === 'INSERT' &&
    !record.dynamodb?.NewImage &&
    typeof pk === 'string' &&
    pk.startsWith(OUTBOX_KEYS.outboxPk(''))
  );
}

/**
 * The schedule a job record calls for: `present` (this job id at this version, with the record's
 * `schedule`) while the job is waiting for a delivery (SCHEDULED, FAILED with a retry due, or RUNNING
 * for a recurring job whose later occurrences must keep coming); `absent` when there is no record or the
 * job will never be delivered again (CANCELLED, SUCCEEDED, DEAD, or RUNNING for a one-time job whose
 * schedule has fired).
 */
export type DesiredSchedule =
  | { readonly present: true; readonly jobId: string; readonly version: number }
  | { readonly present: false; readonly why: string };

/** What {@link DesiredSchedule} `record` calls for. */
export function desiredSchedule(record: JobRecord | undefined): DesiredSchedule {
  if (!record) return { present: false, why: 'no job record' };
  const s = record.jobStatus;
  if (
    s === JOB_STATUS.SCHEDULED ||
    s === JOB_STATUS.FAILED ||
    (s === JOB_STATUS.RUNNING && isRecurring(record.schedule))
  )
    return { present: true, jobId: record.jobId, version: record.version };
  return { present: false, why: `the job is ${s}` };
}

/**
 * The fields of a schedule that decide what it does: expression, time zone, completion action, window,
 * state, and the target (ARN, role, input, retry policy, dead-letter queue). `Description` and timestamps
 * are left out. The target `Input` is compared as parsed JSON with sorted keys, so a service that re-serializes
 * it still compares equal.
 */
export function scheduleFingerprint(schedule: ScheduleFields | undefined): string {
  if (!schedule) return 'absent';
  const t = schedule.Target;
  return canonicalJson({
    name: schedule.Name,
    group: schedule.GroupName ?? 'default',
    expression: schedule.ScheduleExpression,
    timezone: schedule.ScheduleExpressionTimezone ?? 'UTC',
    after: schedule.ActionAfterCompletion ?? 'NONE',
    window: schedule.FlexibleTimeWindow ?? null,
    state: schedule.State ?? 'ENABLED',
    target: t
      ? {
          arn: t.Arn,
          role: t.RoleArn,
          input: parsedInput(t.Input),
          retry: t.RetryPolicy ?? null,
          dlq: t.DeadLetterConfig?.Arn ?? null,
        }
      : null,
  });
}

/** Whether two schedules (or their absence) do the same thing ({@link scheduleFingerprint}): the convergence test. */
export function sameSchedule(a: ScheduleFields | undefined, b: ScheduleFields | undefined): boolean {
  return scheduleFingerprint(a) === scheduleFingerprint(b);
}

/** What {@link scheduleFingerprint} reads: a `CreateSchedule` input or a `GetSchedule` output. */
export type ScheduleFields = Partial<
  Pick<
    CreateScheduleCommandInput,
    | 'Name'
    | 'GroupName'
    | 'ScheduleExpression'
    | 'ScheduleExpressionTimezone'
    | 'ActionAfterCompletion'
    | 'FlexibleTimeWindow'
    | 'State'
    | 'Target'
  >
>;

function parsedInput(input: string | undefined): unknown {
  if (input === undefined) return null;
  try {
    return JSON.parse(input) as unknown;
  } catch {
    return input;
  }
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/**
 * Whether a Scheduler schedule may exist for the job of `record` when timers go to SQS: `false` only when the
 * record proves the job was never due later than 15 minutes after it was created, i.e. a one-time job due at
 * most {@link SQS_TIMER_WINDOW_MS} after `createdAt` that was never rescheduled or retried (version 1, or 2
 * after a cancel: every job change bumps the version). Its dispatch, which ran after the creation, sent an SQS
 * timer. Anything else (no record, a reschedule, a retry, a recurring job) may have had a schedule: it is deleted.
 */
export function mayHaveSchedule(record: JobRecord | undefined): boolean {
  if (!record?.schedule || record.schedule.at === undefined || isRecurring(record.schedule)) return true;
  const firstVersion = record.version === 1 || (record.version === 2 && record.jobStatus === JOB_STATUS.CANCELLED);
  const lead = Date.parse(record.schedule.at) - Date.parse(record.createdAt);
  return !(firstVersion && Number.isFinite(lead) && lead <= SQS_TIMER_WINDOW_MS);
}

/** Short description of a job record's state for logs and errors: `jobId v<version> STATUS` or `missing`. */
export function describeJobRecord(record: JobRecord | undefined): string {
  return record ? `${record.jobId} v${record.version} ${record.jobStatus}` : 'missing';
}
