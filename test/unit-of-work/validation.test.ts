import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ConfigurationError,
  InvalidOperationError,
  TransactionConflictError,
  TransactionLimitError,
  unitOfWork,
  withUnitOfWork,
} from '../../lib/index.js';
import { scheduleNameFor } from '../../lib/jobs/index.js';
import { commitUnitOfWork } from '../../lib/unit-of-work/commit.js';
import { UnitOfWork } from '../../lib/unit-of-work/unit-of-work.js';
import { resolveSettings } from '../../lib/unit-of-work/settings.js';
import { encodeOutboxItems } from '../../lib/outbox/encode.js';
import { decodeOutboxItem } from '../../lib/outbox/decode.js';
import type { CloudEvent, OutboxMessage } from '../../lib/outbox/messages.js';
import { toPutEventsEntry } from '../../lib/dispatch/map.js';
import { putEventsEntrySize } from '../../lib/outbox/put-events-size.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A unit of work whose client refuses to send: every check below must happen before DynamoDB. */
function offlineUow(extra: Record<string, unknown> = {}): { uow: UnitOfWork; sent: () => number } {
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
  );
  const mock = mockClient(doc);
  mock.on(TransactWriteCommand).resolves({});
  const uow = new UnitOfWork(
    resolveSettings({ outboxTable: 'outbox-table', client: doc, source: 'test', logger: silent, ...extra }, 'test'),
  );
  return { uow, sent: () => mock.commandCalls(TransactWriteCommand).length };
}

const expectError = (fn: () => unknown, type: new (...a: any[]) => Error, message: RegExp): void => {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toMatch(message);
};

describe('options', () => {
  it('names unknown option keys and a missing outboxTable when the middleware is created', () => {
    const saved = process.env.UOW_OUTBOX_TABLE;
    delete process.env.UOW_OUTBOX_TABLE;
    try {
      expectError(
        () => unitOfWork({ outboxTable: 'abc', outboxTabel: 'x' } as never),
        ConfigurationError,
        /unknown option "outboxTabel"/,
      );
      expectError(() => unitOfWork({}), ConfigurationError, /unitOfWork\(options\): "outboxTable" is required/);
      expectError(
        () => unitOfWork({ outboxTable: 'abc', retentionSeconds: -1 }),
        ConfigurationError,
        /retentionSeconds/,
      );
      process.env.UOW_OUTBOX_TABLE = 'from-env';
      expect(() => unitOfWork({})).not.toThrow();
    } finally {
      if (saved === undefined) delete process.env.UOW_OUTBOX_TABLE;
      else process.env.UOW_OUTBOX_TABLE = saved;
    }
  });
  it('rejects a bad propagation', async () => {
    await expect(withUnitOfWork(async () => 1, { propagation: 'sometimes' as never })).rejects.toThrow(
      /propagation must be one of/,
    );
  });
});

describe('write inputs', () => {
  it('rejects keys a transaction action cannot take, naming the label', () => {
    const { uow } = offlineUow();
    expectError(
      () =>
        uow.put({ TableName: 'orders', Item: { pk: '1' }, ReturnValues: 'ALL_OLD', label: 'create order' } as never),
      InvalidOperationError,
      /^create order: ReturnValues is not allowed in a transaction Put/,
    );
    expectError(
      () => uow.update({ TableName: 'orders', Key: { pk: '1' } } as never),
      InvalidOperationError,
      /update orders: UpdateExpression is required/,
    );
    expectError(() => uow.delete({ TableName: 'orders' } as never), InvalidOperationError, /Key must be an object/);
  });

  it('refuses a second operation on one item at the second call, naming both labels and the key', () => {
    const { uow } = offlineUow();
    uow.update({
      TableName: 'orders',
      Key: { pk: 'o1' },
      UpdateExpression: 'SET a = :a',
      ExpressionAttributeValues: { ':a': 1 },
      label: 'pay order',
    });
    expectError(
      () => uow.delete({ TableName: 'orders', Key: { pk: 'o1' }, label: 'remove order' }),
      InvalidOperationError,
      /^remove order: "pay order" already writes this item \(table orders, key \{pk=o1\}\)/,
    );
  });

  it('learns a table key from a later Update and then refuses the earlier Put on the same item', () => {
    const { uow } = offlineUow();
    uow.put({ TableName: 'orders', Item: { pk: 'o2', sk: 'x', total: 1 }, label: 'create order' });
    expectError(
      () =>
        uow.update({
          TableName: 'orders',
          Key: { pk: 'o2', sk: 'x' },
          UpdateExpression: 'SET a = :a',
          ExpressionAttributeValues: { ':a': 1 },
          label: 'touch order',
        }),
      InvalidOperationError,
      /"create order" already writes this item/,
    );
  });

  it('uses tableKeys to refuse two Puts of one item', () => {
    const { uow } = offlineUow({ tableKeys: { orders: ['pk'] } });
    uow.put({ TableName: 'orders', Item: { pk: 'o3', v: 1 }, label: 'first' });
    expectError(
      () => uow.put({ TableName: 'orders', Item: { pk: 'o3', v: 2 }, label: 'second' }),
      InvalidOperationError,
      /second: "first" already writes this item/,
    );
    expectError(
      () => uow.put({ TableName: 'orders', Item: { v: 2 }, label: 'keyless' }),
      InvalidOperationError,
      /lacks the key attribute "pk"/,
    );
  });
});

