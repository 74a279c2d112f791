/**
 * The local dev console: a page (plain HTML/CSS/JS from ./static, no build step), live through server-sent
 * events, and a small JSON API over the {@link ConsoleRecorder} and the local stack. Loopback only; for
 * `npm start` and tests, never part of a Lambda bundle.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError, InvalidOperationError, JobNotFoundError } from '../../errors.js';
import { cancelJob, retryJob } from '../../jobs/admin.js';
import { getJob, listJobs, type JobView } from '../../jobs/read.js';
import { JOB_STATUS, jobRecordKey } from '../../job-record/record.js';
import { OUTBOX_KEYS } from '../../outbox/schema.js';
import { toDocumentClient } from '../../unit-of-work/settings.js';
import type { LocalOutboxStack } from '../outbox-stack.js';
import type { ConsoleRecorder } from './recorder.js';

/** Options of {@link startDevConsole}. */
export interface DevConsoleOptions {
  readonly recorder: ConsoleRecorder;
  /** The local stack: its Scheduler (run a job now), its outbox table and dispatcher settings. */
  readonly stack: Pick<LocalOutboxStack, 'scheduler' | 'tableName' | 'dispatcher'>;
  /** Client on the outbox table (jobs, raw items, cancel, retry). */
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  /** @default a free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/** A running dev console. */
export interface DevConsole {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

/** An answer with a status and a message safe to show (no table names, no key values). */
class ConsoleHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(JSON.stringify(body));
}

/** Why an action was refused, without the operation prefix (it names the key). */
function refusal(action: string, error: unknown): ConsoleHttpError {
  if (error instanceof JobNotFoundError)
    return new ConsoleHttpError(404, `${action} refused: there is no job with this key`);
  if (error instanceof InvalidOperationError)
    return new ConsoleHttpError(409, `${action} refused: ${error.message.slice(error.operation.length + 2)}`);
  if (error instanceof ConditionFailedError)
    return new ConsoleHttpError(
      409,
      `${action} refused: the job changed meanwhile (a runner, a cancel or a retry); reload and try again`,
    );
  return new ConsoleHttpError(500, `${action} failed: ${(error as Error)?.name ?? 'Error'}`);
}

/**
 * Starts the dev console on loopback. Actions go through the library's own APIs: run now moves the local
 * Scheduler's clock to the job's schedule (`advanceToNext`), cancel is `uow.cancelJob` in a unit of work
 * (`cancelJob` of lib/jobs/admin.ts), retry of a DEAD job is `retryJob`.
 *
 * @example
 * ```ts
 * const recorder = new ConsoleRecorder();
 * recorder.attach(stack);
 * const devConsole = await startDevConsole({ recorder, stack, client: stack.clients.dynamodb });
 * console.log(`console on ${devConsole.url}`);
 * ```
 */
export async function startDevConsole(options: DevConsoleOptions): Promise<DevConsole> {
  const { recorder, stack } = options;
  const host = options.host ?? '127.0.0.1';
  const doc = toDocumentClient(options.client);
  const table = stack.tableName;
  const streams = new Set<ServerResponse>();
  const group = stack.dispatcher.config.scheduleGroup;

  const allJobs = async (): Promise<JobView[]> => {
    const pages = await Promise.all(
      Object.values(JOB_STATUS).map((s) => listJobs(s, { outboxTable: table, client: doc, limit: 100, scan: true })),
    );
    return pages.flatMap((p) => p.jobs);
  };

  const runNow = async (key: string): Promise<unknown> => {
    const job = await getJob(key, { outboxTable: table, client: doc });
    if (!job) throw new ConsoleHttpError(404, 'run now refused: there is no job with this key');
    if (!stack.scheduler.getSchedule(job.scheduleName, group)?.nextAt)
      throw new ConsoleHttpError(409, `run now refused: no schedule is waiting for this job (it is ${job.status})`);
    try {
      const deliveries = await stack.scheduler.advanceToNext(job.scheduleName, group);
      return {
        clock: new Date(stack.scheduler.clock.now()).toISOString(),
        deliveries: deliveries.map((d) => ({ schedule: d.scheduleName, outcome: d.outcome })),
      };
    } catch (error) {
      throw new ConsoleHttpError(409, `run now refused: ${(error as Error).message}`);
    }
  };

  const api = async (method: string, parts: string[]): Promise<unknown> => {
    const [resource, id, action] = parts;
    if (method === 'GET' && resource === 'timeline' && !id) return { rows: recorder.rows() };
    if (method === 'GET' && resource === 'jobs' && !id) return { jobs: await allJobs() };
    if (method === 'GET' && resource === 'jobs' && id && !action) {
      const out = await doc.send(new GetCommand({ TableName: table, Key: jobRecordKey(id), ConsistentRead: true }));
      if (!out.Item) throw new ConsoleHttpError(404, 'there is no job with this key');
      return out.Item;
    }
    if (method === 'GET' && resource === 'outbox' && id) {
      const out = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': OUTBOX_KEYS.outboxPk(id) },
          ConsistentRead: true,
        }),
      );
      const items = out.Items?.length ? out.Items : recorder.outboxItems(id);
      if (!items?.length)
        throw new ConsoleHttpError(404, 'no outbox item for this commit (it had no events or jobs, or TTL removed it)');
      return { items };
    }
    if (method === 'GET' && resource === 'events' && id) {
      const event = recorder.cloudEvent(id);
      if (!event) throw new ConsoleHttpError(404, 'no published event with this id');
      return event;
    }
    if (method === 'POST' && resource === 'jobs' && id && action === 'run') return runNow(id);
    if (method === 'POST' && resource === 'jobs' && id && (action === 'cancel' || action === 'retry')) {
      // The commit's correlation id names the console as its source on the timeline.
      const correlationId = `dev-console-${randomUUID()}`;
      recorder.recordRequest({ routeKey: `dev console: ${action}`, requestId: correlationId });
      const admin = { outboxTable: table, client: doc, correlationId };
      const run = action === 'cancel' ? cancelJob(id, admin) : retryJob(id, admin);
      return run.then(
        (r) => ({ action: r.action, status: r.after?.status, version: r.after?.version }),
        (e) => {
          throw refusal(action, e);
        },
      );
    }
    throw new ConsoleHttpError(404, `${method} /api/${parts.join('/')} is not an operation of the dev console`);
  };

  const openStream = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 1000\nevent: snapshot\ndata: ${JSON.stringify(recorder.rows())}\n\n`);
    streams.add(res);
    res.on('close', () => streams.delete(res));
  };
  const unsubscribe = recorder.onChange((row) => {
    const frame = `event: row\ndata: ${JSON.stringify(row)}\n\n`;
    for (const res of streams) res.write(frame);
  });
  const keepAlive = setInterval(() => {
    for (const res of streams) res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://local').pathname;
    const asset = STATIC[path];
    if (req.method === 'GET' && asset) {
      const body = await readFile(new URL(`./static/${asset.file}`, import.meta.url));
      res
        .writeHead(200, {
          'content-type': asset.type,
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'self'",
        })
        .end(body);
      return;
    }
    if (req.method === 'GET' && path === '/api/stream') return openStream(res);
    if (!path.startsWith('/api/')) throw new ConsoleHttpError(404, 'not found');
    const parts = path
      .slice(5)
      .split('/')
      .filter(Boolean)
      .map((p) => decodeURIComponent(p));
    sendJson(res, 200, await api(req.method ?? 'GET', parts));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const known =
        error instanceof ConsoleHttpError
          ? error
          : new ConsoleHttpError(500, `internal error (${(error as Error)?.name ?? 'Error'})`);
      if (!(error instanceof ConsoleHttpError)) console.error('dev console:', error);
      if (!res.headersSent) sendJson(res, known.status, { message: known.message });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${options.port} on ${host} is already in use: choose another console port (npm start -- --console-port 4001)`,
            )
          : error,
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${host}:${port}/`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        clearInterval(keepAlive);
        for (const res of streams) res.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
