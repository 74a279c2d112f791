import { describe, it, expect, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { getJob, jobRunner, listJobs, scheduleJob } from '../../lib/jobs/index.js';
import { orderJobs, type OrderJobs } from '../../examples/orders/functions/jobs.js';
import { createBusinessTable, createTestOutboxTable, getItem, localClients } from '../support/ddb.js';
import { deliveryFor, inUnitOfWork, memoryLogger, messagesAbout, sleep } from '../support/jobs.js';

const { raw, doc } = localClients();
let orders: string;
let outbox: string;

beforeAll(async () => {
  [orders, outbox] = await Promise.all([
    createBusinessTable(raw, 'orders'),
    createTestOutboxTable(raw, 'orders-outbox'),
  ]);
});

/** What place-order does: the order and its expiry job in one unit of work. */
async function placeOrder(orderId: string): Promise<string> {
  const key = `expire-${orderId}`;
  await inUnitOfWork(doc, outbox, (uow) => {
    uow.put({
      TableName: orders,
      Item: { pk: orderId, status: 'PENDING', version: 1 },
      ConditionExpression: 'attribute_not_exists(pk)',
      label: 'create order',
    });
    scheduleJob<OrderJobs>(uow, { job: 'expire-unpaid-order', payload: { orderId }, delay: 900, key });
  });
  return key;
}

function runner() {
  return jobRunner({
    jobs: orderJobs({ client: doc, ordersTable: orders }),
    outboxTable: outbox,
    client: doc,
    source: 'orders',
    logger: memoryLogger(),
  });
}

describe('expire-unpaid-order (examples/orders/functions/jobs.ts) through the runner', () => {
  it('expires a PENDING order and publishes OrderExpired with the SUCCEEDED status', async () => {
    const orderId = randomUUID();
    const key = await placeOrder(orderId);
    expect(await runner()(await deliveryFor(doc, outbox, key))).toMatchObject({ outcome: 'succeeded' });
    expect(await getItem(doc, orders, { pk: orderId })).toMatchObject({ status: 'EXPIRED', version: 2 });
    const expired = (await messagesAbout(doc, outbox, orderId)).filter((m) => m.kind === 'event');
    expect(expired).toHaveLength(1);
    expect((expired[0] as any).event).toMatchObject({
      type: 'OrderExpired',
      source: 'orders',
      subject: orderId,
      data: { orderId, expiredBy: key },
    });
    expect(await getJob(key, { outboxTable: outbox, client: doc })).toMatchObject({
      status: 'SUCCEEDED',
      name: 'expire-unpaid-order',
      payload: { orderId },
      attempts: 1,
      lastOutcome: 'SUCCEEDED',
    });
  });

  it('leaves a PAID order alone (and succeeds: nothing to do)', async () => {
    const orderId = randomUUID();
    const key = await placeOrder(orderId);
    await doc.send(new PutCommand({ TableName: orders, Item: { pk: orderId, status: 'PAID', version: 2 } }));
    expect(await runner()(await deliveryFor(doc, outbox, key))).toMatchObject({ outcome: 'succeeded' });
    expect(await getItem(doc, orders, { pk: orderId })).toMatchObject({ status: 'PAID', version: 2 });
    expect((await messagesAbout(doc, outbox, orderId)).some((m) => m.kind === 'event')).toBe(false);
  });

  it('an order paid between the read and the commit is not expired: the attempt fails and is retried', async () => {
    const orderId = randomUUID();
    const key = await placeOrder(orderId);
    const jobs = orderJobs({ client: doc, ordersTable: orders });
    const payInBetween = jobRunner({
      jobs: {
        'expire-unpaid-order': async (payload: { orderId: string }, ctx) => {
          await jobs['expire-unpaid-order'](payload, ctx);
          await doc.send(new PutCommand({ TableName: orders, Item: { pk: orderId, status: 'PAID', version: 2 } }));
        },
      },
      outboxTable: outbox,
      client: doc,
      source: 'orders',
      logger: memoryLogger(),
    });
    const result = await payInBetween(await deliveryFor(doc, outbox, key));
    expect(result).toMatchObject({ outcome: 'failed', error: { name: 'ConditionFailedError' } });
    expect(result.error!.message).toContain('expire unpaid order');
    expect(await getItem(doc, orders, { pk: orderId })).toMatchObject({ status: 'PAID' });
    expect(await runner()(await deliveryFor(doc, outbox, key))).toMatchObject({ outcome: 'succeeded', attempt: 2 });
    expect(await getItem(doc, orders, { pk: orderId })).toMatchObject({ status: 'PAID', version: 2 });
  });

  it('getJob reads one job; listJobs lists a status the index does not hold by a Scan, with pages', async () => {
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const keys: string[] = [];
    for (const id of ids) keys.push(await placeOrder(id));
    await inUnitOfWork(doc, outbox, (uow) => uow.cancelJob(keys[2]!));
    const options = { outboxTable: outbox, client: doc, scan: true };
    expect(await getJob('no-such-job', options)).toBeUndefined();
    expect(await getJob(keys[2]!, options)).toMatchObject({ status: 'CANCELLED', key: keys[2] });
    let scheduled: string[] = [];
    for (let i = 0; i < 20 && !keys.slice(0, 2).every((k) => scheduled.includes(k)); i++) {
      scheduled = (await listJobs('SCHEDULED', options)).jobs.map((j) => j.key);
      await sleep(50);
    }
    expect(scheduled).toEqual(expect.arrayContaining(keys.slice(0, 2)));
    expect(scheduled).not.toContain(keys[2]);
    const first = await listJobs('SCHEDULED', { ...options, limit: 1 });
    expect(first.jobs).toHaveLength(1);
    expect(first.cursor).toEqual(expect.any(String));
    const second = await listJobs('SCHEDULED', { ...options, limit: 1, cursor: first.cursor });
    expect(second.jobs[0]!.key).not.toBe(first.jobs[0]!.key);
    const oldest = await listJobs('SCHEDULED', { ...options, newestFirst: false });
    expect(oldest.jobs.map((j) => j.updatedAt)).toEqual([...oldest.jobs.map((j) => j.updatedAt)].sort());
    await expect(listJobs('DONE' as any, options)).rejects.toThrow(/status "DONE" is not one of SCHEDULED, RUNNING/);
    await expect(listJobs('SCHEDULED', { ...options, scan: false })).rejects.toThrow(
      'status SCHEDULED is not in the job-status index',
    );
  });
});
