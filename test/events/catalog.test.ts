import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import middy from '@middy/core';
import * as v from 'valibot';
import { z } from 'zod';
import {
  InvalidOperationError,
  SchemaValidationError,
  unitOfWork,
  withUnitOfWork,
  type UnitOfWorkContext,
} from '../../lib/index.js';
import { defineEvents, type EventOf, type StandardSchemaV1 } from '../../lib/events/index.js';
import { lambdaContext, createTestOutboxTable, localClients } from '../support/ddb.js';
import { messagesAbout } from '../support/jobs.js';

const { raw, doc } = localClients();
let outbox: string;
beforeAll(async () => {
  outbox = await createTestOutboxTable(raw, 'events-outbox');
});

const orderEvents = defineEvents({
  OrderPlaced: z.object({
    orderId: z.string().min(1),
    customerId: z.string(),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  }),
  OrderPaid: v.object({ orderId: v.string(), total: v.number() }),
});

/** A hand-written Standard Schema whose validate is async (as a schema with an async refinement is). */
const asyncString: StandardSchemaV1<string> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: async (value) =>
      typeof value === 'string' ? { value } : { issues: [{ message: 'expected a string', path: ['note'] }] },
  },
};

function handlerOf(fn: (event: unknown, context: UnitOfWorkContext) => Promise<unknown>) {
  return middy<unknown, unknown, Error, UnitOfWorkContext>()
    .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'orders' }))
    .handler(fn);
}

