/**
 * Pure decisions of the dispatcher: which stream records to handle, and whether a job message still
 * applies given the job record read (consistently) at dispatch time.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { JOB_STATUS, type JobRecord } from '../jobs/record.js';
import { isRecurring } from '../jobs/transitions.js';
import type { CancelJobMessage, RescheduleJobMessage, ScheduleJobMessage } from '../outbox/messages.js';
import { OUTBOX_KEYS, OUTBOX_SCHEMA } from '../outbox/schema.js';

/**
 * Whether a stream record is an INSERT of an outbox item (the only records the dispatcher acts on; the
 * event source mapping filter lets only those through, this check covers a stack without the filter).
 */
export function isOutboxInsert(record: DynamoDBRecord): boolean {
  return record.eventName === 'INSERT' && record.dynamodb?.NewImage?.[OUTBOX_SCHEMA.kindAttribute]?.S === OUTBOX_SCHEMA.outboxKind;
}

/**
 * Whether a stream record is an INSERT of an outbox item that carries no `NewImage` (its key says
 * `outbox#…`): the table's stream view type is `KEYS_ONLY` or `OLD_IMAGE`, so the messages cannot be read.
 * The dispatcher reports such a record as failed instead of acknowledging it: its messages would be lost.
 */
export function isImagelessOutboxInsert(record: DynamoDBRecord): boolean {
  const pk = record.dynamodb?.Keys?.[OUTBOX_SCHEMA.partitionKey]?.S;
  return record.eventName === 'INSERT' && !record.dynamodb?.NewImage && typeof pk === 'string' && pk.startsWith(OUTBOX_KEYS.outboxPk(''));
}

/** `undefined`: go ahead; otherwise why the message no longer applies. */
export type SkipReason = string | undefined;

/**
 * A `job.schedule` applies only while its job record is still this job (same `jobId`), at this version,
 * and SCHEDULED. Any other status means the job was cancelled, finished, or its schedule already fired
 * (RUNNING/FAILED); a newer version means a reschedule or retry superseded the message.
 */
export function skipSchedule(record: JobRecord | undefined, message: ScheduleJobMessage): SkipReason {
  if (!record) return 'the job record does not exist (expired or never committed)';
  if (record.jobId !== message.job.jobId) return `the job record belongs to another job (${record.jobId}) with the same key`;
  if (record.version > message.job.version) return `superseded by job record version ${record.version}`;
  if (record.jobStatus !== JOB_STATUS.SCHEDULED) return `the job is ${record.jobStatus}`;
  return undefined;
}

/**
 * A `job.reschedule` applies while the job record is at the message's version and SCHEDULED (a
 * reschedule) or FAILED (a retry with backoff).
 */
export function skipReschedule(record: JobRecord | undefined, message: RescheduleJobMessage): SkipReason {
  if (!record) return 'the job record does not exist (expired or never committed)';
  if (record.version > message.version) return `superseded by job record version ${record.version}`;
  if (record.version < message.version) return `the job record is at version ${record.version}, older than the message (${message.version})`;
  if (record.jobStatus !== JOB_STATUS.SCHEDULED && record.jobStatus !== JOB_STATUS.FAILED) return `the job is ${record.jobStatus}`;
  return undefined;
}

/**
 * A `job.cancel` deletes the schedule unless the key now belongs to a live job again (its record is
 * no longer CANCELLED: the cancelled record expired and a new job took the key).
 */
export function skipCancel(record: JobRecord | undefined, _message: CancelJobMessage): SkipReason {
  if (record && record.jobStatus !== JOB_STATUS.CANCELLED) return `the key is in use by job ${record.jobId} (${record.jobStatus})`;
  return undefined;
}

/**
 * What to do when `CreateSchedule` found a schedule with the name: `done` when it carries this job at
 * this version or later; `replace` (UpdateSchedule) when it is stale or not ours.
 */
export function onExistingSchedule(existing: { jobId: string; version: number } | undefined, job: { jobId: string; version: number }): 'done' | 'replace' {
  return existing && existing.jobId === job.jobId && existing.version >= job.version ? 'done' : 'replace';
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
  if (s === JOB_STATUS.SCHEDULED || s === JOB_STATUS.FAILED || (s === JOB_STATUS.RUNNING && isRecurring(record.schedule)))
    return { present: true, jobId: record.jobId, version: record.version };
  return { present: false, why: `the job is ${s}` };
}

/**
 * Whether a schedule call based on `basis` is still right after the job record was read again as
 * `current` (both call for no schedule, or for the same job at the same version). When not, the
 * dispatcher applies `current` (the record moved while the call was in flight: a newer reschedule,
 * a cancel, a retry).
 */
export function sameDesiredSchedule(basis: DesiredSchedule, current: DesiredSchedule): boolean {
  if (!basis.present || !current.present) return basis.present === current.present;
  return basis.jobId === current.jobId && basis.version === current.version;
}

/** Short description of a job record's state for logs and errors: `jobId v<version> STATUS` or `missing`. */
export function describeJobRecord(record: JobRecord | undefined): string {
  return record ? `${record.jobId} v${record.version} ${record.jobStatus}` : 'missing';
}
