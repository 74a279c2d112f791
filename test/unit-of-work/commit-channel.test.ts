import { describe, it, expect, beforeAll, afterEach } from '@jest/globals';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { randomUUID } from 'node:crypto';
import { ConditionFailedError } from '../../lib/errors.js';
import { withUnitOfWork } from '../../lib/index.js';
import { COMMIT_CHANNEL, type CommitReport } from '../../lib/unit-of-work/commit.js';
import { createBusinessTable, createTestOutboxTable, localClients } from '../support/ddb.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;
const reports: CommitReport[] = [];
const listener = (message: unknown): void => void reports.push(message as CommitReport);

beforeAll(async () => {
  [orders, outbox] = await Promise.all([
    createBusinessTable(raw, 'channel-orders'),
    createTestOutboxTable(raw, 'channel-outbox'),
  ]);
});
afterEach(() => {
  unsubscribe(COMMIT_CHANNEL, listener);
  reports.length = 0;
});

const place = (id: string) =>
  withUnitOfWork(
    (uow) => {
      uow.put({
        TableName: orders,
        Item: { pk: id },
        ConditionExpression: 'attribute_not_exists(pk)',
        label: `create order ${id}`,
      });
      uow.publish({ type: 'OrderPlaced', data: { id } });
    },
    { outboxTable: outbox, client: doc, source: 'channel-test', tableKeys: { [orders]: ['pk'] } },
  );

describe('COMMIT_CHANNEL (node:diagnostics_channel)', () => {
  it('reports each commit once with its labelled actions, and a failed one with its error', async () => {
    subscribe(COMMIT_CHANNEL, listener);
    const id = randomUUID();
    await place(id);
    await expect(place(id)).rejects.toBeInstanceOf(ConditionFailedError);
    expect(reports).toHaveLength(2);
    const [ok, failed] = reports;
    expect(ok!.error).toBeUndefined();
    expect(ok!.actions.map((a) => [a.role, a.label])).toEqual([
      ['write', `create order ${id}`],
      ['outbox', expect.any(String)],
    ]);
    expect(ok!.input.TransactItems).toHaveLength(2);
    expect(failed!.error).toBeInstanceOf(ConditionFailedError);
  });

  it('without subscribers nothing is reported (and nothing is built)', async () => {
    subscribe(COMMIT_CHANNEL, listener);
    unsubscribe(COMMIT_CHANNEL, listener);
    await place(randomUUID());
    expect(reports).toHaveLength(0);
  });
});
