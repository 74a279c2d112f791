import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import { uuidv7 } from '../lib/uuidv7.js';
import { unitOfWork, type UnitOfWorkContext } from '../lib/index.js';
import { LOCAL_AWS_CONFIG } from '../lib/local/dynamodb-local.js';
import { commitUnitOfWork } from '../lib/unit-of-work/commit.js';
import { resolveSettings } from '../lib/unit-of-work/settings.js';
import { UnitOfWork } from '../lib/unit-of-work/unit-of-work.js';
import { createBusinessTable, createTestOutboxTable } from '../test/support/ddb.js';
import { fmt, median, medianRatioInterval, percentile, timeMs } from './stats.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const WRITES = 10;
const EVENTS = 3;

/** The same work as the wrapped handler, written by hand: 10 puts + 1 job record + 1 outbox item. */
function handWrittenInput(
  orders: string,
  outbox: string,
  run: string,
): ConstructorParameters<typeof TransactWriteCommand>[0] {
  const now = new Date();
  const jobId = uuidv7();
  const key = `expire-${run}`;
  const at = new Date(Math.ceil((now.getTime() + 900_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const messages = [
    ...Array.from({ length: EVENTS }, (_, i) => ({
      kind: 'event',
      event: {
        specversion: '1.0',
        id: uuidv7(),
        source: 'bench',
        type: `Event${i}`,
        time: now.toISOString(),
        datacontenttype: 'application/json',
        correlationid: run,
        data: { run, i },
      },
    })),
    {
      kind: 'job.schedule',
      job: { jobId, key, name: 'expire', version: 1, payload: { run }, scheduleName: key },
      schedule: { at },
      maxAttempts: 3,
    },
  ];
  const commitId = uuidv7();
  return {
    TransactItems: [
      ...Array.from({ length: WRITES }, (_, i) => ({
        Put: { TableName: orders, Item: { pk: `${run}-${i}`, total: i, status: 'PENDING' } },
      })),
      {
        Put: {
          TableName: outbox,
          Item: {
            pk: `job#${key}`,
            sk: 'job',
            _kind: 'job',
            jobId,
            jobKey: key,
            jobName: 'expire',
            payload: JSON.stringify({ run }),
            schedule: { at },
            scheduleName: key,
            jobStatus: 'SCHEDULED',
            version: 1,
            attempts: 0,
            maxAttempts: 3,
            createdAt: now.toISOString(),
            jobUpdatedAt: now.toISOString(),
            nextRunAt: at,
          },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': 'pk' },
        },
      },
      {
        Put: {
          TableName: outbox,
          Item: {
            pk: `outbox#${commitId}`,
            sk: 'part#001',
            _kind: 'outbox',
            commitId,
            part: 1,
            parts: 1,
            correlationId: run,
            createdAt: now.toISOString(),
            ttl: Math.floor(now.getTime() / 1000) + 604800,
            messages: JSON.stringify(messages),
          },
        },
      },
    ],
  };
}

/** Buffers the benchmark's work on a unit of work. */
function buffer(uow: UnitOfWork, orders: string, run: string): void {
  for (let i = 0; i < WRITES; i++)
    uow.put({ TableName: orders, Item: { pk: `${run}-${i}`, total: i, status: 'PENDING' } });
  for (let i = 0; i < EVENTS; i++) uow.publish({ type: `Event${i}`, data: { run, i } });
  uow.schedule({ job: 'expire', payload: { run }, delay: 900, key: `expire-${run}` });
}

/** Figures of {@link runUnitOfWorkBench}. */
export interface UnitOfWorkBenchResult {
  readonly latency: {
    wrappedMs: number;
    handMs: number;
    ratio: number;
    handWithTokenMs: number;
    ratioWithToken: number;
    iterations: number;
  };
  readonly cpu: {
    wrappedUs: number;
    handUs: number;
    ratio: number;
    handWithTokenUs: number;
    ratioWithToken: number;
    iterations: number;
  };
}

/**
 * Unit-of-work overhead, two ways, each interleaved in one run:
 * 1. latency on DynamoDB Local: a middy handler wrapped by unitOfWork() committing 10 writes + 3 events + 1 job
 *    vs a hand-written TransactWriteItems of the same 10 writes + 1 job record + 1 outbox item;
 * 2. CPU only: buffering and building that transaction (client that never sends) vs building the same input by hand.
 */
export async function runUnitOfWorkBench(
  endpoint: string,
  iterations = 200,
  cpuIterations = 20000,
): Promise<UnitOfWorkBenchResult> {
  const raw = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
  const doc = DynamoDBDocumentClient.from(raw);
  const [orders, outbox] = await Promise.all([
    createBusinessTable(raw, 'bench-orders'),
    createTestOutboxTable(raw, 'bench-outbox'),
  ]);

  const handler = middy<unknown, void, Error, UnitOfWorkContext>()
    .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'bench', logger: silent }))
    .handler(async (_event, { uow }) => buffer(uow, orders, randomUUID()));
  const context = (): UnitOfWorkContext =>
    ({ awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30000 }) as unknown as UnitOfWorkContext;

  for (let i = 0; i < 20; i++) {
    await handler({}, context());
    await doc.send(new TransactWriteCommand(handWrittenInput(orders, outbox, randomUUID())));
  }
  const wrapped: number[] = [];
  const hand: number[] = [];
  const handWithToken: number[] = [];
  const variants = [
    () => timeMs(() => handler({}, context())).then((ms) => wrapped.push(ms)),
    () =>
      timeMs(() => doc.send(new TransactWriteCommand(handWrittenInput(orders, outbox, randomUUID())))).then((ms) =>
        hand.push(ms),
      ),
    () =>
      timeMs(() =>
        doc.send(
          new TransactWriteCommand({
            ...handWrittenInput(orders, outbox, randomUUID()),
            ClientRequestToken: randomUUID(),
          }),
        ),
      ).then((ms) => handWithToken.push(ms)),
  ];
  for (let i = 0; i < iterations; i++) {
    for (let j = 0; j < variants.length; j++) await variants[(i + j) % variants.length]!();
  }

  // CPU only: a client whose first middleware answers without marshalling or sending anything.
  const offline = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: LOCAL_AWS_CONFIG.credentials }),
  );
  offline.middlewareStack.add(() => async () => ({ output: { $metadata: {} } as never, response: {} }), {
    step: 'initialize',
    priority: 'high',
    name: 'noSend',
  });
  const settings = resolveSettings({ outboxTable: outbox, client: offline, source: 'bench', logger: silent }, 'bench');
  const cpuWrapped = async (): Promise<void> => {
    const uow = new UnitOfWork({ ...settings, correlationId: 'r' });
    buffer(uow, orders, 'r');
    await commitUnitOfWork(uow);
  };
  const cpuHand = async (): Promise<void> => {
    await offline.send(new TransactWriteCommand(handWrittenInput(orders, outbox, 'r')));
  };
  const cpuHandWithToken = async (): Promise<void> => {
    await offline.send(
      new TransactWriteCommand({ ...handWrittenInput(orders, outbox, 'r'), ClientRequestToken: uuidv7() }),
    );
  };
  for (let i = 0; i < 2000; i++) {
    await cpuWrapped();
    await cpuHand();
  }
  // Per-operation microseconds of each batch; batches of the three variants interleave.
  const cpu = { wrapped: [] as number[], hand: [] as number[], handToken: [] as number[] };
  const batch = 500;
  const timeBatch = async (fn: () => Promise<void>): Promise<number> => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await fn();
    return Number(process.hrtime.bigint() - t) / 1000 / batch;
  };
  // The order rotates each round, so that no variant always pays the garbage the one before it left.
  const cpuVariants = [
    async () => cpu.wrapped.push(await timeBatch(cpuWrapped)),
    async () => cpu.hand.push(await timeBatch(cpuHand)),
    async () => cpu.handToken.push(await timeBatch(cpuHandWithToken)),
  ];
  for (let done = 0, round = 0; done < cpuIterations; done += batch, round++) {
    for (let j = 0; j < cpuVariants.length; j++) await cpuVariants[(round + j) % cpuVariants.length]!();
  }
  raw.destroy();
  const wrappedUs = median(cpu.wrapped);
  const handUs = median(cpu.hand);
  const handTokenUs = median(cpu.handToken);
  const spread = (xs: number[]): string => `p25 ${fmt(percentile(xs, 25), 1)}–p75 ${fmt(percentile(xs, 75), 1)}`;
  const result: UnitOfWorkBenchResult = {
    latency: {
      wrappedMs: median(wrapped),
      handMs: median(hand),
      ratio: median(wrapped) / median(hand),
      handWithTokenMs: median(handWithToken),
      ratioWithToken: median(wrapped) / median(handWithToken),
      iterations,
    },
    cpu: {
      wrappedUs,
      handUs,
      ratio: wrappedUs / handUs,
      handWithTokenUs: handTokenUs,
      ratioWithToken: wrappedUs / handTokenUs,
      iterations: cpuIterations,
    },
  };
  console.log('\n## Unit of work: 10 writes + 3 events + 1 job');
  const interval = medianRatioInterval(wrapped, hand);
  const intervalWithToken = medianRatioInterval(wrapped, handWithToken);
  console.log(
    `latency (DynamoDB Local, median of ${iterations} interleaved): wrapped handler ${fmt(result.latency.wrappedMs)} ms, hand-written TransactWriteItems ${fmt(result.latency.handMs)} ms, ratio ${fmt(result.latency.ratio, 3)} (95% bootstrap interval ${fmt(interval.low, 3)}–${fmt(interval.high, 3)}; goal <= 1.02)`,
  );
  console.log(
    `  ratio to hand-written with a ClientRequestToken: ${fmt(result.latency.ratioWithToken, 3)} (95% interval ${fmt(intervalWithToken.low, 3)}–${fmt(intervalWithToken.high, 3)})`,
  );
  console.log(
    `  the wrapped commit carries a ClientRequestToken (retries can never apply twice); hand-written with one too: ${fmt(result.latency.handWithTokenMs)} ms, ratio ${fmt(result.latency.ratioWithToken, 3)}`,
  );
  console.log(
    `CPU only (${cpuIterations} each in interleaved batches of ${batch}, no send; ids from the same cheap UUIDv7 on both sides): ` +
      `unit of work ${fmt(wrappedUs, 1)} us (${spread(cpu.wrapped)}), by hand ${fmt(handUs, 1)} us (${spread(cpu.hand)}), ratio ${fmt(result.cpu.ratio, 3)}`,
  );
  // Each batch of the unit of work against the hand-written batch right after it: drift hits both alike.
  const batchRatios = cpu.wrapped.map((w, i) => w / cpu.handToken[i]!);
  console.log(
    `  apples to apples (the hand-written call also carries a ClientRequestToken, as the commit does): ${fmt(handTokenUs, 1)} us ` +
      `(${spread(cpu.handToken)}), ratio ${fmt(result.cpu.ratioWithToken, 3)} (goal <= 1.1); per-batch ratio median ` +
      `${fmt(median(batchRatios), 3)} (p25 ${fmt(percentile(batchRatios, 25), 3)}–p75 ${fmt(percentile(batchRatios, 75), 3)}, ${batchRatios.length} batches)`,
  );
  return result;
}
