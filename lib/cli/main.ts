/**
 * The `lambda-unit-of-work` command: list, retry and cancel jobs, and redrive the dead-letter queues, on any
 * outbox table, local or on AWS. Every command that changes something takes `--dry-run` and prints a summary.
 */
import { parseArgs } from 'node:util';
import { outboxDispatcher } from '../dispatch/dispatcher.js';
import { isUnitOfWorkError } from '../errors.js';
import { cancelJob, retryJob, type JobAdminResult } from '../jobs/admin.js';
import { getJob, listJobs, type JobView } from '../jobs/read.js';
import { JOB_STATUS, type JobStatus } from '../job-record/record.js';
import { indexedJobStatuses } from '../job-record/status-index.js';
import { ENV } from '../outbox/schema.js';
import { redriveJobDlq } from '../redrive/job-dlq.js';
import { redriveStreamDlq } from '../redrive/stream-dlq.js';
import { createCliClients, type CliClients } from './clients.js';
import { formatJobTable, formatRedriveSummary } from './format.js';

/** Environment variables the CLI reads (besides the `UOW_*` settings of the dispatcher and `AWS_*`). */
export const CLI_ENV = {
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  sqsEndpoint: 'SQS_ENDPOINT',
  schedulerEndpoint: 'SCHEDULER_ENDPOINT',
  eventBridgeEndpoint: 'EVENTBRIDGE_ENDPOINT',
  streamDlqUrl: 'UOW_STREAM_DLQ_URL',
  jobDlqUrl: 'UOW_JOB_DLQ_URL',
} as const;

/** The usage text. */
export const USAGE = `Usage: lambda-unit-of-work <command> [options]

  jobs list [STATUS ...] [--key K] [--limit N] [--scan] [--json]   jobs by status (--scan: also statuses the index does not hold) (${Object.values(JOB_STATUS).join(', ')}), or one job
  jobs retry <key> [--at ISO | --delay S] [--dry-run]     revive a DEAD job (new version; its schedule is re-created)
  jobs cancel <key> [--dry-run]                           cancel a SCHEDULED, FAILED or RUNNING job
  redrive stream-dlq --queue-url URL [--max N] [--dry-run] dispatch again what the outbox dispatcher gave up on
  redrive job-dlq --queue-url URL [--max N] [--dry-run]    reschedule deliveries the Scheduler gave up on

Where:  --table NAME (${ENV.outboxTable})  --region R (AWS_REGION)  --endpoint URL (${CLI_ENV.dynamodbEndpoint})
        --sqs-endpoint URL (${CLI_ENV.sqsEndpoint})  --scheduler-endpoint URL (${CLI_ENV.schedulerEndpoint})
        --eventbridge-endpoint URL (${CLI_ENV.eventBridgeEndpoint})  --local (fake credentials; implied by loopback endpoints)
        queue URLs also from ${CLI_ENV.streamDlqUrl} / ${CLI_ENV.jobDlqUrl}; redrive stream-dlq reads the dispatcher's
        settings (${ENV.jobRunnerArn}, ${ENV.schedulerRoleArn}, ${ENV.eventBusName}, ...) from the environment.
  --json prints JSON instead of tables.`;

/** Where the CLI writes, and the environment it reads (tests pass their own). */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
}

class UsageError extends Error {}

