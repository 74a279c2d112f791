import { describe, it, expect, beforeAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { jobRunner } from '../../lib/jobs/index.js';
import { freePort } from '../../lib/local/dynamodb-local.js';
import { listJobsCommand } from '../../scripts/list-jobs.js';
import { createTestOutboxTable, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, memoryLogger, sleep } from '../support/jobs.js';

const { raw, doc } = localClients();
const endpoint = process.env.DYNAMODB_ENDPOINT!;
let outbox: string;
const id = randomUUID();

beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'list-outbox');
  await inUnitOfWork(doc, outbox, (uow) => {
    uow.schedule({ job: 'ok', payload: { id }, delay: 60, key: `ok-${id}` });
    uow.schedule({ job: 'broken', payload: { id }, delay: 60, key: `broken-${id}`, maxAttempts: 1 });
    uow.schedule({ job: 'ok', payload: { id }, rate: '5 minutes', key: `every-${id}` });
  });
  const runner = jobRunner({
    jobs: {
      ok: () => undefined,
      broken: () => {
        throw new TypeError('no such customer');
      },
    },
    outboxTable: outbox,
    client: doc,
    source: 'list',
    logger: memoryLogger(),
  });
  await runner(await deliveryFor(doc, outbox, `ok-${id}`));
  await runner(await deliveryFor(doc, outbox, `broken-${id}`));
  await sleep(200); // the status index is eventually consistent
});

describe('npm run jobs (scripts/list-jobs.ts)', () => {
  it('prints a table of jobs by status with attempts, times, outcome and error', async () => {
    const text = await listJobsCommand({ endpoint, table: outbox, statuses: ['SCHEDULED', 'SUCCEEDED', 'DEAD'] });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^STATUS\s+KEY\s+NAME\s+ATTEMPTS\s+NEXT \/ LAST RUN\s+LAST OUTCOME\s+LAST ERROR$/);
    expect(lines.find((l) => l.includes(`every-${id}`))).toMatch(/^SCHEDULED\s+every-\S+\s+ok\s+0\/3\s+5 minutes/);
    expect(lines.find((l) => l.includes(`ok-${id}`))).toMatch(
      /^SUCCEEDED\s+ok-\S+\s+ok\s+1\/3\s+\d{4}-\d\d-\d\dT\S+\s+SUCCEEDED$/,
    );
    expect(lines.find((l) => l.includes(`broken-${id}`))).toMatch(
      /^DEAD\s+broken-\S+\s+broken\s+1\/1\s+\S+\s+FAILED\s+TypeError: no such customer$/,
    );
    expect(await listJobsCommand({ endpoint, table: outbox, statuses: ['CANCELLED'] })).toBe(
      `no CANCELLED jobs in ${outbox}`,
    );
    const one = JSON.parse(await listJobsCommand({ endpoint, table: outbox, statuses: [], key: `broken-${id}` }));
    expect(one).toMatchObject({
      key: `broken-${id}`,
      status: 'DEAD',
      payload: { id },
      lastError: { name: 'TypeError' },
    });
  });

  it('runs as `npm run jobs` with the endpoint and table from the environment, and says what to do when nothing answers', async () => {
    const run = (env: Record<string, string>, args: string[] = []) =>
      promisify(execFile)('node_modules/.bin/tsx', ['scripts/list-jobs.ts', ...args], {
        env: { ...process.env, ...env },
        timeout: 60_000,
      }).catch((e) => e);
    const ok = await run({ DYNAMODB_ENDPOINT: endpoint, UOW_OUTBOX_TABLE: outbox }, ['dead', '--json']);
    expect(JSON.parse(ok.stdout.trim())).toMatchObject({ key: `broken-${id}`, status: 'DEAD' });
    const down = await run({ DYNAMODB_ENDPOINT: `http://127.0.0.1:${await freePort()}`, UOW_OUTBOX_TABLE: outbox });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('is `npm start` running? Set DYNAMODB_ENDPOINT');
    const bad = await run({ DYNAMODB_ENDPOINT: endpoint }, ['DONE']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      'npm run jobs: unknown status DONE: use SCHEDULED, RUNNING, SUCCEEDED, FAILED, DEAD, CANCELLED',
    );
  }, 90_000);
});
