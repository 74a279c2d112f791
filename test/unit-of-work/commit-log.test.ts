import { describe, it, expect, beforeAll, jest } from '@jest/globals';
import middy from '@middy/core';
import { unitOfWork, withUnitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { createBusinessTable, createTestOutboxTable, lambdaContext, localClients } from '../support/ddb.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;

beforeAll(async () => {
  [orders, outbox] = await Promise.all([createBusinessTable(raw, 'log'), createTestOutboxTable(raw)]);
});

describe('one debug line per commit', () => {
  it('carries commit id, labels, action count, attempts and latency, through the unit of work logger', async () => {
    const lines: { level: string; message: string; extra: any }[] = [];
    const at = (level: string) => (message: string, extra: any) => void lines.push({ level, message, extra });
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    let commitId = '';
    const context = lambdaContext('req-log-1');
    await middy<any, any, Error, UnitOfWorkContext>()
      .use(unitOfWork({ outboxTable: outbox, client: doc, source: 'log', logger }))
      .handler(async (_e, { uow }) => {
        commitId = uow.id;
        uow.put({ TableName: orders, Item: { pk: `a-${commitId}` }, label: 'create order' });
        uow.put({ TableName: orders, Item: { pk: `b-${commitId}` }, label: 'reserve stock' });
        uow.publish({ type: 'OrderPlaced', data: {} });
      })({}, context);
    const commits = lines.filter((l) => l.message === 'unit of work commit');
    expect(commits).toHaveLength(1);
    expect(commits[0]).toMatchObject({
      level: 'debug',
      extra: {
        commitId,
        correlationId: 'req-log-1',
        outcome: 'committed',
        labels: ['create order', 'reserve stock'],
        actions: 3,
        attempts: 1,
      },
    });
    expect(commits[0]!.extra.latencyMs).toBeGreaterThan(0);
  });

  it('turns on with POWERTOOLS_LOG_LEVEL=DEBUG on the default JSON logger, no code change', async () => {
    const written: string[] = [];
    // The default logger writes one JSON line per entry through the console.
    const spy = jest.spyOn(console, 'log').mockImplementation((chunk: unknown) => {
      written.push(String(chunk));
    });
    const previous = process.env.POWERTOOLS_LOG_LEVEL;
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    try {
      let commitId = '';
      await withUnitOfWork(
        async (uow) => {
          commitId = uow.id;
          uow.put({ TableName: orders, Item: { pk: `p-${commitId}` }, label: 'powertools order' });
        },
        { outboxTable: outbox, client: doc },
      );
      const line = written
        .map((w) => w.trim())
        .filter(Boolean)
        .map((w) => JSON.parse(w))
        .find((j) => j.message === 'unit of work commit');
      expect(line).toMatchObject({
        level: 'DEBUG',
        commitId,
        labels: ['powertools order'],
        actions: 1,
        attempts: 1,
        outcome: 'committed',
      });
    } finally {
      spy.mockRestore();
      if (previous === undefined) delete process.env.POWERTOOLS_LOG_LEVEL;
      else process.env.POWERTOOLS_LOG_LEVEL = previous;
    }
  });
});
