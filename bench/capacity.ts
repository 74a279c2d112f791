/**
 * Write units of the example's flows, from the real items they leave on DynamoDB Local: runs the orders
 * service (place + pay, place + expire), snapshots every item each step wrote, sizes them by DynamoDB's
 * rules (lib/dynamodb/size.ts) and prices each write as DynamoDB does: a transactional write is 2 write
 * units per started KB of the larger of the item before and after, a standard write 1. The job-status index
 * costs nothing in these flows (SCHEDULED, RUNNING, SUCCEEDED and CANCELLED are not indexed by default);
 * the old single-key index is priced next to it (ALL projection: 1 unit per put, 2 for a key change).
 * docs/capacity.md quotes the output.
 *
 *   npm run bench -- capacity
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_CONFIG } from '../lib/local/dynamodb-local.js';
import { itemSize } from '../lib/dynamodb/size.js';
import { startOrdersService } from '../scripts/orders-local.js';

type Item = Record<string, unknown>;
const KB = 1024;
const units = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));

/** One write of a flow: what, how it was sent, and its sizes before and after. */
interface Write {
  readonly step: string;
  readonly item: string;
  readonly transactional: boolean;
  readonly before: number;
  readonly after: number;
  /** Index units of the old `jobStatus`-keyed index (ALL projection) for this write. */
  readonly oldIndex: number;
}

const wu = (w: Write) => (w.transactional ? 2 : 1) * units(Math.max(w.before, w.after));

/** Runs both flows and returns their writes. */
export async function measureFlows(endpoint: string): Promise<{ placePay: Write[]; placeExpire: Write[] }> {
  const service = await startOrdersService({
    port: 0,
    clock: 'manual',
    expirySeconds: 900,
    dynamodbEndpoint: endpoint,
    tablePrefix: `cap-${randomUUID().slice(0, 8)}`,
  });
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG }));
  const snapshot = async (): Promise<Map<string, Item>> => {
    const all = new Map<string, Item>();
    for (const table of [service.ordersTable, service.outboxTable]) {
      const out = await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
      for (const item of out.Items ?? [])
        all.set(
          `${table === service.ordersTable ? 'order' : String(item.pk).split('#')[0]} ${item.pk}/${item.sk ?? ''}`,
          item,
        );
    }
    return all;
  };
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${service.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await r.json()) as { orderId: string; expiresAt?: string };
  };
  /** The items `step` wrote: new ones and changed ones, with sizes before and after. */
  const diff = (
    step: string,
    transactional: (key: string) => boolean,
    before: Map<string, Item>,
    after: Map<string, Item>,
  ): Write[] => {
    const writes: Write[] = [];
    for (const [key, item] of after) {
      const old = before.get(key);
      if (old && JSON.stringify(old) === JSON.stringify(item)) continue;
      const kind = key.split(' ')[0]!;
      const oldIndex = kind === 'job' ? (old ? (old.jobStatus === item.jobStatus ? 1 : 2) : 1) : 0;
      writes.push({
        step,
        item: kind,
        transactional: transactional(key),
        before: itemSize(old),
        after: itemSize(item),
        oldIndex,
      });
    }
    return writes;
  };
  const order = { customerId: 'customer-42', items: [{ sku: 'book-978-0134685991', quantity: 2, unitPrice: 12.5 }] };
  try {
    const s0 = await snapshot();
    const a = await post('/orders', order);
    await service.stack.drain();
    const s1 = await snapshot();
    await post(`/orders/${a.orderId}/pay`, { paymentReference: 'pay-1' });
    await service.stack.drain();
    const s2 = await snapshot();
    const placePay = [...diff('place', () => true, s0, s1), ...diff('pay', () => true, s1, s2)];

    const b = await post('/orders', order);
    await service.stack.drain();
    const s3 = await snapshot();
    const due = Date.parse(b.expiresAt ?? new Date(service.stack.scheduler.clock.now() + 900_000).toISOString());
    await service.stack.scheduler.advance(Math.max(0, due - service.stack.scheduler.clock.now()) + 1000);
    await service.stack.drain();
    const s4 = await snapshot();
    // The expiry: the claim is a standard UpdateItem of the job record, then one transaction (order,
    // OrderExpired outbox item, job SUCCEEDED). The claim's size is the record as the claim left it.
    const expiry = diff('expire', () => true, s3, s4);
    const job = expiry.find((w) => w.item === 'job')!;
    const claim: Write = {
      step: 'expire (claim)',
      item: 'job',
      transactional: false,
      before: job.before,
      after: job.after,
      oldIndex: 2,
    };
    const placeExpire = [...diff('place', () => true, s2, s3), claim, ...expiry];
    return { placePay, placeExpire };
  } finally {
    doc.destroy();
    await service.stop();
  }
}

function print(name: string, writes: readonly Write[]): void {
  console.log(`\n${name}`);
  console.log('  step            item    bytes before → after  units');
  for (const w of writes) {
    console.log(
      `  ${w.step.padEnd(15)} ${w.item.padEnd(7)} ${String(w.before).padStart(6)} → ${String(w.after).padEnd(6)}        ${wu(w)}${w.transactional ? ' (transactional)' : ''}`,
    );
  }
  const total = writes.reduce((n, w) => n + wu(w), 0);
  const oldIndex = writes.reduce((n, w) => n + w.oldIndex, 0);
  console.log(
    `  total: ${total} write units (job-status index: 0); with the old jobStatus-keyed index: ${total + oldIndex}`,
  );
}

/** `npm run bench -- capacity`. */
export async function runCapacityBench(endpoint: string): Promise<void> {
  console.log('\n## capacity: write units of the example flows, from item sizes measured on DynamoDB Local');
  const { placePay, placeExpire } = await measureFlows(endpoint);
  print('place + pay', placePay);
  print('place + expire', placeExpire);
}
