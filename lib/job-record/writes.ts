import { JOB_STATUS, jobRecordKey, type JobRecord } from './record.js';
import type { JobScheduleSpec } from '../outbox/messages.js';
import type { TraceContext } from '../trace-context.js';
import { OUTBOX_SCHEMA, originRegion } from '../outbox/schema.js';
import { jobIndexAttributes, withJobIndex } from './status-index.js';

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
  /** Trace context of the scheduling commit, restored by the job runner. */
  readonly traceContext?: TraceContext;
}

/**
 * The job record a unit of work writes when it schedules a job (status SCHEDULED, version 1). Built by
 * assignment in one fixed order (no spreads of computed keys): it runs for every scheduled job.
 */
export function newJobRecord(job: NewJob): JobRecord {
  const record: Record<string, unknown> = jobRecordKey(job.key);
  record[OUTBOX_SCHEMA.kindAttribute] = OUTBOX_SCHEMA.jobKind;
  const region = originRegion();
  if (region) record[OUTBOX_SCHEMA.regionAttribute] = region;
  record.jobId = job.jobId;
  record.jobKey = job.key;
  record.jobName = job.name;
  record.payload = job.payloadJson;
  record.schedule = job.schedule;
  record.scheduleName = job.scheduleName;
  record.jobStatus = JOB_STATUS.SCHEDULED;
  record.version = 1;
  record.attempts = 0;
  record.maxAttempts = job.maxAttempts;
  record.createdAt = job.nowIso;
  record.jobUpdatedAt = job.nowIso;
  if (job.schedule.at) record.nextRunAt = job.schedule.at;
  if (job.correlationId) record.correlationId = job.correlationId;
  if (job.traceContext) record.traceContext = job.traceContext;
  const index = jobIndexAttributes(JOB_STATUS.SCHEDULED, job.key, job.nowIso);
  for (const name in index) record[name] = index[name];
  return record as unknown as JobRecord;
}

/** What `schedule` does when a job record with the key exists: see {@link putJobRecordParams}. */
export type IfJobExists = 'fail' | 'replace';

/** The values of {@link IfJobExists}. */
export const IF_JOB_EXISTS: readonly IfJobExists[] = ['fail', 'replace'];

/**
 * The Put of a new job record, in the unit of work's one transaction (no read before). It succeeds when
 * there is no record with the key, or the record's job is finished (SUCCEEDED, DEAD, CANCELLED: the key is
 * reused), and with `ifExists: 'replace'` also when it is pending (SCHEDULED, FAILED: debounce). Otherwise
 * (a pending job without `replace`, a RUNNING job always) it fails → `DuplicateJobError` with the status.
 * The new record has a new job id, so a delivery of the old job (it carries the old job id) never claims it.
 */