describe('limits, before DynamoDB is called', () => {
  it('refuses the 100th write when the outbox item needs the 100th action', async () => {
    const { uow, sent } = offlineUow();
    uow.publish({ type: 'E', data: null });
    for (let i = 0; i < 99; i++) uow.put({ TableName: 'orders', Item: { pk: `${i}` } });
    expectError(
      () => uow.put({ TableName: 'orders', Item: { pk: 'x' }, label: 'one too many' }),
      TransactionLimitError,
      /one too many: the transaction would hold 101 actions/,
    );
    await commitUnitOfWork(uow);
    expect(sent()).toBe(1);
  });

  it('refuses an item over 400 KB at the call', () => {
    const { uow } = offlineUow();
    expectError(
      () => uow.put({ TableName: 'orders', Item: { pk: 'big', blob: 'x'.repeat(410_000) }, label: 'big order' }),
      TransactionLimitError,
      /big order: the item is \d+ bytes; DynamoDB items hold at most 409600/,
    );
  });

  it('refuses a transaction over 4 MB at commit, naming the largest operations, without sending', async () => {
    const { uow, sent } = offlineUow();
    for (let i = 0; i < 11; i++)
      uow.put({ TableName: 'orders', Item: { pk: `${i}`, blob: 'y'.repeat(390_000) }, label: `chunk ${i}` });
    const error = await commitUnitOfWork(uow).catch((e) => e);
    expect(error).toBeInstanceOf(TransactionLimitError);
    expect(error.limit).toBe('transactionBytes');
    expect(error.message).toMatch(/DynamoDB allows 4194304\. Largest: "chunk \d+" \d+ B/);
    expect(error.offenders.length).toBeGreaterThan(0);
    expect(sent()).toBe(0);
    expect(uow.state).toBe('failed');
  });

  it("counts an event as the dispatcher's PutEvents entry: exactly 256 KB passes, one byte more is refused", () => {
    const entryBytes = (uow: UnitOfWork): number => {
      const m = uow.contents().messages.at(-1) as { event: CloudEvent };
      return putEventsEntrySize(toPutEventsEntry(m.event, ''));
    };
    const probe = offlineUow().uow;
    probe.publish({ type: 'Sized', data: 'p', source: 'com.example.orders' });
    const padding = 1 + 262_144 - entryBytes(probe);
    const fits = offlineUow().uow;
    fits.publish({ type: 'Sized', data: 'p'.repeat(padding), source: 'com.example.orders' });
    expect(entryBytes(fits)).toBe(262_144);
    expectError(
      () => offlineUow().uow.publish({ type: 'Sized', data: 'p'.repeat(padding + 1), source: 'com.example.orders' }),
      TransactionLimitError,
      /publish\(Sized\): the event's PutEvents entry would be 262145 bytes/,
    );
  });

  it('refuses an event over 256 KB', () => {
    const { uow } = offlineUow();
    expectError(
      () => uow.publish({ type: 'Huge', data: 'z'.repeat(300_000) }),
      TransactionLimitError,
      /publish\(Huge\): the event's PutEvents entry would be \d+ bytes; EventBridge takes at most 262144/,
    );
  });
});

describe('payloads and events', () => {
  const cyclic: any = { a: 1 };
  cyclic.self = cyclic;
  it.each([
    ['a BigInt', { total: 10n }, /payload is not deliverable JSON: payload.total is a BigInt/],
    ['a cycle', cyclic, /payload.self refers back to an object that contains it/],
    ['a function', { items: [{ fn: () => 1 }] }, /items\[0\]\.fn is a function/],
    ['undefined at top level', undefined, /payload is undefined/],
    ['a Map', { m: new Map() }, /m is a Map/],
    ['NaN', { n: Number.NaN }, /n is NaN/],
  ])('rejects %s in a job payload', (_name, payload, message) => {
    const { uow } = offlineUow();
    expectError(
      () => uow.schedule({ job: 'send-mail', payload, delay: 5 }),
      InvalidOperationError,
      new RegExp(`^schedule\\(send-mail\\): .*${message.source}`),
    );
  });

  it('rejects bad event data and an empty type', () => {
    const { uow } = offlineUow();
    expectError(
      () => uow.publish({ type: 'OrderPlaced', data: { id: 1n } }),
      InvalidOperationError,
      /^publish\(OrderPlaced\): data is not deliverable JSON: data.id is a BigInt/,
    );
    expectError(() => uow.publish({ type: '', data: {} }), InvalidOperationError, /type must be a non-empty string/);
    uow.publish({ type: 'X', data: {}, id: 'same' });
    expectError(
      () => uow.publish({ type: 'Y', data: {}, id: 'same' }),
      InvalidOperationError,
      /^publish\(Y\): an event with id same is already published/,
    );
  });
});

