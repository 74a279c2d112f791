/**
 * The dispatcher's `TimersQueued` metric on the SQS timer transport (`timerQueueUrl`), against DynamoDB Local
 * and the local SQS (real SDK clients): every job timer put on the queue is counted once (a job due beyond 15 minutes is a schedule), a SendMessageBatch
 * whose answer is lost (the queue holds the messages, the record is retried) counts nothing, and a retry that
 * sends it again counts it then.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { UnitOfWork } from '../../lib/index.js';
import { METRICS } from '../../lib/metrics/names.js';
import { lambdaContext } from '../support/ddb.js';
import { emfLines, emfSum } from '../support/emf.js';
import { commitStreamRecord, startTestStack, testDispatcher, type TestStack } from '../support/local-stack.js';

let stack: TestStack;
/** SendMessageBatch calls still to fail after the queue accepted them. */
let loseAnswers = 0;
beforeAll(async () => {
  stack = await startTestStack({ poller: { paused: true }, timers: {} });
  stack.timers!.client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === 'SendMessageBatchCommand' && loseAnswers > 0) {
        loseAnswers--;
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $retryable: {} });
      }
      return result;
    },
    { step: 'finalizeRequest', name: 'loseAnswer' },
  );
});
afterAll(async () => {
  await stack?.stop();
});

const commit = (fn: (uow: UnitOfWork) => void) => commitStreamRecord(stack, fn, 'metrics-test');

/** A dispatcher on the SQS timer transport, emitting its metrics. */
const timerDispatcher = () =>
  testDispatcher(stack, {
    timerQueueUrl: stack.timers!.queueUrl,
    clients: { ...stack.clients, sqs: stack.timers!.client },
    metrics: { namespace: 'Test/Timers', service: 'orders' },
  });

const uid = (): string => Math.random().toString(36).slice(2, 10);

describe('TimersQueued (SQS timer transport)', () => {
  it('counts each timer the queue accepted, once, and the job due later as a schedule', async () => {
    const queue = stack.timers!;
    const records = [
      await commit((uow) => {
        uow.schedule({ job: 'remind', payload: {}, delay: 60, key: `a-${uid()}` });
        uow.schedule({ job: 'remind', payload: {}, delay: 5000, key: `b-${uid()}` }); // beyond 15 minutes: a schedule
      }),
      await commit((uow) => {
        uow.publish({ type: 'OrderPlaced', data: {} });
        uow.schedule({ job: 'remind', payload: {}, delay: 0, key: `c-${uid()}` });
      }),
    ];
    const dispatcher = timerDispatcher();
    const before = queue.sqs.messages(queue.queueName).length;
    const docs = await emfLines(async () => {
      expect((await dispatcher({ Records: records }, lambdaContext())).batchItemFailures).toEqual([]);
    });
    expect(queue.sqs.messages(queue.queueName).length - before).toBe(2);
    expect(emfSum(docs, METRICS.timersQueued.name)).toBe(2);
    expect(emfSum(docs, METRICS.schedulesCreated.name)).toBe(1);
    expect(emfSum(docs, METRICS.eventsPublished.name)).toBe(1);
  });

  it('does not count a batch whose answer was lost', async () => {
    const queue = stack.timers!;
    const record = await commit((uow) => {
      uow.schedule({ job: 'remind', payload: {}, delay: 60, key: `d-${uid()}` });
    });
    const dispatcher = timerDispatcher();
    loseAnswers = 100; // every attempt of this invocation: the queue holds them, the dispatcher never hears so
    const before = queue.sqs.messages(queue.queueName).length;
    const lost = await emfLines(async () => {
      const response = await dispatcher(
        { Records: [record] },
        { ...lambdaContext(), getRemainingTimeInMillis: () => 2000 },
      );
      expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([record.dynamodb!.SequenceNumber]);
    });
    expect(queue.sqs.messages(queue.queueName).length).toBeGreaterThan(before); // applied, answer lost
    expect(emfSum(lost, METRICS.timersQueued.name)).toBe(0);
    loseAnswers = 0;
    const retried = await emfLines(async () => {
      expect((await dispatcher({ Records: [record] }, lambdaContext())).batchItemFailures).toEqual([]);
    });
    expect(emfSum(retried, METRICS.timersQueued.name)).toBe(1);
  });
});
