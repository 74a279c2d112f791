import { describe, it, expect, beforeAll } from '@jest/globals';
import middy from '@middy/core';
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CommitOutcomeUnknownError,
  ConditionFailedError,
  unitOfWork,
  withUnitOfWork,
  type UnitOfWorkContext,
} from '../../lib/index.js';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  getItem,
  lambdaContext,
  localClients,
  scanAll,
} from '../support/ddb.js';

const { raw } = localClients();
let orders: string;
let outbox: string;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'lost'), createTestOutboxTable(raw)]);
});

/** What the fault middleware does to the next TransactWriteItems: pass, throw before sending, or send and then throw (answer lost). */
type Fault = 'pass' | 'before' | 'after';

/** A fresh client whose TransactWriteItems follow `plan` (then pass); records every token sent. */
function faultyClient(
  plan: Fault[],
  lostError: () => Error = socketReset,
): { doc: DynamoDBDocumentClient; tokens: string[] } {
  const client = new DynamoDBClient({ endpoint: process.env.DYNAMODB_ENDPOINT, ...LOCAL_AWS_CONFIG });
  const tokens: string[] = [];
  client.middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const fault = plan.shift() ?? 'pass';
      if (fault === 'before') throw lostError();
      tokens.push(args.input.ClientRequestToken);
      const out = await next(args);
      if (fault === 'after') throw lostError();
      return out;
    },
    { step: 'initialize', priority: 'high', name: 'faultInjection' },
  );
  return { doc: DynamoDBDocumentClient.from(client), tokens };
}
const socketReset = (): Error => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', name: 'Error' });
const timeoutAfterSend = (): Error =>
  Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' });
