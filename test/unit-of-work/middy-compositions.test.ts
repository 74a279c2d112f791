import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Writable } from 'node:stream';
import middy from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/StreamifyResponse';
import httpErrorHandler from '@middy/http-error-handler';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import validator from '@middy/validator';
import { transpileSchema } from '@middy/validator/transpile';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import {
  CommitSkippedError,
  FailedAfterCommitError,
  InvalidOperationError,
  discardOnTimeout,
  unitOfWork,
  type UnitOfWorkContext,
} from '../../lib/index.js';
import { IDEMPOTENCY_RECORD } from '../../lib/idempotency/record.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  scanAll,
} from '../support/ddb.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;
const powertools = new Logger({ serviceName: 'compositions', logLevel: 'SILENT' });

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'compose'), createTestOutboxTable(raw)]);
});

/** A Lambda context whose remaining time runs down from `ms`, as the real one does. */
function contextWithDeadline(ms: number): any {
  const deadline = Date.now() + ms;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => deadline - Date.now() };
}

const idempotencyRecords = async (): Promise<unknown[]> =>
  (await scanAll(doc, outbox)).filter((i) => i._kind === IDEMPOTENCY_RECORD.kind);

describe('early timeout (timeoutEarlyInMillis)', () => {
  /** Buffers, then keeps running past the early timeout and tries to buffer more. */
  const slowHandler =
    (id: string, late: { error?: unknown }) =>
    async (_e: unknown, { uow }: UnitOfWorkContext) => {
      uow.put({ TableName: orders, Item: { pk: `${id}-first` }, label: 'first half' });
      await sleep(250);
      try {
        uow.put({ TableName: orders, Item: { pk: `${id}-second` }, label: 'second half' });
      } catch (error) {
        late.error = error;
      }
      return { statusCode: 201 };
    };

  it('with discardOnTimeout(() => 503): answers 503, commits nothing, stores no idempotency record, refuses later operations', async () => {
    const id = uid('timeout');
    const late: { error?: unknown } = {};
    const before = (await idempotencyRecords()).length;
    const handler = middy<any, any, Error, UnitOfWorkContext>({
      timeoutEarlyInMillis: 50,
      timeoutEarlyResponse: discardOnTimeout(() => ({ statusCode: 503 })),
    })
      .use(injectLambdaContext(powertools))
      .use(httpErrorHandler({ logger: false }))
      .use(httpJsonBodyParser())
      .use(
        unitOfWork({
          outboxTable: outbox,
          client: doc,
          source: 'compose',
          logger: silent,
          idempotency: { key: (e) => e.headers['idempotency-key'] },
        }),
      )
      .handler(slowHandler(id, late));
    const event = () => ({ headers: { 'content-type': 'application/json', 'idempotency-key': id }, body: '{"a":1}' });
    expect(await handler(event(), contextWithDeadline(150))).toEqual({ statusCode: 503 });
    await sleep(300);
    expect(late.error).toBeInstanceOf(InvalidOperationError);
    expect(String((late.error as Error).message)).toContain('timed out early');
    expect(await getItem(doc, orders, { pk: `${id}-first` })).toBeUndefined();
    expect(await getItem(doc, orders, { pk: `${id}-second` })).toBeUndefined();
    expect((await idempotencyRecords()).length).toBe(before);
    // The retry runs the handler (no 503 replayed) and commits.
    const retry = middy<any, any, Error, UnitOfWorkContext>()
      .use(httpJsonBodyParser())
      .use(
        unitOfWork({
          outboxTable: outbox,
          client: doc,
          source: 'compose',
          logger: silent,
          idempotency: { key: (e) => e.headers['idempotency-key'] },
        }),
      )
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: `${id}-first` } });
        return { statusCode: 201 };
      });
    expect(await retry(event(), lambdaContext())).toEqual({ statusCode: 201 });
    expect(await getItem(doc, orders, { pk: `${id}-first` })).toBeDefined();
  });

  it("with Middy's default timeoutEarlyResponse (TimeoutError): discarded, nothing committed, later operations refused", async () => {
    const id = uid('default');
    const late: { error?: unknown } = {};
    const handler = middy<any, any, Error, UnitOfWorkContext>({ timeoutEarlyInMillis: 50 })
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .handler(slowHandler(id, late));
    await expect(handler({}, contextWithDeadline(150))).rejects.toMatchObject({ name: 'TimeoutError' });
    await sleep(300);
    expect(late.error).toBeInstanceOf(InvalidOperationError);
    expect(await getItem(doc, orders, { pk: `${id}-first` })).toBeUndefined();
  });
});

describe('early return by a middleware used after unitOfWork()', () => {
  const shortCircuit = { after: () => ({ statusCode: 200, body: 'from cache' }) };

  it('fails the invocation with CommitSkippedError instead of answering 200 without the commit; nothing written', async () => {
    const id = uid('skip');
    const plain = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .use(shortCircuit)
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        return { statusCode: 201 };
      });
    await expect(plain({}, lambdaContext())).rejects.toBeInstanceOf(CommitSkippedError);
    const http = middy<any, any, Error, UnitOfWorkContext>()
      .use(httpErrorHandler({ logger: false }))
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .use(shortCircuit)
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        return { statusCode: 201 };
      });
    expect((await http({}, lambdaContext())).statusCode).toBe(500);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('an early return with nothing buffered (a cache hit in before) passes through', async () => {
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .use({ before: () => ({ statusCode: 200, body: 'cached' }) })
      .handler(async () => ({ statusCode: 201 }));
    expect(await handler({}, lambdaContext())).toEqual({ statusCode: 200, body: 'cached' });
  });

  it('an early return used before unitOfWork() (its after runs after the commit) keeps the commit', async () => {
    const id = uid('before-us');
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(shortCircuit)
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        return { statusCode: 201 };
      });
    expect(await handler({}, lambdaContext())).toEqual({ statusCode: 200, body: 'from cache' });
    expect(await getItem(doc, orders, { pk: id })).toBeDefined();
  });
});

