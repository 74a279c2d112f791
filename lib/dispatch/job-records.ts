import { BatchGetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DispatchError } from '../errors.js';
import { jobRecordKey, type JobRecord } from '../job-record/record.js';
import { OUTBOX_KEYS, OUTBOX_SCHEMA } from '../outbox/schema.js';
import type { Caller } from './calls.js';
import { backoffDelay, mayRetry } from './retry.js';
import { createTickBatch } from './tick-batch.js';

/** Reads job records (strongly consistent) from the outbox/jobs table. */
export interface JobRecordReader {
  read(table: string, jobKey: string): Promise<JobRecord | undefined>;
}

/** Keys per `BatchGetItem` call (a DynamoDB limit). */
const MAX_KEYS = 100;

interface Pending {
  readonly table: string;
  readonly jobKey: string;
  resolve(record: JobRecord | undefined): void;
  reject(error: unknown): void;
}

const keyOf = (table: string, jobKey: string): string => `${table}\u0000${OUTBOX_KEYS.jobPk(jobKey)}`;

/**
 * A {@link JobRecordReader} for one invocation: the reads asked for in the same tick are combined into
 * consistent `BatchGetItem` calls of ≤ 100 keys (one round trip for a whole batch of job messages
 * instead of one per message), sent through the caller's limiter and retries; `UnprocessedKeys` are
 * read again with backoff while attempts and time are left.
 */
export function createJobRecordReader(client: DynamoDBClient, caller: Caller): JobRecordReader {
  const load = async (table: string, group: Pending[]): Promise<void> => {
    const byPk = groupBy(group, (p) => OUTBOX_KEYS.jobPk(p.jobKey));
    let keys: Record<string, AttributeValue>[] = [...new Set(group.map((p) => p.jobKey))].map((k) =>
      marshall(jobRecordKey(k)),
    );
    for (let attempt = 1; keys.length > 0; attempt++) {
      const request = keys;
      const out = await caller.call(() =>
        client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: request, ConsistentRead: true } } })),
      );
      for (const item of out.Responses?.[table] ?? []) {
        const record = unmarshall(item) as JobRecord;
        for (const p of byPk.get(record[OUTBOX_SCHEMA.partitionKey as 'pk']) ?? []) p.resolve(record);
        byPk.delete(record.pk);
      }
      keys = out.UnprocessedKeys?.[table]?.Keys ?? [];
      const unprocessed = new Set(keys.map((k) => k[OUTBOX_SCHEMA.partitionKey]?.S));
      for (const [pk, waiting] of byPk) {
        if (unprocessed.has(pk)) continue;
        for (const p of waiting) p.resolve(undefined); // not in the table
        byPk.delete(pk);
      }
      if (keys.length === 0) return;
      const delay = backoffDelay(attempt, caller.policy, caller.clock.random);
      if (!mayRetry(attempt, delay, caller.policy, caller.clock.remainingMs())) break;
      await caller.clock.sleep(delay);
    }
    for (const waiting of byPk.values())
      for (const p of waiting)
        p.reject(new DispatchError(`read job ${p.jobKey}`, 'BatchGetItem kept returning it as unprocessed'));
  };

  const batch = createTickBatch<Pending>((items) => {
    for (const [table, pending] of groupBy(items, (p) => p.table)) {
      // Insertion order of the map = first-asked order of the distinct keys, as the chunks are cut.
      const byKey = [...groupBy(pending, (p) => keyOf(table, p.jobKey)).values()];
      for (let i = 0; i < byKey.length; i += MAX_KEYS) {
        const group = byKey.slice(i, i + MAX_KEYS).flat();
        load(table, group).catch((error: unknown) => {
          for (const p of group) p.reject(error);
        });
      }
    }
  });

  return {
    read(table, jobKey) {
      return new Promise((resolve, reject) => batch.add({ table, jobKey, resolve, reject }));
    },
  };
}

/** Groups items by a key in one pass (appending in place), keeping the first-seen order of the keys. */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