describe('schedules', () => {
  const { uow } = offlineUow();
  it.each([
    [{}, /exactly one of at, delay, cron, rate \(none given\)/],
    [{ delay: 5, cron: '0 8 * * ? *' }, /\(got delay, cron\)/],
    [{ at: new Date(Date.now() - 60_000) }, /is in the past/],
    [{ at: 'tomorrow-ish' }, /is not a valid date/],
    [{ cron: '0 8 * * *' }, /must have 6 fields/],
    [{ cron: '61 8 * * ? *' }, /minutes "61" is not a value or range within 0-59/],
    [{ cron: '0 8 * * * *' }, /exactly one of day-of-month and day-of-week must be "\?"/],
    [{ rate: '5 minute' }, /singular unit for 1 and the plural/],
    [{ rate: 'every 5 minutes' }, /must look like "5 minutes"/],
    [{ cron: '0 8 * * ? *', timezone: 'Mars/Olympus' }, /timezone "Mars\/Olympus" is not an IANA time zone/],
    [{ delay: -1 }, /delay -1 must be a number of seconds/],
  ])('rejects %j', (when, message) => {
    expectError(
      () => uow.schedule({ job: 'remind', payload: null, ...(when as object) }),
      InvalidOperationError,
      message,
    );
  });

  it('accepts valid expressions and stores a delay as a whole-second UTC time', () => {
    const before = Date.now();
    const { key, scheduleName } = uow.schedule({ job: 'remind', payload: null, delay: 90, key: 'remind-1' });
    expect([key, scheduleName]).toEqual(['remind-1', 'remind-1']);
    expect(() =>
      uow.schedule({
        job: 'remind',
        payload: null,
        cron: 'cron(0/15 8-17 ? * MON-FRI *)',
        timezone: 'Europe/Paris',
        key: 'r2',
      }),
    ).not.toThrow();
    expect(() => uow.schedule({ job: 'remind', payload: null, rate: 'rate(1 hour)', key: 'r3' })).not.toThrow();
    const record = uow.contents().writes.find((w) => w.jobKey === 'remind-1')!.params.Item as {
      schedule: { at: string };
    };
    expect(record.schedule.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(record.schedule.at) - before).toBeGreaterThanOrEqual(90_000);
  });
});

describe('scheduleNameFor', () => {
  it('keeps valid keys and maps others deterministically to valid, distinct names', () => {
    expect(scheduleNameFor('expire-order-42')).toBe('expire-order-42');
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200 }), (a, b) => {
        const [na, nb] = [scheduleNameFor(a || 'x'), scheduleNameFor(b || 'y')];
        expect(na).toMatch(/^[0-9a-zA-Z\-_.]{1,64}$/);
        expect(scheduleNameFor(a || 'x')).toBe(na);
        if ((a || 'x') !== (b || 'y')) expect(na).not.toBe(nb);
      }),
    );
    expect(scheduleNameFor('x'.repeat(65))).toHaveLength(64);
  });
});

describe('outbox packing', () => {
  it('keeps every message, in order, in as few items as fit', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3000 }), { minLength: 1, maxLength: 40 }), (texts) => {
        const messages: OutboxMessage[] = texts.map((t, i) => ({
          kind: 'event',
          event: {
            specversion: '1.0',
            id: `${i}`,
            source: 's',
            type: 'T',
            time: 't',
            datacontenttype: 'application/json',
            data: t,
          },
        }));
        const items = encodeOutboxItems({
          commitId: 'c',
          messages,
          now: new Date(0),
          retentionSeconds: 60,
          maxMessagesBytes: 20_000,
        });
        const decoded = items.map((i) => decodeOutboxItem(i));
        expect(decoded.flatMap((d) => d.messages)).toEqual(messages);
        for (const item of items) expect(Buffer.byteLength(item.messages as string)).toBeLessThanOrEqual(20_000);
        const total = messages.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m)) + 1, 1);
        if (total <= 20_000) expect(items).toHaveLength(1);
      }),
      { numRuns: 60 },
    );
  });
});

