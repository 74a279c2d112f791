/**
 * Dispatch benchmark: one 100-record batch of the outbox stream (each record: 1 job + 2 events) through
 * the outbox dispatcher, against the local Scheduler and EventBridge endpoints with 20 ms injected latency
 * per call and the job records on DynamoDB Local. Bounded-parallel (default concurrency) vs sequential
 * (`concurrency: 1`), interleaved in one run; prints medians, records/s and the ratio.
 */
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DISPATCHER_DEFAULTS, outboxDispatcher } from '../lib/dispatch/index.js';
import { LOCAL_AWS_CONFIG } from '../lib/local/dynamodb-local.js';
import { startLocalEventBridge } from '../lib/local/eventbridge-endpoint.js';
import { LOCAL_ARNS } from '../lib/local/outbox-stack.js';
import { createOutboxTable } from '../lib/local/outbox-table.js';
import { startLocalScheduler } from '../lib/local/scheduler-endpoint.js';
import type { OutboxMessage } from '../lib/outbox/messages.js';
import { fmt, median, timeMs } from './stats.js';
import { outboxStreamRecord } from '../test/support/stream-records.js';

/** Settings of {@link runDispatchBench}. */
export interface DispatchBenchOptions {
  /** @default 100 */
  readonly records?: number;
  /** Injected latency per Scheduler / EventBridge call. @default 20 */
  readonly latencyMs?: number;
  /** Measured runs of each mode (after one warm-up each). @default 3 */
  readonly rounds?: number;
  /** Concurrency of the bounded-parallel mode. @default DISPATCHER_DEFAULTS.concurrency (16) */
  readonly concurrency?: number;
}

