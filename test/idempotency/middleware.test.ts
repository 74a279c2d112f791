import { randomUUID } from 'node:crypto';
import { describe, it, expect, beforeAll } from '@jest/globals';
import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import {
  ConfigurationError,
  IdempotencyConflictError,
  IdempotencyPayloadMismatchError,
  IdempotencyResponseTooLargeError,
  currentUnitOfWork,
  unitOfWork,
  type IdempotencyOptions,
  type UnitOfWorkContext,
} from '../../lib/index.js';
import { IDEMPOTENCY_RECORD, idempotencyRecordKey } from '../../lib/idempotency/record.js';
import { OUTBOX_SCHEMA } from '../../lib/outbox/schema.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  recordTransactions,
  scanAll,
} from '../support/ddb.js';

const { raw, doc } = localClients();
const silent = { debug() {}, info() {}, warn() {}, error() {} };
let orders: string;
let outbox: string;

beforeAll(async () => {
  [orders, outbox] = await Promise.all([
    createBusinessTable(raw, 'idem-orders'),
    createTestOutboxTable(raw, 'idem-outbox'),
  ]);
});

/** An API Gateway (HTTP API) event carrying an idempotency key header and a JSON body. */
function httpEvent(key: string | undefined, body: unknown): any {
  return {
    version: '2.0',
    routeKey: 'POST /orders',
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
    requestContext: { requestId: randomUUID(), timeEpoch: Date.now() },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const byHeader: IdempotencyOptions['key'] = (event) => event.headers?.['idempotency-key'];

/** A client whose TransactWriteItems go out without ClientRequestToken: losers then fail on conditions instead. */
function withoutTokens(): DynamoDBDocumentClient {
  const { doc: copy } = localClients();
  copy.middlewareStack.add(
    (next: any) => async (args: any) => {
      if (args.input?.ClientRequestToken) delete args.input.ClientRequestToken;
      return next(args);
    },
    { step: 'initialize', name: 'stripToken' },
  );
  return copy;
}

/** Counts the GetItem calls a client sends. */
function countGets(client: DynamoDBDocumentClient): { count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName === 'GetCommand' || context.commandName === 'GetItemCommand') counter.count++;
      return next(args);
    },
    { step: 'initialize', name: `countGets-${randomUUID()}` },
  );
  return counter;
}

/**
 * The order service handler through a real middy stack, in the documented order: http-error-handler,
 * http-json-body-parser (the payload hashed is the parsed body), then unitOfWork with idempotency. Each run creates the order (conditional
 * put), publishes OrderPlaced and schedules its expiry, and answers with a per-run id.
 */
function orderHandler(
  opts: {
    client?: DynamoDBDocumentClient;
    idempotency?: Partial<IdempotencyOptions>;
    fail?: () => boolean;
    conditional?: boolean;
    barrier?: number;
  } = {},
) {
  const runs: string[] = [];
  // With `barrier: n`, no run goes on until n runs are inside the handler: the duplicates really race, whatever the load.
  let allIn!: () => void;
  const barrier = new Promise<void>((resolve) => (allIn = resolve));
  const handler = middy<any, any, Error, UnitOfWorkContext>()
    .use(httpErrorHandler({ logger: false }))
    .use(httpJsonBodyParser())
    .use(
      unitOfWork({
        outboxTable: outbox,
        client: opts.client ?? doc,
        source: 'orders',
        logger: silent,
        idempotency: { key: byHeader, ...opts.idempotency },
      }),
    )
    .handler(async (event, { uow }) => {
      const run = randomUUID();
      runs.push(run);
      if (opts.barrier !== undefined) {
        if (runs.length === opts.barrier) allIn();
        await barrier;
      }
      await new Promise((r) => setTimeout(r, 5));
      const { orderId, total } = event.body as { orderId: string; total: number };
      const pk = opts.conditional === false ? `${orderId}#${run}` : orderId;
      uow.put({
        TableName: orders,
        Item: { pk, total, run },
        ...(opts.conditional === false ? {} : { ConditionExpression: 'attribute_not_exists(pk)' }),
        label: 'create order',
      });
      const eventId = uow.publish({ type: 'OrderPlaced', data: { orderId, total } });
      uow.schedule({ job: 'expire-unpaid-order', payload: { orderId }, delay: 900, key: `expire-${pk}` });
      if (opts.fail?.()) throw new Error('payment provider down');
      return {
        statusCode: 201,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, eventId, run }),
      };
    });
  return { handler, runs };
}

