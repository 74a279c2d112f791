/**
 * The SQS event source mapping player: partial batch responses, redelivery after the visibility timeout,
 * retries until the redrive policy's DLQ, whole-batch failures, timeouts, batching and concurrency — with the
 * real SQSClient on the local SQS (manual clock, so visibility timeouts end when the test says).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import type { SQSEvent } from 'aws-lambda';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { startLocalSqs, type LocalSqs } from '../../lib/local/sqs-endpoint.js';
import { startSqsPoller, type SqsHandler, type SqsPoller } from '../../lib/local/sqs-poller.js';

let sqs: LocalSqs;
let client: SQSClient;
const pollers: SqsPoller[] = [];

beforeAll(async () => {
  sqs = await startLocalSqs({ clock: 'manual' });
  client = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
});
afterAll(async () => {
  await Promise.all(pollers.map((p) => p.stop()));
  client?.destroy();
  await sqs?.stop();
});

/** A work queue with a DLQ after `maxReceiveCount` receives, visibility 30 s. */
async function queues(maxReceiveCount = 3): Promise<{ url: string; dlq: string; name: string; dlqName: string }> {
  const name = `work-${randomUUID()}`;
  const dlqName = `${name}-dlq`;
  sqs.createQueue(dlqName);
  const url = (
    await client.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          VisibilityTimeout: '30',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: sqs.queueArn(dlqName), maxReceiveCount }),
        },
      }),
    )
  ).QueueUrl!;
  return { url, dlq: sqs.queueUrl(dlqName), name, dlqName };
}

function poll(url: string, handler: SqsHandler, extra: Partial<Parameters<typeof startSqsPoller>[0]> = {}): SqsPoller {
  const p = startSqsPoller({ client, queueUrl: url, handler, waitTimeSeconds: 1, ...extra });
  pollers.push(p);
  return p;
}

async function send(url: string, bodies: string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10)
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: bodies.slice(i, i + 10).map((b, n) => ({ Id: `e${n}`, MessageBody: b })),
      }),
    );
}

/** Waits until `cond()` holds (the poller works in the background). */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Lets the visibility timeout pass until everything is handled or dead-lettered. */
async function settle(name: string, poller: SqsPoller): Promise<void> {
  for (let i = 0; i < 20 && sqs.messages(name).length > 0; i++) {
    // Only once no batch is in the handler: advancing earlier would expire the visibility of messages in flight.
    const idle = () => sqs.counts(name).visible === 0 && poller.inFlight === 0;
    await until(idle);
    await new Promise((r) => setTimeout(r, 40));
    await until(idle);
    sqs.advance(30_000);
  }
  await poller.drain();
}

