/**
 * Throttle benchmark (`npm run bench -- throttle`): the dispatcher under an EventBridge Scheduler request quota.
 * A backlog of commits (1 job + 1 event each) worth 1×, 2× and 4× the Scheduler's quota over a few seconds is released at once; the real
 * stream poller (the event source mapping stand-in: ParallelizationFactor 4, so 4 dispatcher invocations at once,
 * redelivery from the lowest failed record, 5 retries, then the on-failure destination) feeds the dispatcher;
 * the local Scheduler answers `ThrottlingException` over a token bucket. Each level runs `rounds` times,
 * interleaved with the other levels. Printed per level (median and min–max over the rounds):
 * - quota used: schedules created ÷ (burst + rate × seconds from the first Scheduler call to the last schedule created),
 *   the share of the quota turned into useful calls;
 * - Scheduler calls admitted per schedule created (1.00 = no call wasted on a repeat);
 * - duplicate events: events delivered more than once (same CloudEvent id) ÷ events committed;
 * - records sent to the on-failure destination (the stream DLQ).
 */
import type { LocalQuota } from '../lib/local/quota.js';
import { tokenBucketQuota } from '../lib/local/quota.js';
import type { CallRetryOptions } from '../lib/dispatch/config.js';
import { startLocalOutboxStack } from '../lib/local/outbox-stack.js';
import { withUnitOfWork } from '../lib/unit-of-work/context.js';
import { fmt, median } from './stats.js';

/** Settings of {@link runThrottleBench}. */
export interface ThrottleBenchOptions {
  /** The Scheduler's quota, requests per second (burst: one second's worth). @default 20 */
  readonly quota?: number;
  /** Offered load as multiples of the quota. @default [1, 2, 4] */
  readonly levels?: readonly number[];
  /** Seconds of quota the 1× backlog is worth. @default 4 */
  readonly seconds?: number;
  /** Runs per level, interleaved. @default 3 (`UOW_BENCH_ROUNDS`) */
  readonly rounds?: number;
  /** The dispatcher's call retries. @default the dispatcher's defaults */
  readonly retry?: CallRetryOptions;
}

/** Figures of one run. */
export interface ThrottleRun {
  readonly level: number;
  readonly commits: number;
  readonly schedulesCreated: number;
  readonly quotaUsed: number;
  readonly callsPerSchedule: number;
  readonly throttled: number;
  readonly duplicateEvents: number;
  readonly eventsCommitted: number;
  readonly dlqRecords: number;
  readonly drainSeconds: number;
}

/** Offered level of the unthrottled control run (the largest level). */
let CONTROL_LEVELS: readonly number[] = [4];

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A quota that records when each Scheduler call was admitted (for the time window of the quota share). */
function timedQuota(inner: LocalQuota): LocalQuota & { readonly creates: number[]; readonly first: () => number } {
  const creates: number[] = [];
  let first = Number.NaN;
  return {
    creates,
    first: () => first,
    admit(operation, error) {
      if (Number.isNaN(first)) first = performance.now();
      inner.admit(operation, error);
      if (operation === 'CreateSchedule') creates.push(performance.now());
    },
    get stats() {
      return inner.stats;
    },
    resetStats: () => inner.resetStats(),
  };
}

