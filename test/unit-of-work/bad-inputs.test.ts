import { describe, it, expect, beforeAll } from '@jest/globals';
import fc from 'fast-check';
import { NumberValue } from '@aws-sdk/lib-dynamodb';
import {
  ConditionFailedError,
  InvalidOperationError,
  TransactionLimitError,
  UnitOfWorkError,
  withUnitOfWork,
  type UnitOfWork,
} from '../../lib/index.js';
import {
  createBusinessTable,
  createTestOutboxTable,
  localClients,
  recordTransactions,
  scanAll,
} from '../support/ddb.js';

/**
 * A catalogue of bad inputs, each against DynamoDB Local: the operation throws at the call (not at commit) a
 * typed error naming the operation label and the offending attribute path, and nothing is written, although
 * a valid Put was buffered before it in the same unit of work.
 */

const { raw, doc } = localClients();
const sent = recordTransactions(doc);
let orders: string;
let unkeyed: string;
let outbox: string;

beforeAll(async () => {
  [orders, unkeyed, outbox] = await Promise.all([
    createBusinessTable(raw, 'bad'),
    createBusinessTable(raw, 'bad-unkeyed', ['pk', 'sk']),
    createTestOutboxTable(raw),
  ]);
});

class Customer {
  constructor(readonly name: string) {}
}
class Secretive {
  #secret = 'x';
  reveal(): string {
    return this.#secret;
  }
}
const nested = (levels: number, leaf: unknown = 'x'): unknown => {
  let v: unknown = leaf;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
const deepPath = (root: string, levels: number): string => root + '.a'.repeat(levels);
const cyclic = (): Record<string, unknown> => {
  const o: Record<string, unknown> = { pk: 'c' };
  o.self = o;
  return o;
};
const throwingGetter = (): Record<string, unknown> =>
  Object.defineProperty({ pk: 'g' }, 'secret', {
    enumerable: true,
    get: () => {
      throw new Error('boom');
    },
  });
const hostileProxy = new Proxy(
  {},
  {
    ownKeys: () => {
      throw new Error('no keys');
    },
  },
);

type Case = readonly [
  name: string,
  op: (uow: UnitOfWork) => unknown,
  label: string,
  path: string,
  type?: new (...a: never[]) => Error,
];
const put =
  (Item: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  (uow: UnitOfWork) =>
    uow.put({ TableName: orders, Item, label: 'create order', ...extra } as never);
const update = (extra: Record<string, unknown>, table?: () => string) => (uow: UnitOfWork) =>
  uow.update({
    TableName: (table ?? (() => orders))(),
    Key: { pk: 'o1' },
    UpdateExpression: 'SET a = :a',
    ExpressionAttributeValues: { ':a': 1 },
    label: 'pay order',
    ...extra,
  } as never);
const publish = (input: Record<string, unknown>) => (uow: UnitOfWork) =>
  uow.publish({ type: 'OrderPlaced', data: {}, ...input } as never);
const schedule = (input: Record<string, unknown>) => (uow: UnitOfWork) =>
  uow.schedule({ job: 'expire', payload: {}, delay: 60, ...input } as never);

const CASES: readonly Case[] = [
  // values DynamoDB cannot store or the SDK changes silently
  [
    'NaN deep in a list',
    put({ pk: 'v', items: [{}, {}, { price: Number.NaN }] }),
    'create order',
    'Item.items[2].price is NaN',
  ],
  ['Infinity', put({ pk: 'v', total: Infinity }), 'create order', 'Item.total is Infinity'],
  ['-Infinity', put({ pk: 'v', total: -Infinity }), 'create order', 'Item.total is -Infinity'],
  ['symbol', put({ pk: 'v', tag: Symbol('t') }), 'create order', 'Item.tag is a symbol'],
  ['function', put({ pk: 'v', fn: () => 1 }), 'create order', 'Item.fn is a function'],
  [
    'function in a list (the SDK drops it)',
    put({ pk: 'v', list: [1, () => 1] }),
    'create order',
    'Item.list[1] is a function',
  ],
  ['symbol in a list', put({ pk: 'v', list: [Symbol('s')] }), 'create order', 'Item.list[0] is a symbol'],
  ['Date', put({ pk: 'v', createdAt: new Date() }), 'create order', 'Item.createdAt is a Date'],
  [
    'class instance',
    put({ pk: 'v', customer: new Customer('c') }),
    'create order',
    'Item.customer is a Customer instance',
  ],
  ['private fields only', put({ pk: 'v', s: new Secretive() }), 'create order', 'Item.s is a Secretive instance'],
  ['boxed string', put({ pk: 'v', s: new String('x') }), 'create order', 'Item.s is a String instance'],
  ['RegExp', put({ pk: 'v', r: /x/ }), 'create order', 'Item.r is a RegExp instance'],
  ['number below 1E-130', put({ pk: 'v', n: 1e-131 }), 'create order', 'Item.n is 1e-131, smaller than'],
  ['denormal number', put({ pk: 'v', n: 5e-324 }), 'create order', 'Item.n is 5e-324, smaller'],
  ['huge double', put({ pk: 'v', n: 1e300 }), 'create order', 'Item.n is 1e+300, beyond Number.MAX_SAFE_INTEGER'],
  ['imprecise integer', put({ pk: 'v', n: 2 ** 60 }), 'create order', 'Item.n is 1152921504606847000, beyond'],
  [
    'bigint of 39 digits',
    put({ pk: 'v', n: 123456789012345678901234567890123456789n }),
    'create order',
    'Item.n is 123456789012345678901234567890123456789, with 39 significant digits',
  ],
  [
    'bigint beyond 1E+126',
    put({ pk: 'v', n: 10n ** 126n }),
    'create order',
    `Item.n is 1${'0'.repeat(126)}, beyond DynamoDB's largest`,
  ],
  [
    'NumberValue of 39 digits',
    put({ pk: 'v', n: NumberValue.from('1.23456789012345678901234567890123456789') }),
    'create order',
    'Item.n is 1.23456789012345678901234567890123456789, with 39',
  ],
  [
    'NumberValue beyond range',
    put({ pk: 'v', n: NumberValue.from('1E+126') }),
    'create order',
    'Item.n is 1E+126, beyond',
  ],
  [
    'NumberValue not a number',
    put({ pk: 'v', n: NumberValue.from('12abc') }),
    'create order',
    'Item.n is "12abc", not a decimal number',
  ],
  ['empty set', put({ pk: 'v', tags: new Set() }), 'create order', 'Item.tags is an empty Set'],
  ['mixed set', put({ pk: 'v', tags: new Set(['a', 1]) }), 'create order', 'Item.tags mixes string and number'],
  [
    'set of objects',
    put({ pk: 'v', tags: new Set([{}]) }),
    'create order',
    'Item.tags<element 0> is a Object instance',
  ],
  [
    'number set with equal numbers',
    put({ pk: 'v', ns: new Set([1, 1n]) }),
    'create order',
    'Item.ns holds the number 1 twice',
  ],
  ['NaN in a number set', put({ pk: 'v', ns: new Set([1, Number.NaN]) }), 'create order', 'Item.ns<element 1> is NaN'],
  ['throwing getter', put(throwingGetter()), 'create order', 'Item.secret could not be read: boom'],
  ['throwing getter, nested', put({ pk: 'v', a: throwingGetter() }), 'create order', 'Item.a.secret could not be read'],
  ['proxy whose keys throw', put({ pk: 'v', p: hostileProxy }), 'create order', 'Item.p could not be read: no keys'],
  ['cycle', put(cyclic()), 'create order', 'Item.self refers back'],
  ['cycle through a list', put({ pk: 'v', list: [cyclic()] }), 'create order', 'Item.list[0].self refers back'],
  [
    'nesting of 32 levels',
    put({ pk: 'v', deep: nested(32) }),
    'create order',
    `${deepPath('Item.deep', 31)} is nested deeper than DynamoDB's 32 levels`,
  ],
  [
    'nesting of 5000 levels (no stack overflow)',
    put({ pk: 'v', deep: nested(5000) }),
    'create order',
    `${deepPath('Item.deep', 31)} is nested deeper`,
  ],
  ['undefined attribute', put({ pk: 'v', note: undefined }), 'create order', 'Item.note is undefined'],
  ['undefined nested', put({ pk: 'v', a: { b: undefined } }), 'create order', 'Item.a.b is undefined'],
  ['undefined in a list', put({ pk: 'v', list: [1, undefined] }), 'create order', 'Item.list[1] is undefined'],
  ['empty attribute name', put({ pk: 'v', '': 1 }), 'create order', 'Item has an empty attribute name'],
  ['empty nested attribute name', put({ pk: 'v', m: { '': 1 } }), 'create order', 'Item.m has an empty attribute name'],
  [
    'odd attribute name in the path',
    put({ pk: 'v', 'line items': [Number.NaN] }),
    'create order',
    'Item["line items"][0] is NaN',
  ],
  // keys
  ['Put without the key attribute', put({ id: 'v' }), 'create order', 'Item lacks the key attribute "pk"'],
  ['Put with an empty-string key', put({ pk: '' }), 'create order', 'Item.pk is an empty string'],
  ['Put with a map as key', put({ pk: { a: 1 } }), 'create order', 'Item.pk is a map'],
  ['Put with a boolean key', put({ pk: true }), 'create order', 'Item.pk is boolean'],
  ['Update with a missing key attribute', update({ Key: { id: 'o1' } }), 'pay order', 'missing pk; extra id'],
  ['Update with an extra key attribute', update({ Key: { pk: 'o1', sk: 'x' } }), 'pay order', 'extra sk'],
  [
    'Update of the outbox table without its sort key',
    update({ Key: { pk: 'o1' } }, () => outbox),
    'pay order',
    'missing sk',
  ],
  [
    'Delete with an empty key',
    (uow) => uow.delete({ TableName: orders, Key: { pk: '' }, label: 'remove order' }),
    'remove order',
    'Key.pk is an empty string',
  ],
  [
    'Delete with three key attributes',
    (uow) => uow.delete({ TableName: unkeyed, Key: { pk: 'a', sk: 'b', x: 'c' }, label: 'remove line' }),
    'remove line',
    'Key has 3 attributes',
  ],
  [
    'ConditionCheck with a null key',
    (uow) =>
      uow.conditionCheck({
        TableName: unkeyed,
        Key: { pk: null, sk: 'b' },
        ConditionExpression: 'attribute_exists(pk)',
        label: 'check line',
      }),
    'check line',
    'Key.pk is null',
  ],
  [
    'Key with empty binary',
    (uow) => uow.delete({ TableName: unkeyed, Key: { pk: new Uint8Array(0), sk: 'b' }, label: 'remove line' }),
    'remove line',
    'Key.pk is empty binary',
  ],
  [
    'Key with a list',
    (uow) => uow.delete({ TableName: unkeyed, Key: { pk: ['a'], sk: 'b' }, label: 'remove line' }),
    'remove line',
    'Key.pk is a list',
  ],
  [
    'Key with NaN',
    (uow) => uow.delete({ TableName: unkeyed, Key: { pk: Number.NaN, sk: 'b' }, label: 'remove line' }),
    'remove line',
    'Key.pk is NaN',
  ],
  // expressions
  [
    ':value used, not defined',
    update({ UpdateExpression: 'SET a = :a, b = :b' }),
    'pay order',
    'uses :b, which ExpressionAttributeValues does not define',
  ],
  [
    '#name used, not defined',
    update({ UpdateExpression: 'SET #a = :a' }),
    'pay order',
    'uses #a, which ExpressionAttributeNames does not define',
  ],
  [
    ':value defined, unused',
    update({ ExpressionAttributeValues: { ':a': 1, ':z': 2 } }),
    'pay order',
    'defines :z, which no expression uses',
  ],
  [
    '#name defined, unused',
    update({ ExpressionAttributeNames: { '#z': 'z' } }),
    'pay order',
    'defines #z, which no expression uses',
  ],
  [
    'reserved word in an update',
    update({ UpdateExpression: 'SET status = :a' }),
    'pay order',
    'reserved word "status"',
  ],
  [
    'reserved word in a condition',
    update({ ConditionExpression: 'attribute_exists(name)' }),
    'pay order',
    'reserved word "name"',
  ],
  ['reserved word after a dot', update({ UpdateExpression: 'SET a.size = :a' }), 'pay order', 'reserved word "size"'],
  [
    'reserved word, lower case, in a list index path',
    update({ UpdateExpression: 'SET a[0].value = :a' }),
    'pay order',
    'reserved word "value"',
  ],
  [
    'unknown function',
    update({ UpdateExpression: 'SET a = increment(:a)' }),
    'pay order',
    'increment(), which is not a DynamoDB function',
  ],
  [
    'empty ExpressionAttributeValues',
    update({ UpdateExpression: 'REMOVE a', ExpressionAttributeValues: {} }),
    'pay order',
    'ExpressionAttributeValues is empty',
  ],
  [
    'value placeholder without a colon',
    update({ ExpressionAttributeValues: { ':a': 1, b: 2 } }),
    'pay order',
    'ExpressionAttributeValues key "b" must start with ":"',
  ],
  [
    'empty attribute name placeholder',
    update({ UpdateExpression: 'SET #a = :a', ExpressionAttributeNames: { '#a': '' } }),
    'pay order',
    'ExpressionAttributeNames["#a"] must be a non-empty',
  ],
  ['stray character', update({ UpdateExpression: 'SET a = :a;' }), 'pay order', 'unexpected character ";"'],
  [
    'NaN expression value',
    update({ ExpressionAttributeValues: { ':a': Number.NaN } }),
    'pay order',
    'ExpressionAttributeValues[":a"] is NaN',
  ],
  [
    'undefined expression value',
    update({ ExpressionAttributeValues: { ':a': undefined } }),
    'pay order',
    'ExpressionAttributeValues[":a"] is undefined',
  ],
  [
    'Put with values but no condition',
    put({ pk: 'v' }, { ExpressionAttributeValues: { ':x': 1 } }),
    'create order',
    'defines :x, which no expression uses',
  ],
  [
    'condition that is not a string',
    put({ pk: 'v' }, { ConditionExpression: 42 }),
    'create order',
    'ConditionExpression must be a non-empty string',
  ],
  [
    'ReturnValuesOnConditionCheckFailure ALL_NEW',
    put({ pk: 'v' }, { ReturnValuesOnConditionCheckFailure: 'ALL_NEW' }),
    'create order',
    'ReturnValuesOnConditionCheckFailure must be ALL_OLD or NONE',
  ],
  [
    'ReturnValues in a transaction',
    put({ pk: 'v' }, { ReturnValues: 'ALL_OLD' }),
    'create order',
    'ReturnValues is not allowed',
  ],
  [
    'table name too short',
    (uow) => uow.put({ TableName: 'ab', Item: { pk: 'v' }, label: 'create order' }),
    'create order',
    'TableName must be a table name',
  ],
  // events PutEvents could never accept
  [
    'type over 128 characters',
    publish({ type: 'T'.repeat(129) }),
    'publish(',
    'type is 129 characters',
    InvalidOperationError,
  ],
  [
    'source over 256 characters',
    publish({ source: 's'.repeat(257) }),
    'publish(OrderPlaced)',
    'source is 257 characters',
  ],
  [
    'source in the aws. namespace',
    publish({ source: 'aws.orders' }),
    'publish(OrderPlaced)',
    'source "aws.orders" starts with "aws."',
  ],
  ['subject not a string', publish({ subject: 42 }), 'publish(OrderPlaced)', 'subject must be a string, not number'],
  ['id empty', publish({ id: '' }), 'publish(OrderPlaced)', 'id must be a non-empty string'],
  [
    'data NaN',
    publish({ data: { items: [{ price: Number.NaN }] } }),
    'publish(OrderPlaced)',
    'data.items[0].price is NaN',
  ],
  ['data BigInt', publish({ data: { n: 1n } }), 'publish(OrderPlaced)', 'data.n is a BigInt'],
  [
    'data integer beyond 64 bits',
    publish({ data: { n: 2 ** 64 } }),
    'publish(OrderPlaced)',
    'data.n is 18446744073709552000, an integer beyond 64 bits',
  ],
  [
    'data class instance with private fields',
    publish({ data: { s: new Secretive() } }),
    'publish(OrderPlaced)',
    'data.s is a Secretive instance',
  ],
  ['data Map', publish({ data: { m: new Map([['a', 1]]) } }), 'publish(OrderPlaced)', 'data.m is a Map'],
  ['data cycle', publish({ data: cyclic() }), 'publish(OrderPlaced)', 'data.self refers back'],
  ['data undefined', publish({ data: undefined }), 'publish(OrderPlaced)', 'data is undefined'],
  ['data undefined in a list', publish({ data: [1, undefined] }), 'publish(OrderPlaced)', 'data[1] is undefined'],
  [
    'data getter that throws',
    publish({ data: throwingGetter() }),
    'publish(OrderPlaced)',
    'data.secret could not be read',
  ],
  [
    'data toJSON that throws',
    publish({
      data: {
        d: {
          toJSON() {
            throw new Error('nope');
          },
        },
      },
    }),
    'publish(OrderPlaced)',
    'data.d threw in toJSON(): nope',
  ],
  [
    'data nested past EventBridge',
    publish({ data: nested(1000) }),
    'publish(OrderPlaced)',
    'is nested deeper than 990 levels',
  ],
  [
    'detail over the entry limit',
    publish({ data: { blob: 'x'.repeat(256 * 1024) } }),
    'publish(OrderPlaced)',
    'PutEvents entry would be',
    TransactionLimitError,
  ],
  // schedules the Scheduler cannot take
  [
    'at after 2199',
    schedule({ delay: undefined, at: '2200-01-01T00:00:00Z' }),
    'schedule(expire)',
    'at 2200-01-01T00:00:00.000Z is after',
  ],
  [
    'at not a date',
    schedule({ delay: undefined, at: 'tomorrow' }),
    'schedule(expire)',
    'at "tomorrow" is not a valid date',
  ],
  [
    'at an invalid Date',
    schedule({ delay: undefined, at: new Date(Number.NaN) }),
    'schedule(expire)',
    'at is an invalid Date',
  ],
  [
    'delay beyond any date (was RangeError)',
    schedule({ delay: 1e20 }),
    'schedule(expire)',
    'delay 100000000000000000000 seconds runs after',
  ],
  ['delay negative', schedule({ delay: -1 }), 'schedule(expire)', 'delay -1 must be a number of seconds'],
  ['delay NaN', schedule({ delay: Number.NaN }), 'schedule(expire)', 'delay NaN must be'],
  [
    'timezone not a string',
    schedule({ delay: undefined, cron: '0 12 * * ? *', timezone: 5 }),
    'schedule(expire)',
    'timezone must be a string',
  ],
  ['payload NaN', schedule({ payload: { x: [Number.NaN] } }), 'schedule(expire)', 'payload.x[0] is NaN'],
  [
    'payload nested too deep',
    schedule({ payload: nested(2000) }),
    'schedule(expire)',
    'is nested deeper than 990 levels',
  ],
  [
    'payload class instance',
    schedule({ payload: new Customer('c') }),
    'schedule(expire)',
    'payload is a Customer instance',
  ],
];

async function attempt(op: (uow: UnitOfWork) => unknown): Promise<unknown> {
  let atCall: unknown;
  const outcome = withUnitOfWork(
    async (uow) => {
      uow.put({ TableName: orders, Item: { pk: `valid-${Math.random()}` }, label: 'valid first write' });
      try {
        op(uow);
      } catch (error) {
        atCall = error;
        throw error;
      }
    },
    { outboxTable: outbox, client: doc, source: 'bad-inputs', tableKeys: { [orders]: ['pk'] } },
  );
  const settled = await outcome.then(
    () => 'committed',
    (error: unknown) => error,
  );
  expect(atCall).toBeDefined();
  expect(settled).toBe(atCall);
  return atCall;
}

describe(`bad inputs (${CASES.length} cases): refused at the call, offender named, nothing written`, () => {
  it('has at least 70 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(70));

  it.each(CASES.map((c) => [c[0], c] as const))('%s', async (_name, [, op, label, path, type]) => {
    const before = sent.inputs.length;
    const tables = [orders, unkeyed, outbox];
    const itemsBefore = await Promise.all(tables.map((t) => scanAll(doc, t)));
    const error = (await attempt(op)) as Error;
    expect(error).toBeInstanceOf(type ?? InvalidOperationError);
    expect(error.message).toContain(label);
    expect(error.message).toContain(path);
    expect(sent.inputs.length).toBe(before);
    expect(await Promise.all(tables.map((t) => scanAll(doc, t)))).toEqual(itemsBefore);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Properties: random JSON-ish values with one injected bad leaf are refused with its path; valid values
// commit and read back unchanged; nothing (fc.anything) ever crashes with an untyped error.

const SEED = 20261201;
const identifierKey = fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,5}$/);
const oddKey = fc.constantFrom('line items', 'x-y', '0', 'é');
const memberKey = fc.oneof({ weight: 4, arbitrary: identifierKey }, { weight: 1, arbitrary: oddKey });
const validLeaf = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.integer().map((n) => n / 1000),
  fc.boolean(),
  fc.constant(null),
);
const validTree: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    validLeaf,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(memberKey, tie('node'), { maxKeys: 3 }),
  ),
})).node;
type Step =
  | { readonly index: number; readonly siblings: unknown[] }
  | { readonly key: string; readonly siblings: Record<string, unknown> };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ index: fc.nat(2), siblings: fc.array(validTree, { minLength: 3, maxLength: 3 }) }),
  fc.record({ key: memberKey, siblings: fc.dictionary(memberKey, validTree, { maxKeys: 2 }) }),
);
/** Builds a value holding `leaf` at the end of `steps`, and the path the library must name for it. */
function inject(root: string, steps: readonly Step[], leaf: unknown): { value: unknown; path: string } {
  let value = leaf;
  for (const s of [...steps].reverse()) {
    if ('index' in s) value = [...s.siblings.slice(0, s.index), value];
    else value = { ...Object.fromEntries(Object.entries(s.siblings).filter(([k]) => k !== s.key)), [s.key]: value };
  }
  const path = steps.reduce(
    (p, s) =>
      'index' in s
        ? `${p}[${s.index}]`
        : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s.key)
          ? `${p}.${s.key}`
          : `${p}[${JSON.stringify(s.key)}]`,
    root,
  );
  return { value, path };
}
const ITEM_BAD_LEAVES: readonly [unknown, string][] = [
  [Number.NaN, 'is NaN'],
  [Infinity, 'is Infinity'],
  [Symbol('s'), 'is a symbol'],
  [() => 1, 'is a function'],
  [new Date(0), 'is a Date'],
  [undefined, 'is undefined'],
  [new Customer('c'), 'is a Customer instance'],
  [new Set(), 'is an empty Set'],
  [1e-200, 'is 1e-200, smaller'],
];
const JSON_BAD_LEAVES: readonly [unknown, string][] = [
  [Number.NaN, 'is NaN'],
  [-Infinity, 'is -Infinity'],
  [Symbol('s'), 'is a symbol'],
  [() => 1, 'is a function'],
  [1n, 'is a BigInt'],
  [new Map(), 'is a Map'],
  [new Secretive(), 'is a Secretive instance'],
];