const OPTIONS = {
  table: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  'sqs-endpoint': { type: 'string' },
  'scheduler-endpoint': { type: 'string' },
  'eventbridge-endpoint': { type: 'string' },
  local: { type: 'boolean' },
  'queue-url': { type: 'string' },
  'dry-run': { type: 'boolean' },
  max: { type: 'string' },
  json: { type: 'boolean' },
  scan: { type: 'boolean' },
  limit: { type: 'string' },
  key: { type: 'string' },
  at: { type: 'string' },
  delay: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${flag} ${value} must be a whole number`);
  return n;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === '') throw new UsageError(`${what} is required`);
  return value;
}

function describeAdmin(r: JobAdminResult): string {
  const verb = r.action === 'retried' ? 'retry' : 'cancel';
  if (r.dryRun)
    return `${verb} ${r.key} (dry run: nothing changed): the job is ${r.before.status} v${r.before.version}; it would be ${r.action === 'retried' ? 'SCHEDULED again with attempts 0' : 'CANCELLED'}`;
  const a = r.after!;
  return `${verb} ${r.key}: ${r.before.status} v${r.before.version} -> ${a.status} v${a.version}${a.nextRunAt && r.action === 'retried' ? `, due ${a.nextRunAt}` : ''}; the dispatcher ${r.action === 'retried' ? 're-creates' : 'deletes'} its schedule`;
}

async function jobs(
  sub: string | undefined,
  args: string[],
  v: Values,
  table: string,
  clients: CliClients,
  io: CliIo,
): Promise<void> {
  const opts = {
    outboxTable: table,
    client: clients.dynamodb,
    dryRun: v['dry-run'] ?? false,
    correlationId: `cli:${sub}`,
  };
  if (sub === 'list') {
    if (v.key !== undefined) {
      const job = await getJob(v.key, opts);
      io.out(job ? JSON.stringify(job, null, 2) : `no job with key "${v.key}" in ${table}`);
      return;
    }
    const all = Object.values(JOB_STATUS);
    const statuses = args.map((s) => s.toUpperCase());
    const unknown = statuses.filter((s) => !all.includes(s as JobStatus));
    if (unknown.length) throw new UsageError(`unknown status ${unknown.join(', ')}: use ${all.join(', ')}`);
    const found: JobView[] = [];
    const scan = v.scan ?? false;
    // Without --scan and without statuses: the statuses the job-status index holds (a Scan reads the whole table).
    const indexed = indexedJobStatuses(io.env); // the CLI's environment, as for every other setting
    const wanted = statuses.length ? (statuses as JobStatus[]) : scan ? all : indexed;
    const unindexed = scan ? [] : wanted.filter((s) => !indexed.includes(s));
    if (unindexed.length)
      throw new UsageError(
        `status ${unindexed.join(', ')} is not in the job-status index (${ENV.jobIndexStatuses}): add --scan to scan the table`,
      );
    for (const status of wanted)
      found.push(
        ...(await listJobs(status, { ...opts, scan, indexedStatuses: indexed, limit: count(v.limit, 'limit') ?? 100 }))
          .jobs,
      );
    io.out(
      v.json
        ? found.map((j) => JSON.stringify(j)).join('\n')
        : found.length
          ? formatJobTable(found)
          : `no ${statuses.join('/') || 'jobs'} in ${table}`,
    );
    return;
  }
  const key = required(args[0], `jobs ${sub} <key>`);
  if (sub === 'retry') {
    const delay = count(v.delay, 'delay');
    const result = await retryJob(key, {
      ...opts,
      ...(v.at !== undefined ? { at: v.at } : {}),
      ...(delay !== undefined ? { delay } : {}),
    });
    io.out(v.json ? JSON.stringify(result) : describeAdmin(result));
    return;
  }
  if (sub === 'cancel') {
    const result = await cancelJob(key, opts);
    io.out(v.json ? JSON.stringify(result) : describeAdmin(result));
    return;
  }
  throw new UsageError(`unknown command "jobs ${sub ?? ''}"`);
}

async function redrive(
  sub: string | undefined,
  v: Values,
  table: string | undefined,
  clients: CliClients,
  io: CliIo,
): Promise<void> {
  const common = {
    sqs: clients.sqs,
    dryRun: v['dry-run'] ?? false,
    ...(count(v.max, 'max') !== undefined ? { maxMessages: count(v.max, 'max')! } : {}),
  };
  if (sub === 'stream-dlq') {
    const queueUrl = required(
      v['queue-url'] ?? io.env[CLI_ENV.streamDlqUrl],
      `--queue-url (or ${CLI_ENV.streamDlqUrl})`,
    );
    const dispatcher = outboxDispatcher({
      env: io.env,
      ...(table ? { outboxTable: table } : {}),
      logger: {
        debug() {},
        info() {},
        warn() {},
        error: (m: string, x?: { reason?: string }) => io.err(`dispatcher: ${m}${x?.reason ? `: ${x.reason}` : ''}`),
      },
      clients: { dynamodb: clients.dynamodb, scheduler: clients.scheduler, eventBridge: clients.eventBridge },
    });
    const summary = await redriveStreamDlq({
      ...common,
      queueUrl,
      streams: clients.streams,
      dynamodb: clients.dynamodb,
      dispatcher,
      ...(table ? { outboxTable: table } : {}),
    });
    io.out(
      v.json
        ? JSON.stringify(summary)
        : formatRedriveSummary('redrive stream-dlq', summary, [
            ['OUTCOME', (m) => m.outcome],
            ['SHARD', (m) => m.shardId ?? ''],
            ['ITEMS', (m) => String(m.items.length)],
            ['DETAIL', (m) => m.reason ?? m.items.join(' ')],
          ]),
    );
    return;
  }
  if (sub === 'job-dlq') {
    const queueUrl = required(v['queue-url'] ?? io.env[CLI_ENV.jobDlqUrl], `--queue-url (or ${CLI_ENV.jobDlqUrl})`);
    const summary = await redriveJobDlq({
      ...common,
      queueUrl,
      outboxTable: required(table, `--table (or ${ENV.outboxTable})`),
      dynamodb: clients.dynamodb,
    });
    io.out(
      v.json
        ? JSON.stringify(summary)
        : formatRedriveSummary('redrive job-dlq', summary, [
            ['KEY', (m) => m.key ?? ''],
            ['ACTION', (m) => m.action],
            ['RESULT', (m) => m.result],
            ['REASON', (m) => m.reason],
          ]),
    );
    return;
  }
  throw new UsageError(`unknown command "redrive ${sub ?? ''}"`);
}

/**
 * Runs the CLI with `argv` (without `node` and the script); returns the exit code: 0 done, 1 failed, 2 bad usage.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(['jobs', 'list', 'DEAD', '--table', 'orders-outbox']);
 * ```
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo = { out: (t) => console.log(t), err: (t) => console.error(t), env: process.env },
): Promise<number> {
  let clients: CliClients | undefined;
  try {
    const { values: v, positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [group, sub, ...args] = positionals;
    if (v.help || !group) {
      io.out(USAGE);
      return v.help ? 0 : 2;
    }
    const table = v.table ?? io.env[ENV.outboxTable];
    clients = createCliClients({
      region: v.region ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION,
      local: v.local ?? false,
      dynamodbEndpoint: v.endpoint ?? io.env[CLI_ENV.dynamodbEndpoint],
      sqsEndpoint: v['sqs-endpoint'] ?? io.env[CLI_ENV.sqsEndpoint],
      schedulerEndpoint: v['scheduler-endpoint'] ?? io.env[CLI_ENV.schedulerEndpoint],
      eventBridgeEndpoint: v['eventbridge-endpoint'] ?? io.env[CLI_ENV.eventBridgeEndpoint],
    });
    if (group === 'jobs') await jobs(sub, args, v, required(table, `--table (or ${ENV.outboxTable})`), clients, io);
    else if (group === 'redrive') await redrive(sub, v, table, clients, io);
    else throw new UsageError(`unknown command "${group}"`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`lambda-unit-of-work: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    const e = error as Error;
    io.err(`lambda-unit-of-work: ${isUnitOfWorkError(e) ? e.message : `${e.name}: ${e.message}`}`);
    return 1;
  } finally {
    clients?.destroy();
  }
}
