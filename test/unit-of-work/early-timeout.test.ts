import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidOperationError, unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { IDEMPOTENCY_RECORD } from '../../lib/idempotency/record.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  scanAll,
} from '../support/ddb.js';

// Middy's early timeout with a PLAIN timeoutEarlyResponse (not wrapped by discardOnTimeout): unitOfWork()
// recognises Middy's abort signal itself (lib/middleware/timeout-watch.ts).

const { raw, doc } = localClients();
let orders: string;
let outbox: string;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;
const plain503 = { timeoutEarlyInMillis: 50, timeoutEarlyResponse: () => ({ statusCode: 503 }) };
const uowOptions = { outboxTable: '', client: doc, source: 'timeout', logger: silent };

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'timeout'), createTestOutboxTable(raw)]);
  Object.assign(uowOptions, { outboxTable: outbox });
});

/** A Lambda context whose remaining time runs down from `ms`, as the real one does. */
function contextWithDeadline(ms: number): any {
  const deadline = Date.now() + ms;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => deadline - Date.now() };
}

const idempotencyRecords = async (): Promise<unknown[]> =>
  (await scanAll(doc, outbox)).filter((i) => i._kind === IDEMPOTENCY_RECORD.kind);
const ordersWith = async (id: string): Promise<unknown[]> =>
  (await scanAll(doc, orders)).filter((i) => String(i.pk).startsWith(id));

/** Puts `<id>-first`, waits `waitMs` (past the timeout when slow), then tries `<id>-second`; records what the late put threw. */
const putsAroundAWait =
  (late: Map<string, unknown>) =>
  async (event: { id: string; waitMs: number }, { uow }: UnitOfWorkContext) => {
    uow.put({ TableName: orders, Item: { pk: `${event.id}-first` }, label: 'first half' });
    await sleep(event.waitMs);
    try {
      uow.put({ TableName: orders, Item: { pk: `${event.id}-second` }, label: 'second half' });
    } catch (error) {
      late.set(event.id, error);
    }
    return { statusCode: 201 };
  };

