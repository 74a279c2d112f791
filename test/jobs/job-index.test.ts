import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { retryJob } from '../../lib/jobs/admin.js';
import { jobRunner, listJobs } from '../../lib/jobs/index.js';
import { JOB_STATUS, jobRecordKey, type JobStatus } from '../../lib/job-record/record.js';
import { indexedJobStatuses, jobIndexAttributes, jobIndexShard } from '../../lib/job-record/status-index.js';
import { ENV, OUTBOX_SCHEMA } from '../../lib/outbox/schema.js';
import { createTestOutboxTable, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, memoryLogger, sleep } from '../support/jobs.js';

const { raw, doc } = localClients();
const INDEX = OUTBOX_SCHEMA.jobStatusIndex;
let outbox: string;

beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'job-index');
});
afterEach(() => {
  delete process.env[ENV.jobIndexStatuses];
});

/** Every entry of the job-status index of `table`, as `status#shard key`. */
async function indexEntries(table: string, key?: string): Promise<string[]> {
  const out = await doc.send(new ScanCommand({ TableName: table, IndexName: INDEX.name }));
  return (out.Items ?? [])
    .filter((i) => key === undefined || i.pk === `job#${key}`)
    .map((i) => `${i[INDEX.partitionKey]} ${String(i[INDEX.sortKey]).split('#').slice(1).join('#')}`);
}

/** A job record as the unit of work writes it, in `status` at `at`, with the index attributes of that status. */
function record(key: string, status: JobStatus, at: string, extra: Record<string, unknown> = {}) {
  return {
    ...jobRecordKey(key),
    _kind: 'job',
    jobId: randomUUID(),
    jobKey: key,
    jobName: 'j',
    payload: '{}',
    schedule: { at },
    scheduleName: key,
    jobStatus: status,
    version: 1,
    attempts: 1,
    maxAttempts: 1,
    createdAt: at,
    jobUpdatedAt: at,
    ...jobIndexAttributes(status, key, at),
    ...extra,
  };
}

async function putAll(table: string, items: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    const batch = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    await doc.send(new BatchWriteCommand({ RequestItems: { [table]: batch } }));
  }
}

describe('the job-status index holds only the listed statuses (default FAILED and DEAD)', () => {
  it('keeps a SCHEDULED, RUNNING or SUCCEEDED job out of it, adds it when FAILED or DEAD and removes it when it leaves', async () => {
    expect(indexedJobStatuses()).toEqual(['FAILED', 'DEAD']);
    const key = `flaky-${randomUUID()}`;
    const doomed = `doomed-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => {
      uow.schedule({ job: 'flaky', payload: {}, delay: 60, key, maxAttempts: 2 });
      uow.schedule({ job: 'broken', payload: {}, delay: 60, key: doomed, maxAttempts: 1 });
    });
    expect(await indexEntries(outbox, key)).toEqual([]);
    let calls = 0;
    const runner = jobRunner({
      jobs: {
        flaky: () => {
          if (calls++ === 0) throw new Error('down');
        },
        broken: () => {
          throw new Error('gone');
        },
      },
      outboxTable: outbox,
      client: doc,
      source: 'index',
      logger: memoryLogger(),
    });
    await runner(await deliveryFor(doc, outbox, key));
    expect(await indexEntries(outbox, key)).toEqual([`FAILED#${jobIndexShard(key)} ${key}`]);
    await runner(await deliveryFor(doc, outbox, key)); // the retry: RUNNING (out of the index), then SUCCEEDED
    expect(await indexEntries(outbox, key)).toEqual([]);
    await runner(await deliveryFor(doc, outbox, doomed));
    expect(await indexEntries(outbox, doomed)).toEqual([`DEAD#${jobIndexShard(doomed)} ${doomed}`]);
    await sleep(50);
    expect((await listJobs('DEAD', { outboxTable: outbox, client: doc })).jobs.map((j) => j.key)).toContain(doomed);
    await retryJob(doomed, { outboxTable: outbox, client: doc }); // revived: SCHEDULED again, out of the index
    expect(await indexEntries(outbox, doomed)).toEqual([]);
  });

  it('indexes what UOW_JOB_INDEX_STATUSES lists, and nothing with NONE', async () => {
    process.env[ENV.jobIndexStatuses] = 'scheduled, running';
    expect(indexedJobStatuses()).toEqual(['SCHEDULED', 'RUNNING']);
    const key = `listed-${randomUUID()}`;
    await inUnitOfWork(doc, outbox, (uow) => uow.schedule({ job: 'j', payload: {}, delay: 60, key }));
    expect(await indexEntries(outbox, key)).toEqual([`SCHEDULED#${jobIndexShard(key)} ${key}`]);
    await inUnitOfWork(doc, outbox, (uow) => uow.cancelJob(key));
    expect(await indexEntries(outbox, key)).toEqual([]);
    process.env[ENV.jobIndexStatuses] = 'NONE';
    expect(indexedJobStatuses()).toEqual([]);
    process.env[ENV.jobIndexStatuses] = 'DONE';
    expect(() => indexedJobStatuses()).toThrow('UOW_JOB_INDEX_STATUSES lists unknown status DONE');
  });
});