describe('response validation (@middy/validator responseSchema)', () => {
  const responseSchema = transpileSchema({
    type: 'object',
    required: ['statusCode', 'body'],
    properties: { statusCode: { type: 'integer' }, body: { type: 'string' } },
  });
  const invalid =
    (id: string) =>
    async (_e: unknown, { uow }: UnitOfWorkContext) => {
      uow.put({ TableName: orders, Item: { pk: id } });
      return { statusCode: 201 }; // no body: fails the response schema
    };

  it('in the documented place (after unitOfWork()): an invalid response answers 500 and nothing is committed', async () => {
    const id = uid('valid-order');
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(httpErrorHandler({ logger: false }))
      .use(httpJsonBodyParser({ disableContentTypeError: true }))
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .use(validator({ responseSchema }))
      .handler(invalid(id));
    expect((await handler({ headers: {}, body: '{}' }, lambdaContext())).statusCode).toBe(500);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('in the wrong place (before unitOfWork()): detectable, the error is FailedAfterCommitError naming the commit', async () => {
    const id = uid('wrong-order');
    let seen: unknown;
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .onError((request) => {
        seen = request.error;
      })
      .use(validator({ responseSchema }))
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .handler(invalid(id));
    await expect(handler({}, lambdaContext())).rejects.toBeInstanceOf(FailedAfterCommitError);
    expect(seen).toBeInstanceOf(FailedAfterCommitError);
    expect((seen as FailedAfterCommitError).cause).toMatchObject({ message: 'Response object failed validation' });
  });
});

describe('executionModeStreamifyResponse', () => {
  const g = globalThis as { awslambda?: unknown };
  beforeAll(() => {
    // The Lambda Node.js runtime's global; here the stream is a plain Writable.
    g.awslambda = {
      streamifyResponse: (fn: unknown) => fn,
      HttpResponseStream: { from: (stream: Writable) => stream },
    };
  });
  afterAll(() => {
    delete g.awslambda;
  });
  const sink = (): { stream: Writable; text: () => string } => {
    const chunks: Buffer[] = [];
    const stream = new Writable({ write: (c, _e, cb) => void (chunks.push(Buffer.from(c)), cb()) });
    return { stream, text: () => Buffer.concat(chunks).toString() };
  };

  it('commits before the body streams, and fails (nothing streamed as success) when the commit is skipped', async () => {
    const id = uid('stream');
    const ok = middy<any, any, Error, UnitOfWorkContext>({ executionMode: executionModeStreamifyResponse })
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        return { statusCode: 201, body: 'created' };
      });
    const out = sink();
    await (ok as any)({}, out.stream, lambdaContext());
    expect(out.text()).toBe('created');
    expect(await getItem(doc, orders, { pk: id })).toBeDefined();

    const skipped = middy<any, any, Error, UnitOfWorkContext>({ executionMode: executionModeStreamifyResponse })
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .use({ after: () => ({ statusCode: 200, body: 'early' }) })
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: `${id}-skipped` } });
        return { statusCode: 201, body: 'created' };
      });
    const out2 = sink();
    await expect((skipped as any)({}, out2.stream, lambdaContext())).rejects.toBeInstanceOf(CommitSkippedError);
    expect(out2.text()).toBe('');
    expect(await getItem(doc, orders, { pk: `${id}-skipped` })).toBeUndefined();
  });

  it('the early timeout discards under streaming too', async () => {
    const id = uid('stream-timeout');
    const handler = middy<any, any, Error, UnitOfWorkContext>({
      executionMode: executionModeStreamifyResponse,
      timeoutEarlyInMillis: 50,
      timeoutEarlyResponse: discardOnTimeout(() => ({ statusCode: 503, body: 'busy' })),
    })
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        await sleep(250);
        return { statusCode: 201, body: 'created' };
      });
    const out = sink();
    await (handler as any)({}, out.stream, contextWithDeadline(150));
    expect(out.text()).toBe('busy');
    await sleep(250);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('the early timeout discards under streaming with a plain timeoutEarlyResponse too (no discardOnTimeout)', async () => {
    const id = uid('stream-plain');
    const handler = middy<any, any, Error, UnitOfWorkContext>({
      executionMode: executionModeStreamifyResponse,
      timeoutEarlyInMillis: 50,
      timeoutEarlyResponse: () => ({ statusCode: 503, body: 'busy' }),
    })
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'compose', logger: silent }))
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: id } });
        await sleep(250);
        return { statusCode: 201, body: 'created' };
      });
    const out = sink();
    await (handler as any)({}, out.stream, contextWithDeadline(150));
    expect(out.text()).toBe('busy');
    await sleep(250);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });
});
