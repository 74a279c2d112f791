/**
 * Job run overhead on DynamoDB Local: a job doing 3 writes through the job runner (claim + one
 * TransactWriteItems of the 3 writes and the SUCCEEDED status) vs the same 3 writes in a hand-written
 * TransactWriteItems, interleaved in one run. A third variant writes by hand what the runner's
 * guarantee needs (a conditional claim, then the 3 writes + the status in one transaction), to separate
 * the cost of the guarantee from the cost of the library.
 *
 *   npx tsx bench/jobs.ts            # starts its own DynamoDB Local
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { jobRunner, type JobContext, type JobRunnerInput } from '../lib/jobs/index.js';
import { LOCAL_AWS_CONFIG, startDynamoDBLocal } from '../lib/local/dynamodb-local.js';
import { newJobRecord } from '../lib/job-record/writes.js';
import { createBusinessTable, createTestOutboxTable } from '../test/support/ddb.js';
import { fmt, median, percentile, timeMs } from './stats.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const WRITES = 3;

/** Figures of {@link runJobBench}. */
export interface JobBenchResult {
  readonly iterations: number;
  /** Median ms of one job run through the runner (claim + commit). */
  readonly runnerMs: number;
  /** Median ms of the 3 writes in one hand-written TransactWriteItems. */
  readonly handMs: number;
  /** Median ms of the same guarantee by hand: conditional claim UpdateItem + TransactWriteItems of the 3 writes and the status. */
  readonly handGuaranteedMs: number;
  /** runnerMs / handMs. */
  readonly ratio: number;
  /** Median of the per-iteration ratios runner / hand. */
  readonly medianPairRatio: number;
  /** runnerMs / handGuaranteedMs: what the library adds over writing the guarantee by hand. */
  readonly libraryRatio: number;
  readonly runnerP90Ms: number;
  readonly handP90Ms: number;
}

/** Writes `count` SCHEDULED job records directly (setup, not measured); returns their deliveries. */
async function seedJobs(raw: DynamoDBClient, outbox: string, count: number): Promise<JobRunnerInput[]> {
  const now = new Date();
  const at = new Date(now.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const deliveries: JobRunnerInput[] = [];
  const items = [];
  for (let i = 0; i < count; i++) {
    const key = `bench-${randomUUID()}`;
    const jobId = randomUUID();
    const payload = { run: key };
    items.push(
      newJobRecord({
        jobId,
        key,
        name: 'three-writes',
        payloadJson: JSON.stringify(payload),
        schedule: { at },
        scheduleName: key,
        maxAttempts: 3,
        nowIso: now.toISOString(),
      }),
    );
    deliveries.push({
      jobId,
      key,
      name: 'three-writes',
      version: 1,
      payload,
      scheduleName: key,
      scheduledTime: at,
      attemptNumber: '1',
      executionId: randomUUID(),
    });
  }
  for (let i = 0; i < items.length; i += 25)
    await raw.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [outbox]: items
            .slice(i, i + 25)
            .map((Item) => ({ PutRequest: { Item: marshall(Item, { removeUndefinedValues: true }) } })),
        },
      }),
    );
  return deliveries;
}

const puts = (table: string, run: string) =>
  Array.from({ length: WRITES }, (_, i) => ({
    Put: { TableName: table, Item: { pk: `${run}-${i}`, total: i, status: 'PENDING' } },
  }));

/**
 * Runs the benchmark on `endpoint` (or on a DynamoDB Local it starts and stops), prints the figures and
 * returns them. `iterations` runs of each variant, interleaved (the order alternates every iteration).
 */