/** Figures of {@link runDispatchBench}. */
export interface DispatchBenchResult {
  readonly records: number;
  readonly latencyMs: number;
  readonly concurrency: number;
  readonly sequentialMs: number;
  readonly parallelMs: number;
  readonly ratio: number;
  readonly sequentialRecordsPerSecond: number;
  readonly parallelRecordsPerSecond: number;
  /** Scheduler + EventBridge calls of one parallel run. */
  readonly parallelCalls: number;
  readonly sequentialCalls: number;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A batch of `n` stream records (1 job + 2 events each) whose job records are written to `table`. */
async function prepareBatch(
  client: DynamoDBClient,
  table: string,
  streamArn: string,
  n: number,
): Promise<DynamoDBStreamEvent> {
  const run = randomUUID().slice(0, 8);
  const now = new Date();
  const at = new Date(now.getTime() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const records: DynamoDBRecord[] = [];
  const jobs: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const key = `bench-${run}-${i}`;
    const jobId = randomUUID();
    jobs.push({
      pk: `job#${key}`,
      sk: 'job',
      _kind: 'job',
      jobId,
      jobKey: key,
      jobName: 'expire',
      payload: JSON.stringify({ i }),
      schedule: { at },
      scheduleName: key,
      jobStatus: 'SCHEDULED',
      version: 1,
      attempts: 0,
      maxAttempts: 3,
      createdAt: now.toISOString(),
      jobUpdatedAt: now.toISOString(),
    });
    const event = (type: string): OutboxMessage => ({
      kind: 'event',
      event: {
        specversion: '1.0',
        id: randomUUID(),
        source: 'bench',
        type,
        time: now.toISOString(),
        datacontenttype: 'application/json',
        data: { run, i },
      },
    });
    const messages: OutboxMessage[] = [
      event('OrderPlaced'),
      {
        kind: 'job.schedule',
        job: { jobId, key, name: 'expire', version: 1, payload: { i }, scheduleName: key },
        schedule: { at },
        maxAttempts: 3,
      },
      event('OrderNoted'),
    ];
    records.push(outboxStreamRecord(streamArn, messages, String(1_000_000 + i)));
  }
  for (let i = 0; i < jobs.length; i += 25)
    await client.send(
      new BatchWriteItemCommand({
        RequestItems: { [table]: jobs.slice(i, i + 25).map((Item) => ({ PutRequest: { Item: marshall(Item) } })) },
      }),
    );
  return { Records: records };
}

/**
 * Runs the dispatch benchmark on the DynamoDB Local at `endpoint` and prints its figures.
 * Sequential = `concurrency: 1` (records one after the other, each record's calls one at a time).
 */
export async function runDispatchBench(
  endpoint: string,
  options: DispatchBenchOptions = {},
): Promise<DispatchBenchResult> {
  const n = options.records ?? 100;
  const latencyMs = options.latencyMs ?? 20;
  const rounds = options.rounds ?? 3;
  const concurrency = options.concurrency ?? DISPATCHER_DEFAULTS.concurrency;
  const scheduler = await startLocalScheduler({ latencyMs });
  const bus = await startLocalEventBridge({ latencyMs });
  const dynamodb = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  const clients = {
    dynamodb,
    scheduler: new SchedulerClient({ endpoint: scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 }),
    eventBridge: new EventBridgeClient({ endpoint: bus.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 }),
  };
  try {
    const table = `bench-dispatch-${randomUUID()}`;
    const { streamArn } = await createOutboxTable(dynamodb, table);
    const base = {
      jobRunnerArn: LOCAL_ARNS.jobRunner,
      schedulerRoleArn: LOCAL_ARNS.schedulerRole,
      outboxTable: table,
      env: {},
      clients,
      logger: silent,
    };
    const modes = {
      sequential: outboxDispatcher({ ...base, concurrency: 1 }),
      parallel: outboxDispatcher({ ...base, concurrency }),
    };
    const times: Record<keyof typeof modes, number[]> = { sequential: [], parallel: [] };
    const calls: Record<keyof typeof modes, number> = { sequential: 0, parallel: 0 };
    for (let round = 0; round <= rounds; round++) {
      for (const mode of ['sequential', 'parallel'] as const) {
        const batch = await prepareBatch(dynamodb, table, streamArn, n);
        const before = scheduler.calls.length + bus.calls.length;
        let failures = 0;
        const ms = await timeMs(async () => {
          failures = (await modes[mode](batch)).batchItemFailures.length;
        });
        if (failures > 0) throw new Error(`${mode} run reported ${failures} failed records`);
        calls[mode] = scheduler.calls.length + bus.calls.length - before;
        if (round > 0) times[mode].push(ms); // round 0 warms up
      }
    }
    const sequentialMs = median(times.sequential);
    const parallelMs = median(times.parallel);
    const result: DispatchBenchResult = {
      records: n,
      latencyMs,
      concurrency,
      sequentialMs,
      parallelMs,
      ratio: sequentialMs / parallelMs,
      sequentialRecordsPerSecond: (n * 1000) / sequentialMs,
      parallelRecordsPerSecond: (n * 1000) / parallelMs,
      parallelCalls: calls.parallel,
      sequentialCalls: calls.sequential,
    };
    console.log(
      `\n## dispatch: ${n} stream records × (1 job + 2 events), ${latencyMs} ms injected per Scheduler/EventBridge call, median of ${rounds}`,
    );
    console.log(
      `sequential (concurrency 1):   ${fmt(sequentialMs, 0)} ms  ${fmt(result.sequentialRecordsPerSecond, 0)} records/s  (${calls.sequential} Scheduler+EventBridge calls)`,
    );
    console.log(
      `bounded-parallel (${concurrency}):       ${fmt(parallelMs, 0)} ms  ${fmt(result.parallelRecordsPerSecond, 0)} records/s  (${calls.parallel} calls: events packed 10 per PutEvents)`,
    );
    console.log(`ratio: bounded-parallel is ${fmt(result.ratio, 1)}× faster than sequential (goal ≥ 8×)`);
    return result;
  } finally {
    for (const c of Object.values(clients)) c.destroy();
    await Promise.all([scheduler.stop(), bus.stop()]);
  }
}
