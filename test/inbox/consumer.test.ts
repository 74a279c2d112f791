import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConfigurationError, SchemaValidationError } from '../../lib/index.js';
import { defineEvents, type EventOf } from '../../lib/events/index.js';
import { inboxConsumer, inboxRecordKey, type InboxHandler } from '../../lib/inbox/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import type { CloudEvent } from '../../lib/outbox/messages.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  recordTransactions,
} from '../support/ddb.js';
import { jobRecord, memoryLogger, messagesAbout } from '../support/jobs.js';
import { barrier, cloudEvent, sqsRecordOf } from './support.js';

const { raw, doc } = localClients();
let counters: string;
let outbox: string;
beforeAll(async () => {
  [counters, outbox] = await Promise.all([
    createBusinessTable(raw, 'counters'),
    createTestOutboxTable(raw, 'inbox-outbox'),
  ]);
});

type Data = { id: string };
/** Three effects per message: a counter, an event and a job keyed on the message. */
const effects: InboxHandler<CloudEvent<Data>, unknown> = (event, { uow }) => {
  uow.update({
    TableName: counters,
    Key: { pk: event.data.id },
    UpdateExpression: 'ADD n :one',
    ExpressionAttributeValues: { ':one': 1 },
    label: 'count',
  });
  uow.publish({ type: 'Counted', data: { id: event.data.id } });
  uow.schedule({ job: 'follow-up', payload: { id: event.data.id }, delay: 600, key: `follow-${event.data.id}` });
};

function consumer(
  handler: InboxHandler<CloudEvent<Data>, any>,
  extra: Record<string, unknown> = {},
  client: DynamoDBDocumentClient = doc,
) {
  return inboxConsumer<CloudEvent<Data>>(handler, {
    name: 'counter',
    outboxTable: outbox,
    client,
    source: 'counter',
    logger: memoryLogger(),
    ...extra,
  });
}

async function count(id: string): Promise<number | undefined> {
  return (await getItem(doc, counters, { pk: id }))?.n as number | undefined;
}
async function eventsAbout(id: string): Promise<CloudEvent[]> {
  return (await messagesAbout(doc, outbox, id)).flatMap((m) =>
    m.kind === 'event' && m.event.type === 'Counted' ? [m.event] : [],
  );
}

