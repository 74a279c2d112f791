/**
 * Trace context end to end on the local stack: a handler's X-Ray header (or its own traceparent) → the
 * published CloudEvent's traceparent and the PutEvents TraceHeader → the job record and Scheduler input →
 * the job run's logs and its events (same trace id, correlation id, causationid = the job's id).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import middy from '@middy/core';
import { unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { inboxConsumer } from '../../lib/inbox/index.js';
import { defineJobs, jobRunner, type JobContext } from '../../lib/jobs/index.js';
import type { JobRunnerInput } from '../../lib/job-record/delivery-input.js';
import { createMemoryLogger } from '../../lib/local/memory-logger.js';
import type { CloudEvent } from '../../lib/outbox/messages.js';
import { lambdaContext } from '../support/ddb.js';
import { jobRecord } from '../support/jobs.js';
import { LOCAL_ARNS, startTestStack, type TestStack } from '../support/local-stack.js';
import { cloudEvent, sqsRecordOf } from '../inbox/support.js';

const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
const FROM_XRAY = '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01';
/** The runner's own invocation has another trace: the job must link to the scheduling commit's, not this one. */
const RUNNER_XRAY = 'Root=1-6a1b2c3d-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1';
const W3C = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

let stack: TestStack;
const runnerLog = createMemoryLogger();
const expire = async (payload: { orderId: string }, { uow, logger }: JobContext): Promise<void> => {
  logger.info('expiring order', { orderId: payload.orderId });
  uow.publish({ type: 'OrderExpired', data: { orderId: payload.orderId } });
};

beforeAll(async () => {
  stack = await startTestStack();
  const runner = jobRunner({
    jobs: defineJobs({ expire }),
    outboxTable: stack.tableName,
    client: stack.doc,
    source: 'jobs',
    logger: runnerLog,
    clock: () => stack.scheduler.clock.now(),
  });
  stack.scheduler.registerTarget(LOCAL_ARNS.jobRunner, (event, context) => {
    process.env._X_AMZN_TRACE_ID = RUNNER_XRAY;
    return runner(event as JobRunnerInput, {
      awsRequestId: `runner-${context.executionId}`,
      getRemainingTimeInMillis: () => 30_000,
    });
  });
});
afterAll(() => stack?.stop());
afterEach(() => {
  delete process.env._X_AMZN_TRACE_ID;
});

const uid = (): string => Math.random().toString(36).slice(2, 10);
const published = (type: string, orderId: string) =>
  stack.eventBridge.entries.filter(
    (o) => o.eventId && o.entry.DetailType === type && o.entry.Detail!.includes(orderId),
  );

/** Drains until `type` about `orderId` was published (a stream record can show up after one drain). */
async function publishedSoon(type: string, orderId: string) {
  for (let i = 0; i < 50 && published(type, orderId).length === 0; i++) await stack.drain();
  return published(type, orderId);
}

function placeOrderHandler(extra: Parameters<typeof unitOfWork>[0] = {}) {
  return middy<{ orderId: string }, string, Error, UnitOfWorkContext>()
    .use(unitOfWork({ outboxTable: stack.tableName, client: stack.doc, source: 'orders', ...extra }))
    .handler(async ({ orderId }, { uow }) => {
      uow.publish({ type: 'OrderPlaced', data: { orderId } });
      return uow.schedule({ job: 'expire', payload: { orderId }, delay: 600, key: `expire-${orderId}` }).jobId;
    });
}

/** Places an order, dispatches it, fires its job and dispatches the job's commit. */
async function placeAndExpire(orderId: string, requestId: string, extra: Parameters<typeof unitOfWork>[0] = {}) {
  const jobId = await placeOrderHandler(extra)({ orderId }, lambdaContext(requestId));
  delete process.env._X_AMZN_TRACE_ID; // the invocation ended
  await stack.drain();
  const schedule = stack.scheduler.getSchedule(`expire-${orderId}`);
  const due = Date.parse((await jobRecord(stack.doc, stack.tableName, `expire-${orderId}`))!.nextRunAt!);
  await stack.scheduler.advance(Math.max(0, due - stack.scheduler.clock.now()) + 1000);
  await publishedSoon('OrderExpired', orderId);
  return { jobId, input: JSON.parse(schedule!.Target.Input!) as JobRunnerInput & Record<string, unknown> };
}

