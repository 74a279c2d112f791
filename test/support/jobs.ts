import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { withUnitOfWork, type UnitOfWork } from '../../lib/index.js';
import type { JobRunnerInput } from '../../lib/job-record/delivery-input.js';
import type { JobRecord } from '../../lib/job-record/record.js';
import { decodeOutboxItem } from '../../lib/outbox/decode.js';
import type { OutboxMessage } from '../../lib/outbox/messages.js';
import { OUTBOX_SCHEMA } from '../../lib/outbox/schema.js';
import type { LoggerLike } from '../../lib/logger.js';
import { getItem, scanAll } from './ddb.js';

/** Commits `fn`'s operations in a unit of work of its own (what an API handler would do). */
export async function inUnitOfWork<T>(
  doc: DynamoDBDocumentClient,
  outbox: string,
  fn: (uow: UnitOfWork) => T,
): Promise<T> {
  return withUnitOfWork(async (uow) => fn(uow), {
    outboxTable: outbox,
    client: doc,
    source: 'jobs-test',
    propagation: 'requiresNew',
  });
}

/** The job record of `key` (consistent read). */
export async function jobRecord(
  doc: DynamoDBDocumentClient,
  outbox: string,
  key: string,
): Promise<JobRecord | undefined> {
  return (await getItem(doc, outbox, { pk: `job#${key}`, sk: 'job' })) as JobRecord | undefined;
}

/**
 * What the Scheduler would deliver for the job's current record: its version and payload, the occurrence
 * `scheduledTime` (default: the record's `nextRunAt`, else now) and a fresh execution id.
 */
export async function deliveryFor(
  doc: DynamoDBDocumentClient,
  outbox: string,
  key: string,
  scheduledTime?: string,
): Promise<JobRunnerInput> {
  const r = await jobRecord(doc, outbox, key);
  if (!r) throw new Error(`no job record for ${key}`);
  return {
    jobId: r.jobId,
    key: r.jobKey,
    name: r.jobName,
    version: r.version,
    payload: JSON.parse(r.payload),
    scheduleName: r.scheduleName,
    scheduledTime: scheduledTime ?? r.nextRunAt ?? new Date().toISOString(),
    attemptNumber: '1',
    executionId: randomUUID(),
  };
}

/** Every message committed to the outbox table, with its commit id, in commit-id (time) order. */
export async function outboxMessages(
  doc: DynamoDBDocumentClient,
  outbox: string,
): Promise<(OutboxMessage & { commitId: string })[]> {
  const items = (await scanAll(doc, outbox))
    .filter((i) => i[OUTBOX_SCHEMA.kindAttribute] === OUTBOX_SCHEMA.outboxKind)
    .map(decodeOutboxItem);
  items.sort((a, b) => (a.commitId < b.commitId ? -1 : a.commitId > b.commitId ? 1 : a.part - b.part));
  return items.flatMap((i) => i.messages.map((m) => ({ ...m, commitId: i.commitId })));
}

/** Messages mentioning `text` (a job key, an order id). */
export async function messagesAbout(
  doc: DynamoDBDocumentClient,
  outbox: string,
  text: string,
): Promise<(OutboxMessage & { commitId: string })[]> {
  return (await outboxMessages(doc, outbox)).filter((m) => JSON.stringify(m).includes(text));
}

/** A logger that keeps what it is told. */
export function memoryLogger(): LoggerLike & {
  lines: { level: string; message: string; attributes?: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; attributes?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, attributes?: unknown) =>
    void lines.push({ level, message, ...(attributes ? { attributes: attributes as Record<string, unknown> } : {}) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A promise with its resolve function, to hold a job handler in the middle of its run. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