describe('transaction conflicts (aws-sdk-client-mock: DynamoDB Local serializes transactions)', () => {
  const conflict = (): Error =>
    Object.assign(new Error('Transaction cancelled'), {
      name: 'TransactionCanceledException',
      CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
    });

  it('retries a TransactionConflict with backoff and succeeds', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const mock = mockClient(doc);
    mock.on(TransactWriteCommand).rejectsOnce(conflict()).rejectsOnce(conflict()).resolves({});
    const uow = new UnitOfWork(resolveSettings({ outboxTable: 'outbox-table', client: doc, logger: silent }, 'test'));
    uow.put({ TableName: 'orders', Item: { pk: '1' }, label: 'hot order' });
    await expect(commitUnitOfWork(uow)).resolves.toMatchObject({ sent: true, attempts: 3 });
  });

  it('sends every attempt with the same ClientRequestToken (the unit of work id), so a retry cannot apply twice', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const mock = mockClient(doc);
    const inProgress = Object.assign(new Error('in progress'), { name: 'TransactionInProgressException' });
    mock.on(TransactWriteCommand).rejectsOnce(inProgress).rejectsOnce(conflict()).resolves({});
    const uow = new UnitOfWork(resolveSettings({ outboxTable: 'outbox-table', client: doc, logger: silent }, 'test'));
    uow.put({ TableName: 'orders', Item: { pk: '1' } });
    await commitUnitOfWork(uow);
    const tokens = mock.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.ClientRequestToken);
    expect(tokens).toEqual([uow.id, uow.id, uow.id]);
  });

  it('retries items throttled inside the transaction, then names it', async () => {
    const throttled = (): Error =>
      Object.assign(new Error('Transaction cancelled'), {
        name: 'TransactionCanceledException',
        CancellationReasons: [{ Code: 'ThrottlingError' }],
      });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const mock = mockClient(doc);
    mock.on(TransactWriteCommand).rejectsOnce(throttled()).resolves({});
    const uow = new UnitOfWork(resolveSettings({ outboxTable: 'outbox-table', client: doc, logger: silent }, 'test'));
    uow.put({ TableName: 'orders', Item: { pk: '1' } });
    await expect(commitUnitOfWork(uow)).resolves.toMatchObject({ attempts: 2 });
    mock.reset();
    mock.on(TransactWriteCommand).rejects(throttled());
    const again = new UnitOfWork(
      resolveSettings({ outboxTable: 'outbox-table', client: doc, logger: silent, maxConflictRetries: 1 }, 'test'),
    );
    again.put({ TableName: 'orders', Item: { pk: '1' } });
    await expect(commitUnitOfWork(again)).rejects.toThrow('The transaction was still throttled after 2 attempts');
  });

  it('gives up after maxConflictRetries with TransactionConflictError naming the operations', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const mock = mockClient(doc);
    mock.on(TransactWriteCommand).rejects(conflict());
    const uow = new UnitOfWork(
      resolveSettings({ outboxTable: 'outbox-table', client: doc, logger: silent, maxConflictRetries: 2 }, 'test'),
    );
    uow.put({ TableName: 'orders', Item: { pk: '1' }, label: 'hot order' });
    const error = await commitUnitOfWork(uow).catch((e) => e);
    expect(error).toBeInstanceOf(TransactionConflictError);
    expect(error.attempts).toBe(3);
    expect(error.message).toContain('"hot order"');
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(3);
  });
});

describe('expressions', () => {
  it("keeps DynamoDB's 573 reserved words in one list, case-insensitive", async () => {
    const { reservedWords, isReservedWord } = await import('../../lib/unit-of-work/reserved-words.js');
    expect(reservedWords().size).toBe(573);
    expect([...reservedWords()].slice(0, 3)).toEqual(['ABORT', 'ABSOLUTE', 'ACTION']);
    expect([...reservedWords()].slice(-2)).toEqual(['YEAR', 'ZONE']);
    expect([
      isReservedWord('status'),
      isReservedWord('Name'),
      isReservedWord('TTL'),
      isReservedWord('orderId'),
    ]).toEqual([true, true, true, false]);
  });

  it('accepts keywords and functions where they belong, placeholders everywhere else', () => {
    const { uow } = offlineUow();
    expect(() =>
      uow.update({
        TableName: 'orders',
        Key: { pk: 'k1' },
        label: 'full grammar',
        UpdateExpression:
          'SET #s = :s, a.b[0] = if_not_exists(a.b[0], :z), l = list_append(l, :l) REMOVE prev ADD n :one DELETE tags :t',
        ConditionExpression:
          'attribute_exists(pk) AND NOT begins_with(#s, :p) AND (n BETWEEN :z AND :one OR size(l) IN (:z, :one)) AND n <> :z',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'PAID', ':z': 0, ':l': ['x'], ':one': 1, ':t': new Set(['a']), ':p': 'C' },
      }),
    ).not.toThrow();
  });
});
