/**
 * The dispatcher handler invoked directly with stream records (as Lambda would), against DynamoDB Local
 * (job records) and the local Scheduler / EventBridge endpoints through the real SDK clients.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import type { DynamoDBRecord } from 'aws-lambda';
import type { outboxDispatcher } from '../../lib/dispatch/dispatcher.js';
import { JOB_STATUS, type JobStatus } from '../../lib/job-record/record.js';
import type { CloudEvent, OutboxMessage } from '../../lib/outbox/messages.js';
import { lambdaContext } from '../support/ddb.js';
import { outboxStreamRecord } from '../support/stream-records.js';
import { LOCAL_ARNS, startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
let seq = 1000;

beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true } });
});
afterAll(async () => {
  await stack?.stop();
});
beforeEach(() => {
  stack.scheduler.clearFaults();
  stack.eventBridge.clearFaults();
});

const uid = (): string => Math.random().toString(36).slice(2, 10);

function event(type: string, data: unknown = {}): CloudEvent {
  return {
    specversion: '1.0',
    id: `evt-${uid()}`,
    source: 'test',
    type,
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

/** A stream record of the outbox item that carries `messages` (not written to the table: the poller stays out). */
function record(messages: OutboxMessage[], overrides: Partial<DynamoDBRecord> = {}): DynamoDBRecord {
  return outboxStreamRecord(stack.streamArn, messages, String(seq++), overrides);
}

async function putJob(
  key: string,
  o: { status?: JobStatus; version?: number; jobId?: string; payload?: unknown } = {},
): Promise<{ jobId: string; version: number }> {
  const jobId = o.jobId ?? `job-${uid()}`;
  const version = o.version ?? 1;
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
        payload: JSON.stringify(o.payload ?? { key }),
        schedule: { at: '2030-01-01T00:00:00Z' },
        scheduleName: key,
        jobStatus: o.status ?? JOB_STATUS.SCHEDULED,
        version,
        attempts: 0,
        maxAttempts: 3,
        createdAt: new Date().toISOString(),
        jobUpdatedAt: new Date().toISOString(),
      },
    }),
  );
  return { jobId, version };
}

function scheduleMessage(
  key: string,
  job: { jobId: string; version: number },
  at = '2030-01-01T00:00:00Z',
  payload: unknown = { key },
): OutboxMessage {
  return {
    kind: 'job.schedule',
    job: { jobId: job.jobId, key, name: 'remind', version: job.version, payload, scheduleName: key },
    schedule: { at },
    maxAttempts: 3,
  };
}

function dispatcher(options: Parameters<typeof outboxDispatcher>[0] = {}) {
  return testDispatcher(stack, options);
}

const callsFor = (name: string) =>
  stack.scheduler.calls.filter((c) => c.name === name).map((c) => `${c.operation}:${c.outcome}`);

