import { JOB_STATUS, jobRecordKey, type JobRecord } from '../jobs/record.js';
import type { JobScheduleSpec } from '../outbox/messages.js';
import { OUTBOX_SCHEMA } from '../outbox/schema.js';

/** What a new job record needs. */
export interface NewJob {
  readonly jobId: string;
  readonly key: string;
  readonly name: string;
  readonly payloadJson: string;
  readonly schedule: JobScheduleSpec;
  readonly scheduleName: string;
  readonly maxAttempts: number;
  readonly nowIso: string;
  readonly correlationId?: string;
}

/** The job record a unit of work writes when it schedules a job (status SCHEDULED, version 1). */
export function newJobRecord(job: NewJob): JobRecord {
  return {
    ...jobRecordKey(job.key),
    [OUTBOX_SCHEMA.kindAttribute]: OUTBOX_SCHEMA.jobKind,
    jobId: job.jobId,
    jobKey: job.key,
    jobName: job.name,
    payload: job.payloadJson,
    schedule: job.schedule,
    scheduleName: job.scheduleName,
    jobStatus: JOB_STATUS.SCHEDULED,
    version: 1,
    attempts: 0,
    maxAttempts: job.maxAttempts,
    createdAt: job.nowIso,
    jobUpdatedAt: job.nowIso,
    ...(job.schedule.at ? { nextRunAt: job.schedule.at } : {}),
    ...(job.correlationId ? { correlationId: job.correlationId } : {}),
  } as JobRecord;
}

/** The Put of a new job record: it fails when a record with the key exists (→ DuplicateJobError). */
export function putJobRecordParams(table: string, record: JobRecord): Record<string, unknown> {
  return {
    TableName: table,
    Item: record,
    ConditionExpression: 'attribute_not_exists(#pk)',
    ExpressionAttributeNames: { '#pk': OUTBOX_SCHEMA.partitionKey },
  };
}

/** Update that cancels a job that is still SCHEDULED, FAILED or RUNNING; sets its TTL. */
export function cancelJobParams(table: string, key: string, version: number, nowIso: string, ttl: number): Record<string, unknown> {
  return {
    TableName: table,
    Key: jobRecordKey(key),
    UpdateExpression: 'SET #status = :cancelled, #version = :version, #updated = :now, #ttl = :ttl REMOVE leaseUntil',
    ConditionExpression: '#status IN (:scheduled, :failed, :running)',
    ExpressionAttributeNames: { '#status': 'jobStatus', '#version': 'version', '#updated': 'jobUpdatedAt', '#ttl': OUTBOX_SCHEMA.ttlAttribute },
    ExpressionAttributeValues: {
      ':cancelled': JOB_STATUS.CANCELLED,
      ':scheduled': JOB_STATUS.SCHEDULED,
      ':failed': JOB_STATUS.FAILED,
      ':running': JOB_STATUS.RUNNING,
      ':version': version,
      ':now': nowIso,
      ':ttl': ttl,
    },
  };
}

/** Update that moves a SCHEDULED or FAILED job to a new schedule and version. */
export function rescheduleJobParams(table: string, key: string, version: number, schedule: JobScheduleSpec, nowIso: string): Record<string, unknown> {
  return {
    TableName: table,
    Key: jobRecordKey(key),
    UpdateExpression: schedule.at
      ? 'SET #status = :scheduled, #version = :version, #schedule = :schedule, #updated = :now, nextRunAt = :next REMOVE leaseUntil'
      : 'SET #status = :scheduled, #version = :version, #schedule = :schedule, #updated = :now REMOVE leaseUntil, nextRunAt',
    ConditionExpression: '#status IN (:scheduled, :failed)',
    ExpressionAttributeNames: { '#status': 'jobStatus', '#version': 'version', '#updated': 'jobUpdatedAt', '#schedule': 'schedule' },
    ExpressionAttributeValues: {
      ':scheduled': JOB_STATUS.SCHEDULED,
      ':failed': JOB_STATUS.FAILED,
      ':version': version,
      ':schedule': schedule,
      ':now': nowIso,
      ...(schedule.at ? { ':next': schedule.at } : {}),
    },
  };
}

/**
 * Update that revives a DEAD job: SCHEDULED again under a new version, its attempts counted from 0, due at
 * `schedule.at`, its TTL removed (`lastError` stays for the record). Conditional on DEAD and an older version.
 */
export function reviveJobParams(table: string, key: string, version: number, schedule: { at: string }, nowIso: string): Record<string, unknown> {
  return {
    TableName: table,
    Key: jobRecordKey(key),
    UpdateExpression:
      'SET #status = :scheduled, #version = :version, #schedule = :schedule, #updated = :now, nextRunAt = :next, attempts = :zero ' +
      'REMOVE leaseUntil, #ttl',
    ConditionExpression: '#status = :dead AND #version < :version',
    ExpressionAttributeNames: {
      '#status': 'jobStatus', '#version': 'version', '#updated': 'jobUpdatedAt', '#schedule': 'schedule', '#ttl': OUTBOX_SCHEMA.ttlAttribute,
    },
    ExpressionAttributeValues: {
      ':scheduled': JOB_STATUS.SCHEDULED, ':dead': JOB_STATUS.DEAD, ':version': version, ':schedule': schedule, ':now': nowIso, ':next': schedule.at, ':zero': 0,
    },
  };
}
