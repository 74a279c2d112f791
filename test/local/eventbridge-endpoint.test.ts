/** The local EventBridge PutEvents through the real EventBridgeClient. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { isRetryableError } from '../../lib/dispatch/retry.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import {
  startLocalEventBridge,
  type EventBridgeEnvelope,
  type LocalEventBridge,
} from '../../lib/local/eventbridge-endpoint.js';

let bus: LocalEventBridge;
let client: EventBridgeClient;

beforeAll(async () => {
  bus = await startLocalEventBridge({ buses: ['orders'] });
  client = new EventBridgeClient({ endpoint: bus.endpoint, ...LOCAL_AWS_CONFIG, maxAttempts: 1 });
});
afterAll(async () => {
  client?.destroy();
  await bus?.stop();
});
afterEach(() => bus.clearFaults());

const entry = (detail: unknown, o: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  Source: 'orders',
  DetailType: 'OrderPlaced',
  Detail: JSON.stringify(detail),
  EventBusName: 'orders',
  ...o,
});

describe('local EventBridge', () => {
  it('accepts entries and keeps them with an event id, source, type, detail and time', async () => {
    const time = new Date('2026-11-22T10:00:00Z');
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ n: 1 }, { Time: time }),
          entry({ n: 2 }, { EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/orders' }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toEqual([{ EventId: expect.any(String) }, { EventId: expect.any(String) }]);
    const [a, b] = bus.events.slice(-2);
    expect(a).toMatchObject({
      eventId: out.Entries![0]!.EventId,
      eventBusName: 'orders',
      source: 'orders',
      detailType: 'OrderPlaced',
      detail: { n: 1 },
      time,
    });
    expect(b).toMatchObject({ eventBusName: 'orders', detail: { n: 2 } });
  });

  it("an injected server error is PutEvents' documented 500 type, InternalException, which the dispatcher retries", async () => {
    bus.failNext(1);
    const error = await client
      .send(new PutEventsCommand({ Entries: [entry({ n: 0 })] }))
      .catch((e: unknown) => e as { name: string; $metadata: { httpStatusCode: number } });
    expect(error).toMatchObject({ name: 'InternalException', $metadata: { httpStatusCode: 500 } });
    expect(isRetryableError(error)).toBe(true);
  });

  it('reports bad entries per entry: missing fields, malformed detail, unknown bus', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ ok: true }),
          entry({}, { Source: undefined }),
          { ...entry({}), Detail: '[1,' },
          entry({}, { EventBusName: 'nope' }),
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'InvalidArgument',
      'MalformedDetail',
      'ResourceNotFoundException',
    ]);
  });

  it('rejects calls of 0 or more than 10 entries, or over 256 KB', async () => {
    for (const Entries of [
      [],
      Array.from({ length: 11 }, (_, i) => entry({ i })),
      [entry({ big: 'x'.repeat(140_000) }), entry({ big: 'y'.repeat(140_000) })],
    ]) {
      const error = await client.send(new PutEventsCommand({ Entries })).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name).toBe('ValidationException');
    }
  });

  it('fails chosen entries inside a successful call, and throttles whole calls', async () => {
    bus.failEntries(1, { match: (e) => e.Detail!.includes('"fail":true') });
    const out = await client.send(
      new PutEventsCommand({ Entries: [entry({ fail: false }), entry({ fail: true }), entry({ fail: true })] }),
    );
    expect(out.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'InternalFailure', 'ok']);
    bus.throttle(1);
    const error = await client.send(new PutEventsCommand({ Entries: [entry({})] })).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('ThrottlingException');
    expect(bus.calls.at(-1)).toMatchObject({ operation: 'PutEvents', outcome: 'ThrottlingException' });
  });

  it('delivers matching events to subscribers as rule targets would', async () => {
    const got: EventBridgeEnvelope[] = [];
    const off = bus.subscribe(
      { source: ['orders'], 'detail-type': ['OrderShipped'], detail: { express: [true] } },
      (e) => void got.push(e),
    );
    await client.send(
      new PutEventsCommand({
        Entries: [
          entry({ express: true }, { DetailType: 'OrderShipped' }),
          entry({ express: false }, { DetailType: 'OrderShipped' }),
          entry({ express: true }),
        ],
      }),
    );
    await bus.settled();
    off();
    expect(got).toEqual([
      expect.objectContaining({
        version: '0',
        source: 'orders',
        'detail-type': 'OrderShipped',
        account: '000000000000',
        region: 'us-east-1',
        detail: { express: true },
      }),
    ]);
  });
});
