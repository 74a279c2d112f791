/** The local EventBridge Scheduler through the real SchedulerClient. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ConflictException,
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { startLocalScheduler, type LocalScheduler } from '../../lib/local/scheduler-endpoint.js';

const RUNNER = 'arn:aws:lambda:us-east-1:000000000000:function:runner';
const ROLE = 'arn:aws:iam::000000000000:role/scheduler';
const DLQ = 'arn:aws:sqs:us-east-1:000000000000:dlq';
const START = new Date('2026-11-22T10:00:00Z');

let scheduler: LocalScheduler;
let client: SchedulerClient;
let n = 0;

beforeAll(async () => {
  scheduler = await startLocalScheduler({ startTime: START, groups: ['jobs'], retryBaseDelayMs: 1000 });
  client = new SchedulerClient({ endpoint: scheduler.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await scheduler?.stop();
});
afterEach(() => scheduler.clearFaults());

function input(overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: `s-${++n}`,
    ScheduleExpression: 'at(2026-11-22T10:15:00)',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: {
      Arn: RUNNER,
      RoleArn: ROLE,
      Input:
        '{"t":"<aws.scheduler.scheduled-time>","a":"<aws.scheduler.attempt-number>","x":"<aws.scheduler.execution-id>"}',
    },
    ...overrides,
  };
}

const errorOf = (p: Promise<unknown>): Promise<Error> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: Error) => e,
  );

describe('local Scheduler API', () => {
  it('creates, reads, lists, updates and deletes schedules, with service-shaped answers', async () => {
    const req = input({
      GroupName: 'jobs',
      ScheduleExpressionTimezone: 'Europe/Paris',
      ActionAfterCompletion: 'DELETE',
      Description: 'd',
    });
    const created = await client.send(new CreateScheduleCommand(req));
    expect(created.ScheduleArn).toBe(`arn:aws:scheduler:us-east-1:000000000000:schedule/jobs/${req.Name}`);
    const got = await client.send(new GetScheduleCommand({ Name: req.Name, GroupName: 'jobs' }));
    expect(got).toMatchObject({
      Arn: created.ScheduleArn,
      Name: req.Name,
      GroupName: 'jobs',
      ScheduleExpression: req.ScheduleExpression,
      ScheduleExpressionTimezone: 'Europe/Paris',
      State: 'ENABLED',
      ActionAfterCompletion: 'DELETE',
      Description: 'd',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: req.Target,
      CreationDate: START,
    });
    const listed = await client.send(new ListSchedulesCommand({ GroupName: 'jobs', NamePrefix: req.Name }));
    expect(listed.Schedules).toEqual([
      expect.objectContaining({ Name: req.Name, GroupName: 'jobs', Target: { Arn: RUNNER } }),
    ]);
    await client.send(new UpdateScheduleCommand({ ...req, ScheduleExpression: 'rate(1 hour)' }));
    expect(scheduler.getSchedule(req.Name!, 'jobs')).toMatchObject({ ScheduleExpression: 'rate(1 hour)' });
    await client.send(new DeleteScheduleCommand({ Name: req.Name, GroupName: 'jobs' }));
    expect(scheduler.getSchedule(req.Name!, 'jobs')).toBeUndefined();
  });

  it('answers ConflictException, ResourceNotFoundException and ValidationException like the service', async () => {
    const req = input();
    await client.send(new CreateScheduleCommand(req));
    expect(await errorOf(client.send(new CreateScheduleCommand(req)))).toBeInstanceOf(ConflictException);
    for (const p of [
      client.send(new GetScheduleCommand({ Name: 'missing' })),
      client.send(new DeleteScheduleCommand({ Name: 'missing' })),
      client.send(new UpdateScheduleCommand(input({ Name: 'missing' }))),
      client.send(new CreateScheduleCommand(input({ GroupName: 'no-such-group' }))),
    ])
      expect(await errorOf(p)).toBeInstanceOf(ResourceNotFoundException);
    const invalid: Partial<CreateScheduleCommandInput>[] = [
      { Name: 'has space' },
      { Name: 'x'.repeat(65) },
      { ScheduleExpression: 'at(2026-11-22 10:15)' },
      { ScheduleExpression: 'cron(0 8 * * *)' },
      { ScheduleExpressionTimezone: 'Mars/Olympus' },
      { FlexibleTimeWindow: { Mode: 'FLEXIBLE' } },
      { Target: { Arn: RUNNER, RoleArn: 'not-a-role' } },
      { Target: { Arn: RUNNER, RoleArn: ROLE, Input: 'x'.repeat(8193) } },
      { Target: { Arn: RUNNER, RoleArn: ROLE, RetryPolicy: { MaximumRetryAttempts: 186 } } },
      { Target: { Arn: RUNNER, RoleArn: ROLE, DeadLetterConfig: { Arn: 'arn:aws:sns:us-east-1:000000000000:t' } } },
    ];
    for (const o of invalid)
      expect(await errorOf(client.send(new CreateScheduleCommand(input(o))))).toBeInstanceOf(ValidationException);
  });

  it('makes a repeated create with the same ClientToken idempotent', async () => {
    const req = input({ ClientToken: 'token-1' });
    const a = await client.send(new CreateScheduleCommand(req));
    const b = await client.send(new CreateScheduleCommand(req));
    expect(b.ScheduleArn).toBe(a.ScheduleArn);
  });

  it('honours ClientToken on UpdateSchedule and DeleteSchedule as on CreateSchedule: a retried request applies once', async () => {
    const req = input();
    await client.send(new CreateScheduleCommand(req));
    const update = { ...req, ScheduleExpression: 'at(2026-11-22T11:00:00)', ClientToken: 'upd-1' };
    await client.send(new UpdateScheduleCommand(update));
    await client.send(new UpdateScheduleCommand({ ...req, ScheduleExpression: 'at(2026-11-22T12:00:00)' })); // another writer
    await client.send(new UpdateScheduleCommand(update)); // the first update's retry: not applied again
    expect(scheduler.getSchedule(req.Name!)!.ScheduleExpression).toBe('at(2026-11-22T12:00:00)');
    await client.send(new DeleteScheduleCommand({ Name: req.Name!, ClientToken: 'del-1' }));
    await expect(
      client.send(new DeleteScheduleCommand({ Name: req.Name!, ClientToken: 'del-1' })),
    ).resolves.toBeDefined(); // retry: success
    expect(
      await errorOf(client.send(new DeleteScheduleCommand({ Name: req.Name!, ClientToken: 'del-2' }))),
    ).toBeInstanceOf(ResourceNotFoundException);
  });

  it('manages schedule groups', async () => {
    await client.send(new CreateScheduleGroupCommand({ Name: 'extra' }));
    expect(await errorOf(client.send(new CreateScheduleGroupCommand({ Name: 'extra' })))).toBeInstanceOf(
      ConflictException,
    );
    await client.send(new CreateScheduleCommand(input({ GroupName: 'extra' })));
    expect(scheduler.schedules('extra')).toHaveLength(1);
  });

  it('injects throttling and latency', async () => {
    scheduler.throttle(2, 'GetSchedule');
    const e = await errorOf(client.send(new GetScheduleCommand({ Name: 'whatever' })));
    expect(e.name).toBe('ThrottlingException');
    expect((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(429);
    expect((await errorOf(client.send(new GetScheduleCommand({ Name: 'whatever' })))).name).toBe('ThrottlingException');
    expect((await errorOf(client.send(new GetScheduleCommand({ Name: 'whatever' })))).name).toBe(
      'ResourceNotFoundException',
    );
    scheduler.setLatency(60);
    const started = Date.now();
    await errorOf(client.send(new GetScheduleCommand({ Name: 'whatever' })));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });
});

describe('local Scheduler firing', () => {
  it('fires a one-time schedule at its time with the context attributes, then deletes it', async () => {
    const received: unknown[] = [];
    const off = scheduler.registerTarget(RUNNER, (event, ctx) => {
      received.push({ event, attempt: ctx.attemptNumber });
      return 'done';
    });
    const req = input({ ScheduleExpression: 'at(2026-11-22T11:00:00)', ActionAfterCompletion: 'DELETE' });
    await client.send(new CreateScheduleCommand(req));
    await scheduler.advance(59 * 60_000); // 10:59
    expect(received.filter((r) => JSON.stringify(r).includes('2026-11-22T11:00:00Z'))).toEqual([]);
    const deliveries = await scheduler.advanceToNext(req.Name!);
    off();
    const mine = deliveries.filter((d) => d.scheduleName === req.Name);
    expect(mine).toEqual([
      expect.objectContaining({
        outcome: 'succeeded',
        result: 'done',
        scheduledTime: '2026-11-22T11:00:00Z',
        attemptNumber: 1,
      }),
    ]);
    expect(JSON.parse(mine[0]!.input)).toEqual({ t: '2026-11-22T11:00:00Z', a: '1', x: mine[0]!.executionId });
    expect(scheduler.getSchedule(req.Name!)).toBeUndefined();
  });

  it('fires a rate schedule repeatedly and a cron schedule in its time zone', async () => {
    const fired: string[] = [];
    const off = scheduler.registerTarget(
      `${RUNNER}-rec`,
      (_e, ctx) => void fired.push(`${ctx.scheduleName}@${ctx.scheduledTime}`),
    );
    const now = scheduler.clock.now();
    const rate = input({ ScheduleExpression: 'rate(10 minutes)', Target: { Arn: `${RUNNER}-rec`, RoleArn: ROLE } });
    const cron = input({
      ScheduleExpression: 'cron(0 * * * ? *)',
      ScheduleExpressionTimezone: 'Asia/Kolkata',
      Target: { Arn: `${RUNNER}-rec`, RoleArn: ROLE },
    });
    await client.send(new CreateScheduleCommand(rate));
    await client.send(new CreateScheduleCommand(cron));
    await scheduler.advance(60 * 60_000);
    off();
    const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    expect(fired.filter((f) => f.startsWith(`${rate.Name}@`))).toEqual(
      [0, 10, 20, 30, 40, 50, 60].map((m) => `${rate.Name}@${at(now + m * 60_000)}`),
    );
    // Kolkata is UTC+5:30: "minute 0" there is minute 30 in UTC.
    expect(fired.filter((f) => f.startsWith(`${cron.Name}@`)).map((f) => f.slice(-10))).toEqual(['T11:30:00Z']);
  });

  it('retries a failing target with growing delays, then sends it to the dead-letter queue', async () => {
    const arn = `${RUNNER}-failing`;
    let calls = 0;
    const off = scheduler.registerTarget(arn, () => {
      calls++;
      throw new Error('boom');
    });
    const req = input({
      ScheduleExpression: 'rate(1 day)',
      Target: {
        Arn: arn,
        RoleArn: ROLE,
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: DLQ },
      },
    });
    await client.send(new CreateScheduleCommand(req));
    const first = await scheduler.fireDue();
    expect(first.filter((d) => d.scheduleName === req.Name).map((d) => d.outcome)).toEqual(['failed']);
    const retry1 = await scheduler.advance(1000); // first retry after 1 s
    const retry2 = await scheduler.advance(2000); // second after 2 s more
    off();
    expect(
      [...retry1, ...retry2].filter((d) => d.scheduleName === req.Name).map((d) => [d.attemptNumber, d.outcome]),
    ).toEqual([
      [2, 'failed'],
      [3, 'dead-lettered'],
    ]);
    expect(calls).toBe(3);
    expect(scheduler.deadLetters.at(-1)).toMatchObject({
      queueArn: DLQ,
      attributes: {
        ERROR_CODE: 'Error',
        ERROR_MESSAGE: 'boom',
        EXHAUSTED_RETRY_CONDITION: 'MaximumRetryAttempts',
        RETRY_ATTEMPTS: '2',
        TARGET_ARN: arn,
      },
    });
  });

  it('dead-letters at once when no target is registered for the ARN', async () => {
    const req = input({
      ScheduleExpression: 'rate(1 day)',
      Target: { Arn: `${RUNNER}-nobody`, RoleArn: ROLE, DeadLetterConfig: { Arn: DLQ } },
    });
    await client.send(new CreateScheduleCommand(req));
    const deliveries = (await scheduler.fireDue()).filter((d) => d.scheduleName === req.Name);
    expect(deliveries.map((d) => d.outcome)).toEqual(['dead-lettered']);
    expect(scheduler.deadLetters.at(-1)!.attributes.EXHAUSTED_RETRY_CONDITION).toBe('NonRetryableError');
  });

  it('fire() delivers an occurrence again without changing the schedule (a duplicate delivery)', async () => {
    const arn = `${RUNNER}-dup`;
    const times: string[] = [];
    const off = scheduler.registerTarget(arn, (e) => void times.push((e as { t: string }).t));
    const req = input({
      ScheduleExpression: 'at(2026-12-24T18:00:00)',
      Target: { Arn: arn, RoleArn: ROLE, Input: '{"t":"<aws.scheduler.scheduled-time>"}' },
    });
    await client.send(new CreateScheduleCommand(req));
    await scheduler.fire(req.Name!);
    await scheduler.fire(req.Name!);
    off();
    expect(times).toEqual(['2026-12-24T18:00:00Z', '2026-12-24T18:00:00Z']);
    expect(scheduler.getSchedule(req.Name!)).toBeDefined();
  });

  it('runs on the real clock when asked', async () => {
    const real = await startLocalScheduler({ clock: 'real', tickMs: 20 });
    const c = new SchedulerClient({ endpoint: real.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
    try {
      const fired = new Promise((resolve) => real.registerTarget(RUNNER, resolve));
      await c.send(new CreateScheduleCommand(input({ ScheduleExpression: 'rate(1 minute)' }))); // first occurrence: now
      await expect(fired).resolves.toMatchObject({ a: '1' });
      expect(() => real.clock.advance(1)).toThrow(/manual/);
    } finally {
      c.destroy();
      await real.stop();
    }
  });
});
