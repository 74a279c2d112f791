/**
 * `npm run demo`: drives the running example service (`npm start` in another terminal) with real HTTP
 * requests and says what happened at each step, and what the `npm start` timeline shows for it.
 *
 *   npm run demo                       # against http://127.0.0.1:3000
 *   npm run demo -- --url http://127.0.0.1:4000
 */
import { parseArgs } from 'node:util';
import { readLocalState } from './local-state.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.ORDERS_URL ?? readLocalState()?.url ?? 'http://127.0.0.1:3000' },
  },
});
const base = values.url!.replace(/\/$/, '');

interface Reply {
  status: number;
  body: any;
}

async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  } catch (error) {
    console.error(
      `\nNothing answers on ${base}: start the service first with \`npm start\` (or pass --url). (${(error as Error).message})`,
    );
    process.exit(1);
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status: response.status, body: parsed };
}

let step = 0;
function show(title: string, reply: Reply, expect: number, timeline: string): void {
  const ok = reply.status === expect;
  const summary =
    typeof reply.body === 'object' && reply.body
      ? JSON.stringify({ status: reply.body.status, version: reply.body.version, orderId: reply.body.orderId })
      : String(reply.body);
  console.log(
    `\n${++step}. ${title}\n   → HTTP ${reply.status} ${ok ? '✓' : `✗ (expected ${expect})`} ${summary}\n   timeline: ${timeline}`,
  );
  if (!ok) process.exitCode = 1;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const items = [{ sku: 'book', quantity: 2, unitPrice: 12.5 }];

console.log(`Driving the orders service on ${base}`);
const a = await call('POST', '/orders', { customerId: 'c-1', items });
show(
  'Place order A',
  a,
  201,
  'COMMIT of 3 actions (the order, the job record, one outbox item with OrderPlaced + the expiry job), then EVENT OrderPlaced and SCHEDULE created expire-<id> from the stream',
);
const idA = a.body.orderId as string;
show(
  'Read order A (read-only unit of work)',
  await call('GET', `/orders/${idA}`),
  200,
  'HTTP only: a query commits nothing',
);
show(
  'Pay order A',
  await call('POST', `/orders/${idA}/pay`, { paymentReference: 'pay-1' }),
  200,
  'COMMIT: the order update (version check), the job cancellation, OrderPaid; then SCHEDULE deleted expire-<id> and EVENT OrderPaid',
);
show(
  'Pay order A again',
  await call('POST', `/orders/${idA}/pay`, { paymentReference: 'pay-2' }),
  409,
  'HTTP 409 and no COMMIT: nothing changed',
);
show(
  'Place an invalid order',
  await call('POST', '/orders', { customerId: '', items: [] }),
  400,
  'HTTP 400 naming what is wrong; nothing committed',
);

const b = await call('POST', '/orders', { customerId: 'c-2', items });
show(
  'Place order B and leave it unpaid',
  b,
  201,
  `COMMIT, EVENT OrderPlaced, SCHEDULE created: due at ${b.body.expiresAt}`,
);
const idB = b.body.orderId as string;
const due = Date.parse(b.body.expiresAt);
console.log(
  `\n   waiting for the expiry job (due ${b.body.expiresAt}, ${Math.max(0, Math.round((due - Date.now()) / 1000))} s from now)…`,
);
let expired: Reply | undefined;
while (Date.now() < due + 30_000) {
  const r = await call('GET', `/orders/${idB}`);
  if (r.body?.status === 'EXPIRED') {
    expired = r;
    break;
  }
  await sleep(1000);
}
show(
  'Order B expired by its job',
  expired ?? (await call('GET', `/orders/${idB}`)),
  200,
  'JOB run expire-unpaid-order → succeeded; COMMIT of the order update + job SUCCEEDED + OrderExpired; EVENT OrderExpired',
);
if (expired?.body?.status !== 'EXPIRED') {
  console.log('   ✗ order B did not expire in time');
  process.exitCode = 1;
}
show(
  'Pay the expired order B',
  await call('POST', `/orders/${idB}/pay`, { paymentReference: 'late' }),
  409,
  'HTTP 409 "order … is EXPIRED and cannot be paid"',
);
console.log(process.exitCode ? '\nSome steps did not go as expected (see ✗ above).' : '\nEvery step went as expected.');
