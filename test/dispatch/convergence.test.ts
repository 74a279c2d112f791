/**
 * Races between job messages of the same key dispatched by concurrent invocations (different outbox
 * items, possibly on different shards): a schedule call that lands late must not leave a stale schedule.
 * The interleavings are made deterministic by holding one call in an SDK middleware of a second
 * SchedulerClient on the same local Scheduler endpoint (the call lands only when the test releases it).
 * Job records on DynamoDB Local; the dispatcher handler invoked directly with stream records.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { MAX_CONVERGENCE_ROUNDS } from '../../lib/dispatch/jobs.js';
import { JOB_STATUS } from '../../lib/job-record/record.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import type { JobScheduleSpec, OutboxMessage } from '../../lib/outbox/messages.js';
import { lambdaContext } from '../support/ddb.js';
import { outboxStreamRecord } from '../support/stream-records.js';
import { LOCAL_ARNS, startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
let seq = 1;

beforeAll(async () => {
  stack = await startTestStack({
    poller: { paused: true },
    scheduler: { startTime: new Date('2030-01-01T00:00:00Z') },
  });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  stack.scheduler.clearFaults();
});

const uid = (): string => Math.random().toString(36).slice(2, 10);

/** A stream record of an outbox item carrying `messages` (each commit writes its own item, with its own pk). */
function record(messages: OutboxMessage[], overrides: Partial<DynamoDBRecord> = {}): DynamoDBRecord {
  return outboxStreamRecord(stack.streamArn, messages, String(seq++).padStart(21, '0'), overrides);
}

/** Writes the job record as a committed `uow.schedule` would. */
async function putJob(key: string, jobId: string, version: number, schedule: JobScheduleSpec): Promise<void> {
  await stack.doc.send(
    new PutCommand({
      TableName: stack.tableName,
      Item: {
        pk: `job#${key}`,
        sk: 'job',
        _kind: 'job',
        jobId,
        jobKey: key,
        jobName: 'remind',
        payload: JSON.stringify({ key }),
        schedule,
        scheduleName: key,
        jobStatus: JOB_STATUS.SCHEDULED,
        version,
        attempts: 0,
        maxAttempts: 3,
        createdAt: new Date().toISOString(),
        jobUpdatedAt: new Date().toISOString(),
        ...(schedule.at ? { nextRunAt: schedule.at } : {}),
      },
    }),
  );
}

/** The job-record half of a committed `uow.rescheduleJob(key, { at })`. */
async function commitReschedule(key: string, version: number, at: string): Promise<OutboxMessage> {
  await stack.doc.send(
    new UpdateCommand({
      TableName: stack.tableName,
      Key: { pk: `job#${key}`, sk: 'job' },
      UpdateExpression: 'SET jobStatus = :s, version = :v, schedule = :sch, nextRunAt = :at',
      ExpressionAttributeValues: { ':s': JOB_STATUS.SCHEDULED, ':v': version, ':sch': { at }, ':at': at },
    }),
  );
  return { kind: 'job.reschedule', key, scheduleName: key, version, schedule: { at } };
}

/** The job-record half of a committed `uow.cancelJob(key)`. */
async function commitCancel(key: string, version: number): Promise<OutboxMessage> {
  await stack.doc.send(
    new UpdateCommand({
      TableName: stack.tableName,
      Key: { pk: `job#${key}`, sk: 'job' },
      UpdateExpression: 'SET jobStatus = :s, version = :v REMOVE nextRunAt',
      ExpressionAttributeValues: { ':s': JOB_STATUS.CANCELLED, ':v': version },
    }),
  );
  return { kind: 'job.cancel', key, scheduleName: key };
}

/**
 * A SchedulerClient on the local endpoint whose first call matching `match` is held before it is sent
 * (a slow call, or one retried after throttling) until `release()`; `held` resolves once it is waiting.
 */
function holdingClient(match: (command: string, input: any) => boolean) {
  const client = new SchedulerClient({ endpoint: stack.scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const held = new Promise<void>((r) => (reached = r));
  let done = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!done && match(context.commandName ?? '', args.input)) {
        done = true;
        reached();
        await released;
      }
      return next(args);
    },
    { step: 'initialize', name: 'holdOneCall' },
  );
  return { client, held, release };
}

function dispatcher(scheduler: SchedulerClient = stack.clients.scheduler) {
  return testDispatcher(stack, {
    clients: { dynamodb: stack.clients.dynamodb, scheduler, eventBridge: stack.clients.eventBridge },
  });
}

const callsFor = (name: string) =>
  stack.scheduler.calls.filter((c) => c.name === name).map((c) => `${c.operation}:${c.outcome}`);
const inputOf = (name: string) =>
  JSON.parse(stack.scheduler.getSchedule(name)!.Target.Input!) as { jobId: string; version: number };
