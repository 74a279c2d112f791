/**
 * The job record's state machine as DynamoDB update parameters (pure: no I/O, no clock). Every transition
 * is conditional, so concurrent runners, cancellations and reschedules cannot overwrite each other:
 *
 * ```
 * SCHEDULED ─claim─▶ RUNNING ─commit with the job's work─▶ SUCCEEDED      (one-time)
 *     ▲                 │    └────────────────────────────▶ SCHEDULED      (recurring: next occurrence)
 *     │                 ├─failure, attempts left─▶ FAILED ─claim (retry)─▶ RUNNING …
 *     │                 └─failure, attempts used─▶ DEAD (+ JobFailed event)
 *  reschedule        any of SCHEDULED/FAILED/RUNNING ─cancelJob─▶ CANCELLED
 * ```
 */
import { JOB_STATUS, jobRecordKey, type JobRecord, type JobStatus } from './record.js';
import type { JobScheduleSpec } from '../outbox/messages.js';
import { OUTBOX_SCHEMA } from '../outbox/schema.js';
import { withJobIndex } from './status-index.js';
import { isoSeconds } from '../iso-time.js';

/** Update parameters in the `@aws-sdk/lib-dynamodb` shape. */
export type UpdateParams = Record<string, unknown> & {
  TableName: string;
  Key: Record<string, unknown>;
  UpdateExpression: string;
  ConditionExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
};

const NAMES = {
  '#status': 'jobStatus',
  '#version': 'version',
  '#updated': 'jobUpdatedAt',
} as const;

/** Whether a job's schedule repeats (`cron`/`rate`). */
export function isRecurring(schedule: JobScheduleSpec | undefined): boolean {
  return !!schedule && schedule.at === undefined && (schedule.cron !== undefined || schedule.rate !== undefined);
}

/** Normalizes a Scheduler scheduled time to `yyyy-mm-ddThh:mm:ssZ` (so occurrences compare as strings), or `undefined`. */
export function normalizeOccurrence(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  return isoSeconds(ms, 'floor');
}

/** What a claim needs. */
export interface ClaimInput {
  readonly table: string;
  readonly key: string;
  /** The job id the delivered schedule was made for (a key reused by a later job is not this job). */
  readonly jobId: string;
  /** The version the delivered schedule was made for. */
  readonly version: number;
  /** The occurrence, normalized by {@link normalizeOccurrence}. */
  readonly occurrence: string;
  readonly nowMs: number;
  readonly leaseUntil: number;
  readonly leaseToken: string;
}

/**
 * The claim: RUNNING with a lease, `attempts + 1`, if the record is the delivered job at the delivered version and
 * - SCHEDULED or FAILED (for a recurring job: and this occurrence is later than the last one claimed), or
 * - RUNNING with an expired lease (a crashed runner; for a recurring job: this occurrence or a later one).
 * Returns the new record (`ALL_NEW`) on success and the old one (`ALL_OLD`) on a failed condition. The new
 * record's `claimedFrom` is the status the claim found (operands read the item as it was before the update).
 */
