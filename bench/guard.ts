/**
 * Overhead of the strict guard (`guardAllClients()` / `unitOfWork({ guard: 'process' })`), interleaved:
 * 1. latency on DynamoDB Local: a GetItem inside an ambient unit of work (the guard looks and lets it pass)
 *    and a PutItem outside any, each from a client of the process (guarded) vs one sent around the guard;
 * 2. CPU only: the same sends on clients that answer without sending, in batches.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { guardAllClients } from '../lib/index.js';
import { LOCAL_AWS_CONFIG } from '../lib/local/dynamodb-local.js';
import { enterUnitOfWork } from '../lib/unit-of-work/context.js';
import { resolveSettings } from '../lib/unit-of-work/settings.js';
import { UnitOfWork } from '../lib/unit-of-work/unit-of-work.js';
import { createBusinessTable } from '../test/support/ddb.js';
import { fmt, median, medianRatioInterval, timeMs } from './stats.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
/** The SDK's own `send` of document clients, which the strict guard wraps on the client classes: sends with no guard. */
const unguardedSend = Object.getPrototypeOf(DynamoDBDocumentClient.prototype).send as (
  this: unknown,
  command: unknown,
) => Promise<unknown>;

/** Figures of {@link runGuardBench}. */
export interface GuardBenchResult {
  readonly latency: {
    readonly guardedMs: number;
    readonly plainMs: number;
    readonly ratio: number;
    readonly low: number;
    readonly high: number;
    readonly iterations: number;
  };
  readonly cpu: {
    readonly guardedUs: number;
    readonly plainUs: number;
    readonly overheadUs: number;
    readonly iterations: number;
  };
}

/** Runs the strict-guard benchmark on the DynamoDB Local at `endpoint` and prints its figures. */
export async function runGuardBench(
  endpoint: string,
  iterations = 300,
  cpuIterations = 20000,
): Promise<GuardBenchResult> {
  guardAllClients();
  const rawGuarded = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
  const rawPlain = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
  const guarded = DynamoDBDocumentClient.from(rawGuarded);
  const plain = DynamoDBDocumentClient.from(rawPlain);
  const admin = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
  const table = await createBusinessTable(admin, 'bench-guard');
  admin.destroy();
  const uow = new UnitOfWork(
    resolveSettings({ outboxTable: 'bench-guard-outbox', client: plain, logger: silent }, 'bench'),
  );

  // One pair of calls: a read inside the ambient unit of work, a write outside it.
  const pair = async (send: (command: unknown) => Promise<unknown>, n: number): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      queueMicrotask(() => {
        enterUnitOfWork(uow);
        send(new GetCommand({ TableName: table, Key: { pk: `k${n}` } })).then(() => resolve(), reject);
      });
    });
    await send(new PutCommand({ TableName: table, Item: { pk: `k${n}`, n } }));
  };
  const viaGuard = (command: unknown): Promise<unknown> => guarded.send(command as never);
  const aroundGuard = (command: unknown): Promise<unknown> => unguardedSend.call(plain, command);
  for (let i = 0; i < 30; i++) {
    await pair(viaGuard, i);
    await pair(aroundGuard, i);
  }
  const hasGuard = (c: DynamoDBDocumentClient): boolean =>
    c.middlewareStack.identify().some((m) => m.startsWith('lambdaUnitOfWorkEscapeGuard'));
  if (!hasGuard(guarded) || hasGuard(plain))
    throw new Error('bench setup: the guarded client must hold the guard and the other one must not');
  const g: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const first = i % 2 === 0;
    const run = async (guardedRun: boolean): Promise<void> => {
      const ms = await timeMs(() => pair(guardedRun ? viaGuard : aroundGuard, i));
      (guardedRun ? g : p).push(ms);
    };
    await run(first);
    await run(!first);
  }

  // CPU only: clients whose first build-step middleware answers without sending.
  const offline = (): DynamoDBDocumentClient => {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: 'us-east-1', credentials: LOCAL_AWS_CONFIG.credentials }),
    );
    client.middlewareStack.add(() => async () => ({ output: { $metadata: {} } as never, response: {} }), {
      step: 'build',
      priority: 'low',
      name: 'noSend',
    });
    return client;
  };
  const offGuarded = offline();
  const offPlain = offline();
  const batch = 500;
  const timeBatch = async (send: (c: unknown) => Promise<unknown>): Promise<bigint> => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await send(new PutCommand({ TableName: table, Item: { pk: 'x' } }));
    return process.hrtime.bigint() - t;
  };
  const cpuGuarded = (c: unknown): Promise<unknown> => offGuarded.send(c as never);
  const cpuPlain = (c: unknown): Promise<unknown> => unguardedSend.call(offPlain, c);
  for (let i = 0; i < 4; i++) {
    await timeBatch(cpuGuarded);
    await timeBatch(cpuPlain);
  }
  let guardedNs = 0n;
  let plainNs = 0n;
  for (let done = 0; done < cpuIterations; done += batch) {
    guardedNs += await timeBatch(cpuGuarded);
    plainNs += await timeBatch(cpuPlain);
  }
  rawGuarded.destroy();
  rawPlain.destroy();
  const interval = medianRatioInterval(g, p);
  const guardedUs = Number(guardedNs) / 1000 / cpuIterations;
  const plainUs = Number(plainNs) / 1000 / cpuIterations;
  const result: GuardBenchResult = {
    latency: {
      guardedMs: median(g),
      plainMs: median(p),
      ratio: interval.ratio,
      low: interval.low,
      high: interval.high,
      iterations,
    },
    cpu: { guardedUs, plainUs, overheadUs: guardedUs - plainUs, iterations: cpuIterations },
  };
  console.log('\n## Strict guard (guardAllClients): a GetItem inside a unit of work + a PutItem outside');
  console.log(
    `latency (DynamoDB Local, median of ${iterations} interleaved pairs): guarded ${fmt(result.latency.guardedMs)} ms, unguarded ${fmt(result.latency.plainMs)} ms, ratio ${fmt(interval.ratio, 3)} (95% bootstrap interval ${fmt(interval.low, 3)}–${fmt(interval.high, 3)})`,
  );
  console.log(
    `CPU only (${cpuIterations} PutItem sends each, no network): guarded ${fmt(guardedUs, 2)} us, unguarded ${fmt(plainUs, 2)} us, overhead ${fmt(result.cpu.overheadUs, 2)} us per send`,
  );
  return result;
}
