/**
 * `npm run jobs`: lists the jobs of the local stack (or any outbox table) by status.
 *
 *   npm run jobs                              # every status, newest change first
 *   npm run jobs -- FAILED DEAD               # only these statuses
 *   npm run jobs -- --key expire-<orderId>    # one job, every field
 *   npm run jobs -- --json                    # JSON lines instead of a table
 *
 * Where: `--endpoint` or `DYNAMODB_ENDPOINT`, else the running `npm start` (its `.local-stack.json`), else
 * http://127.0.0.1:8000; `--table` or `UOW_OUTBOX_TABLE`, else the running `npm start`'s, else `local-outbox`.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { getJob, listJobs, type JobView } from '../lib/jobs/read.js';
import { JOB_STATUS, type JobStatus } from '../lib/job-record/record.js';
import { LOCAL_AWS_CONFIG } from '../lib/local/dynamodb-local.js';
import { formatJobTable } from '../lib/cli/format.js';
import { readLocalState } from './local-state.js';

/** Where `npm run jobs` looks when nothing is said. */
export const LIST_JOBS_DEFAULTS = {
  endpoint: 'http://127.0.0.1:8000',
  table: 'local-outbox',
  limit: 100,
} as const;

/** What to list. */
export interface ListJobsCommand {
  readonly endpoint: string;
  readonly table: string;
  readonly statuses: readonly JobStatus[];
  readonly key?: string;
  readonly json?: boolean;
  readonly limit?: number;
}

/** Formats jobs as an aligned text table (pure; shared with the `lambda-unit-of-work jobs list` CLI). */
export { formatJobTable };

/** Runs the command and returns what it prints. */
export async function listJobsCommand(command: ListJobsCommand): Promise<string> {
  const client = new DynamoDBClient({ endpoint: command.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  const options = { outboxTable: command.table, client };
  try {
    if (command.key !== undefined) {
      const job = await getJob(command.key, options);
      return job ? JSON.stringify(job, null, 2) : `no job with key "${command.key}" in ${command.table}`;
    }
    const jobs: JobView[] = [];
    // Statuses the job-status index does not hold are scanned (fine for a local or small table).
    const page = { ...options, scan: true, limit: command.limit ?? LIST_JOBS_DEFAULTS.limit };
    for (const status of command.statuses) jobs.push(...(await listJobs(status, page)).jobs);
    if (command.json) return jobs.map((j) => JSON.stringify(j)).join('\n');
    return jobs.length ? formatJobTable(jobs) : `no ${command.statuses.join('/')} jobs in ${command.table}`;
  } finally {
    client.destroy();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      table: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const all = Object.values(JOB_STATUS);
  if (values.help) {
    console.log(
      `npm run jobs -- [${all.join('|')} ...] [--key <job key>] [--json] [--limit N] [--endpoint URL] [--table NAME]`,
    );
    return;
  }
  const statuses = positionals.map((p) => p.toUpperCase());
  const unknown = statuses.filter((s) => !all.includes(s as JobStatus));
  if (unknown.length) {
    console.error(`npm run jobs: unknown status ${unknown.join(', ')}: use ${all.join(', ')}`);
    process.exitCode = 2;
    return;
  }
  const running = readLocalState();
  const endpoint =
    values.endpoint ?? process.env.DYNAMODB_ENDPOINT ?? running?.dynamodbEndpoint ?? LIST_JOBS_DEFAULTS.endpoint;
  const table = values.table ?? process.env.UOW_OUTBOX_TABLE ?? running?.outboxTable ?? LIST_JOBS_DEFAULTS.table;
  try {
    console.log(
      await listJobsCommand({
        endpoint,
        table,
        statuses: statuses.length ? (statuses as JobStatus[]) : all,
        key: values.key,
        json: values.json,
        limit: values.limit ? Number(values.limit) : undefined,
      }),
    );
  } catch (error) {
    const e = error as Error;
    const hint =
      e.name === 'ResourceNotFoundException'
        ? `table ${table} does not exist at ${endpoint} (set UOW_OUTBOX_TABLE or --table)`
        : /ECONNREFUSED|fetch failed|connect/i.test(`${e.message} ${String((e as { cause?: unknown }).cause)}`)
          ? `nothing answers at ${endpoint}: is \`npm start\` running? Set DYNAMODB_ENDPOINT (or --endpoint) to the endpoint it printed`
          : `${e.name}: ${e.message}`;
    console.error(`npm run jobs: ${hint}`);
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