describe('defineEvents: typed publish validated at the call (zod and valibot)', () => {
  it('publishes through a real middleware commit; the consumer parses the committed CloudEvent back, typed', async () => {
    const orderId = randomUUID();
    const handler = handlerOf(async (_e, { uow }) => {
      orderEvents.publish(
        uow,
        'OrderPlaced',
        { orderId, customerId: 'c-1', items: [{ sku: 'A', quantity: 2 }] },
        { subject: orderId },
      );
      orderEvents.publish(uow, 'OrderPaid', { orderId, total: 12.5 });
    });
    await handler({}, lambdaContext('req-typed'));
    const events = (await messagesAbout(doc, outbox, orderId)).flatMap((m) => (m.kind === 'event' ? [m.event] : []));
    expect(events.map((e) => e.type)).toEqual(['OrderPlaced', 'OrderPaid']);
    // What EventBridge hands a rule target, and what an SQS queue behind the rule holds as body.
    const bridge = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'OrderPlaced',
      source: 'orders',
      time: events[0]!.time,
      region: 'us-east-1',
      resources: [],
      account: '1',
      detail: events[0],
    };
    const fromBridge: EventOf<typeof orderEvents> = await orderEvents.parse(bridge);
    const fromSqsBody = await orderEvents.parse(JSON.stringify(bridge));
    expect(fromSqsBody).toEqual(fromBridge);
    expect(fromBridge).toMatchObject({
      type: 'OrderPlaced',
      subject: orderId,
      correlationid: 'req-typed',
      data: { orderId, items: [{ quantity: 2 }] },
    });
    if (fromBridge.type === 'OrderPlaced') expect(fromBridge.data.items[0]!.sku).toBe('A'); // narrowed by type
    expect(await orderEvents.parse(events[1])).toMatchObject({ type: 'OrderPaid', data: { orderId, total: 12.5 } });
  });

  it('bad data throws SchemaValidationError naming the event type and every failing path; nothing is buffered', async () => {
    await withUnitOfWork(
      async (uow) => {
        const error = (() => {
          try {
            orderEvents.publish(uow, 'OrderPlaced', {
              orderId: '',
              customerId: 'c',
              items: [{ sku: 'A', quantity: 1.5 }],
            });
          } catch (e) {
            return e as SchemaValidationError;
          }
        })();
        expect(error).toBeInstanceOf(SchemaValidationError);
        expect(error!.name).toBe('SchemaValidationError');
        expect(error!.operation).toBe('publish(OrderPlaced)');
        expect(error!.issues.map((i) => i.path)).toEqual(['orderId', 'items[0].quantity']);
        expect(error!.message).toMatch(
          /^publish\(OrderPlaced\): the event data does not match its schema \(at orderId: .+; at items\[0\]\.quantity: .+\)$/,
        );
        // valibot reports its own issues the same way
        expect(() =>
          orderEvents.publish(uow, 'OrderPaid', { orderId: 'o', total: 'ten' as unknown as number }),
        ).toThrow(/publish\(OrderPaid\).*at total:/);
        expect(uow.pending.events).toBe(0);
      },
      { outboxTable: outbox, client: doc, source: 'orders', propagation: 'requiresNew' },
    );
  });

  it('an async schema is refused by the sync publish (clear error), accepted by publishAsync and by parse', async () => {
    const notes = defineEvents({ Noted: asyncString });
    await withUnitOfWork(
      async (uow) => {
        expect(() => notes.publish(uow, 'Noted', 'hi')).toThrow(
          new InvalidOperationError(
            'publish(Noted)',
            'the schema of the event data validates asynchronously; this call validates synchronously only (use the async variant)',
          ),
        );
        await expect(notes.publishAsync(uow, 'Noted', 42 as unknown as string)).rejects.toThrow(
          /publish\(Noted\).*at note: expected a string/,
        );
        const id = await notes.publishAsync(uow, 'Noted', 'hi');
        expect(uow.pending.events).toBe(1);
        expect(typeof id).toBe('string');
      },
      { outboxTable: outbox, client: doc, source: 'notes', propagation: 'requiresNew' },
    );
    const cloud = {
      specversion: '1.0',
      id: 'e1',
      source: 'notes',
      type: 'Noted',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: 7,
    };
    await expect(notes.parse(cloud)).rejects.toThrow(SchemaValidationError);
  });

  it('parse refuses a bad envelope, an unknown type and bad data, naming what failed', async () => {
    await expect(orderEvents.parse('{not json')).rejects.toThrow(/parse\(event\): the event does not match/);
    await expect(orderEvents.parse({ 'detail-type': 'X', detail: { id: 'x' } })).rejects.toThrow(
      /at specversion: expected "1.0"; at type: .*; at source:/,
    );
    const base = { specversion: '1.0', id: 'e', source: 's', time: '', datacontenttype: 'application/json' };
    await expect(orderEvents.parse({ ...base, type: 'OrderShipped', data: {} })).rejects.toThrow(
      /parse\(OrderShipped\).*at type: not an event type of this catalog \(OrderPlaced, OrderPaid\)/,
    );
    await expect(orderEvents.parse({ ...base, type: 'OrderPaid', data: { orderId: 'o' } })).rejects.toThrow(
      /parse\(OrderPaid\).*at total/,
    );
  });

  it('refuses a catalog entry that is not a Standard Schema, and an unknown type at publish', async () => {
    expect(() => defineEvents({ A: z.string(), B: { parse: () => 1 } as never })).toThrow(
      /defineEvents\(\): the schema of "B" is not a Standard Schema/,
    );
    await withUnitOfWork(
      async (uow) => {
        expect(() => orderEvents.publish(uow, 'Nope' as 'OrderPaid', { orderId: 'o', total: 1 })).toThrow(
          /publish\(Nope\): unknown event type/,
        );
      },
      { outboxTable: outbox, client: doc, source: 'orders', propagation: 'requiresNew' },
    );
  });

  it('property: any valid data survives publish → commit → parse unchanged (seeded)', async () => {
    const item = fc.record({ sku: fc.string(), quantity: fc.integer({ min: 1, max: 1e6 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1 }),
        fc.string(),
        fc.array(item, { maxLength: 5 }),
        async (orderId, customerId, items) => {
          const data = { orderId, customerId, items };
          const tag = randomUUID();
          await withUnitOfWork((uow) => orderEvents.publish(uow, 'OrderPlaced', data, { subject: tag }), {
            outboxTable: outbox,
            client: doc,
            source: 'orders',
            propagation: 'requiresNew',
          });
          const [message] = await messagesAbout(doc, outbox, tag);
          const parsed = await orderEvents.parse(
            JSON.stringify({ 'detail-type': 'OrderPlaced', detail: message!.kind === 'event' ? message!.event : null }),
          );
          expect(parsed.data).toEqual(data);
        },
      ),
      { seed: 1515, numRuns: 15 },
    );
  });
});
