/**
 * The dispatcher's EMF metrics of one batch, against DynamoDB Local and the local Scheduler and EventBridge
 * (real SDK clients): records, events published, schedules created and deleted, a call throttled by a
 * Scheduler request quota, failed calls (a Scheduler call and a PutEvents entry) and the records they fail,
 * and the dispatch lag of each record dispatched in full, measured from the commit's own `createdAt`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { UnitOfWork } from '../../lib/index.js';
import { tokenBucketQuota } from '../../lib/local/quota.js';
import { METRICS } from '../../lib/metrics/names.js';
import { lambdaContext } from '../support/ddb.js';
import { emfLines, emfSum, emfValues } from '../support/emf.js';
import { commitStreamRecord, startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';

// One CreateSchedule a second, no burst beyond one, on a clock that only the dispatcher's backoff moves (one
// second per sleep): a CreateSchedule on an empty bucket is throttled exactly once, then admitted.
let quotaNow = 0;
const quota = tokenBucketQuota({
  operations: { CreateSchedule: { requestsPerSecond: 1, burst: 1 } },
  now: () => quotaNow,
});
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true }, scheduler: { clock: 'manual', quota } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Calls `take` until it throws: empties a token bucket. */
function drain(take: () => void): void {
  for (;;) {
    try {
      take();
    } catch {
      return;
    }
  }
}

const uid = (): string => Math.random().toString(36).slice(2, 10);

const commit = (fn: (uow: UnitOfWork) => void) => commitStreamRecord(stack, fn, 'metrics-test');

const clock = {
  sleep: (ms: number) => {
    quotaNow += 1000;
    return new Promise<void>((r) => setTimeout(r, Math.min(ms, 5)));
  },
};
const context = () => {
  const deadline = Date.now() + 15_000;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => deadline - Date.now() };
};

describe('dispatch metrics (EMF on stdout)', () => {
  it('counts records, events, schedules, throttled and failed calls, failed records, and the lag of each record', async () => {
    const [first, second, later] = [`first-${uid()}`, `second-${uid()}`, `later-${uid()}`];
    // Two schedules that the measured batch cancels, dispatched first by a dispatcher without metrics.
    const setup = await commit((uow) => {
      uow.schedule({ job: 'remind', payload: {}, delay: 600, key: first });
      uow.schedule({ job: 'remind', payload: {}, delay: 600, key: second });
    });
    const quiet = testDispatcher(stack, { clock, metrics: false });
    expect((await quiet({ Records: [setup] }, context())).batchItemFailures).toEqual([]);
    expect(stack.scheduler.getSchedule(first)).toBeDefined();

    const earliestCommit = Date.now();
    const records = [
      await commit((uow) => {
        uow.publish({ type: 'OrderPlaced', data: { n: 1 } });
        uow.publish({ type: 'OrderPlaced', data: { n: 2 } });
        uow.schedule({ job: 'remind', payload: {}, delay: 600, key: later }); // the quota throttles it
      }),
      await commit((uow) => uow.cancelJob(first)),
      await commit((uow) => uow.cancelJob(second)),
      await commit((uow) => uow.publish({ type: 'Poison', data: {} })),
    ];
    const latestCommit = Date.now();
    const poisonSeq = records[3]!.dynamodb!.SequenceNumber;
    const cancels = [first, second].map((key, i) => ({ key, seq: records[i + 1]!.dynamodb!.SequenceNumber }));
    await new Promise((r) => setTimeout(r, 100)); // every record waits at least this long
    // The first DeleteSchedule fails for good (a 400 is not retried); the Poison entry is rejected for good.
    stack.scheduler.failNext(1, {
      operation: 'DeleteSchedule',
      type: 'ValidationException',
      status: 400,
      message: 'no',
    });
    stack.eventBridge.failEntries(1, { match: (e) => e.DetailType === 'Poison', errorCode: 'InvalidArgument' });
    drain(() => quota.admit('CreateSchedule')); // the batch's CreateSchedule waits for the next token
    quota.resetStats();

    const handler = testDispatcher(stack, { clock, metrics: { namespace: 'Test/Dispatch', service: 'orders' } });
    const dispatchStart = Date.now();
    let failed: string[] = [];
    const docs = await emfLines(async () => {
      const response = await handler({ Records: records }, context());
      failed = response.batchItemFailures.map((f) => f.itemIdentifier);
    });
    const dispatchEnd = Date.now();

    // What happened, seen from the stand-ins: the metrics must say the same.
    // One of the two cancels failed (whichever called first): its schedule stays, the other one's is gone.
    const failedCancel = cancels.filter((c) => failed.includes(c.seq!));
    expect(failedCancel).toHaveLength(1);
    expect(failed.sort()).toEqual([failedCancel[0]!.seq, poisonSeq].sort());
    for (const c of cancels) expect(stack.scheduler.getSchedule(c.key) !== undefined).toBe(c === failedCancel[0]);
    expect(quota.stats.throttled).toBe(1);
    expect(stack.scheduler.getSchedule(later)).toBeDefined();

    expect(docs.length).toBeGreaterThan(0);
    for (const d of docs) {
      expect(d._aws.CloudWatchMetrics[0]!.Namespace).toBe('Test/Dispatch');
      expect(d._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
      expect(d.service).toBe('orders');
    }
    const sum = (m: { name: string }) => emfSum(docs, m.name);
    expect(sum(METRICS.dispatchRecords)).toBe(4);
    expect(sum(METRICS.eventsPublished)).toBe(2);
    expect(sum(METRICS.schedulesCreated)).toBe(1);
    expect(sum(METRICS.schedulesUpdated)).toBe(0);
    expect(sum(METRICS.schedulesDeleted)).toBe(1);
    expect(sum(METRICS.callsThrottled)).toBe(quota.stats.throttled); // the only throttling of the batch
    expect(sum(METRICS.dispatchFailures)).toBe(2); // DeleteSchedule + the Poison entry
    expect(sum(METRICS.partialBatchFailures)).toBe(2);

    // One lag per record dispatched in full (not the two failed ones), from its commit to its dispatch.
    const lags = emfValues(docs, METRICS.dispatchLagMs.name);
    expect(lags).toHaveLength(2);
    for (const lag of lags) {
      expect(lag).toBeGreaterThanOrEqual(dispatchStart - latestCommit);
      expect(lag).toBeLessThanOrEqual(dispatchEnd - earliestCommit);
    }
    const units = Object.fromEntries(
      docs.flatMap((d) => d._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit])),
    );
    expect(units[METRICS.dispatchLagMs.name]).toBe('Milliseconds');
  }, 30_000);
});