describe('inboxConsumer on DynamoDB Local: exactly-once handling of SQS records', () => {
  it('commits each record in its own transaction with its dedup record; events carry correlation and causation', async () => {
    const ids = [randomUUID(), randomUUID()];
    const sources = ids.map((id, i) =>
      cloudEvent('OrderPlaced', { id }, i === 0 ? { correlationid: 'req-origin' } : {}),
    );
    const record = recordTransactions(doc);
    const before = record.inputs.length;
    const response = await consumer(effects)(
      { Records: sources.map((e) => sqsRecordOf(e)) },
      lambdaContext('req-consumer'),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    const sent = record.inputs.slice(before);
    expect(sent).toHaveLength(2);
    for (const input of sent) expect(input.TransactItems[0].Put.Item.pk).toMatch(/^inbox#counter#/); // dedup record, count, job record, outbox item
    for (const input of sent) expect(input.TransactItems).toHaveLength(4);
    expect(await count(ids[0]!)).toBe(1);
    const [first] = await eventsAbout(ids[0]!);
    expect(first).toMatchObject({ correlationid: 'req-origin', causationid: sources[0]!.id, source: 'counter' });
    const [second] = await eventsAbout(ids[1]!);
    expect(second).toMatchObject({ correlationid: sources[1]!.id, causationid: sources[1]!.id }); // no correlation upstream: the event starts one
    expect(await jobRecord(doc, outbox, `follow-${ids[0]}`)).toMatchObject({
      jobStatus: 'SCHEDULED',
      correlationId: 'req-origin',
    });
    expect(await getItem(doc, outbox, inboxRecordKey('counter', sources[0]!.id))).toMatchObject({
      _kind: 'inbox',
      consumer: 'counter',
      messageKey: sources[0]!.id,
    });
  });

  it('a redelivered record is acknowledged without running', async () => {
    const id = randomUUID();
    const batch = { Records: [sqsRecordOf(cloudEvent('OrderPlaced', { id }))] };
    let runs = 0;
    const handler = consumer((e, c) => (runs++, effects(e, c)));
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    expect(runs).toBe(1);
    expect(await count(id)).toBe(1);
    expect(await eventsAbout(id)).toHaveLength(1);
  });

  it('concurrent duplicates (Promise.all of two batches holding the same event, both past the dedup read) ⇒ effects once, both acknowledged', async () => {
    const id = randomUUID();
    const event = cloudEvent('OrderPlaced', { id });
    const bothRead = barrier(2);
    let runs = 0;
    const handler = consumer(async (e, { uow }) => {
      runs++;
      await bothRead(); // neither commits before both have run: the race is decided by the commit
      // no job here: its key would also stop the loser; only the dedup record does
      uow.update({
        TableName: counters,
        Key: { pk: e.data.id },
        UpdateExpression: 'ADD n :one',
        ExpressionAttributeValues: { ':one': 1 },
        label: 'count',
      });
      uow.publish({ type: 'Counted', data: { id: e.data.id } });
    });
    // EventBridge delivered twice: two SQS messages (different message ids), one CloudEvent id.
    const [a, b] = await Promise.all([
      handler({ Records: [sqsRecordOf(event)] }),
      handler({ Records: [sqsRecordOf(event)] }),
    ]);
    expect(runs).toBe(2);
    expect(a).toEqual({ batchItemFailures: [] });
    expect(b).toEqual({ batchItemFailures: [] });
    expect(await count(id)).toBe(1);
    expect(await eventsAbout(id)).toHaveLength(1);
  });

  it('property: any mix of concurrent redeliveries of a set of events ⇒ each effect exactly once (seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 3 }),
        fc.infiniteStream(fc.double({ min: 0, max: 1, noNaN: true })),
        async (n, copies, randoms) => {
          const events = Array.from({ length: n }, () => cloudEvent('OrderPlaced', { id: randomUUID() }));
          const shuffled = () =>
            events
              .map((e) => ({ e, r: randoms.next().value as number }))
              .sort((x, y) => x.r - y.r)
              .map(({ e }) => sqsRecordOf(e));
          const handler = consumer(effects);
          const responses = await Promise.all(Array.from({ length: copies }, () => handler({ Records: shuffled() })));
          expect(responses.every((r) => r.batchItemFailures.length === 0)).toBe(true);
          for (const e of events) {
            expect(await count(e.data.id)).toBe(1);
            expect(await eventsAbout(e.data.id)).toHaveLength(1);
          }
        },
      ),
      { seed: 2015, numRuns: 8 },
    );
  });

  it('a failing record is reported alone; its neighbours commit; nothing of it is written; its redelivery runs', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const records = ids.map((id) => sqsRecordOf(cloudEvent('OrderPlaced', { id })));
    let failing = true;
    const handler = consumer((e, c) => {
      effects(e, c);
      if (e.data.id === ids[1] && failing) throw new Error('projection store down');
    });
    expect(await handler({ Records: records })).toEqual({
      batchItemFailures: [{ itemIdentifier: records[1]!.messageId }],
    });
    expect([await count(ids[0]!), await count(ids[1]!), await count(ids[2]!)]).toEqual([1, undefined, 1]);
    expect(
      await getItem(doc, outbox, inboxRecordKey('counter', JSON.parse(records[1]!.body).detail.id)),
    ).toBeUndefined();
    failing = false;
    expect(await handler({ Records: records })).toEqual({ batchItemFailures: [] });
    expect([await count(ids[0]!), await count(ids[1]!), await count(ids[2]!)]).toEqual([1, 1, 1]);
  });

  it('commit applied but its answer lost (SDK middleware throws after next()) ⇒ acknowledged (the record is found after the failure), a redelivery does not run', async () => {
    const faulty = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG }),
    );
    let lose = 1;
    faulty.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const transact =
          context.commandName === 'TransactWriteCommand' || context.commandName === 'TransactWriteItemsCommand';
        if (transact && lose-- > 0)
          throw Object.assign(new Error('the connection closed before the answer'), { name: 'AnswerLost' });
        return result;
      },
      { step: 'initialize', name: 'lose-answer' },
    );
    const id = randomUUID();
    const batch = { Records: [sqsRecordOf(cloudEvent('OrderPlaced', { id }))] };
    let runs = 0;
    const handler = consumer((e, c) => (runs++, effects(e, c)), {}, faulty);
    // the dedup read after the failure finds the record: the message was handled, so it is acknowledged at once
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    expect(await handler(batch)).toEqual({ batchItemFailures: [] });
    expect(runs).toBe(1);
    expect(lose).toBeLessThan(1); // the fault fired (the core may resend with the same token, or read back: either way once)
    expect(await count(id)).toBe(1);
  });

  it('a typed catalog parses the body: bad data fails that record with SchemaValidationError', async () => {
    const events = defineEvents({ OrderPlaced: z.object({ id: z.string().uuid() }) });
    const good = randomUUID();
    const records = [
      sqsRecordOf(cloudEvent('OrderPlaced', { id: good })),
      sqsRecordOf(cloudEvent('OrderPlaced', { id: 'not-a-uuid' })),
    ];
    const errors: unknown[] = [];
    const handler = inboxConsumer<EventOf<typeof events>>(async (event, c) => effects(event, c), {
      name: 'typed',
      outboxTable: outbox,
      client: doc,
      source: 'counter',
      logger: memoryLogger(),
      parse: (record) => events.parse(record.body).catch((e) => (errors.push(e), Promise.reject(e))),
    });
    expect(await handler({ Records: records })).toEqual({
      batchItemFailures: [{ itemIdentifier: records[1]!.messageId }],
    });
    expect(await count(good)).toBe(1);
    expect(errors[0]).toBeInstanceOf(SchemaValidationError);
    expect((errors[0] as SchemaValidationError).operation).toBe('parse(OrderPlaced)');
  });

  it('SQS FIFO: after a failure the rest of the batch (or with skipGroupOnError, of its group) is failed unprocessed', async () => {
    const mk = (group: string) => {
      const id = randomUUID();
      return { id, record: sqsRecordOf(cloudEvent('OrderPlaced', { id }), { groupId: group }) };
    };
    const run = async (fifo: boolean | { skipGroupOnError: boolean }) => {
      const [a, b, c, d] = [mk('g1'), mk('g1'), mk('g2'), mk('g1')];
      const handler = consumer(
        (e, ctx) => {
          if (e.data.id === b.id) throw new Error('bad');
          effects(e, ctx);
        },
        { fifo },
      );
      const response = await handler({ Records: [a, b, c, d].map((x) => x.record) });
      return {
        response: response.batchItemFailures.map((f) => f.itemIdentifier),
        ids: [a, b, c, d],
        counts: await Promise.all([a, b, c, d].map((x) => count(x.id))),
      };
    };
    const strict = await run(true);
    expect(strict.response).toEqual([
      strict.ids[1]!.record.messageId,
      strict.ids[2]!.record.messageId,
      strict.ids[3]!.record.messageId,
    ]);
    expect(strict.counts).toEqual([1, undefined, undefined, undefined]);
    const grouped = await run({ skipGroupOnError: true });
    expect(grouped.response).toEqual([grouped.ids[1]!.record.messageId, grouped.ids[3]!.record.messageId]);
    expect(grouped.counts).toEqual([1, undefined, 1, undefined]);
  });

  it('DynamoDB streams (key: eventID) and Kinesis (CloudEvent in the data): duplicates handled once, in order', async () => {
    const id = randomUUID();
    const order: string[] = [];
    const streamRecord = (eventID: string) =>
      ({ eventID, eventName: 'INSERT', dynamodb: { Keys: { pk: { S: id } }, SequenceNumber: eventID } }) as never;
    const stream = inboxConsumer<any, 'DynamoDBStreams'>(
      (r, { uow }) => {
        order.push(r.eventID);
        uow.update({
          TableName: counters,
          Key: { pk: id },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
        });
      },
      { name: 'stream', recordType: 'DynamoDBStreams', outboxTable: outbox, client: doc, logger: memoryLogger() },
    );
    expect(await stream({ Records: [streamRecord('1'), streamRecord('2'), streamRecord('1')] })).toEqual({
      batchItemFailures: [],
    });
    expect(order).toEqual(['1', '2']);
    expect(await count(id)).toBe(2);

    const kid = randomUUID();
    const event = cloudEvent('OrderPlaced', { id: kid });
    const kinesisRecord = {
      kinesis: { data: Buffer.from(JSON.stringify(event)).toString('base64'), sequenceNumber: '1', partitionKey: kid },
      eventID: 'k1',
    } as never;
    const kinesis = inboxConsumer<CloudEvent<Data>, 'KinesisDataStreams'>(effects, {
      name: 'kinesis',
      recordType: 'KinesisDataStreams',
      outboxTable: outbox,
      client: doc,
      source: 'k',
      logger: memoryLogger(),
    });
    await kinesis({ Records: [kinesisRecord] });
    await kinesis({ Records: [kinesisRecord] });
    expect(await count(kid)).toBe(1);
  });

  it('refuses bad options naming each', () => {
    expect(() =>
      inboxConsumer(() => undefined, {
        name: '',
        outboxTable: outbox,
        fifo: true,
        recordType: 'KinesisDataStreams',
        dedupSeconds: 1,
        readOnly: true,
      } as never),
    ).toThrow(
      new ConfigurationError(
        'inboxConsumer()',
        '"name" must be a non-empty string without "#"; "fifo" is for SQS only; "dedupSeconds" must be an integer of at least 60; "readOnly" cannot be used: the inbox commits a dedup record per message',
      ),
    );
    expect(() => inboxConsumer(() => undefined, { name: 'x', outboxTable: outbox, bogus: 1 } as never)).toThrow(
      /inboxConsumer\(x\): unknown option "bogus"/,
    );
  });
});
