/**
 * The index attributes of a job record: the one place that decides whether a job record is in the sparse,
 * sharded job-status index and under which key. Every write of a job status calls it (the new record, the
 * reschedule and cancel of a unit of work, the runner's transitions), so the index holds exactly the jobs
 * in the statuses an operator lists, spread over {@link OUTBOX_SCHEMA}.jobStatusIndex.shards partitions.
 *
 * - Partition key `jobIndexPk` = `<status>#<shard>`, shard = FNV-1a of the job key mod the shard count: the
 *   jobs of one status spread evenly, so no index partition carries the whole job rate.
 * - Sort key `jobIndexSk` = `<ISO time of the change>#<job key>`: unique, so pages merged from every shard
 *   have a total order and a cursor is one sort key.
 * - A job in a status that is not listed has neither attribute: it is not in the index and its writes cost
 *   the index nothing. A transition out of a listed status removes them.
 */
import { ConfigurationError } from '../errors.js';
import { ENV, OUTBOX_SCHEMA } from '../outbox/schema.js';
import { JOB_STATUS, type JobStatus } from './record.js';

const INDEX = OUTBOX_SCHEMA.jobStatusIndex;

let parsed: { readonly text: string | undefined; readonly statuses: readonly JobStatus[] } | undefined;

/**
 * The statuses the job-status index holds: `UOW_JOB_INDEX_STATUSES` (comma-separated, e.g. `FAILED,DEAD,RUNNING`;
 * `NONE` for an empty index), else {@link OUTBOX_SCHEMA}.jobStatusIndex.defaultStatuses. Every function that
 * writes job records must see the same value (the construct sets it on all of them).
 */
export function indexedJobStatuses(env: Record<string, string | undefined> = process.env): readonly JobStatus[] {
  const text = env[ENV.jobIndexStatuses];
  if (parsed && parsed.text === text) return parsed.statuses;
  const all = Object.values(JOB_STATUS) as string[];
  let statuses: JobStatus[];
  if (text === undefined || text.trim() === '') statuses = [...INDEX.defaultStatuses];
  else if (text.trim().toUpperCase() === 'NONE') statuses = [];
  else {
    const listed = text
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter((s) => s !== '');
    const unknown = listed.filter((s) => !all.includes(s));
    if (unknown.length) {
      throw new ConfigurationError(
        'jobs-by-status index',
        `${ENV.jobIndexStatuses} lists unknown status ${unknown.join(', ')}: use ${all.join(', ')} or NONE`,
      );
    }
    statuses = [...new Set(listed)] as JobStatus[];
  }
  parsed = { text, statuses };
  return statuses;
}

/** The index shard of a job key (0 … shards − 1): 32-bit FNV-1a of its UTF-16 code units. */
export function jobIndexShard(jobKey: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < jobKey.length; i++) {
    hash ^= jobKey.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % INDEX.shards;
}

/** The index partition key of `status` in `shard`. */
export const jobIndexPartition = (status: JobStatus, shard: number): string => `${status}#${shard}`;

/** The index attributes of a job record in `status` (empty when the status is not indexed). */
export function jobIndexAttributes(status: JobStatus, jobKey: string, nowIso: string): Record<string, string> {
  if (!indexedJobStatuses().includes(status)) return {};
  return {
    [INDEX.partitionKey]: jobIndexPartition(status, jobIndexShard(jobKey)),
    [INDEX.sortKey]: `${nowIso}#${jobKey}`,
  };
}

/** Update parameters whose UpdateExpression is `SET … [REMOVE …]`. */
interface StatusUpdate {
  readonly UpdateExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * `params` of an update that moves a job to `status`, with the index attributes set (listed status) or
 * removed (any other) in the same expression. Pure apart from reading {@link indexedJobStatuses}.
 */
export function withJobIndex<P extends StatusUpdate>(params: P, status: JobStatus, jobKey: string, nowIso: string): P {
  const attributes = jobIndexAttributes(status, jobKey, nowIso);
  const names = { ...params.ExpressionAttributeNames, '#jobIndexPk': INDEX.partitionKey, '#jobIndexSk': INDEX.sortKey };
  const [setClause, removeClause] = params.UpdateExpression.split(' REMOVE ');
  if (Object.keys(attributes).length > 0) {
    const set = `${setClause}, #jobIndexPk = :jobIndexPk, #jobIndexSk = :jobIndexSk`;
    const values = {
      ...params.ExpressionAttributeValues,
      ':jobIndexPk': attributes[INDEX.partitionKey],
      ':jobIndexSk': attributes[INDEX.sortKey],
    };
    return {
      ...params,
      UpdateExpression: removeClause ? `${set} REMOVE ${removeClause}` : set,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }
  const remove = removeClause ? `${removeClause}, #jobIndexPk, #jobIndexSk` : '#jobIndexPk, #jobIndexSk';
  return { ...params, UpdateExpression: `${setClause} REMOVE ${remove}`, ExpressionAttributeNames: names };
}