describe('trace context end to end', () => {
  it('_X_AMZN_TRACE_ID on the handler ⇒ traceparent on its event, TraceHeader on PutEvents, and the job run links back', async () => {
    const orderId = uid();
    process.env._X_AMZN_TRACE_ID = XRAY;
    const { jobId, input } = await placeAndExpire(orderId, 'req-trace-1');

    const [placed] = published('OrderPlaced', orderId);
    expect(JSON.parse(placed.entry.Detail!)).toMatchObject({ traceparent: FROM_XRAY, correlationid: 'req-trace-1' });
    expect(placed.entry.TraceHeader).toBe(XRAY);
    expect((await jobRecord(stack.doc, stack.tableName, `expire-${orderId}`))!.traceContext).toEqual({
      traceparent: FROM_XRAY,
      traceHeader: XRAY,
    });
    expect(input).toMatchObject({
      correlationId: 'req-trace-1',
      traceContext: { traceparent: FROM_XRAY, traceHeader: XRAY },
    });

    const [expired] = published('OrderExpired', orderId);
    const event = JSON.parse(expired.entry.Detail!) as CloudEvent;
    expect(event).toMatchObject({ traceparent: FROM_XRAY, correlationid: 'req-trace-1', causationid: jobId });
    expect(expired.entry.TraceHeader).toBe(XRAY);

    const lines = runnerLog.entries.filter(
      (l) => JSON.stringify(l).includes(orderId) || l.attributes.causationId === jobId,
    );
    expect(lines.map((l) => l.message)).toEqual(
      expect.arrayContaining(['expiring order', `job expire-${orderId} succeeded (attempt 1)`]),
    );
    for (const line of lines)
      expect(line.attributes).toMatchObject({
        correlationId: 'req-trace-1',
        traceId: '5759e988bd862e3fe1be46a994272793',
        causationId: jobId,
      });
  });

  it('a traceparent from the handler (traceContext option) wins over X-Ray for events, X-Ray stays the TraceHeader', async () => {
    const orderId = uid();
    process.env._X_AMZN_TRACE_ID = XRAY;
    const { jobId } = await placeAndExpire(orderId, 'req-trace-2', {
      traceContext: () => ({ traceparent: W3C, tracestate: 'congo=t61rcWkgMzE' }),
    });

    const [placed] = published('OrderPlaced', orderId);
    expect(JSON.parse(placed.entry.Detail!)).toMatchObject({ traceparent: W3C, tracestate: 'congo=t61rcWkgMzE' });
    expect(placed.entry.TraceHeader).toBe(XRAY);
    const [expired] = published('OrderExpired', orderId);
    expect(JSON.parse(expired.entry.Detail!)).toMatchObject({
      traceparent: W3C,
      tracestate: 'congo=t61rcWkgMzE',
      causationid: jobId,
    });
    const done = runnerLog.entries.find((l) => l.message === `job expire-${orderId} succeeded (attempt 1)`);
    expect(done?.attributes).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      correlationId: 'req-trace-2',
    });
  });

  it('no trace context anywhere ⇒ no trace attributes (nothing invented)', async () => {
    const orderId = uid();
    await placeAndExpire(orderId, 'req-trace-3');
    const [placed] = published('OrderPlaced', orderId);
    expect(placed.entry.TraceHeader).toBeUndefined();
    expect(JSON.parse(placed.entry.Detail!).traceparent).toBeUndefined();
    // The job run has the runner's own X-Ray header to fall back on.
    const [expired] = published('OrderExpired', orderId);
    expect(JSON.parse(expired.entry.Detail!).traceparent).toBe(
      '00-6a1b2c3d0123456789abcdef01234567-1111111111111111-01',
    );
  });

  it("an inbox consumer carries the consumed event's traceparent into the events it publishes", async () => {
    const orderId = uid();
    const consumed = cloudEvent(
      'OrderPlaced',
      { orderId },
      { traceparent: W3C, tracestate: 'congo=t61rcWkgMzE', correlationid: 'req-up' },
    );
    const handler = inboxConsumer<CloudEvent<{ orderId: string }>>(
      (e, { uow }) => void uow.publish({ type: 'OrderCounted', data: e.data }),
      {
        name: 'trace-counter',
        outboxTable: stack.tableName,
        client: stack.doc,
        source: 'counter',
        logger: createMemoryLogger(),
      },
    );
    expect(await handler({ Records: [sqsRecordOf(consumed)] }, lambdaContext())).toEqual({ batchItemFailures: [] });
    const [counted] = await publishedSoon('OrderCounted', orderId);
    expect(JSON.parse(counted.entry.Detail!)).toMatchObject({
      traceparent: W3C,
      tracestate: 'congo=t61rcWkgMzE',
      causationid: consumed.id,
      correlationid: 'req-up',
    });
    expect(counted.entry.TraceHeader).toBe(
      'Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=00f067aa0ba902b7;Sampled=1',
    );
  });
});
