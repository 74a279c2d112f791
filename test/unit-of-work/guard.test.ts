import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EscapedWriteError, guardClient, unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { createBusinessTable, createTestOutboxTable, getItem, lambdaContext, localClients } from '../support/ddb.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'guard'), createTestOutboxTable(raw)]);
});

/** A service that makes its own client (its own "scope"), as seed 003's pitfall does. */
function nestedService(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG }),
  );
}

describe('guardClient refuses direct writes until the ambient unit of work is committed', () => {
  const guarded = guardClient(
    DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG })),
  );

  it('a failed invocation does not write: a write landing after the handler threw (discarded) is refused', async () => {
    const id = uid('late');
    let late: Promise<unknown> | undefined;
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent }))
      .handler(async () => {
        late = (async () => {
          await sleep(30);
          await guarded.send(new PutCommand({ TableName: orders, Item: { pk: id } }));
        })();
        late.catch(() => undefined);
        throw new Error('handler fails');
      });
    await expect(handler({}, lambdaContext())).rejects.toThrow('handler fails');
    await expect(late).rejects.toBeInstanceOf(EscapedWriteError);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('a write while the commit fails (failed) is refused; after a commit (onCommitted) it passes', async () => {
    const [failed, after] = [uid('failed'), uid('after')];
    let late: Promise<unknown> | undefined;
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent }))
      .handler(async (_e, { uow }) => {
        uow.update({
          TableName: orders,
          Key: { pk: uid('missing') },
          UpdateExpression: 'SET a = :a',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':a': 1 },
        });
        late = (async () => {
          await sleep(300);
          await guarded.send(new PutCommand({ TableName: orders, Item: { pk: failed } }));
        })();
        late.catch(() => undefined);
      });
    await expect(handler({}, lambdaContext())).rejects.toThrow('Condition failed');
    await expect(late).rejects.toBeInstanceOf(EscapedWriteError);
    const ok = middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, logger: silent }))
      .handler(async (_e, { uow }) => {
        uow.put({ TableName: orders, Item: { pk: `${after}-buffered` } });
        uow.onCommitted(() => guarded.send(new PutCommand({ TableName: orders, Item: { pk: after } })));
      });
    await ok({}, lambdaContext());
    expect(await getItem(doc, orders, { pk: after })).toBeDefined();
    expect(await getItem(doc, orders, { pk: failed })).toBeUndefined();
  });
});

describe("strict mode: unitOfWork({ guard: 'process' })", () => {
  it('a nested service with its own client cannot write inside a unit of work; it can read; the commit passes; outside, writes pass', async () => {
    const [id, escaped, outside] = [uid('strict'), uid('escaped'), uid('outside')];
    const errors: unknown[] = [];
    const handler = middy<any, any, Error, UnitOfWorkContext>()
      .use(
        unitOfWork({
          outboxTable: outbox,
          client: doc,
          logger: silent,
          guard: 'process',
          idempotency: { key: (e) => e.key },
        }),
      )
      .handler(async (_e, { uow }) => {
        const own = nestedService();
        const rawOwn = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG });
        for (const send of [
          () => own.send(new PutCommand({ TableName: orders, Item: { pk: escaped } })),
          () =>
            own.send(
              new UpdateCommand({
                TableName: orders,
                Key: { pk: escaped },
                UpdateExpression: 'SET a = :a',
                ExpressionAttributeValues: { ':a': 1 },
              }),
            ),
          () => rawOwn.send(new PutItemCommand({ TableName: orders, Item: { pk: { S: escaped } } })),
        ])
          await send().catch((e) => errors.push(e));
        expect(await own.send(new GetCommand({ TableName: orders, Key: { pk: id } }))).toBeDefined();
        uow.put({ TableName: orders, Item: { pk: id } });
        return 'ok';
      });
    expect(await handler({ key: uid('k') }, lambdaContext())).toBe('ok');
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e).toBeInstanceOf(EscapedWriteError);
    expect(await getItem(doc, orders, { pk: id })).toBeDefined();
    expect(await getItem(doc, orders, { pk: escaped })).toBeUndefined();
    await nestedService().send(new PutCommand({ TableName: orders, Item: { pk: outside } }));
    expect(await getItem(doc, orders, { pk: outside })).toBeDefined();
  });
});