describe('properties (fast-check, seeded)', () => {
  it('an item with one bad leaf anywhere is refused at the call, naming its path; nothing is written', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 5 }),
        fc.constantFrom(...ITEM_BAD_LEAVES),
        async (steps, [leaf, problem]) => {
          const { value, path } = inject('Item.v', steps, leaf);
          const error = (await attempt((uow) =>
            uow.put({ TableName: orders, Item: { pk: 'p', v: value }, label: 'random put' }),
          )) as Error;
          expect(error).toBeInstanceOf(InvalidOperationError);
          expect(error.message).toContain(`random put: ${path} ${problem}`);
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
    expect(await scanAll(doc, outbox)).toEqual([]);
  });

  it('event data with one bad leaf anywhere is refused at the call, naming its path', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 5 }),
        fc.constantFrom(...JSON_BAD_LEAVES),
        async (steps, [leaf, problem]) => {
          const { value, path } = inject('data', steps, leaf);
          const caught = await attempt((uow) => uow.publish({ type: 'Random', data: value }));
          expect(caught).toBeInstanceOf(InvalidOperationError);
          expect((caught as Error).message).toContain(
            `publish(Random): data is not deliverable JSON: ${path} ${problem}`,
          );
        },
      ),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('valid items and event data commit and read back unchanged', async () => {
    const attributeValue = fc.oneof(
      validTree,
      fc.uniqueArray(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 4 }).map((a) => new Set(a)),
      fc.uniqueArray(fc.integer(), { minLength: 1, maxLength: 4 }).map((a) => new Set(a)),
      fc.uint8Array({ maxLength: 8 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          identifierKey.filter((k) => k !== 'pk'),
          attributeValue,
          { maxKeys: 4 },
        ),
        validTree,
        async (attributes, data) => {
          const pk = `rt-${Math.random()}`;
          const item = { ...attributes, pk };
          const expected = structuredClone(item);
          await withUnitOfWork(
            async (uow) => {
              uow.put({ TableName: orders, Item: item, label: 'round trip' });
              uow.publish({ type: 'RoundTrip', data });
            },
            { outboxTable: outbox, client: doc, source: 'p' },
          );
          const stored = (await scanAll(doc, orders)).find((i) => i.pk === pk);
          expect(stored).toEqual(expected);
          const outboxItems = await scanAll(doc, outbox);
          const events = outboxItems
            .filter((o) => typeof o.messages === 'string')
            .flatMap((o) => JSON.parse(o.messages as string) as { event?: { type: string; data: unknown } }[]);
          expect(
            events.some((m) => m.event?.type === 'RoundTrip' && JSON.stringify(m.event.data) === JSON.stringify(data)),
          ).toBe(true);
        },
      ),
      { seed: SEED, numRuns: 30 },
    );
  });

  it('no input of any shape crashes with an untyped error; what is accepted commits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.anything({
          withBigInt: true,
          withDate: true,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withNullPrototype: true,
          withBoxedValues: true,
          withSparseArray: true,
        }),
        fc.nat(12),
        async (value, where) => {
          const pk = `any-${Math.random()}`;
          const ops: ((uow: UnitOfWork) => unknown)[] = [
            (uow) => uow.put({ TableName: orders, Item: { pk, v: value }, label: 'any put' }),
            (uow) => uow.put({ TableName: orders, Item: value as never, label: 'any item' }),
            (uow) =>
              uow.update({
                TableName: orders,
                Key: { pk },
                UpdateExpression: 'SET v = :v',
                ExpressionAttributeValues: { ':v': value },
                label: 'any update',
              }),
            (uow) => uow.publish({ type: 'Any', data: value }),
            (uow) => uow.schedule({ job: 'any', payload: value, delay: 60 }),
            (uow) => uow.schedule({ job: 'any', payload: null, at: value as never }),
            (uow) =>
              uow.schedule({
                job: value as never,
                payload: null,
                delay: 1,
                key: value as never,
                maxAttempts: value as never,
              }),
            (uow) => uow.cancelJob(value as never),
            (uow) => uow.rescheduleJob(value as never, value as never),
            (uow) =>
              uow.publish({
                type: value as never,
                data: null,
                source: value as never,
                subject: value as never,
                id: value as never,
              }),
            (uow) => uow.put({ TableName: value as never, Item: { pk }, label: value as never }),
            (uow) => uow.put(value as never),
            (uow) =>
              uow.delete({
                TableName: orders,
                Key: value as never,
                ConditionExpression: value as never,
                label: 'any delete',
              }),
          ];
          let refused: unknown;
          const outcome = await withUnitOfWork(
            async (uow) => {
              try {
                ops[where]!(uow);
              } catch (error) {
                refused = error;
              }
            },
            { outboxTable: outbox, client: doc, source: 'p', tableKeys: { [orders]: ['pk'] } },
          ).then(
            () => 'ok',
            (error: unknown) => error,
          );
          if (refused !== undefined) expect(refused).toBeInstanceOf(UnitOfWorkError);
          // cancelJob/rescheduleJob of a job that does not exist fail their condition at commit, as documented.
          if (outcome instanceof ConditionFailedError && (where === 7 || where === 8)) return;
          expect(outcome).toBe('ok');
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// What commits is what was validated; DynamoDB's own refusals name the operation; an unkeyed Put's key.

describe('snapshots, DynamoDB refusals and unknown keys', () => {
  const opts = () => ({ outboxTable: outbox, client: doc, source: 'snap' });

  it('a mutation after the call changes nothing that commits (item, expression values, event data)', async () => {
    const pk = `snap-${Math.random()}`;
    const item: Record<string, any> = { pk, total: 10, lines: [{ sku: 'a', qty: 1 }] };
    const values: Record<string, any> = { ':n': { note: 'first' } };
    const data: Record<string, any> = { orderId: pk, lines: ['a'] };
    await withUnitOfWork(async (uow) => {
      uow.put({ TableName: orders, Item: item, label: 'create order' });
      uow.update({
        TableName: unkeyed,
        Key: { pk, sk: 'x' },
        UpdateExpression: 'SET n = :n',
        ExpressionAttributeValues: values,
        label: 'note',
      });
      uow.publish({ type: 'Snap', data });
      item.total = Number.NaN; // would be refused, and must not reach DynamoDB
      item.lines[0].qty = 99;
      item.blob = 'x'.repeat(500 * 1024); // would oversize the item
      values[':n'].note = 'changed';
      data.lines.push('changed');
    }, opts());
    expect((await scanAll(doc, orders)).find((i) => i.pk === pk)).toEqual({
      pk,
      total: 10,
      lines: [{ sku: 'a', qty: 1 }],
    });
    expect((await scanAll(doc, unkeyed)).find((i) => i.pk === pk)).toEqual({ pk, sk: 'x', n: { note: 'first' } });
    const messages = (await scanAll(doc, outbox))
      .filter((o) => typeof o.messages === 'string')
      .flatMap((o) => JSON.parse(o.messages as string) as { event?: { type: string; data: any } }[]);
    expect(messages.find((m) => m.event?.type === 'Snap' && m.event.data.orderId === pk)?.event?.data).toEqual({
      orderId: pk,
      lines: ['a'],
    });
  });

  it("DynamoDB's ValidationException on commit names the operation and its table", async () => {
    const failure = withUnitOfWork(async (uow) => {
      uow.put({ TableName: orders, Item: { pk: 42 }, label: 'numeric key' }); // the table's key is a string
    }, opts());
    await expect(failure).rejects.toMatchObject({
      name: 'CommitFailedError',
      operations: [{ label: 'numeric key', table: orders }],
    });
    await expect(failure).rejects.toThrow(`"numeric key" (table ${orders}): ValidationError`);
  });

  it('a ValidationException without a position names the operation its message points at', async () => {
    const { doc: refusing } = localClients();
    refusing.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
        throw Object.assign(
          new Error(`One or more parameter values were invalid: Type mismatch for key pk in table ${unkeyed}`),
          { name: 'ValidationException', $fault: 'client' },
        );
      },
      { step: 'finalizeRequest', name: 'validation-exception' },
    );
    const failure = withUnitOfWork(
      async (uow) => {
        uow.put({ TableName: orders, Item: { pk: `ok-${Math.random()}` }, label: 'fine write' });
        uow.update({
          TableName: unkeyed,
          Key: { pk: 1, sk: 'x' },
          UpdateExpression: 'SET a = :a',
          ExpressionAttributeValues: { ':a': 1 },
          label: 'odd write',
        });
      },
      { ...opts(), client: refusing },
    );
    await expect(failure).rejects.toMatchObject({
      name: 'CommitFailedError',
      operations: [{ label: 'odd write', table: unkeyed }],
    });
    await expect(failure).rejects.toThrow(`DynamoDB refused "odd write" (table ${unkeyed}): ValidationException`);
  });

  it('a failed Put on a table of unknown key names its key from the condition, without DescribeTable', async () => {
    const described: string[] = [];
    const { doc: denied } = localClients();
    denied.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DescribeTableCommand') {
          described.push(context.commandName);
          throw Object.assign(new Error('not authorized to perform dynamodb:DescribeTable'), {
            name: 'AccessDeniedException',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'deny-describe-table' },
    );
    const pk = `dup-${Math.random()}`;
    const create = (label: string) =>
      withUnitOfWork(
        async (uow) => {
          uow.put({
            TableName: unkeyed,
            Item: { pk, sk: 'line', qty: 1 },
            ConditionExpression: 'attribute_not_exists(#pk) AND attribute_not_exists(sk)',
            ExpressionAttributeNames: { '#pk': 'pk' },
            label,
          });
        },
        { ...opts(), client: denied },
      );
    await create('first line');
    await expect(create('second line')).rejects.toMatchObject({
      name: 'ConditionFailedError',
      label: 'second line',
      table: unkeyed,
      key: { pk, sk: 'line' },
    });
    expect(described).toEqual([]);
  });
});
