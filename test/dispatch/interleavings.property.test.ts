/**
 * Property test of issue 17: a few job keys, random schedule / reschedule / cancel commits (real units of
 * work on DynamoDB Local, some in the same millisecond), dispatched by concurrent invocations in random
 * order while commits go on, with redeliveries of failed records, duplicated records, Scheduler calls that
 * are slow or whose answer is lost after they applied, and throttled job-record reads. At quiescence every
 * job's schedule is what its record calls for (or absent); then the Scheduler fires everything due, each
 * delivery twice at once, and every due occurrence runs exactly once (a cancelled job never).
 * Seeded and replayable: set PROPERTY_SEED / PROPERTY_RUNS to replay or widen.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { DynamoDBRecord } from 'aws-lambda';
import fc from 'fast-check';
import { jobRunner } from '../../lib/jobs/index.js';
import type { JobRecord } from '../../lib/job-record/record.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { decodeOutboxItem } from '../../lib/outbox/decode.js';
import { OUTBOX_SCHEMA } from '../../lib/outbox/schema.js';
import { lambdaContext, scanAll } from '../support/ddb.js';
import { inUnitOfWork, jobRecord, memoryLogger } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';
import { outboxStreamRecord } from '../support/stream-records.js';

const SEED = Number(process.env.PROPERTY_SEED ?? 1717);
const RUNS = Number(process.env.PROPERTY_RUNS ?? 6);
const HOUR = 3_600_000;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true } });
});
afterAll(async () => {
  jest.restoreAllMocks();
  await stack?.stop();
});

/** A small seeded PRNG (mulberry32) for the faults of one run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Op =
  | { kind: 'schedule'; key: number; hour: number; recurring: boolean; sameMs: boolean; pauseMs: number }
  | { kind: 'reschedule'; key: number; hour: number; sameMs: boolean; pauseMs: number; twin?: number }
  | { kind: 'cancel'; key: number; sameMs: boolean; pauseMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('schedule' as const),
      key: fc.integer({ min: 0, max: 1 }),
      hour: fc.integer({ min: 1, max: 6 }),
      recurring: fc.boolean(),
      sameMs: fc.boolean(),
      pauseMs: fc.integer({ min: 0, max: 15 }),
    }),
    weight: 1,
  },
  {
    // `twin`: a second reschedule to another hour, committed right after in the same millisecond
    arbitrary: fc.record(
      {
        kind: fc.constant('reschedule' as const),
        key: fc.integer({ min: 0, max: 1 }),
        hour: fc.integer({ min: 1, max: 6 }),
        sameMs: fc.boolean(),
        pauseMs: fc.integer({ min: 0, max: 15 }),
        twin: fc.integer({ min: 1, max: 6 }),
      },
      { requiredKeys: ['kind', 'key', 'hour', 'sameMs', 'pauseMs'] },
    ),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('cancel' as const),
      key: fc.integer({ min: 0, max: 1 }),
      sameMs: fc.boolean(),
      pauseMs: fc.integer({ min: 0, max: 15 }),
    }),
    weight: 1,
  },
);

/** Clients whose calls suffer the run's faults: slow Scheduler calls, answers lost after the call applied, throttled reads. */
function faultyClients(random: () => number, faults: { on: boolean }) {
  const scheduler = new SchedulerClient({ endpoint: stack.scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  scheduler.middlewareStack.add(
    (next) => async (args) => {
      if (faults.on && random() < 0.35) await sleep(5 + Math.floor(random() * 40)); // slow: lands late
      const out = await next(args);
      if (faults.on && random() < 0.08)
        throw Object.assign(new Error('answer lost'), { name: 'InternalServerException', $fault: 'server' });
      return out;
    },
    { step: 'initialize', name: 'schedulerFaults' },
  );
  const dynamodb = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  dynamodb.middlewareStack.add(
    (next, context) => async (args) => {
      if (faults.on && context.commandName === 'BatchGetItemCommand' && random() < 0.25)
        throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
          name: 'ProvisionedThroughputExceededException',
          $fault: 'client',
        });
      return next(args);
    },
    { step: 'initialize', name: 'readFaults' },
  );
  return { scheduler, dynamodb, eventBridge: stack.clients.eventBridge };
}

/** What the schedule must be for `record`: its expression and the job id / version in its input, or none. */
function expectedSchedule(
  record: JobRecord | undefined,
): { expression: string; jobId: string; version: number } | undefined {
  if (!record || (record.jobStatus !== 'SCHEDULED' && record.jobStatus !== 'FAILED')) return undefined;
  const s = record.schedule;
  const expression = s.at
    ? `at(${new Date(Math.ceil(Date.parse(s.at) / 1000) * 1000).toISOString().slice(0, 19)})`
    : `rate(${s.rate})`;
  return { expression, jobId: record.jobId, version: record.version };
}

function actualSchedule(name: string): { expression: string; jobId: string; version: number } | undefined {
  const s = stack.scheduler.getSchedule(name);
  if (!s) return undefined;
  const input = JSON.parse(s.Target.Input!) as { jobId: string; version: number };
  return { expression: s.ScheduleExpression, jobId: input.jobId, version: input.version };
}

let runNo = 0;