export function claimParams(c: ClaimInput): UpdateParams {
  return withJobIndex(
    {
      TableName: c.table,
      Key: jobRecordKey(c.key),
      UpdateExpression:
        'SET #status = :running, leaseUntil = :leaseUntil, leaseToken = :token, attempts = if_not_exists(attempts, :zero) + :one, ' +
        'lastOccurrence = :occurrence, lastRunAt = :nowIso, #updated = :nowIso, claimedFrom = #status',
      ConditionExpression:
        'jobId = :jobId AND #version = :version AND (' +
        '(#status IN (:scheduled, :failed) AND (attribute_exists(#schedule.#at) OR attribute_not_exists(lastOccurrence) OR lastOccurrence < :occurrence)) OR ' +
        '(#status = :running AND leaseUntil < :nowMs AND (attribute_exists(#schedule.#at) OR lastOccurrence <= :occurrence)))',
      ExpressionAttributeNames: { ...NAMES, '#schedule': 'schedule', '#at': 'at' },
      ExpressionAttributeValues: {
        ':running': JOB_STATUS.RUNNING,
        ':scheduled': JOB_STATUS.SCHEDULED,
        ':failed': JOB_STATUS.FAILED,
        ':jobId': c.jobId,
        ':version': c.version,
        ':leaseUntil': c.leaseUntil,
        ':token': c.leaseToken,
        ':zero': 0,
        ':one': 1,
        ':occurrence': c.occurrence,
        ':nowMs': c.nowMs,
        ':nowIso': new Date(c.nowMs).toISOString(),
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
    JOB_STATUS.RUNNING,
    c.key,
    new Date(c.nowMs).toISOString(),
  );
}

/** What a delivery is compared with: the job, version and occurrence it was scheduled for. */
export interface DeliveredJob {
  readonly jobId: string;
  readonly version: number;
  readonly occurrence: string;
}

/**
 * When another runner holds a live lease on the very run this delivery is for (this job and version; for a
 * recurring job, this occurrence), its `leaseUntil`; otherwise `undefined`. Such a delivery is not skipped:
 * the runner throws `JobLeaseHeldError` so that it is retried, and a retry after the lease reclaims a run
 * that never finished (crashed, or its failure could not be recorded).
 */
export function heldLease(record: JobRecord | undefined, delivered: DeliveredJob, nowMs: number): number | undefined {
  if (!record || record.jobId !== delivered.jobId || record.version !== delivered.version) return undefined;
  if (record.jobStatus !== JOB_STATUS.RUNNING || typeof record.leaseUntil !== 'number' || record.leaseUntil < nowMs)
    return undefined;
  if (isRecurring(record.schedule) && record.lastOccurrence !== delivered.occurrence) return undefined;
  return record.leaseUntil;
}

/** Why a delivery does not run: the job record as it is, compared with the delivery. */
export function skipReason(record: JobRecord | undefined, delivered: DeliveredJob, nowMs: number): string {
  if (!record) return 'no job record (never committed, or expired after it finished)';
  if (record.jobId !== delivered.jobId)
    return `the key now belongs to another job (${record.jobId}, not ${delivered.jobId})`;
  if (record.jobStatus === JOB_STATUS.SUCCEEDED) return 'the job already SUCCEEDED';
  if (record.jobStatus === JOB_STATUS.CANCELLED) return 'the job was CANCELLED';
  if (record.jobStatus === JOB_STATUS.DEAD) return 'the job is DEAD (attempts exhausted)';
  if (record.version !== delivered.version)
    return `stale delivery: schedule version ${delivered.version}, job record version ${record.version}`;
  const recurring = isRecurring(record.schedule);
  if (recurring && record.lastOccurrence !== undefined && record.lastOccurrence > delivered.occurrence)
    return `occurrence ${delivered.occurrence} already ran (last occurrence ${record.lastOccurrence})`;
  if (record.jobStatus === JOB_STATUS.RUNNING && (record.leaseUntil ?? 0) >= nowMs) {
    const until = new Date(record.leaseUntil ?? 0).toISOString();
    if (recurring && record.lastOccurrence !== delivered.occurrence)
      return `occurrence ${delivered.occurrence} overlaps occurrence ${record.lastOccurrence ?? '?'}, still RUNNING under another runner's lease until ${until} (one occurrence at a time)`;
    return `the job is RUNNING under another runner's lease until ${until}`;
  }
  if (recurring && record.lastOccurrence !== undefined && record.lastOccurrence >= delivered.occurrence)
    return `occurrence ${delivered.occurrence} already ran (last occurrence ${record.lastOccurrence})`;
  return `the job record changed during the claim (${record.jobStatus}, version ${record.version})`;
}

/** The runner's hold on a claimed job: its transitions are conditional on it. */
export interface ClaimedJob {
  readonly table: string;
  readonly key: string;
  readonly version: number;
  readonly leaseToken: string;
}

function held(
  claim: ClaimedJob,
): Pick<UpdateParams, 'ConditionExpression'> & { names: Record<string, string>; values: Record<string, unknown> } {
  return {
    ConditionExpression: '#status = :running AND #version = :claimedVersion AND leaseToken = :token',
    names: NAMES,
    values: { ':running': JOB_STATUS.RUNNING, ':claimedVersion': claim.version, ':token': claim.leaseToken },
  };
}

/**
 * The success transition, added to the job's own unit of work: a one-time job becomes SUCCEEDED (with
 * its TTL); a recurring one goes back to SCHEDULED for its next occurrence. Conditional on the claim.
 */
export function successParams(claim: ClaimedJob, recurring: boolean, nowMs: number, ttlSeconds: number): UpdateParams {
  const h = held(claim);
  return withJobIndex(
    {
      TableName: claim.table,
      Key: jobRecordKey(claim.key),
      UpdateExpression: recurring
        ? 'SET #status = :next, lastOutcome = :outcome, #updated = :nowIso REMOVE leaseUntil, lastError'
        : 'SET #status = :next, lastOutcome = :outcome, #updated = :nowIso, #ttl = :ttl REMOVE leaseUntil, lastError, nextRunAt',
      ConditionExpression: h.ConditionExpression,
      ExpressionAttributeNames: { ...h.names, ...(recurring ? {} : { '#ttl': OUTBOX_SCHEMA.ttlAttribute }) },
      ExpressionAttributeValues: {
        ...h.values,
        ':next': recurring ? JOB_STATUS.SCHEDULED : JOB_STATUS.SUCCEEDED,
        ':outcome': JOB_STATUS.SUCCEEDED,
        ':nowIso': new Date(nowMs).toISOString(),
        ...(recurring ? {} : { ':ttl': ttlSeconds }),
      },
    },
    recurring ? JOB_STATUS.SCHEDULED : JOB_STATUS.SUCCEEDED,
    claim.key,
    new Date(nowMs).toISOString(),
  );
}

/** The recorded form of an error: its name and message (the message cut to 1,000 characters). Never throws. */
export function errorSummary(error: unknown): { name: string; message: string } {
  const name = error instanceof Error ? String(error.name || 'Error') : 'Error';
  let message: string;
  try {
    message =
      error instanceof Error
        ? String(error.message)
        : typeof error === 'string'
          ? error
          : (JSON.stringify(error) ?? String(error));
  } catch {
    message = Object.prototype.toString.call(error); // circular objects, BigInts: still a summary, never a throw
  }
  return { name, message: (message ?? '').slice(0, 1000) };
}

/** What a failure leads to. */
export type FailureOutcome =
  | { readonly status: 'FAILED'; readonly retryAt: string; readonly newVersion: number }
  | { readonly status: 'DEAD' }
  | { readonly status: 'SCHEDULED' };

/**
 * What a failed attempt leads to: a one-time job with attempts left is FAILED and retried at `retryAt`
 * under version `claimed + 1` (the transition is conditional on the claimed version, so this is the version
 * rule `version + 1` of every job change); with none left (or after a `permanent` failure) it is DEAD. A recurring job is not
 * retried: it goes back to SCHEDULED and its next occurrence runs as planned.
 */
export function failureOutcome(
  record: Pick<JobRecord, 'attempts' | 'maxAttempts' | 'version' | 'schedule'>,
  nowMs: number,
  retryDelaySeconds: number,
  /** A failure no retry can fix (the stored payload is not JSON): a one-time job is DEAD at once. */
  permanent = false,
): FailureOutcome {
  if (isRecurring(record.schedule)) return { status: 'SCHEDULED' };
  if (permanent || !(record.attempts < record.maxAttempts)) return { status: 'DEAD' };
  const retryAt = new Date(Math.ceil((nowMs + retryDelaySeconds * 1000) / 1000) * 1000)
    .toISOString()
    .replace('.000Z', 'Z');
  return { status: 'FAILED', retryAt, newVersion: record.version + 1 };
}

/** The failure transition of the job record (sent in its own transaction). Conditional on the claim. */
export function failureParams(
  claim: ClaimedJob,
  outcome: FailureOutcome,
  error: { name: string; message: string },
  nowMs: number,
  ttlSeconds: number,
): UpdateParams {
  const h = held(claim);
  const base = {
    ...h.values,
    ':outcome': JOB_STATUS.FAILED,
    ':error': error,
    ':nowIso': new Date(nowMs).toISOString(),
  };
  const common = 'lastOutcome = :outcome, lastError = :error, #updated = :nowIso';
  const key = { TableName: claim.table, Key: jobRecordKey(claim.key), ConditionExpression: h.ConditionExpression };
  const indexed = (params: UpdateParams, status: JobStatus) =>
    withJobIndex(params, status, claim.key, new Date(nowMs).toISOString());
  if (outcome.status === 'FAILED')
    return indexed(
      {
        ...key,
        UpdateExpression: `SET #status = :failed, #version = :newVersion, #schedule = :schedule, nextRunAt = :retryAt, ${common} REMOVE leaseUntil`,
        ExpressionAttributeNames: { ...h.names, '#schedule': 'schedule' },
        ExpressionAttributeValues: {
          ...base,
          ':failed': JOB_STATUS.FAILED,
          ':newVersion': outcome.newVersion,
          ':schedule': { at: outcome.retryAt },
          ':retryAt': outcome.retryAt,
        },
      },
      JOB_STATUS.FAILED,
    );
  if (outcome.status === 'DEAD')
    return indexed(
      {
        ...key,
        UpdateExpression: `SET #status = :dead, #ttl = :ttl, ${common} REMOVE leaseUntil, nextRunAt`,
        ExpressionAttributeNames: { ...h.names, '#ttl': OUTBOX_SCHEMA.ttlAttribute },
        ExpressionAttributeValues: { ...base, ':dead': JOB_STATUS.DEAD, ':ttl': ttlSeconds },
      },
      JOB_STATUS.DEAD,
    );
  return indexed(
    {
      ...key,
      UpdateExpression: `SET #status = :scheduled, ${common} REMOVE leaseUntil`,
      ExpressionAttributeNames: h.names,
      ExpressionAttributeValues: { ...base, ':scheduled': JOB_STATUS.SCHEDULED },
    },
    JOB_STATUS.SCHEDULED,
  );
}

/**
 * The fallback when the failure transaction could not be written (throttling, a persistent transaction
 * conflict): the job stays RUNNING but its lease ends now, and `lastError` says why, so the very next
 * delivery (Lambda's retry of this invocation) reclaims it instead of waiting for the lease. Conditional on
 * the claim: if the failure transaction went through after all, or the job moved on, it changes nothing.
 */
export function releaseParams(
  claim: ClaimedJob,
  error: { name: string; message: string },
  nowMs: number,
): UpdateParams {
  const h = held(claim);
  return {
    TableName: claim.table,
    Key: jobRecordKey(claim.key),
    UpdateExpression: 'SET leaseUntil = :released, lastOutcome = :outcome, lastError = :error, #updated = :nowIso',
    ConditionExpression: h.ConditionExpression,
    ExpressionAttributeNames: h.names,
    ExpressionAttributeValues: {
      ...h.values,
      ':released': nowMs - 1,
      ':outcome': JOB_STATUS.FAILED,
      ':error': error,
      ':nowIso': new Date(nowMs).toISOString(),
    },
  };
}

/** What a run's recorded transition says happened: the outcome the runner reports when its own answer was lost. */
export type RecordedOutcome = 'succeeded' | 'failed' | 'dead';

/**
 * How a lost transition (its condition failed) is explained, from the record as it is now: our commit
 * went through after all (a retried request, or an answer lost after DynamoDB applied it; `recorded` is
 * then what the record says: SUCCEEDED, FAILED or DEAD), the job was cancelled, or another runner holds it.
 */
export function lostTransition(
  record: Partial<JobRecord> | undefined,
  leaseToken: string,
):
  | { outcome: 'already-committed'; recorded: RecordedOutcome; reason: string }
  | { outcome: 'cancelled' | 'lost'; reason: string } {
  if (!record) return { outcome: 'lost', reason: 'the job record is gone' };
  if (record.jobStatus === JOB_STATUS.CANCELLED)
    return { outcome: 'cancelled', reason: 'the job was CANCELLED while it ran; its work was discarded' };
  if (record.leaseToken === leaseToken && record.jobStatus !== JOB_STATUS.RUNNING && record.lastOutcome !== undefined) {
    const recorded: RecordedOutcome =
      record.lastOutcome === JOB_STATUS.SUCCEEDED
        ? 'succeeded'
        : record.jobStatus === JOB_STATUS.DEAD
          ? 'dead'
          : 'failed';
    return {
      outcome: 'already-committed',
      recorded,
      reason: `this run's transition is already recorded (${record.jobStatus}, ${record.lastOutcome})`,
    };
  }
  return {
    outcome: 'lost',
    reason: `the lease was lost (now ${record.jobStatus ?? '?'}, version ${record.version ?? '?'}, ${record.leaseToken === leaseToken ? 'same' : 'another'} lease); this run's work was discarded`,
  };
}