/** Offers `level × rate` commits/s for `seconds` through a fresh stack, waits until all is dispatched. */
async function runLevel(
  endpoint: string,
  rate: number,
  level: number,
  seconds: number,
  retry?: CallRetryOptions,
): Promise<ThrottleRun> {
  // The unthrottled control run: the same load with a quota too large to bind (what this machine dispatches).
  const unlimited = level === 0;
  const quota = timedQuota(
    tokenBucketQuota({ requestsPerSecond: unlimited ? 1e9 : rate, burst: unlimited ? 1e9 : rate }),
  );
  const stack = await startLocalOutboxStack({
    dynamodbEndpoint: endpoint,
    scheduler: { clock: 'manual', quota },
    dispatcher: { logger: silent, ...(retry ? { retry } : {}) },
    poller: {
      paused: true,
      parallelizationFactor: 4,
      batchSize: 100,
      maximumRetryAttempts: 5,
      functionTimeoutMs: 30_000,
    },
  });
  try {
    const run = Math.random().toString(36).slice(2, 8);
    const offeredLevel = unlimited ? Math.max(...CONTROL_LEVELS) : level;
    const total = Math.round(offeredLevel * rate * seconds);
    // The offered load is committed first (16 writers, poller paused), then released at once: a backlog of
    // `level × quota × seconds` records, as a burst of commits leaves it, so DynamoDB Local's commit speed on this
    // machine does not pace the dispatcher.
    let next = 0;
    const writer = async (): Promise<void> => {
      for (let n = next++; n < total; n = next++)
        await withUnitOfWork(
          (uow) => {
            uow.publish({ type: 'BenchOrderPlaced', data: { n } });
            uow.schedule({ job: 'bench-remind', key: `t-${run}-${n}`, payload: { n }, delay: 3600 });
          },
          { outboxTable: stack.tableName, client: stack.clients.dynamodb, source: 'bench.throttle', logger: silent },
        );
    };
    await Promise.all(Array.from({ length: 16 }, writer));
    const start = performance.now();
    stack.poller.resume();
    await stack.drain(240_000);
    let schedulesCreated = 0;
    for (let n = 0; n < total; n++) if (stack.scheduler.getSchedule(`t-${run}-${n}`)) schedulesCreated++;
    // The window: from the dispatcher's first Scheduler call to the last schedule created.
    const windowSeconds = ((quota.creates.at(-1) ?? start) - quota.first()) / 1000;
    const burst = unlimited ? 0 : rate;
    const ids = stack.eventBridge.events.map((e) => (e.detail as { id: string }).id);
    const admitted = quota.stats.admitted;
    return {
      level,
      commits: total,
      schedulesCreated,
      quotaUsed: schedulesCreated / (burst + rate * windowSeconds),
      callsPerSchedule: admitted / Math.max(1, schedulesCreated),
      throttled: quota.stats.throttled,
      duplicateEvents: ids.length - new Set(ids).size,
      eventsCommitted: total,
      dlqRecords: stack.poller.failures.reduce((n, f) => n + f.records.length, 0),
      drainSeconds: (performance.now() - start) / 1000,
    };
  } finally {
    await stack.stop();
  }
}

const range = (values: readonly number[], digits: number, scale = 1): string =>
  `${fmt(median(values) * scale, digits)} (${fmt(Math.min(...values) * scale, digits)}–${fmt(Math.max(...values) * scale, digits)})`;

/** Runs the levels `rounds` times, interleaved, and prints one line per level. */
export async function runThrottleBench(endpoint: string, options: ThrottleBenchOptions = {}): Promise<ThrottleRun[]> {
  const rate = options.quota ?? 20;
  const levels = options.levels ?? [1, 2, 4];
  CONTROL_LEVELS = levels;
  const seconds = options.seconds ?? 4;
  const rounds = options.rounds ?? Number(process.env.UOW_BENCH_ROUNDS ?? 3);
  const runs: ThrottleRun[] = [];
  for (let round = 0; round < rounds; round++)
    for (const level of [0, ...levels]) runs.push(await runLevel(endpoint, rate, level, seconds, options.retry));
  console.log(
    `\n## throttle: Scheduler quota ${rate} req/s (token bucket, burst ${rate}), 1 job + 1 event per commit, ` +
      `a backlog of ${seconds} s × level × quota released at once, ParallelizationFactor 4, batch 100, 5 retries; ${rounds} rounds interleaved, ` +
      'median (min–max)',
  );
  console.log(
    '| offered | commits | quota used % | Scheduler calls per schedule | throttled calls | duplicate events % | records to the DLQ | drain s |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  const control = runs.filter((r) => r.level === 0);
  console.log(
    `unthrottled control (same load as ${Math.max(...levels)}×, no quota): ` +
      `${range(
        control.map((r) => r.commits / r.drainSeconds),
        0,
      )} schedules/s end to end on this machine`,
  );
  for (const level of levels) {
    const of = runs.filter((r) => r.level === level);
    const pick = (f: (r: ThrottleRun) => number) => of.map(f);
    console.log(
      `| ${level}× | ${of[0]!.commits} | ${range(
        pick((r) => r.quotaUsed),
        1,
        100,
      )} | ${range(
        pick((r) => r.callsPerSchedule),
        2,
      )} | ` +
        `${range(
          pick((r) => r.throttled),
          0,
        )} | ${range(
          pick((r) => r.duplicateEvents / r.eventsCommitted),
          2,
          100,
        )} | ` +
        `${range(
          pick((r) => r.dlqRecords),
          0,
        )} | ${range(
          pick((r) => r.drainSeconds),
          1,
        )} |`,
    );
    const missing = of.filter((r) => r.schedulesCreated !== r.commits);
    if (missing.length)
      console.log(
        `  (${missing.length} run(s) at ${level}× did not create every schedule: ${missing.map((r) => r.schedulesCreated).join(', ')})`,
      );
  }
  return runs;
}