async function runScenario(ops: Op[], faultSeed: number): Promise<void> {
  const run = `ilv${++runNo}-${faultSeed.toString(36)}`;
  const keys = [0, 1].map((i) => `${run}-k${i}`);
  const random = prng(faultSeed);
  const faults = { on: true };
  const base = Math.ceil((stack.scheduler.clock.now() + HOUR) / HOUR) * HOUR;
  const pending: DynamoDBRecord[] = [];
  const delivered: DynamoDBRecord[] = [];
  const seen = new Set<string>();
  let seq = 0;
  let committing = true;

  const collect = async (): Promise<void> => {
    const items = (await scanAll(stack.doc, stack.tableName))
      .filter((i) => i[OUTBOX_SCHEMA.kindAttribute] === OUTBOX_SCHEMA.outboxKind)
      .map(decodeOutboxItem);
    for (const item of items) {
      const id = `${item.pk}/${item.sk}`;
      if (seen.has(id) || !item.messages.some((m) => JSON.stringify(m).includes(run))) continue;
      seen.add(id);
      pending.push(outboxStreamRecord(stack.streamArn, [...item.messages], String(++seq).padStart(21, '0')));
    }
  };

  const commits = (async () => {
    let previous = Date.now();
    for (const op of ops) {
      const key = keys[op.key]!;
      // `sameMs`: this commit runs in the millisecond of the previous one (its clock reads the same)
      const at = op.sameMs ? previous : Date.now();
      previous = at;
      const spy = jest.spyOn(Date, 'now').mockReturnValue(at);
      try {
        await inUnitOfWork(stack.doc, stack.tableName, (uow) => {
          if (op.kind === 'schedule')
            uow.schedule(
              op.recurring
                ? { job: 'remind', key, payload: { key }, rate: '6 hours' }
                : { job: 'remind', key, payload: { key }, at: new Date(base + op.hour * HOUR).toISOString() },
            );
          else if (op.kind === 'reschedule')
            uow.rescheduleJob(key, { at: new Date(base + op.hour * HOUR).toISOString() });
          else uow.cancelJob(key);
        });
      } catch {
        // refused (duplicate key, not reschedulable, nothing to cancel): commits nothing
      } finally {
        spy.mockRestore();
      }
      if (random() < 0.4) await collect(); // the stream hands records over in bursts: later ones can overtake
      await sleep(op.pauseMs);
    }
    await collect();
    committing = false;
  })();

  // three concurrent invocation loops (shards): random batches, random order, duplicates, redelivery of failures
  const invocations = Array.from({ length: 3 }, async () => {
    const d = testDispatcher(stack, {
      clients: faultyClients(random, faults),
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 4 },
    });
    for (let round = 0; committing || pending.length > 0; round++) {
      if (round > 400) faults.on = false; // a bounded run: faults stop, quiescence follows
      if (pending.length === 0) {
        await sleep(3);
        continue;
      }
      const batch: DynamoDBRecord[] = [];
      const size = 1 + Math.floor(random() * Math.min(3, pending.length));
      // any order: often the newest first (a later commit's record on another shard overtakes an earlier one)
      for (let i = 0; i < size; i++)
        batch.push(...pending.splice(random() < 0.5 ? pending.length - 1 : Math.floor(random() * pending.length), 1));
      if (delivered.length > 0 && random() < 0.3) batch.push(delivered[Math.floor(random() * delivered.length)]!); // a duplicate
      const { batchItemFailures } = await d({ Records: batch }, lambdaContext());
      const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
      for (const r of batch) (failed.has(r.dynamodb!.SequenceNumber!) ? pending : delivered).push(r);
    }
  });
  await Promise.all([commits, ...invocations]);

  // quiescence: every schedule is what its record calls for
  const records = await Promise.all(keys.map((k) => jobRecord(stack.doc, stack.tableName, k)));
  for (const [i, key] of keys.entries())
    expect({ key, schedule: actualSchedule(key) }).toEqual({ key, schedule: expectedSchedule(records[i]) });

  // every due occurrence runs exactly once, each delivery arriving twice at once
  const runs: string[] = [];
  const runner = jobRunner({
    jobs: { remind: (_p: unknown, { job }) => void runs.push(`${job.key}@${job.scheduledTime}`) },
    outboxTable: stack.tableName,
    client: stack.doc,
    logger: memoryLogger(),
  });
  const unregister = stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, async (input) => {
    await Promise.allSettled([runner(input as never), runner(input as never)]);
  });
  const firedFrom = stack.scheduler.deliveries.length;
  try {
    await stack.scheduler.advance(base + 7 * HOUR - stack.scheduler.clock.now());
  } finally {
    unregister();
  }
  const deliveries = stack.scheduler.deliveries
    .slice(firedFrom)
    .map((x) => JSON.parse(x.input) as { key: string; scheduledTime: string });
  for (const [i, key] of keys.entries()) {
    const want = expectedSchedule(records[i]);
    const mine = runs.filter((r) => r.startsWith(`${key}@`));
    const occurrences = new Set(deliveries.filter((x) => x.key === key).map((x) => `${key}@${x.scheduledTime}`));
    expect({ key, runs: mine.length, distinct: new Set(mine).size }).toEqual({
      key,
      runs: occurrences.size,
      distinct: occurrences.size,
    });
    if (!want) expect({ key, runs: mine }).toEqual({ key, runs: [] });
    else if (want.expression.startsWith('at(')) expect({ key, runs: mine.length }).toEqual({ key, runs: 1 });
  }
}

describe('job schedules under random interleavings (fast-check)', () => {
  it('at quiescence every schedule matches its record, and each due occurrence runs exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(opArb, { minLength: 3, maxLength: 10 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (recurring, ops, faultSeed) =>
          runScenario(
            [
              { kind: 'schedule', key: 0, hour: 1, recurring: false, sameMs: false, pauseMs: 0 },
              { kind: 'schedule', key: 1, hour: 2, recurring, sameMs: false, pauseMs: 0 },
              ...ops.flatMap((op): Op[] =>
                op.kind === 'reschedule' && op.twin !== undefined
                  ? [
                      { ...op, twin: undefined },
                      { ...op, hour: op.twin, twin: undefined, sameMs: true },
                    ]
                  : [op],
              ),
            ],
            faultSeed,
          ),
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
  }, 120_000);
});
