/**
 * The failure transaction of a job run: the job record's FAILED/DEAD/SCHEDULED transition plus its outbox
 * messages (the retry's `job.reschedule`, or the `JobFailed` event), in one TransactWriteItems of its own.
 * The job's own unit of work was discarded before, so nothing of the failed run is in it, and nothing
 * of it can roll this back.
 */
import { isUnitOfWorkError } from '../errors.js';
import { uuidv7 } from '../uuidv7.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CloudEvent, OutboxMessage } from '../outbox/messages.js';
import { sendTransaction } from '../unit-of-work/commit.js';
import { buildTransaction } from '../unit-of-work/transaction.js';
import type { BufferedWrite } from '../unit-of-work/writes.js';
import type { JobRecord } from '../job-record/record.js';
import { failureParams, type ClaimedJob, type FailureOutcome } from '../job-record/transitions.js';

/** Data of the `JobFailed` event. */
export interface JobFailedData {
  readonly jobId: string;
  readonly key: string;
  readonly name: string;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly error: { readonly name: string; readonly message: string };
  readonly payload: unknown;
  /** The occurrence of the last attempt. */
  readonly scheduledTime: string;
}

/** Everything the failure transaction is built from. */
export interface FailureInput {
  readonly claim: ClaimedJob;
  readonly record: JobRecord;
  readonly outcome: FailureOutcome;
  readonly error: { name: string; message: string };
  readonly payload: unknown;
  readonly occurrence: string;
  readonly nowMs: number;
  readonly retentionSeconds: number;
  readonly eventSource: string;
  readonly eventType: string;
  readonly correlationId?: string;
}

/**
 * What a handler's error asks of the failure path (pure): `NonRetriableError` ⇒ DEAD now; `RetryAfterError`
 * ⇒ the next attempt after its seconds instead of the backoff. Recognised by the brand and literal name, so
 * errors from another copy of the package count too.
 */
export function failureControl(error: unknown): { readonly permanent: boolean; readonly retryAfterSeconds?: number } {
  if (!isUnitOfWorkError(error)) return { permanent: false };
  if (error.name === 'NonRetriableError') return { permanent: true };
  const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  if (error.name === 'RetryAfterError' && typeof seconds === 'number')
    return { permanent: false, retryAfterSeconds: seconds };
  return { permanent: false };
}

/** The `JobFailed` CloudEvent of a DEAD job (pure: the caller gives the event its `id`). */
export function jobFailedEvent(f: FailureInput, id: string): CloudEvent<JobFailedData> {
  const trace = f.record.traceContext;
  return {
    specversion: '1.0',
    id,
    source: f.eventSource,
    type: f.eventType,
    time: new Date(f.nowMs).toISOString(),
    datacontenttype: 'application/json',
    subject: f.record.jobKey,
    ...(f.correlationId ? { correlationid: f.correlationId } : {}),
    causationid: f.record.jobId,
    ...(trace?.traceparent ? { traceparent: trace.traceparent } : {}),
    ...(trace?.tracestate ? { tracestate: trace.tracestate } : {}),
    data: {
      jobId: f.record.jobId,
      key: f.record.jobKey,
      name: f.record.jobName,
      attempts: f.record.attempts,
      maxAttempts: f.record.maxAttempts,
      error: f.error,
      payload: f.payload,
      scheduledTime: f.occurrence,
    },
  };
}

/** The write and messages of the failure transaction (pure: `eventId` names the `JobFailed` event of a DEAD job). */
export function failureTransaction(
  f: FailureInput,
  eventId: string,
): { write: BufferedWrite; messages: OutboxMessage[] } {
  const ttl = Math.floor(f.nowMs / 1000) + f.retentionSeconds;
  const params = failureParams(f.claim, f.outcome, f.error, f.nowMs, ttl);
  const label = `job ${f.record.jobKey} ${f.outcome.status === 'SCHEDULED' ? 'occurrence failed' : f.outcome.status}`;
  const write: BufferedWrite = {
    kind: 'Update',
    params,
    ref: { label, table: f.claim.table, key: params.Key },
    bytes: 0,
    itemBytes: 0,
    role: 'write',
  };
  const messages: OutboxMessage[] = [];
  if (f.outcome.status === 'FAILED')
    messages.push({
      kind: 'job.reschedule',
      key: f.record.jobKey,
      scheduleName: f.record.scheduleName,
      version: f.outcome.newVersion,
      schedule: { at: f.outcome.retryAt },
    });
  const traceHeader = f.record.traceContext?.traceHeader;
  if (f.outcome.status === 'DEAD')
    messages.push({ kind: 'event', event: jobFailedEvent(f, eventId), ...(traceHeader ? { traceHeader } : {}) });
  return { write, messages };
}

/** Sends the failure transaction; a failed condition surfaces as `ConditionFailedError` (the job moved on). */
export async function recordFailure(
  client: DynamoDBDocumentClient,
  f: FailureInput,
  maxConflictRetries: number,
): Promise<void> {
  const { write, messages } = failureTransaction(f, uuidv7());
  const built = buildTransaction({
    commitId: uuidv7(),
    outboxTable: f.claim.table,
    writes: [write],
    messages,
    now: new Date(f.nowMs),
    retentionSeconds: f.retentionSeconds,
    correlationId: f.correlationId,
  });
  await sendTransaction(client, built, maxConflictRetries);
}