export function putJobRecordParams(
  table: string,
  record: JobRecord,
  ifExists: IfJobExists = 'fail',
): Record<string, unknown> {
  const replaceable = ifExists === 'replace' ? ', :scheduled, :failed' : '';
  return {
    TableName: table,
    Item: record,
    ConditionExpression: `attribute_not_exists(#pk) OR #status IN (:succeeded, :dead, :cancelled${replaceable})`,
    ExpressionAttributeNames: { '#pk': OUTBOX_SCHEMA.partitionKey, '#status': 'jobStatus' },
    ExpressionAttributeValues: {
      ':succeeded': JOB_STATUS.SUCCEEDED,
      ':dead': JOB_STATUS.DEAD,
      ':cancelled': JOB_STATUS.CANCELLED,
      ...(ifExists === 'replace' ? { ':scheduled': JOB_STATUS.SCHEDULED, ':failed': JOB_STATUS.FAILED } : {}),
    },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/**
 * The version rule of every commit that changes a job record: `version = version + 1`, computed by DynamoDB
 * on the item itself. Writes to one item are serialized, so two commits never give a job the same version
 * and a later commit never lowers it, whatever the writers' clocks say (no read, no clock, no refused commit).
 * The condition requires a numeric version, so the increment can never start from a missing attribute.
 * The dispatcher takes the version (and everything else) from the job record it reads, never from the
 * message (see docs/jobs.md, "Versions").
 */
export const VERSION_INCREMENT = {
  update: '#version = #version + :versionStep',
  condition: 'attribute_type(#version, :numberType)',
  values: { ':versionStep': 1, ':numberType': 'N' },
} as const;

/** Update that cancels a job that is still SCHEDULED, FAILED or RUNNING; sets its TTL; bumps its version. */
export function cancelJobParams(table: string, key: string, nowIso: string, ttl: number): Record<string, unknown> {
  return withJobIndex(
    {
      TableName: table,
      Key: jobRecordKey(key),
      UpdateExpression: `SET #status = :cancelled, ${VERSION_INCREMENT.update}, #updated = :now, #ttl = :ttl REMOVE leaseUntil`,
      ConditionExpression: `#status IN (:scheduled, :failed, :running) AND ${VERSION_INCREMENT.condition}`,
      ExpressionAttributeNames: {
        '#status': 'jobStatus',
        '#version': 'version',
        '#updated': 'jobUpdatedAt',
        '#ttl': OUTBOX_SCHEMA.ttlAttribute,
      },
      ExpressionAttributeValues: {
        ':cancelled': JOB_STATUS.CANCELLED,
        ':scheduled': JOB_STATUS.SCHEDULED,
        ':failed': JOB_STATUS.FAILED,
        ':running': JOB_STATUS.RUNNING,
        ...VERSION_INCREMENT.values,
        ':now': nowIso,
        ':ttl': ttl,
      },
    },
    JOB_STATUS.CANCELLED,
    key,
    nowIso,
  );
}

/** Update that moves a SCHEDULED or FAILED job to a new schedule; bumps its version ({@link VERSION_INCREMENT}). */
export function rescheduleJobParams(
  table: string,
  key: string,
  schedule: JobScheduleSpec,
  nowIso: string,
): Record<string, unknown> {
  const set = `SET #status = :scheduled, ${VERSION_INCREMENT.update}, #schedule = :schedule, #updated = :now`;
  return withJobIndex(
    {
      TableName: table,
      Key: jobRecordKey(key),
      UpdateExpression: schedule.at
        ? `${set}, nextRunAt = :next REMOVE leaseUntil`
        : `${set} REMOVE leaseUntil, nextRunAt`,
      ConditionExpression: `#status IN (:scheduled, :failed) AND ${VERSION_INCREMENT.condition}`,
      ExpressionAttributeNames: {
        '#status': 'jobStatus',
        '#version': 'version',
        '#updated': 'jobUpdatedAt',
        '#schedule': 'schedule',
      },
      ExpressionAttributeValues: {
        ':scheduled': JOB_STATUS.SCHEDULED,
        ':failed': JOB_STATUS.FAILED,
        ...VERSION_INCREMENT.values,
        ':schedule': schedule,
        ':now': nowIso,
        ...(schedule.at ? { ':next': schedule.at } : {}),
      },
    },
    JOB_STATUS.SCHEDULED,
    key,
    nowIso,
  );
}

/**
 * Update that revives a DEAD job: SCHEDULED again, its version bumped ({@link VERSION_INCREMENT}), its attempts
 * counted from 0, due at `schedule.at`, its TTL removed (`lastError` stays for the record). Conditional on DEAD
 * and, when given, on the version the caller read (`seenVersion`), so a job that changed meanwhile is refused.
 */
export function reviveJobParams(
  table: string,
  key: string,
  schedule: { at: string },
  nowIso: string,
  seenVersion?: number,
): Record<string, unknown> {
  return withJobIndex(
    {
      TableName: table,
      Key: jobRecordKey(key),
      UpdateExpression:
        `SET #status = :scheduled, ${VERSION_INCREMENT.update}, #schedule = :schedule, #updated = :now, nextRunAt = :next, attempts = :zero ` +
        'REMOVE leaseUntil, #ttl',
      ConditionExpression: `#status = :dead AND ${VERSION_INCREMENT.condition}${seenVersion === undefined ? '' : ' AND #version = :seen'}`,
      ExpressionAttributeNames: {
        '#status': 'jobStatus',
        '#version': 'version',
        '#updated': 'jobUpdatedAt',
        '#schedule': 'schedule',
        '#ttl': OUTBOX_SCHEMA.ttlAttribute,
      },
      ExpressionAttributeValues: {
        ':scheduled': JOB_STATUS.SCHEDULED,
        ':dead': JOB_STATUS.DEAD,
        ...VERSION_INCREMENT.values,
        ':schedule': schedule,
        ':now': nowIso,
        ':next': schedule.at,
        ':zero': 0,
        ...(seenVersion === undefined ? {} : { ':seen': seenVersion }),
      },
    },
    JOB_STATUS.SCHEDULED,
    key,
    nowIso,
  );
}