const batchLine = (d: ReturnType<typeof dispatcher>) =>
  d.logger.entries.find((e) => e.message === 'outbox batch dispatched')!.attributes;

describe('schedule convergence to the job record', () => {
  it('a stale reschedule that lands after a newer one is dispatched is undone: the schedule ends at the record’s version and time', async () => {
    const key = `race-${uid()}`;
    const jobId = `job-${uid()}`;
    await putJob(key, jobId, 1, { at: '2030-01-01T09:00:00Z' });
    await dispatcher()(
      {
        Records: [
          record([
            {
              kind: 'job.schedule',
              job: { jobId, key, name: 'remind', version: 1, payload: { key }, scheduleName: key },
              schedule: { at: '2030-01-01T09:00:00Z' },
              maxAttempts: 3,
            },
          ]),
        ],
      },
      lambdaContext(),
    );

    // commit A: reschedule to 10:00 (version 1000); invocation A checks the record, its UpdateSchedule is slow
    const a = await commitReschedule(key, 1000, '2030-01-01T10:00:00Z');
    const slow = holdingClient(
      (command, input) => command === 'UpdateScheduleCommand' && JSON.parse(input.Target.Input).version === 1000,
    );
    const dispatcherA = dispatcher(slow.client);
    const runA = dispatcherA({ Records: [record([a])] }, lambdaContext());
    await slow.held;

    // commit B: reschedule to 12:00 (version 2000), dispatched completely by another invocation (another shard)
    const b = await commitReschedule(key, 2000, '2030-01-01T12:00:00Z');
    const dispatcherB = dispatcher();
    expect(await dispatcherB({ Records: [record([b])] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(inputOf(key).version).toBe(2000);

    // A's stale call lands now, then A reads the record again and converges to it
    slow.release();
    expect(await runA).toEqual({ batchItemFailures: [] });
    expect(callsFor(key)).toEqual([
      'CreateSchedule:ok', // job.schedule v1
      'UpdateSchedule:ok', // B: v2000 at 12:00
      'UpdateSchedule:ok', // A's stale v1000 at 10:00, landing late
      'UpdateSchedule:ok', // A converging to the record: v2000 at 12:00
    ]);
    expect(stack.scheduler.getSchedule(key)).toMatchObject({ ScheduleExpression: 'at(2030-01-01T12:00:00)' });
    expect(inputOf(key)).toMatchObject({ jobId, version: 2000 });
    expect(batchLine(dispatcherA)).toMatchObject({ schedulesUpdated: 2, jobsReconciled: 1, failed: 0 });
    expect(
      dispatcherA.logger.entries.find((e) => e.message.startsWith('job schedule converged'))!.attributes,
    ).toMatchObject({
      key,
      basedOn: `${jobId} v1000 SCHEDULED`,
      reconciled: [{ action: 'updated', record: `${jobId} v2000 SCHEDULED` }],
    });
    expect(batchLine(dispatcherB)).toMatchObject({ schedulesUpdated: 1, jobsReconciled: 0 });

    // and the job is delivered once, at 12:00, with the version the record has (so the runner will run it)
    const deliveries: unknown[] = [];
    const unregister = stack.scheduler.registerTarget(
      LOCAL_ARNS.jobRunner,
      async (input) => void deliveries.push(input),
    );
    try {
      await stack.scheduler.advanceToNext(key);
    } finally {
      unregister();
    }
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ jobId, version: 2000, scheduledTime: '2030-01-01T12:00:00Z' });
    expect(stack.scheduler.getSchedule(key)).toBeUndefined(); // the one-time schedule deleted itself after firing
  });

  it('a create that passed its check before a cancel, landing after the cancel deleted nothing, is deleted again: no orphan schedule', async () => {
    const key = `cancel-race-${uid()}`;
    const jobId = `job-${uid()}`;
    await putJob(key, jobId, 1, { rate: '5 minutes' });
    const slow = holdingClient((command) => command === 'CreateScheduleCommand');
    const dispatcherA = dispatcher(slow.client);
    const runA = dispatcherA(
      {
        Records: [
          record([
            {
              kind: 'job.schedule',
              job: { jobId, key, name: 'remind', version: 1, payload: { key }, scheduleName: key },
              schedule: { rate: '5 minutes' },
              maxAttempts: 3,
            },
          ]),
        ],
      },
      lambdaContext(),
    );
    await slow.held;

    const cancel = await commitCancel(key, 2);
    const dispatcherB = dispatcher();
    expect(await dispatcherB({ Records: [record([cancel])] }, lambdaContext())).toEqual({ batchItemFailures: [] });

    slow.release();
    expect(await runA).toEqual({ batchItemFailures: [] });
    expect(callsFor(key)).toEqual([
      'DeleteSchedule:ResourceNotFoundException', // the cancel: nothing to delete yet
      'CreateSchedule:ok', // the late create: a recurring schedule that would fire forever
      'DeleteSchedule:ok', // converged to the CANCELLED record
    ]);
    expect(stack.scheduler.getSchedule(key)).toBeUndefined();
    expect(batchLine(dispatcherA)).toMatchObject({ schedulesCreated: 1, schedulesDeleted: 1, jobsReconciled: 1 });
  });

  it('a cancel whose delete lands after the key was scheduled again (a new job) creates the new job’s schedule', async () => {
    const key = `reuse-${uid()}`;
    await putJob(key, 'job-old', 1, { at: '2030-01-01T08:00:00Z' });
    const cancel = await commitCancel(key, 2);
    const slow = holdingClient((command) => command === 'DeleteScheduleCommand');
    const dispatcherA = dispatcher(slow.client);
    const runA = dispatcherA({ Records: [record([cancel])] }, lambdaContext());
    await slow.held;

    // the cancelled record is gone (TTL) and a new job takes the key; its job.schedule was dispatched already
    await putJob(key, 'job-new', 3, { at: '2030-01-01T11:00:00Z' });
    await dispatcher()(
      {
        Records: [
          record([
            {
              kind: 'job.schedule',
              job: { jobId: 'job-new', key, name: 'remind', version: 3, payload: { key }, scheduleName: key },
              schedule: { at: '2030-01-01T11:00:00Z' },
              maxAttempts: 3,
            },
          ]),
        ],
      },
      lambdaContext(),
    );

    slow.release();
    expect(await runA).toEqual({ batchItemFailures: [] });
    expect(callsFor(key)).toEqual([
      'CreateSchedule:ok',
      'DeleteSchedule:ok',
      'UpdateSchedule:ResourceNotFoundException',
      'CreateSchedule:ok',
    ]);
    expect(inputOf(key)).toMatchObject({ jobId: 'job-new', version: 3 });
    expect(stack.scheduler.getSchedule(key)).toMatchObject({ ScheduleExpression: 'at(2030-01-01T11:00:00)' });
  });

  /** A DynamoDB client whose BatchGetItem calls are throttled while `throttle.on` (the dispatcher's follow-up read). */
  function throttledReads() {
    const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    const throttle = { on: false };
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (throttle.on && context.commandName === 'BatchGetItemCommand')
          throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
            name: 'ProvisionedThroughputExceededException',
            $fault: 'client',
          });
        return next(args);
      },
      { step: 'initialize', name: 'throttleReads' },
    );
    return { client, throttle };
  }

  it.each([
    ['a cancelled recurring job', 'cancel'],
    ['a rescheduled job', 'reschedule'],
  ] as const)(
    '%s: a late call, a throttled follow-up read, then the redelivery converges (the record moved on; no skip)',
    async (_title, change) => {
      const key = `redeliver-${change}-${uid()}`;
      const jobId = `job-${uid()}`;
      await putJob(key, jobId, 1, change === 'cancel' ? { rate: '10 minutes' } : { at: '2030-01-01T09:00:00Z' });
      const first: OutboxMessage =
        change === 'cancel'
          ? {
              kind: 'job.schedule',
              job: { jobId, key, name: 'remind', version: 1, payload: { key }, scheduleName: key },
              schedule: { rate: '10 minutes' },
              maxAttempts: 3,
            }
          : await commitReschedule(key, 2, '2030-01-01T10:00:00Z');
      if (change === 'reschedule')
        await dispatcher()(
          {
            Records: [
              record([
                {
                  kind: 'job.schedule',
                  job: { jobId, key, name: 'remind', version: 1, payload: { key }, scheduleName: key },
                  schedule: { at: '2030-01-01T09:00:00Z' },
                  maxAttempts: 3,
                },
              ]),
            ],
          },
          lambdaContext(),
        );
      const slow = holdingClient(
        (command) => command === (change === 'cancel' ? 'CreateScheduleCommand' : 'UpdateScheduleCommand'),
      );
      const reads = throttledReads();
      const a = testDispatcher(stack, {
        clients: { dynamodb: reads.client, scheduler: slow.client, eventBridge: stack.clients.eventBridge },
        retry: { maxAttempts: 2 },
      });
      const firstRecord = record([first]);
      const runA = a({ Records: [firstRecord] }, lambdaContext());
      await slow.held;

      // the next commit is dispatched completely by another invocation while A's call is in flight
      const next =
        change === 'cancel' ? await commitCancel(key, 2) : await commitReschedule(key, 3, '2030-01-01T12:00:00Z');
      expect(await dispatcher()({ Records: [record([next])] }, lambdaContext())).toEqual({ batchItemFailures: [] });

      // A's stale call lands; its follow-up read is throttled: the record is reported failed
      reads.throttle.on = true;
      slow.release();
      expect(await runA).toEqual({ batchItemFailures: [{ itemIdentifier: firstRecord.dynamodb!.SequenceNumber }] });
      reads.throttle.on = false;
      if (change === 'cancel')
        expect(stack.scheduler.getSchedule(key)).toMatchObject({ ScheduleExpression: 'rate(10 minutes)' });
      else expect(inputOf(key).version).toBe(2); // stale: the runner would skip it, the job would never run

      // Lambda redelivers the failed record: its handling must converge although the record moved on
      expect(await dispatcher()({ Records: [firstRecord] }, lambdaContext())).toEqual({ batchItemFailures: [] });
      if (change === 'cancel') expect(stack.scheduler.getSchedule(key)).toBeUndefined();
      else {
        expect(inputOf(key)).toMatchObject({ jobId, version: 3 });
        expect(stack.scheduler.getSchedule(key)).toMatchObject({ ScheduleExpression: 'at(2030-01-01T12:00:00)' });
      }
    },
  );

  it(`gives up after ${MAX_CONVERGENCE_ROUNDS} rounds when the record keeps moving, and reports the record failed`, async () => {
    const key = `moving-${uid()}`;
    const jobId = `job-${uid()}`;
    await putJob(key, jobId, 1, { at: '2030-01-01T07:00:00Z' });
    // every schedule call is followed by another reschedule of the job
    const client = new SchedulerClient({ endpoint: stack.scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    let version = 1;
    client.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        version++;
        await commitReschedule(key, version, `2030-01-01T07:${String(version).padStart(2, '0')}:00Z`);
        return out;
      },
      { step: 'initialize', name: 'moveRecordAfterEachCall' },
    );
    const d = dispatcher(client);
    const r = record([
      {
        kind: 'job.schedule',
        job: { jobId, key, name: 'remind', version: 1, payload: { key }, scheduleName: key },
        schedule: { at: '2030-01-01T07:00:00Z' },
        maxAttempts: 3,
      },
    ]);
    expect(await d({ Records: [r] }, lambdaContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: r.dynamodb!.SequenceNumber }],
    });
    expect(callsFor(key)).toEqual([
      'CreateSchedule:ok',
      ...Array.from({ length: MAX_CONVERGENCE_ROUNDS - 1 }, () => 'UpdateSchedule:ok'),
    ]);
    expect(d.logger.entries.find((e) => e.level === 'error')!.attributes).toMatchObject({
      sequenceNumber: r.dynamodb!.SequenceNumber,
      reason: expect.stringContaining(
        `the job record kept changing while its schedule was being set (${MAX_CONVERGENCE_ROUNDS} rounds`,
      ),
    });
    expect(batchLine(d)).toMatchObject({ failed: 1, jobsReconciled: 0 });
  });
});