describe('the index spreads one status over its shards', () => {
  it('puts any set of job keys on every shard, none with much more than its share (FNV-1a, seeded property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { minLength: 4000, maxLength: 4000 }),
        (keys) => {
          const counts = new Array<number>(INDEX.shards).fill(0);
          for (const k of keys) counts[jobIndexShard(`expire-${k}`)]!++;
          const share = keys.length / INDEX.shards;
          expect(Math.max(...counts)).toBeLessThan(share * 1.3);
          expect(Math.min(...counts)).toBeGreaterThan(share * 0.7);
        },
      ),
      { seed: 1307, numRuns: 20 },
    );
  });
});

describe('listJobs over the sharded index', () => {
  it('pages through every job of a status once, in time order, whatever the page size (seeded property)', async () => {
    const table = await createTestOutboxTable(raw, 'job-index-pages');
    const base = Date.parse('2026-12-01T00:00:00.000Z');
    // A fresh table: fixed keys, so fixed shards (these 60 cover all 16).
    const jobs = Array.from({ length: 60 }, (_, i) => ({
      key: `dead-${i}`,
      at: new Date(base + ((i * 7919) % 97) * 1000).toISOString(),
    }));
    await putAll(table, [
      ...jobs.map((j) => record(j.key, JOB_STATUS.DEAD, j.at)),
      record(`failed-${randomUUID()}`, JOB_STATUS.FAILED, jobs[0]!.at),
    ]);
    expect(new Set(jobs.map((j) => jobIndexShard(j.key))).size).toBe(INDEX.shards);
    const bySortKey = (newestFirst: boolean) =>
      [...jobs]
        .sort((a, b) => (newestFirst ? -1 : 1) * `${a.at}#${a.key}`.localeCompare(`${b.at}#${b.key}`))
        .map((j) => j.key);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 6, max: 70 }), fc.boolean(), async (limit, newestFirst) => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await listJobs('DEAD', {
            outboxTable: table,
            client: doc,
            limit,
            newestFirst,
            ...(cursor ? { cursor } : {}),
          });
          expect(page.jobs.length).toBeLessThanOrEqual(limit);
          seen.push(...page.jobs.map((j) => j.key));
          cursor = page.cursor;
        } while (cursor);
        expect(seen).toEqual(bySortKey(newestFirst));
      }),
      { seed: 42, numRuns: 6 },
    );
  }, 120_000);

  it('leaves out a job whose record has left the status (the index lags) and refuses a foreign cursor', async () => {
    const table = await createTestOutboxTable(raw, 'job-index-stale');
    const at = new Date().toISOString();
    const stale = record(`stale-${randomUUID()}`, JOB_STATUS.DEAD, at);
    await putAll(table, [
      { ...stale, jobStatus: JOB_STATUS.SCHEDULED },
      record(`dead-${randomUUID()}`, JOB_STATUS.DEAD, at),
    ]);
    const page = await listJobs('DEAD', { outboxTable: table, client: doc });
    expect(page.jobs.map((j) => j.status)).toEqual(['DEAD']);
    await expect(listJobs('DEAD', { outboxTable: table, client: doc, cursor: 'not-a-cursor' })).rejects.toThrow(
      '"cursor" is not a cursor listJobs returned',
    );
    await expect(listJobs('DEAD', { outboxTable: table, client: doc, limit: 101 })).rejects.toThrow(
      '"limit" must be an integer from 1 to 100',
    );
  });

  it('scans for a status the index does not hold, page by page without loss', async () => {
    const table = await createTestOutboxTable(raw, 'job-index-scan');
    const keys = Array.from({ length: 37 }, (_, i) => `sched-${i}-${randomUUID()}`);
    await putAll(table, [
      ...keys.map((k, i) => record(k, JOB_STATUS.SCHEDULED, new Date(1_800_000_000_000 + i).toISOString())),
      record('d', JOB_STATUS.DEAD, new Date().toISOString()),
    ]);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await listJobs('SCHEDULED', {
        outboxTable: table,
        client: doc,
        scan: true,
        limit: 5,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.jobs.map((j) => j.key));
      cursor = page.cursor;
    } while (cursor);
    expect([...seen].sort()).toEqual([...keys].sort());
  });
});
