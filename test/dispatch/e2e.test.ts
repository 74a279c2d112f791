/**
 * End to end on DynamoDB Local: a middy handler with unitOfWork() commits → the stream poller delivers
 * the outbox items → the outbox dispatcher → the local Scheduler and EventBridge endpoints (real SDK clients).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import middy from '@middy/core';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { scheduleNameFor } from '../../lib/job-record/schedule-name.js';
import { lambdaContext } from '../support/ddb.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ scheduler: { startTime: new Date('2030-01-01T00:00:00Z') } });
});
afterAll(async () => {
  await stack?.stop();
});

const uid = (): string => Math.random().toString(36).slice(2, 10);

function wrapped<T>(fn: (event: any, context: UnitOfWorkContext) => Promise<T>) {
  return middy<any, T, Error, UnitOfWorkContext>()
    .use(unitOfWork({ outboxTable: stack.tableName, client: stack.doc, source: 'orders' }))
    .handler(fn);
}

const eventsWith = (id: string) => stack.eventBridge.events.filter((e) => JSON.stringify(e.detail).includes(id));

describe('commit → poller → dispatcher → local endpoints', () => {
  it('a committed handler creates exactly the expected schedule and publishes exactly its events', async () => {
    const orderId = uid();
    const key = `expire-order-${orderId}`;
    const at = new Date('2030-01-01T00:15:00Z');
    const result = await wrapped(async (_e, { uow }) => {
      const placed = uow.publish({ type: 'OrderPlaced', data: { orderId, total: 42 }, subject: orderId });
      const job = uow.schedule({ job: 'expire-unpaid-order', payload: { orderId }, at, key });
      const noted = uow.publish({ type: 'OrderNoted', data: { orderId } });
      return { placed, noted, job };
    })({}, lambdaContext('req-e2e-1'));
    await stack.drain();

    const schedule = stack.scheduler.getSchedule(scheduleNameFor(key));
    expect(schedule).toMatchObject({
      Name: key,
      GroupName: 'default',
      ScheduleExpression: 'at(2030-01-01T00:15:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: LOCAL_ARNS.jobRunner,
        RoleArn: LOCAL_ARNS.schedulerRole,
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        DeadLetterConfig: { Arn: LOCAL_ARNS.jobDeadLetterQueue },
      },
    });
    expect(JSON.parse(schedule!.Target.Input!)).toEqual({
      jobId: result.job.jobId,
      key,
      name: 'expire-unpaid-order',
      version: 1,
      payload: { orderId },
      scheduleName: key,
      correlationId: 'req-e2e-1', // from the job record, for the runner's log lines
      scheduledTime: '<aws.scheduler.scheduled-time>',
      attemptNumber: '<aws.scheduler.attempt-number>',
      executionId: '<aws.scheduler.execution-id>',
    });

    const events = eventsWith(orderId);
    expect(events.map((e) => [e.detailType, (e.detail as { id: string }).id])).toEqual([
      ['OrderPlaced', result.placed],
      ['OrderNoted', result.noted],
    ]);
    expect(events[0]).toMatchObject({ source: 'orders', eventBusName: 'default' });
    expect(events[0]!.detail).toMatchObject({
      specversion: '1.0',
      type: 'OrderPlaced',
      source: 'orders',
      subject: orderId,
      data: { orderId, total: 42 },
      correlationid: 'req-e2e-1',
    });
    expect(events[0]!.time.toISOString()).toBe((events[0]!.detail as { time: string }).time);

    // When the schedule fires, the registered job runner gets the envelope with the context attributes filled in.
    const received: unknown[] = [];
    const unregister = stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, (input) => void received.push(input));
    await stack.scheduler.advance(15 * 60_000);
    unregister();
    expect(received).toEqual([
      expect.objectContaining({
        key,
        version: 1,
        scheduledTime: '2030-01-01T00:15:00Z',
        attemptNumber: '1',
        executionId: expect.any(String),
      }),
    ]);
    expect(stack.scheduler.getSchedule(key)).toBeUndefined(); // ActionAfterCompletion: DELETE
  });

  it('a recurring job gets a cron schedule with its time zone', async () => {
    const key = `report-${uid()}`;
    await wrapped(async (_e, { uow }) =>
      uow.schedule({ job: 'daily-report', payload: null, cron: '0 8 * * ? *', timezone: 'Europe/Paris', key }),
    )({}, lambdaContext());
    await stack.drain();
    expect(stack.scheduler.getSchedule(key)).toMatchObject({
      ScheduleExpression: 'cron(0 8 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      ActionAfterCompletion: 'NONE',
      nextAt: Date.parse('2030-01-01T07:00:00Z'),
    });
  });

  it('a rolled-back handler schedules and publishes nothing', async () => {
    const orderId = uid();
    const calls = stack.scheduler.calls.length;
    const error = await wrapped(async (_e, { uow }) => {
      uow.publish({ type: 'OrderPlaced', data: { orderId } });
      uow.schedule({ job: 'expire-unpaid-order', payload: { orderId }, delay: 60, key: `expire-${orderId}` });
      throw new Error('payment service down');
    })({}, lambdaContext()).catch((e: Error) => e);
    expect((error as Error).message).toBe('payment service down');
    await stack.drain();
    expect(eventsWith(orderId)).toEqual([]);
    expect(stack.scheduler.getSchedule(`expire-${orderId}`)).toBeUndefined();
    expect(stack.scheduler.calls.slice(calls).filter((c) => c.name === `expire-${orderId}`)).toEqual([]);
  });

  it('injected throttling on both services ends in success with nothing lost', async () => {
    const orderIds = Array.from({ length: 5 }, uid);
    stack.scheduler.throttle(4, 'CreateSchedule');
    stack.eventBridge.throttle(3);
    const handler = wrapped(async (event: { orderId: string }, { uow }) => {
      uow.publish({ type: 'OrderPlaced', data: { orderId: event.orderId } });
      uow.schedule({ job: 'expire-unpaid-order', payload: event, delay: 600, key: `throttled-${event.orderId}` });
    });
    for (const orderId of orderIds) await handler({ orderId }, lambdaContext());
    await stack.drain();
    for (const orderId of orderIds) {
      expect(eventsWith(orderId)).toHaveLength(1);
      expect(stack.scheduler.getSchedule(`throttled-${orderId}`)).toBeDefined();
    }
    expect(stack.scheduler.calls.filter((c) => c.outcome === 'ThrottlingException')).toHaveLength(4);
    expect(stack.eventBridge.calls.filter((c) => c.outcome === 'ThrottlingException')).toHaveLength(3);
    expect(stack.poller.failures).toEqual([]);
  });

  it('PutEvents partial failure: only the failed entries are resent', async () => {
    const orderId = uid();
    const failing = new Set<string>();
    stack.eventBridge.failEntries(2, {
      match: (entry) => {
        const hit = entry.Detail!.includes(orderId) && failing.size < 2;
        if (hit) failing.add((JSON.parse(entry.Detail!) as { id: string }).id);
        return hit;
      },
    });
    const from = stack.eventBridge.entries.length;
    await wrapped(async (_e, { uow }) => {
      for (let i = 0; i < 6; i++) uow.publish({ type: 'LineAdded', data: { orderId, line: i } });
    })({}, lambdaContext());
    await stack.drain();
    const received = stack.eventBridge.entries
      .slice(from)
      .map((o) => ({ id: (JSON.parse(o.entry.Detail!) as { id: string }).id, failed: !!o.errorCode }));
    const counts = new Map<string, number>();
    for (const r of received) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    expect(failing.size).toBe(2);
    expect(
      [...counts.entries()]
        .filter(([, n]) => n === 2)
        .map(([id]) => id)
        .sort(),
    ).toEqual([...failing].sort());
    expect([...counts.values()].filter((n) => n === 1)).toHaveLength(4);
    expect(eventsWith(orderId)).toHaveLength(6);
  });

  it('cancel after dispatch deletes the schedule; cancel before dispatch creates none', async () => {
    const after = `cancel-after-${uid()}`;
    await wrapped(async (_e, { uow }) => uow.schedule({ job: 'remind', payload: {}, delay: 3600, key: after }))(
      {},
      lambdaContext(),
    );
    await stack.drain();
    expect(stack.scheduler.getSchedule(after)).toBeDefined();
    await wrapped(async (_e, { uow }) => uow.cancelJob(after))({}, lambdaContext());
    await stack.drain();
    expect(stack.scheduler.getSchedule(after)).toBeUndefined();

    const before = `cancel-before-${uid()}`;
    stack.poller.pause();
    try {
      await wrapped(async (_e, { uow }) => uow.schedule({ job: 'remind', payload: {}, delay: 3600, key: before }))(
        {},
        lambdaContext(),
      );
      await wrapped(async (_e, { uow }) => uow.cancelJob(before))({}, lambdaContext());
    } finally {
      stack.poller.resume();
    }
    await stack.drain();
    expect(stack.scheduler.getSchedule(before)).toBeUndefined();
    expect(stack.scheduler.calls.filter((c) => c.name === before && c.operation === 'CreateSchedule')).toEqual([]);
  });

  it('reschedule moves the schedule to the new time and version', async () => {
    const key = `resched-${uid()}`;
    await wrapped(async (_e, { uow }) =>
      uow.schedule({ job: 'remind', payload: { n: 1 }, at: '2030-01-02T00:00:00Z', key }),
    )({}, lambdaContext());
    await stack.drain();
    await wrapped(async (_e, { uow }) => uow.rescheduleJob(key, { at: '2030-01-03T12:30:00Z' }))({}, lambdaContext());
    await stack.drain();
    const schedule = stack.scheduler.getSchedule(key)!;
    expect(schedule.ScheduleExpression).toBe('at(2030-01-03T12:30:00)');
    const input = JSON.parse(schedule.Target.Input!) as { version: number; payload: unknown };
    expect(input.version).toBeGreaterThan(1);
    expect(input.payload).toEqual({ n: 1 });
    expect(stack.scheduler.calls.filter((c) => c.name === key).map((c) => `${c.operation}:${c.outcome}`)).toEqual([
      'CreateSchedule:ok',
      'UpdateSchedule:ok',
    ]);
  });

  it('a malformed outbox item is retried, then reported to the on-failure sink, without blocking its neighbours', async () => {
    const orderId = uid();
    await stack.clients.dynamodb.send(
      new PutItemCommand({
        TableName: stack.tableName,
        Item: {
          pk: { S: `outbox#bad-${orderId}` },
          sk: { S: 'part#001' },
          _kind: { S: 'outbox' },
          messages: { S: '{not json' },
        },
      }),
    );
    await wrapped(async (_e, { uow }) => void uow.publish({ type: 'AfterTheBadOne', data: { orderId } }))(
      {},
      lambdaContext(),
    );
    await stack.drain();
    // The good item behind the bad one is redelivered with each retry of the batch (at least once, same event id).
    const published = eventsWith(orderId);
    expect(published.length).toBeGreaterThanOrEqual(1);
    expect(new Set(published.map((e) => (e.detail as { id: string }).id)).size).toBe(1);
    const failure = stack.poller.failures.find((f) =>
      f.records.some((r) => r.dynamodb?.Keys?.pk?.S === `outbox#bad-${orderId}`),
    );
    expect(failure).toBeDefined();
    expect(failure!.requestContext).toMatchObject({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 });
    expect(failure!.failedSequenceNumbers).toEqual([failure!.records[0]!.dynamodb!.SequenceNumber]);
    const logged = stack.logger.entries.find((e) => e.level === 'error' && e.attributes.pk === `outbox#bad-${orderId}`);
    expect(logged).toMatchObject({
      message: 'malformed outbox item',
      attributes: { sequenceNumber: expect.any(String), reason: expect.stringContaining('not JSON') },
    });
  });
});