describe('outbox INSERT without NewImage', () => {
  it('is reported failed with the reason (stream view type), while its neighbours are dispatched and other imageless records ignored', async () => {
    const key = `img-${uid()}`;
    const jobId = `job-${uid()}`;
    await putJob(key, jobId, 1, { at: '2030-01-01T06:00:00Z' });
    const good = record([
      {
        kind: 'job.schedule',
        job: { jobId, key, name: 'remind', version: 1, payload: { key }, scheduleName: key },
        schedule: { at: '2030-01-01T06:00:00Z' },
        maxAttempts: 3,
      },
    ]);
    const keysOnly = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', pk: string): DynamoDBRecord => ({
      eventID: uid(),
      eventName,
      eventSourceARN: stack.streamArn,
      dynamodb: {
        Keys: { pk: { S: pk }, sk: { S: 'part#000' } },
        SequenceNumber: String(seq++).padStart(21, '0'),
        StreamViewType: 'KEYS_ONLY',
      },
    });
    const lost = keysOnly('INSERT', `outbox#${uid()}`);
    const business = keysOnly('INSERT', `order#${uid()}`);
    const removed = keysOnly('REMOVE', `outbox#${uid()}`);
    const d = dispatcher();
    const response = await d({ Records: [lost, good, business, removed] }, lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: lost.dynamodb!.SequenceNumber }] });
    expect(stack.scheduler.getSchedule(key)).toBeDefined();
    expect(d.logger.entries.find((e) => e.level === 'error')).toMatchObject({
      message: 'outbox item not dispatched',
      attributes: {
        sequenceNumber: lost.dynamodb!.SequenceNumber,
        pk: lost.dynamodb!.Keys!.pk!.S,
        reason: expect.stringMatching(/no NewImage \(StreamViewType KEYS_ONLY\).*NEW_IMAGE/),
      },
    });
    expect(batchLine(d)).toMatchObject({ records: 4, failed: 1, ignored: 2, schedulesCreated: 1 });
  });
});