async function outboxMessagesFor(orderId: string): Promise<any[]> {
  const items = (await scanAll(doc, outbox)).filter(
    (i) => i[OUTBOX_SCHEMA.kindAttribute] === OUTBOX_SCHEMA.outboxKind && String(i.messages).includes(orderId),
  );
  return items.flatMap((i) => JSON.parse(i.messages as string));
}

async function jobRecordsFor(orderId: string): Promise<Record<string, unknown>[]> {
  return (await scanAll(doc, outbox)).filter(
    (i) => i[OUTBOX_SCHEMA.kindAttribute] === OUTBOX_SCHEMA.jobKind && String(i.jobKey).includes(orderId),
  );
}

async function ordersFor(orderId: string): Promise<Record<string, unknown>[]> {
  return (await scanAll(doc, orders)).filter((i) => String(i.pk).startsWith(orderId));
}

const recordOf = (key: string) => getItem(doc, outbox, idempotencyRecordKey('test-fn', key));

describe('unitOfWork({ idempotency }) on DynamoDB Local', () => {
  it.each([
    [
      'with the key-derived ClientRequestToken (losers get IdempotentParameterMismatch, then read the record)',
      false,
      true,
    ],
    ['without a token, the business condition failing first (losers read the record)', true, true],
    [
      'without a token, only the record condition failing (losers take the record from the cancellation, no read)',
      true,
      false,
    ],
  ])(
    'ten concurrent identical invocations %s: one set of writes, one event, one job, ten identical responses',
    async (_name, stripTokens, conditional) => {
      const client = stripTokens ? withoutTokens() : doc;
      const sent = recordTransactions(client);
      const gets = countGets(client);
      const { handler, runs } = orderHandler({ client, conditional, barrier: 10 });
      const orderId = `o-${randomUUID()}`;
      const key = `k-${randomUUID()}`;
      const responses = await Promise.all(
        Array.from({ length: 10 }, () => handler(httpEvent(key, { orderId, total: 42 }), lambdaContext())),
      );
      const reads = gets.count;

      // The duplicates really raced: all ten handlers ran and all ten commits were sent.
      expect(runs.length).toBe(10);
      expect(sent.inputs.length).toBe(10);
      const stored = await ordersFor(orderId);
      expect(stored).toHaveLength(1);
      const winner = stored[0]!.run as string;
      expect(runs).toContain(winner);
      for (const response of responses) {
        expect(response.statusCode).toBe(201);
        expect(response).toEqual(responses[0]);
        expect(JSON.parse(response.body).run).toBe(winner);
      }
      const messages = await outboxMessagesFor(orderId);
      expect(messages.filter((m) => m.kind === 'event')).toHaveLength(1);
      expect(messages.filter((m) => m.kind === 'job.schedule')).toHaveLength(1);
      expect(messages.find((m) => m.kind === 'event').event.id).toBe(JSON.parse(responses[0].body).eventId);
      expect(await jobRecordsFor(orderId)).toHaveLength(1);
      expect(await recordOf(key)).toMatchObject({
        status: 'COMPLETED',
        responseEncoding: 'json',
        [OUTBOX_SCHEMA.kindAttribute]: IDEMPOTENCY_RECORD.kind,
      });
      const losers = runs.length - 1;
      // One read per invocation before the handler; a loser reads again unless the cancellation carried the record.
      expect(reads).toBe(conditional ? 10 + losers : 10);
      const tokens = new Set(sent.inputs.map((i) => i.ClientRequestToken));
      if (stripTokens) expect(tokens).toEqual(new Set([undefined]));
      else {
        expect(tokens.size).toBe(1);
        expect([...tokens][0]!.length).toBeLessThanOrEqual(36);
      }
    },
  );

  it('a retry after success does not run the handler and returns the same response, with no second commit', async () => {
    const sent = recordTransactions(doc);
    const { handler, runs } = orderHandler();
    const orderId = `r-${randomUUID()}`;
    const key = `k-${randomUUID()}`;
    const first = await handler(httpEvent(key, { orderId, total: 7 }), lambdaContext());
    const commits = sent.inputs.length;
    const second = await handler(httpEvent(key, { orderId, total: 7 }), lambdaContext());
    expect(first.statusCode).toBe(201);
    expect(second).toEqual(first);
    expect(runs).toHaveLength(1);
    expect(sent.inputs.length).toBe(commits);
    expect(await ordersFor(orderId)).toHaveLength(1);
  });

  it('a retry after a handler error runs again (nothing was recorded), then replays', async () => {
    let failures = 1;
    const { handler, runs } = orderHandler({ fail: () => failures-- > 0 });
    const orderId = `e-${randomUUID()}`;
    const key = `k-${randomUUID()}`;
    const failed = await handler(httpEvent(key, { orderId, total: 1 }), lambdaContext());
    expect(failed.statusCode).toBe(500);
    expect(await recordOf(key)).toBeUndefined();
    expect(await ordersFor(orderId)).toHaveLength(0);
    const retried = await handler(httpEvent(key, { orderId, total: 1 }), lambdaContext());
    expect(retried.statusCode).toBe(201);
    expect(runs).toHaveLength(2);
    expect(await handler(httpEvent(key, { orderId, total: 1 }), lambdaContext())).toEqual(retried);
    expect(runs).toHaveLength(2);
  });

  it('the same key with a different payload answers 422 and writes nothing', async () => {
    const { handler, runs } = orderHandler();
    const orderId = `p-${randomUUID()}`;
    const key = `k-${randomUUID()}`;
    await handler(httpEvent(key, { orderId, total: 10 }), lambdaContext());
    const before = await scanAll(doc, outbox);
    const sent = recordTransactions(doc);
    const mismatch = await handler(httpEvent(key, { orderId: `${orderId}-x`, total: 99 }), lambdaContext());
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.body).toBe(new IdempotencyPayloadMismatchError('x').message);
    expect(runs).toHaveLength(1);
    expect(sent.inputs).toHaveLength(0);
    expect(await scanAll(doc, outbox)).toEqual(before);
    expect(await ordersFor(`${orderId}-x`)).toHaveLength(0);
  });

  it('a concurrent duplicate with a different payload that loses the commit answers 422, and none of its writes land', async () => {
    const { handler } = orderHandler();
    const orderId = `pc-${randomUUID()}`;
    const key = `k-${randomUUID()}`;
    const [a, b] = await Promise.all([
      handler(httpEvent(key, { orderId: `${orderId}-a`, total: 1 }), lambdaContext()),
      handler(httpEvent(key, { orderId: `${orderId}-b`, total: 2 }), lambdaContext()),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([201, 422]);
    const won = a.statusCode === 201 ? 'a' : 'b';
    const lost = won === 'a' ? 'b' : 'a';
    expect(await ordersFor(`${orderId}-${won}`)).toHaveLength(1);
    expect(await ordersFor(`${orderId}-${lost}`)).toHaveLength(0);
    expect(await outboxMessagesFor(`${orderId}-${lost}`)).toHaveLength(0);
  });

  it('an expired record lets the handler run again, and the new commit replaces it', async () => {
    const { handler, runs } = orderHandler({ idempotency: { expiresAfter: 1 }, conditional: false });
    const orderId = `x-${randomUUID()}`;
    const key = `k-${randomUUID()}`;
    const first = await handler(httpEvent(key, { orderId, total: 3 }), lambdaContext());
    const record1 = await recordOf(key);
    expect(await handler(httpEvent(key, { orderId, total: 3 }), lambdaContext())).toEqual(first);
    expect(runs).toHaveLength(1);
    await new Promise((r) => setTimeout(r, ((record1!.expiresAt as number) + 0.05) * 1000 - Date.now()));
    const second = await handler(httpEvent(key, { orderId, total: 3 }), lambdaContext());
    expect(runs).toHaveLength(2);
    expect(JSON.parse(second.body).run).toBe(runs[1]);
    expect(second).not.toEqual(first);
    const record2 = await recordOf(key);
    expect(record2!.commitId).not.toBe(record1!.commitId);
    expect(await ordersFor(orderId)).toHaveLength(2);
    expect((await outboxMessagesFor(orderId)).filter((m) => m.kind === 'event')).toHaveLength(2);
  });

  it('replays a handler that returned undefined (and commits a record even when nothing else was buffered)', async () => {
    let runs = 0;
    const sent = recordTransactions(doc);
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent, idempotency: { key: (e) => e.id } }))
      .handler(async () => {
        runs++;
        return undefined;
      });
    const id = `u-${randomUUID()}`;
    expect(await handler({ id }, lambdaContext())).toBeUndefined();
    expect(sent.inputs).toHaveLength(1);
    expect(sent.inputs[0].TransactItems).toHaveLength(1);
    expect(await recordOf(id)).toMatchObject({ responseEncoding: 'undefined' });
    expect(await handler({ id }, lambdaContext())).toBeUndefined();
    expect(runs).toBe(1);
  });

  it('a response too large for the record fails at commit with a clear error and writes nothing; storeResponse: false stores a marker', async () => {
    const big = 'x'.repeat(450 * 1024);
    const build = (idempotency: Partial<IdempotencyOptions>) => {
      let runs = 0;
      const handler = middy<any, any, Error, UnitOfWorkContext>()
        .use(
          unitOfWork({
            outboxTable: outbox,
            client: doc,
            logger: silent,
            source: 'reports',
            idempotency: { key: (e) => e.id, ...idempotency },
          }),
        )
        .handler(async (event, { uow }) => {
          runs++;
          uow.put({ TableName: orders, Item: { pk: event.id } });
          uow.publish({ type: 'ReportBuilt', data: { id: event.id } });
          return { report: big };
        });
      return { handler, runs: () => runs };
    };
    const id = `big-${randomUUID()}`;
    const failing = build({});
    const error = (await failing.handler({ id }, lambdaContext()).catch((e) => e)) as IdempotencyResponseTooLargeError;
    expect(error).toBeInstanceOf(IdempotencyResponseTooLargeError);
    expect(error.bytes).toBeGreaterThan(error.maximum);
    expect(error.message).toContain('storeResponse');
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
    expect(await recordOf(id)).toBeUndefined();
    expect(await outboxMessagesFor(id)).toHaveLength(0);

    const marker = build({ storeResponse: false, markerResponse: (e) => ({ duplicate: e.id }) });
    expect(await marker.handler({ id }, lambdaContext())).toEqual({ report: big });
    expect(await recordOf(id)).toMatchObject({ responseEncoding: 'marker' });
    expect((await recordOf(id))!.response).toBeUndefined();
    expect(await marker.handler({ id }, lambdaContext())).toEqual({ duplicate: id });
    expect(marker.runs()).toBe(1);
    expect(await getItem(doc, orders, { pk: id })).toBeDefined();
  });

  it('maps IdempotentParameterMismatchException without a live record to IdempotencyConflictError (409), nothing written', async () => {
    // Both commits must fall in the same 10-minute token bucket.
    const inBucket = Date.now() % 600_000;
    if (inBucket > 590_000) await new Promise((r) => setTimeout(r, 600_000 - inBucket + 100));
    const { handler } = orderHandler({ conditional: false });
    const orderId = `m-${randomUUID()}`;
    const key = `k-${randomUUID()}`;
    expect((await handler(httpEvent(key, { orderId, total: 5 }), lambdaContext())).statusCode).toBe(201);
    // The record disappears (as after expiry + TTL deletion) while DynamoDB still remembers the token.
    await doc.send(new DeleteCommand({ TableName: outbox, Key: idempotencyRecordKey('test-fn', key) }));
    const direct = middy<any, any, Error, UnitOfWorkContext>()
      .use(
        unitOfWork({
          outboxTable: outbox,
          client: doc,
          source: 'orders',
          logger: silent,
          idempotency: { key: byHeader },
        }),
      )
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: `${orderId}#again` } });
      });
    const error = (await direct(httpEvent(key, { orderId, total: 5 }), lambdaContext()).catch(
      (e) => e,
    )) as IdempotencyConflictError;
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect(error.statusCode).toBe(409);
    expect((error.cause as Error).message).toMatch(/ClientRequestToken/);
    expect(await getItem(doc, orders, { pk: `${orderId}#again` })).toBeUndefined();
  });

  it('keeps the ambient unit of work in the handler, and a key of undefined runs without idempotency', async () => {
    let runs = 0;
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent, idempotency: { key: (e) => e.key } }))
      .handler(async (event) => {
        runs++;
        currentUnitOfWork().put({ TableName: orders, Item: { pk: `${event.id}-${runs}` } });
        return runs;
      });
    const id = `a-${randomUUID()}`;
    expect(await handler({ id, key: id }, lambdaContext())).toBe(1);
    expect(await handler({ id, key: id }, lambdaContext())).toBe(1);
    expect(await getItem(doc, orders, { pk: `${id}-1` })).toBeDefined();
    expect(await handler({ id }, lambdaContext())).toBe(2);
    expect(await handler({ id }, lambdaContext())).toBe(3);
    expect(await getItem(doc, orders, { pk: `${id}-3` })).toBeDefined();
  });

  it('with the body parser after it: stores the final response of the inner after-middlewares, so a replay is identical', async () => {
    let runs = 0;
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(httpErrorHandler({ logger: false }))
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent, idempotency: { key: byHeader } }))
      .use({
        after: (request) => {
          request.response = { ...request.response, headers: { 'x-served-at': new Date().toISOString() } };
        },
      })
      .use(httpJsonBodyParser())
      .handler(async (event) => {
        runs++;
        return { statusCode: 200, body: JSON.stringify({ echo: event.body, run: runs }) };
      });
    const key = `k-${randomUUID()}`;
    const first = await handler(httpEvent(key, { a: 1 }), lambdaContext());
    await new Promise((r) => setTimeout(r, 5));
    expect(await handler(httpEvent(key, { a: 1 }), lambdaContext())).toEqual(first);
    expect(first.headers['x-served-at']).toBeDefined();
    expect(runs).toBe(1);
    // A malformed body fails in the parser after the record read: 422 from the parser, nothing recorded.
    const bad = { ...httpEvent(`k-${randomUUID()}`, {}), body: '{oops' };
    expect((await handler(bad, lambdaContext())).statusCode).toBe(422);
    expect(await recordOf(bad.headers['idempotency-key'])).toBeUndefined();
  });

  it('scopes keys by function name, and rejects bad options when the middleware is created', async () => {
    const handler = (fn: string) =>
      middy<any, any, Error, UnitOfWorkContext>()
        .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent, idempotency: { key: (e) => e.id } }))
        .handler(async () => fn);
    const id = `s-${randomUUID()}`;
    expect(await handler('one')({ id }, { ...lambdaContext(), functionName: 'fn-one' })).toBe('one');
    expect(await handler('two')({ id }, { ...lambdaContext(), functionName: 'fn-two' })).toBe('two');
    expect(() => unitOfWork({ outboxTable: outbox, idempotency: { key: byHeader, expiresAfter: 0 } })).toThrow(
      ConfigurationError,
    );
    expect(() => unitOfWork({ outboxTable: outbox, idempotency: { key: byHeader, ttl: 5 } as any })).toThrow(
      /unknown idempotency option/,
    );
    expect(() => unitOfWork({ outboxTable: outbox, readOnly: true, idempotency: { key: byHeader } })).toThrow(
      /readOnly/,
    );
    expect(() => unitOfWork({ outboxTable: outbox, idempotency: {} as any })).toThrow(/idempotency.key/);
  });
});