export async function runJobBench(endpoint?: string, iterations = 200): Promise<JobBenchResult> {
  const own = endpoint ? undefined : await startDynamoDBLocal();
  const raw = new DynamoDBClient({ endpoint: endpoint ?? own!.endpoint, ...LOCAL_AWS_CONFIG });
  const doc = DynamoDBDocumentClient.from(raw);
  try {
    const [table, outbox] = await Promise.all([
      createBusinessTable(raw, 'bench-job-writes'),
      createTestOutboxTable(raw, 'bench-jobs'),
    ]);
    const runner = jobRunner({
      jobs: {
        'three-writes': (payload: { run: string }, { uow }: JobContext) => {
          for (const put of puts(table, payload.run)) uow.put(put.Put);
        },
      },
      outboxTable: outbox,
      client: doc,
      source: 'bench',
      logger: silent,
    });
    const warmup = 20;
    const deliveries = await seedJobs(raw, outbox, 2 * (iterations + warmup)); // the runner and the by-hand claim each use one per run
    const context = { getRemainingTimeInMillis: () => 30_000 };
    const viaRunner = async (): Promise<void> => {
      const result = await runner(deliveries.pop()!, context);
      if (result.outcome !== 'succeeded')
        throw new Error(`bench job ${result.key}: ${result.outcome} ${result.reason ?? ''}`);
    };
    const byHand = async (): Promise<void> => {
      await doc.send(new TransactWriteCommand({ TransactItems: puts(table, randomUUID()) }));
    };
    const byHandGuaranteed = async (): Promise<void> => {
      const d = deliveries.pop()!;
      const Key = { pk: `job#${d.key}`, sk: 'job' };
      const names = { '#s': 'jobStatus', '#v': 'version' };
      await doc.send(
        new UpdateCommand({
          TableName: outbox,
          Key,
          UpdateExpression: 'SET #s = :running, leaseToken = :t',
          ConditionExpression: '#v = :v AND #s = :scheduled',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: { ':running': 'RUNNING', ':t': d.executionId, ':v': 1, ':scheduled': 'SCHEDULED' },
        }),
      );
      await doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: outbox,
                Key,
                UpdateExpression: 'SET #s = :done',
                ConditionExpression: '#s = :running AND #v = :v AND leaseToken = :t',
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: {
                  ':done': 'SUCCEEDED',
                  ':running': 'RUNNING',
                  ':v': 1,
                  ':t': d.executionId,
                },
              },
            },
            ...puts(table, d.key),
          ],
        }),
      );
    };
    for (let i = 0; i < warmup; i++) {
      await viaRunner();
      await byHand();
      await byHandGuaranteed();
    }
    const runnerMs: number[] = [];
    const handMs: number[] = [];
    const guaranteedMs: number[] = [];
    const variants = [
      async () => runnerMs.push(await timeMs(viaRunner)),
      async () => handMs.push(await timeMs(byHand)),
      async () => guaranteedMs.push(await timeMs(byHandGuaranteed)),
    ];
    for (let i = 0; i < iterations; i++) {
      const order = i % 2 === 0 ? variants : [...variants].reverse();
      for (const run of order) await run();
    }
    const result: JobBenchResult = {
      iterations,
      runnerMs: median(runnerMs),
      handMs: median(handMs),
      handGuaranteedMs: median(guaranteedMs),
      ratio: median(runnerMs) / median(handMs),
      medianPairRatio: median(runnerMs.map((r, i) => r / handMs[i]!)),
      libraryRatio: median(runnerMs) / median(guaranteedMs),
      runnerP90Ms: percentile(runnerMs, 90),
      handP90Ms: percentile(handMs, 90),
    };
    console.log('\n## Job run: a job doing 3 writes');
    console.log(
      `latency (DynamoDB Local, median of ${iterations} interleaved): job runner ${fmt(result.runnerMs)} ms (p90 ${fmt(result.runnerP90Ms)}), ` +
        `hand-written TransactWriteItems of the 3 writes ${fmt(result.handMs)} ms (p90 ${fmt(result.handP90Ms)}), ratio ${fmt(result.ratio, 3)} ` +
        `(median per-pair ratio ${fmt(result.medianPairRatio, 3)}; the runner makes 2 calls: claim + commit)`,
    );
    console.log(
      `same guarantee by hand (conditional claim + TransactWriteItems of the writes and the status) ${fmt(result.handGuaranteedMs)} ms: ` +
        `runner / by-hand-with-guarantee ratio ${fmt(result.libraryRatio, 3)}`,
    );
    return result;
  } finally {
    raw.destroy();
    await own?.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  await runJobBench(process.env.DYNAMODB_ENDPOINT, Number(process.env.BENCH_ITERATIONS ?? 200));
