import { describe, it, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs `npm start`'s script as a user would (on the jest run's DynamoDB Local, so no second Java process). */
function start(args: string[], stateFile: string) {
  const child = spawn(
    process.execPath,
    [
      '--no-deprecation',
      '--import',
      'tsx',
      'scripts/start.ts',
      '--dynamodb-endpoint',
      process.env.DYNAMODB_ENDPOINT!,
      ...args,
    ],
    {
      env: { ...process.env, UOW_LOCAL_STATE_FILE: stateFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (text: string, ms = 30_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!output.includes(text)) {
      if (Date.now() > deadline) throw new Error(`"${text}" did not appear; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, exited, waitFor, output: () => output };
}

describe('npm start', () => {
  it('serves the API, records where it runs, and stops everything on Ctrl-C', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'uow-start-')), 'state.json');
    const prefix = `start-${Date.now().toString(36)}`;
    const run = start(['--port', '0', '--expiry-seconds', '600', '--table-prefix', prefix], stateFile);
    await run.waitFor('Orders service on');
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    const placed = await fetch(`${state.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c', items: [{ sku: 'a', quantity: 1, unitPrice: 2 }] }),
    });
    expect(placed.status).toBe(201);
    await run.waitFor('SCHEDULE created expire-');
    expect(state).toMatchObject({ ordersTable: `${prefix}-orders`, outboxTable: `${prefix}-outbox` });
    expect(run.output()).toMatch(
      new RegExp(
        `COMMIT +3 actions \\| writes: put ${prefix}-orders/.* \\| events: OrderPlaced \\| jobs: schedule expire-unpaid-order`,
      ),
    );
    expect(run.output()).toMatch(/EVENT +published OrderPlaced from orders/);
    const consoleUrl = /Dev console on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.output())?.[1];
    expect((await fetch(consoleUrl!)).headers.get('content-type')).toContain('text/html');
    expect(
      ((await (await fetch(`${consoleUrl}api/timeline`)).json()) as { rows: { source: string }[] }).rows.map(
        (r) => r.source,
      ),
    ).toContain('POST /orders');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('stopped; nothing left running');
    expect(existsSync(stateFile)).toBe(false);
    await expect(fetch(state.url)).rejects.toThrow();
  }, 60_000);

  it('with --timer-transport sqs: an unpaid order expires through the SQS timer queue, no schedule made', async () => {
    const stateFile = join(mkdtempSync(join(tmpdir(), 'uow-start-')), 'state.json');
    const prefix = `start-sqs-${Date.now().toString(36)}`;
    const run = start(
      ['--port', '0', '--expiry-seconds', '2', '--table-prefix', prefix, '--timer-transport', 'sqs'],
      stateFile,
    );
    await run.waitFor('Orders service on');
    expect(run.output()).toContain('timers via SQS');
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    const placed = await fetch(`${state.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c', items: [{ sku: 'a', quantity: 1, unitPrice: 2 }] }),
    });
    expect(placed.status).toBe(201);
    const { orderId } = (await placed.json()) as { orderId: string };
    await run.waitFor(`timer queued expire-${orderId} v1`);
    await run.waitFor(`expire-unpaid-order (expire-${orderId}) done`);
    const order = (await (await fetch(`${state.url}/orders/${orderId}`)).json()) as { status: string };
    expect(order.status).toBe('EXPIRED');
    expect(run.output()).not.toContain(`SCHEDULE created expire-${orderId}`);
    // the dev console shows the timer on the order's commit, and its run
    const consoleUrl = /Dev console on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(run.output())?.[1];
    type Row = { followed: { kind: string; expression?: string; outcome?: string; key?: string }[] };
    const rows = ((await (await fetch(`${consoleUrl}api/timeline`)).json()) as { rows: Row[] }).rows;
    const followed = rows.flatMap((r) => r.followed);
    expect(followed).toContainEqual(
      expect.objectContaining({ kind: 'schedule', expression: expect.stringMatching(/^SQS timer, delay [1-3] s$/) }),
    );
    expect(followed).toContainEqual(
      expect.objectContaining({ kind: 'job-run', key: `expire-${orderId}`, outcome: 'done' }),
    );
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  }, 60_000);

  it('says clearly when the port is taken, before starting anything', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    try {
      const run = start(['--port', String(port)], join(tmpdir(), `uow-unused-${port}.json`));
      expect(await run.exited).toBe(1);
      expect(run.output()).toContain(`Could not start: port ${port} on 127.0.0.1 is already in use`);
      expect(run.output()).not.toContain('created table');
    } finally {
      server.close();
    }
  }, 60_000);
});