describe('plain timeoutEarlyResponse: () => ({ statusCode: 503 })', () => {
  it("answers 503, commits nothing, and the still-running handler's later put throws InvalidOperationError", async () => {
    const id = uid('plain');
    const late = new Map<string, unknown>();
    const handler = middy<any, any, Error, UnitOfWorkContext>(plain503)
      .use(unitOfWork(uowOptions))
      .handler(putsAroundAWait(late));
    expect(await handler({ id, waitMs: 250 }, contextWithDeadline(150))).toEqual({ statusCode: 503 });
    await sleep(300);
    expect(late.get(id)).toBeInstanceOf(InvalidOperationError);
    expect(String((late.get(id) as Error).message)).toContain('second half');
    expect(String((late.get(id) as Error).message)).toContain('timed out early');
    expect(await ordersWith(id)).toEqual([]);
  });

  it('with idempotency: no idempotency record is stored, and a retry runs the handler again and commits', async () => {
    const id = uid('idem');
    const late = new Map<string, unknown>();
    const before = (await idempotencyRecords()).length;
    const handler = middy<any, any, Error, UnitOfWorkContext>(plain503)
      .use(httpErrorHandler({ logger: false }))
      .use(httpJsonBodyParser())
      .use(unitOfWork({ ...uowOptions, idempotency: { key: (e: any) => e.headers['idempotency-key'] } }))
      .handler(async (event: any, context) => putsAroundAWait(late)(event.body, context));
    const event = (waitMs: number) => ({
      headers: { 'content-type': 'application/json', 'idempotency-key': id },
      body: JSON.stringify({ id, waitMs }),
    });
    expect(await handler(event(250), contextWithDeadline(150))).toEqual({ statusCode: 503 });
    await sleep(300);
    expect(late.get(id)).toBeInstanceOf(InvalidOperationError);
    expect(await ordersWith(id)).toEqual([]);
    expect((await idempotencyRecords()).length).toBe(before);
    // The retry (same key, same payload) is not answered with a stored 503: the handler runs and commits.
    expect(await handler(event(0), contextWithDeadline(5000))).toEqual({ statusCode: 201 });
    expect((await ordersWith(id)).length).toBe(2);
    expect((await idempotencyRecords()).length).toBe(before + 1);
  });

  it('concurrent invocations of one handler: only the one that times out is discarded, the others commit', async () => {
    const late = new Map<string, unknown>();
    const handler = middy<any, any, Error, UnitOfWorkContext>(plain503)
      .use(unitOfWork(uowOptions))
      .handler(putsAroundAWait(late));
    const ids = Array.from({ length: 6 }, (_, i) => uid(`concurrent${i}`));
    const slow = ids[3]!;
    const responses = await Promise.all(
      ids.map((id) => handler({ id, waitMs: id === slow ? 250 : 10 }, contextWithDeadline(id === slow ? 150 : 5000))),
    );
    await sleep(300);
    expect(responses).toEqual(ids.map((id) => ({ statusCode: id === slow ? 503 : 201 })));
    for (const id of ids) expect((await ordersWith(id)).length).toBe(id === slow ? 0 : 2);
    expect([...late.keys()]).toEqual([slow]);
  });

  it('the normal path is unaffected: a handler that finishes in time commits', async () => {
    const id = uid('normal');
    const late = new Map<string, unknown>();
    const handler = middy<any, any, Error, UnitOfWorkContext>(plain503)
      .use(unitOfWork(uowOptions))
      .handler(putsAroundAWait(late));
    expect(await handler({ id, waitMs: 5 }, contextWithDeadline(5000))).toEqual({ statusCode: 201 });
    expect((await ordersWith(id)).length).toBe(2);
    expect(late.size).toBe(0);
  });

  it("AbortControllers of the handler (an aborted SDK call) and of a later middleware are not taken for Middy's", async () => {
    const id = uid('own');
    const ownController = {
      before: () => {
        new AbortController().abort(); // a middleware used after unitOfWork() aborting its own controller
      },
    };
    const handler = middy<any, any, Error, UnitOfWorkContext>(plain503)
      .use(unitOfWork(uowOptions))
      .use(ownController)
      .handler(async (_e, { uow }) => {
        const sdkCall = new AbortController();
        const read = doc.send(new GetCommand({ TableName: orders, Key: { pk: 'absent' } }), {
          abortSignal: sdkCall.signal,
        });
        sdkCall.abort();
        await read.catch(() => undefined);
        const other = new AbortController();
        setTimeout(() => other.abort(), 1);
        await sleep(10);
        uow.put({ TableName: orders, Item: { pk: `${id}-first` } });
        return { statusCode: 201 };
      });
    expect(await handler({}, contextWithDeadline(5000))).toEqual({ statusCode: 201 });
    expect(await getItem(doc, orders, { pk: `${id}-first` })).toBeDefined();
  });

  it('a nested middy handler that times out discards its own unit of work, not the outer one', async () => {
    const id = uid('nested');
    const inner = middy<any, any, Error, UnitOfWorkContext>(plain503)
      .use(unitOfWork(uowOptions))
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: `${id}-inner-first` } });
        await sleep(200);
        uow.put({ TableName: orders, Item: { pk: `${id}-inner` } });
        return { statusCode: 200 };
      });
    const outer = middy<any, any, Error, UnitOfWorkContext>({ timeoutEarlyInMillis: 50 })
      .use(unitOfWork(uowOptions))
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: `${id}-outer` } });
        const answer = await inner({}, contextWithDeadline(100));
        uow.put({ TableName: orders, Item: { pk: `${id}-after-inner`, status: answer.statusCode } });
        return { statusCode: 201 };
      });
    expect(await outer({}, contextWithDeadline(5000))).toEqual({ statusCode: 201 });
    expect(await getItem(doc, orders, { pk: `${id}-after-inner` })).toMatchObject({ status: 503 });
    expect(await getItem(doc, orders, { pk: `${id}-outer` })).toBeDefined();
    await sleep(200);
    expect(await getItem(doc, orders, { pk: `${id}-inner` })).toBeUndefined();
    expect(await getItem(doc, orders, { pk: `${id}-inner-first` })).toBeUndefined();
  });

  it("Middy's default early timeout (it throws TimeoutError) still discards", async () => {
    const id = uid('default');
    const late = new Map<string, unknown>();
    const handler = middy<any, any, Error, UnitOfWorkContext>({ timeoutEarlyInMillis: 50 })
      .use(unitOfWork(uowOptions))
      .handler(putsAroundAWait(late));
    await expect(handler({ id, waitMs: 250 }, contextWithDeadline(150))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    await sleep(300);
    expect(late.get(id)).toBeInstanceOf(InvalidOperationError);
    expect(await ordersWith(id)).toEqual([]);
  });
});

describe('the global AbortController stays transparent', () => {
  it('instances, subclasses, signals and statics behave as native ones', () => {
    unitOfWork(uowOptions); // installs the watch
    const native = Object.getPrototypeOf(new AbortController()).constructor as typeof AbortController;
    const controller = new AbortController();
    expect(controller).toBeInstanceOf(AbortController);
    expect(controller).toBeInstanceOf(native);
    expect(new native()).toBeInstanceOf(AbortController);
    expect(AbortController.name).toBe('AbortController');
    expect(AbortController.prototype).toBe(native.prototype);
    class Sub extends AbortController {}
    const sub = new Sub();
    expect(sub).toBeInstanceOf(Sub);
    expect(sub).toBeInstanceOf(AbortController);
    const any = AbortSignal.any([controller.signal, sub.signal]);
    let events = 0;
    controller.signal.addEventListener('abort', () => events++);
    sub.abort(new Error('why'));
    expect(any.aborted).toBe(true);
    expect(any.reason).toEqual(new Error('why'));
    controller.abort();
    expect(controller.signal.aborted).toBe(true);
    expect(events).toBe(1);
    expect(Object.prototype.toString.call(controller)).toBe('[object AbortController]');
  });
});