describe('outboxDispatcher', () => {
  it('the same record delivered twice makes one schedule (ConflictException confirmed with GetSchedule)', async () => {
    const key = `twice-${uid()}`;
    const job = await putJob(key);
    const e = event('Twice');
    const batch = { Records: [record([scheduleMessage(key, job), { kind: 'event', event: e }])] };
    const handler = dispatcher();
    expect(await handler(batch, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await handler(batch, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(stack.scheduler.schedules().filter((s) => s.Name === key)).toHaveLength(1);
    expect(callsFor(key)).toEqual(['CreateSchedule:ok', 'CreateSchedule:ConflictException', 'GetSchedule:ok']);
    expect(stack.eventBridge.events.filter((x) => (x.detail as CloudEvent).id === e.id)).toHaveLength(2); // events: at least once, same id
    expect(handler.logger.entries.at(-1)).toMatchObject({
      message: 'outbox batch dispatched',
      attributes: { records: 1, schedulesAlreadyPresent: 1, eventsPublished: 1, failed: 0 },
    });
  });

  it('one malformed record in a batch of 50: 49 dispatched, 1 reported with its key, sequence number and reason', async () => {
    const tag = uid();
    const records = Array.from({ length: 50 }, (_, i) =>
      record([{ kind: 'event', event: event('Numbered', { tag, i }) }]),
    );
    const bad = records[17]!;
    bad.dynamodb!.NewImage!.messages = { S: '[{"kind":"event"}]' };
    const handler = dispatcher();
    const response = await handler({ Records: records }, lambdaContext());
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.dynamodb!.SequenceNumber }]);
    const published = stack.eventBridge.events.filter(
      (e) => (e.detail as CloudEvent<{ tag: string }>).data.tag === tag,
    );
    expect(published).toHaveLength(49);
    expect(handler.logger.entries.find((e) => e.level === 'error')).toMatchObject({
      message: 'malformed outbox item',
      attributes: {
        sequenceNumber: bad.dynamodb!.SequenceNumber,
        pk: bad.dynamodb!.Keys!.pk!.S,
        reason: expect.stringContaining('lacks id, type, source or time'),
      },
    });
    // 49 events in 7 PutEvents calls, not 49: records start 16 (concurrency) at a time, each wave packed (10 + 6 …).
    expect(handler.logger.entries.at(-1)!.attributes).toMatchObject({
      records: 50,
      failed: 1,
      eventsPublished: 49,
      putEventsCalls: 7,
      batchItemFailures: 1,
    });
  });

  it('runs the calls of a batch in parallel, never more than `concurrency` at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const latency = () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      setTimeout(() => inFlight--, 25);
      return 25;
    };
    stack.scheduler.setLatency(latency);
    const jobs = await Promise.all(Array.from({ length: 24 }, async (_, i) => ({ key: `par-${uid()}-${i}` })));
    const records = await Promise.all(jobs.map(async ({ key }) => record([scheduleMessage(key, await putJob(key))])));
    const d = dispatcher({ concurrency: 6 });
    const response = await d({ Records: records }, lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
    // Wall-clock time is left to the benchmark (this machine is shared); the overlap of calls is measured here.
    expect(peak).toBeLessThanOrEqual(6);
    expect(peak).toBeGreaterThanOrEqual(4);
    expect(d.logger.entries.at(-1)!.attributes).toMatchObject({ peakConcurrency: 6, schedulesCreated: 24 });
    for (const { key } of jobs) expect(stack.scheduler.getSchedule(key)).toBeDefined();
  });

  it('concurrency 1 handles the records one after the other, in stream order', async () => {
    const keys = Array.from({ length: 5 }, (_, i) => `seq-${i}-${uid()}`);
    const records = [];
    for (const key of keys)
      records.push(record([scheduleMessage(key, await putJob(key)), { kind: 'event', event: event('Seq', { key }) }]));
    const d = dispatcher({ concurrency: 1 });
    expect(await d({ Records: records }, lambdaContext())).toEqual({ batchItemFailures: [] });
    const creates = stack.scheduler.calls
      .filter((c) => c.operation === 'CreateSchedule' && keys.includes(c.name!))
      .map((c) => c.name);
    expect(creates).toEqual(keys);
    expect(d.logger.entries.at(-1)!.attributes).toMatchObject({
      peakConcurrency: 1,
      putEventsCalls: 5,
      schedulesCreated: 5,
    });
  });

  it("a job.schedule applies its job record, not the message: none for a finished/cancelled/missing job, the record's job otherwise", async () => {
    const cases = [
      { key: `c-${uid()}`, status: JOB_STATUS.CANCELLED },
      { key: `s-${uid()}`, status: JOB_STATUS.SUCCEEDED },
      { key: `d-${uid()}`, status: JOB_STATUS.DEAD },
      { key: `r-${uid()}`, status: JOB_STATUS.RUNNING }, // a one-time job whose schedule fired
    ];
    const records = [];
    for (const c of cases) records.push(record([scheduleMessage(c.key, await putJob(c.key, { status: c.status }))]));
    const newer = `n-${uid()}`;
    await putJob(newer, { version: 3, jobId: 'job-newer' });
    records.push(record([scheduleMessage(newer, { jobId: 'job-newer', version: 1 }, '2031-01-01T00:00:00Z')]));
    const other = `o-${uid()}`;
    await putJob(other, { jobId: 'job-other' });
    records.push(record([scheduleMessage(other, { jobId: 'job-mine', version: 1 })]));
    const missing = `m-${uid()}`;
    records.push(record([scheduleMessage(missing, { jobId: 'job-gone', version: 1 })]));
    const handler = dispatcher();
    expect(await handler({ Records: records }, lambdaContext())).toEqual({ batchItemFailures: [] });
    for (const key of [...cases.map((c) => c.key), missing])
      expect(callsFor(key)).toEqual(['DeleteSchedule:ResourceNotFoundException']);
    expect(stack.scheduler.getSchedule(newer)!.ScheduleExpression).toBe('at(2030-01-01T00:00:00)'); // the record's time
    expect(JSON.parse(stack.scheduler.getSchedule(newer)!.Target.Input!)).toMatchObject({
      jobId: 'job-newer',
      version: 3,
    });
    expect(JSON.parse(stack.scheduler.getSchedule(other)!.Target.Input!)).toMatchObject({
      jobId: 'job-other',
      version: 1,
    });
    expect(handler.logger.entries.at(-1)!.attributes).toMatchObject({ schedulesCreated: 2, schedulesAlreadyGone: 5 });
  });

  it('replaces a stale schedule found under the name with what the record calls for (not what the message says)', async () => {
    const key = `stale-${uid()}`;
    const job = await putJob(key, { version: 2 });
    const handler = dispatcher();
    // a schedule of version 1 of the same job is still there
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        Name: key,
        ScheduleExpression: 'at(2030-01-01T00:00:00)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: LOCAL_ARNS.jobRunner,
          RoleArn: LOCAL_ARNS.schedulerRole,
          Input: JSON.stringify({ jobId: job.jobId, version: 1 }),
        },
      }),
    );
    await handler({ Records: [record([scheduleMessage(key, job, '2030-02-01T00:00:00Z')])] }, lambdaContext());
    expect(stack.scheduler.getSchedule(key)!.ScheduleExpression).toBe('at(2030-01-01T00:00:00)'); // the record's at
    expect(JSON.parse(stack.scheduler.getSchedule(key)!.Target.Input!)).toMatchObject({ version: 2 });
    expect(callsFor(key).slice(-3)).toEqual([
      'CreateSchedule:ConflictException',
      'GetSchedule:ok',
      'UpdateSchedule:ok',
    ]);
  });

  it('job.reschedule updates the schedule, and creates it when the one-time schedule is already gone', async () => {
    const key = `rs-${uid()}`;
    const job = await putJob(key, { version: 2, status: JOB_STATUS.FAILED, payload: { p: 1 } });
    const handler = dispatcher();
    const reschedule: OutboxMessage = {
      kind: 'job.reschedule',
      key,
      scheduleName: key,
      version: 2,
      schedule: { at: '2030-03-01T00:00:00Z' },
    };
    expect(await handler({ Records: [record([reschedule])] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(callsFor(key)).toEqual(['UpdateSchedule:ResourceNotFoundException', 'CreateSchedule:ok']);
    expect(JSON.parse(stack.scheduler.getSchedule(key)!.Target.Input!)).toMatchObject({
      jobId: job.jobId,
      version: 2,
      payload: { p: 1 },
      name: 'remind',
    });
    // a stale reschedule (record already at version 3, time 2030-01-01) applies the record
    await putJob(key, { version: 3, jobId: job.jobId });
    await handler(
      { Records: [record([{ ...reschedule, schedule: { at: '2030-04-01T00:00:00Z' } }])] },
      lambdaContext(),
    );
    expect(callsFor(key).slice(2)).toEqual(['UpdateSchedule:ok']);
    expect(stack.scheduler.getSchedule(key)!.ScheduleExpression).toBe('at(2030-01-01T00:00:00)');
    expect(JSON.parse(stack.scheduler.getSchedule(key)!.Target.Input!)).toMatchObject({ version: 3 });
  });

  it("job.cancel deletes the schedule; an already deleted one is success; a key in use again gets its job's schedule", async () => {
    const key = `cx-${uid()}`;
    await putJob(key, { status: JOB_STATUS.CANCELLED });
    await stack.clients.scheduler.send(
      new CreateScheduleCommand({
        Name: key,
        ScheduleExpression: 'rate(5 minutes)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: LOCAL_ARNS.jobRunner, RoleArn: LOCAL_ARNS.schedulerRole },
      }),
    );
    const cancel: OutboxMessage = { kind: 'job.cancel', key, scheduleName: key };
    const handler = dispatcher();
    expect(await handler({ Records: [record([cancel])] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(await handler({ Records: [record([cancel])] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(callsFor(key)).toEqual([
      'CreateSchedule:ok',
      'DeleteSchedule:ok',
      'DeleteSchedule:ResourceNotFoundException',
    ]);
    const reused = `cy-${uid()}`;
    await putJob(reused, { status: JOB_STATUS.SCHEDULED });
    await handler({ Records: [record([{ kind: 'job.cancel', key: reused, scheduleName: reused }])] }, lambdaContext());
    expect(callsFor(reused)).toEqual(['UpdateSchedule:ResourceNotFoundException', 'CreateSchedule:ok']);
  });

  it('retries 5xx and throttling, but not a permanent error nor beyond the time left', async () => {
    const handler = dispatcher();
    const k1 = `t1-${uid()}`;
    stack.scheduler.failNext(2, { operation: 'CreateSchedule' });
    expect(await handler({ Records: [record([scheduleMessage(k1, await putJob(k1))])] }, lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    expect(callsFor(k1)).toEqual([
      'CreateSchedule:InternalServerException',
      'CreateSchedule:InternalServerException',
      'CreateSchedule:ok',
    ]);

    const k2 = `t2-${uid()}`;
    stack.scheduler.failNext(1, { operation: 'CreateSchedule', type: 'AccessDeniedException', status: 403 });
    const r2 = record([scheduleMessage(k2, await putJob(k2))]);
    expect(await handler({ Records: [r2] }, lambdaContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: r2.dynamodb!.SequenceNumber }],
    });
    expect(callsFor(k2)).toEqual(['CreateSchedule:AccessDeniedException']);

    const k3 = `t3-${uid()}`;
    stack.scheduler.throttle(5, 'CreateSchedule');
    const r3 = record([scheduleMessage(k3, await putJob(k3))]);
    const shortOnTime = { ...lambdaContext(), getRemainingTimeInMillis: () => 1000 }; // enough to start, no retry fits the 1000 ms margin
    expect(await handler({ Records: [r3] }, shortOnTime)).toEqual({
      batchItemFailures: [{ itemIdentifier: r3.dynamodb!.SequenceNumber }],
    });
    expect(callsFor(k3)).toEqual(['CreateSchedule:ThrottlingException']);
  });

  it('ignores what is not an INSERT of an outbox item', async () => {
    const key = `ign-${uid()}`;
    const job = await putJob(key);
    const modify = record([scheduleMessage(key, job)], { eventName: 'MODIFY' });
    const jobInsert = record([scheduleMessage(key, job)]);
    jobInsert.dynamodb!.NewImage!._kind = { S: 'job' };
    const handler = dispatcher();
    expect(await handler({ Records: [modify, jobInsert] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(callsFor(key)).toEqual([]);
    expect(handler.logger.entries.at(-1)!.attributes).toMatchObject({ ignored: 2, records: 2 });
  });

  it('packs events into PutEvents calls of ≤ 10 entries and ≤ 256 KB, and fails an entry that is too large alone', async () => {
    const tag = uid();
    const small = Array.from({ length: 25 }, (_, i) => ({ kind: 'event' as const, event: event('Small', { tag, i }) }));
    const big = Array.from({ length: 3 }, (_, i) => ({
      kind: 'event' as const,
      event: event('Big', { tag, i, blob: 'x'.repeat(100_000) }),
    }));
    const handler = dispatcher();
    const before = stack.eventBridge.calls.length;
    expect(await handler({ Records: [record(small), record(big)] }, lambdaContext())).toEqual({
      batchItemFailures: [],
    });
    const calls = stack.eventBridge.calls.slice(before);
    // 25 small then 3 × 100 KB: [10, 10, 5 small + 2 big (≈ 200 KB), 1 big]
    expect(calls.map((c) => c.entries).sort((a, b) => a - b)).toEqual([1, 7, 10, 10]);
    const huge = record([{ kind: 'event', event: event('Huge', { tag, blob: 'y'.repeat(300_000) }) }]);
    expect(await handler({ Records: [huge] }, lambdaContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: huge.dynamodb!.SequenceNumber }],
    });
    expect(stack.eventBridge.calls.length).toBe(before + 4);
  });

  it('does not resend entries the service rejects for good (unknown bus)', async () => {
    const handler = dispatcher({ eventBusName: 'no-such-bus' });
    const r = record([{ kind: 'event', event: event('Lost') }]);
    const before = stack.eventBridge.calls.length;
    expect(await handler({ Records: [r] }, lambdaContext())).toEqual({
      batchItemFailures: [{ itemIdentifier: r.dynamodb!.SequenceNumber }],
    });
    expect(stack.eventBridge.calls.length).toBe(before + 1);
    expect(handler.logger.entries.find((e) => e.level === 'error')!.attributes.reason).toContain(
      'ResourceNotFoundException',
    );
  });

  it('leaves the payload out of a schedule Input that would exceed 8192 characters', async () => {
    const key = `big-${uid()}`;
    const payload = { text: 'z'.repeat(9000) };
    const job = await putJob(key, { payload });
    await dispatcher()(
      { Records: [record([scheduleMessage(key, job, '2030-01-01T00:00:00Z', payload)])] },
      lambdaContext(),
    );
    const input = JSON.parse(stack.scheduler.getSchedule(key)!.Target.Input!);
    expect(input).toMatchObject({ jobId: job.jobId, payloadOmitted: true });
    expect(input.payload).toBeUndefined();
  });
});