const serverError = (): Error =>
  Object.assign(new Error('Internal server error'), {
    name: 'InternalServerError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });

const uid = (p: string): string => `${p}-${Math.random().toString(36).slice(2)}`;

/** The work of one commit: a conditional create (a second application fails) and a counter (a second one counts 2). */
function buffer(uow: import('../../lib/index.js').UnitOfWork, id: string, withEvent = true): void {
  uow.put({
    TableName: orders,
    Item: { pk: id },
    ConditionExpression: 'attribute_not_exists(pk)',
    label: 'create order',
  });
  uow.update({
    TableName: orders,
    Key: { pk: `${id}-count` },
    UpdateExpression: 'ADD n :one',
    ExpressionAttributeValues: { ':one': 1 },
    label: 'count',
  });
  if (withEvent) uow.publish({ type: 'OrderCreated', data: { id } });
}

describe('a commit whose answer is lost is resolved before it is reported', () => {
  it.each([
    ['socket reset', socketReset],
    ['timeout after send', timeoutAfterSend],
    ['5xx after the request was applied', serverError],
  ])('%s once: resent with the same token, reported committed, applied once', async (_name, lostError) => {
    const { doc, tokens } = faultyClient(['after'], lostError);
    const id = uid('once');
    await withUnitOfWork(async (uow) => buffer(uow, id), {
      outboxTable: outbox,
      client: doc,
      source: 'lost',
      logger: silent,
    });
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(1);
    expect(await getItem(doc, orders, { pk: `${id}-count` })).toMatchObject({ n: 1 });
  });

  it('every answer lost: the read-back of the outbox item finds it, reported committed, applied once', async () => {
    const { doc, tokens } = faultyClient(['after', 'after', 'after', 'after', 'after']);
    const id = uid('all');
    let commitId = '';
    await withUnitOfWork(
      async (uow) => {
        commitId = uow.id;
        buffer(uow, id);
      },
      { outboxTable: outbox, client: doc, source: 'lost', logger: silent },
    );
    expect(tokens.length).toBe(4);
    expect(await getItem(doc, orders, { pk: `${id}-count` })).toMatchObject({ n: 1 });
    expect(await getItem(doc, outbox, { pk: `outbox#${commitId}`, sk: 'part#001' })).toBeDefined();
  });

  it('nothing got through and nothing can be read back: CommitOutcomeUnknownError with the commit id, nothing written', async () => {
    const { doc } = faultyClient(['before', 'before', 'before', 'before']);
    const id = uid('never');
    let commitId = '';
    const error = await withUnitOfWork(
      async (uow) => {
        commitId = uow.id;
        buffer(uow, id, false);
      },
      { outboxTable: outbox, client: doc, source: 'lost', logger: silent },
    ).catch((e) => e);
    expect(error).toBeInstanceOf(CommitOutcomeUnknownError);
    expect(error.commitId).toBe(commitId);
    expect(error.message).toContain(commitId);
    expect(await getItem(doc, orders, { pk: id })).toBeUndefined();
  });

  it('a lost answer then a definite refusal on the resend reports the refusal (it did not land)', async () => {
    const { doc } = faultyClient(['before']);
    const id = uid('taken');
    await withUnitOfWork(async (uow) => uow.put({ TableName: orders, Item: { pk: id } }), {
      outboxTable: outbox,
      client: localClients().doc,
      logger: silent,
    });
    const error = await withUnitOfWork(async (uow) => buffer(uow, id), {
      outboxTable: outbox,
      client: doc,
      source: 'lost',
      logger: silent,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(ConditionFailedError);
    expect(await getItem(doc, orders, { pk: `${id}-count` })).toBeUndefined();
  });

  it('property: under random lost answers, the reported outcome never contradicts the table (seeded)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Fault>('pass', 'before', 'after'), { maxLength: 6 }),
        fc.boolean(),
        async (plan, withEvent) => {
          const { doc } = faultyClient([...plan]);
          const id = uid('prop');
          const outcome = await withUnitOfWork(async (uow) => buffer(uow, id, withEvent), {
            outboxTable: outbox,
            client: doc,
            source: 'lost',
            logger: silent,
          }).then(
            () => 'committed',
            (e) => (e instanceof CommitOutcomeUnknownError ? 'unknown' : `failed ${e.name}`),
          );
          const count = (await getItem(doc, orders, { pk: `${id}-count` }))?.n;
          if (outcome === 'committed') expect(count).toBe(1);
          else if (outcome === 'unknown') expect([undefined, 1]).toContain(count);
          else expect([outcome, count]).toEqual([outcome, undefined]);
        },
      ),
      { numRuns: 30, seed: 10_003 },
    );
  });
});

describe('the idempotency commit path resolves a lost answer too', () => {
  const idempotent = (doc: DynamoDBDocumentClient, id: string) =>
    middy<any, any, Error, UnitOfWorkContext>()
      .use(
        unitOfWork({
          outboxTable: outbox,
          client: doc,
          source: 'lost',
          logger: silent,
          idempotency: { key: (e) => e.key },
        }),
      )
      .handler(async (_e, { uow }) => {
        buffer(uow, id, false);
        return { statusCode: 201, body: id };
      });

  it('every answer lost on a writes-only idempotent commit: the record (same commit id) proves it landed; a retry replays', async () => {
    const { doc } = faultyClient(['after', 'after', 'after', 'after']);
    const id = uid('idem');
    const key = uid('key');
    const first = await idempotent(doc, id)({ key, body: '{}' }, lambdaContext());
    expect(first).toEqual({ statusCode: 201, body: id });
    const again = await idempotent(localClients().doc, uid('other'))({ key, body: '{}' }, lambdaContext());
    expect(again).toEqual(first);
    expect(await getItem(doc, orders, { pk: `${id}-count` })).toMatchObject({ n: 1 });
  });

  it('three concurrent duplicates whose answers get lost: one application, the same response for all', async () => {
    const id = uid('dup');
    const key = uid('key');
    const results = await Promise.all(
      [0, 1, 2].map(() => idempotent(faultyClient(['after', 'after']).doc, id)({ key, body: '{}' }, lambdaContext())),
    );
    for (const r of results) expect(r).toEqual({ statusCode: 201, body: id });
    const items = (await scanAll(localClients().doc, orders)).filter((i) => i.pk === `${id}-count`);
    expect(items).toEqual([expect.objectContaining({ n: 1 })]);
  });
});