describe('SQS event source mapping player', () => {
  it('partial batch response: only the reported messages come back (after the visibility timeout), others are deleted once', async () => {
    const { url, name } = await queues();
    const seen = new Map<string, number>();
    const poller = poll(url, async (event: SQSEvent) => {
      const failures = [];
      for (const r of event.Records) {
        seen.set(r.body, (seen.get(r.body) ?? 0) + 1);
        if (r.body === 'flaky' && r.attributes.ApproximateReceiveCount === '1')
          failures.push({ itemIdentifier: r.messageId });
      }
      return { batchItemFailures: failures };
    });
    await send(url, ['a', 'flaky', 'b']);
    await until(() => poller.invocations.length >= 1);
    await until(() => sqs.counts(name).notVisible === 1 && sqs.counts(name).visible === 0);
    expect(sqs.messages(name).map((m) => m.body)).toEqual(['flaky']);
    await settle(name, poller);
    expect(Object.fromEntries(seen)).toEqual({ a: 1, flaky: 2, b: 1 });
  });

  it('a message that keeps failing is retried until maxReceiveCount, then moved to the DLQ; its neighbours are not blocked', async () => {
    const { url, name, dlqName } = await queues(3);
    const attempts: string[] = [];
    const poller = poll(url, async (event) => ({
      batchItemFailures: event.Records.filter(
        (r) => (attempts.push(`${r.body}#${r.attributes.ApproximateReceiveCount}`), r.body === 'poison'),
      ).map((r) => ({ itemIdentifier: r.messageId })),
    }));
    await send(url, ['ok-1', 'poison', 'ok-2']);
    await settle(name, poller);
    expect(attempts.filter((a) => a.startsWith('poison'))).toEqual(['poison#1', 'poison#2', 'poison#3']);
    expect(attempts.filter((a) => a.startsWith('ok'))).toEqual(['ok-1#1', 'ok-2#1']);
    expect(sqs.messages(dlqName).map((m) => m.body)).toEqual(['poison']);
  });

  it('a thrown error, an unknown itemIdentifier and a timeout each fail the whole batch: nothing is deleted', async () => {
    for (const mode of ['throw', 'bad-id', 'timeout'] as const) {
      const { url, name } = await queues(5);
      let calls = 0;
      const poller = poll(
        url,
        async (event) => {
          calls++;
          if (calls > 1) return { batchItemFailures: [] };
          if (mode === 'throw') throw new Error('boom');
          if (mode === 'timeout') await new Promise((r) => setTimeout(r, 300));
          return { batchItemFailures: mode === 'bad-id' ? [{ itemIdentifier: 'not-in-batch' }] : [] };
        },
        { functionTimeoutMs: 150, maximumBatchingWindowMs: 50 },
      );
      await send(url, ['x', 'y']);
      await until(() => poller.invocations.length >= 1);
      expect(poller.invocations[0]).toMatchObject({
        failed: expect.arrayContaining([...poller.invocations[0]!.messageIds]),
      });
      expect(sqs.messages(name)).toHaveLength(2);
      await settle(name, poller);
      expect(poller.invocations.slice(1).flatMap((i) => i.messageIds)).toHaveLength(2);
    }
  });

  it('gathers batches beyond 10 within the batching window, and never runs more invocations than maximumConcurrency', async () => {
    const { url, name } = await queues();
    let inFlight = 0;
    let peak = 0;
    const sizes: number[] = [];
    const poller = poll(
      url,
      async (event) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        sizes.push(event.Records.length);
        await new Promise((r) => setTimeout(r, 40));
        inFlight--;
      },
      { batchSize: 25, maximumBatchingWindowMs: 300, maximumConcurrency: 3 },
    );
    await send(
      url,
      Array.from({ length: 100 }, (_, i) => `m${i}`),
    );
    await settle(name, poller);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(100);
    expect(Math.max(...sizes)).toBe(25);
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBeGreaterThan(1);
  });

  it('property: with random per-delivery failures, every message is handled successfully exactly once or dead-lettered (seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 1, max: 10 }),
        async (failPlan, batchSize) => {
          const { url, name, dlqName } = await queues(2);
          const succeeded = new Map<string, number>();
          let delivery = 0;
          const poller = poll(
            url,
            async (event) => ({
              batchItemFailures: event.Records.flatMap((r) => {
                if (failPlan[delivery++ % failPlan.length]) return [{ itemIdentifier: r.messageId }];
                succeeded.set(r.body, (succeeded.get(r.body) ?? 0) + 1);
                return [];
              }),
            }),
            { batchSize },
          );
          const bodies = Array.from({ length: 15 }, (_, i) => `p${i}`);
          await send(url, bodies);
          await settle(name, poller);
          await poller.stop();
          const dead = sqs.messages(dlqName).map((m) => m.body);
          for (const b of bodies) expect((succeeded.get(b) ?? 0) + (dead.includes(b) ? 1 : 0)).toBe(1);
        },
      ),
      { seed: 1301, numRuns: 6 },
    );
  }, 60_000);
});

it('SendMessage into a queue the poller watches wakes its long poll (no clock move needed)', async () => {
  const { url } = await queues();
  const got: string[] = [];
  const poller = poll(url, async (e) => void got.push(...e.Records.map((r) => r.body)), { waitTimeSeconds: 20 });
  await new Promise((r) => setTimeout(r, 100));
  await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake' }));
  await until(() => got.length === 1, 2000);
  await poller.stop();
});
