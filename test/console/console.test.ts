/**
 * The dev console in a real browser: Debian's Chromium, headless, driven by playwright-core (nothing is
 * downloaded). The local orders service runs in-process on the jest run's DynamoDB Local with a manual
 * Scheduler clock; orders are placed over its HTTP API and everything else goes through the page.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ConsoleRecorder } from '../../lib/local/console/recorder.js';
import { startDevConsole, type DevConsole } from '../../lib/local/console/server.js';
import { startOrdersService, type OrdersService } from '../../scripts/orders-local.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let service: OrdersService;
let recorder: ConsoleRecorder;
let devConsole: DevConsole;
let browser: BrowserContext;
let page: Page;
let profile: string;
/** Job commits of orders in here fail (an SDK middleware refusing before `next()`: nothing is written). */
const failingOrders = new Set<string>();

/** The whole setup, awaited by afterAll too: a setup that outlives beforeAll's timeout is still cleaned up. */
let starting: Promise<void> | undefined;

beforeAll(() => (starting = start()), 90_000);

async function start(): Promise<void> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium not found at ${CHROMIUM}: install Debian's package (sudo apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary`,
    );
  recorder = new ConsoleRecorder();
  service = await startOrdersService({
    port: 0,
    clock: 'manual',
    expirySeconds: 900,
    consoleRecorder: recorder,
    dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
    tablePrefix: `console-${randomUUID().slice(0, 8)}`,
  });
  const { ordersClient } = await import('../../examples/orders/functions/env.js');
  ordersClient().middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      const input = JSON.stringify(args.input ?? {});
      if (
        context.commandName === 'TransactWriteItemsCommand' &&
        input.includes('EXPIRED') &&
        [...failingOrders].some((id) => input.includes(id))
      )
        throw Object.assign(new Error('injected: refused'), {
          name: 'ValidationException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      return next(args);
    },
    { step: 'initialize', name: 'console-test-faults' },
  );
  devConsole = await startDevConsole({ recorder, stack: service.stack, client: service.stack.clients.dynamodb });
  profile = mkdtempSync(join(tmpdir(), 'uow-console-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    viewport: { width: 1400, height: 900 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(devConsole.url);
  await page.locator('#live', { hasText: 'live' }).waitFor();
}

afterAll(async () => {
  await starting?.catch(() => undefined);
  // `CONSOLE_SCREENSHOT=docs/console.png` refreshes the README's picture (the page after every test).
  if (page && process.env.CONSOLE_SCREENSHOT) await page.screenshot({ path: process.env.CONSOLE_SCREENSHOT });
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await devConsole?.stop();
  recorder?.close();
  await service?.stop();
});

async function placeOrder(): Promise<{ orderId: string; expiresAt: string }> {
  const response = await fetch(`${service.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: 'c-1', items: [{ sku: 'book', quantity: 2, unitPrice: 12.5 }] }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { orderId: string; expiresAt: string };
}

const commitOf = (source: string, text: string) =>
  page.locator('article.commit', { hasText: source }).filter({ hasText: text });
const jobRow = (key: string, status: string) =>
  page.locator(`table.jobs[data-status="${status}"] tr[data-job-key="${key}"]`);
/** Clicks a job action and waits for the console's answer (the notice line). */
async function act(key: string, status: string, action: 'run' | 'cancel' | 'retry'): Promise<string> {
  await service.stack.drain();
  const answer = page.waitForResponse((r) => r.url().endsWith(`/${action}`));
  await jobRow(key, status).locator(`button.${action}`).click();
  const response = await answer;
  const text = await response.text();
  if (process.env.DEBUG_CONSOLE) console.log(action, key, response.status(), text);
  expect(response.status()).toBe(200);
  return text;
}

describe('the dev console, in Chromium', () => {
  it('shows the commit, its event and schedule, and the job run after time moved on (run now)', async () => {
    const { orderId, expiresAt } = await placeOrder();
    const key = `expire-${orderId}`;
    const placed = commitOf('POST /orders', orderId);
    await placed.locator('.follow.event', { hasText: 'published OrderPlaced' }).waitFor();
    await placed
      .locator('.follow.schedule', { hasText: `created ${key} at(${expiresAt.replace('.000Z', '')})` })
      .waitFor();
    expect(await placed.locator('li.write').allTextContents()).toEqual([
      expect.stringContaining(`create order ${orderId}`),
      expect.stringContaining(`pk=job#${key},sk=job`),
    ]);
    expect(await placed.locator('li.outbox-job').textContent()).toContain(`schedule expire-unpaid-order`);
    await jobRow(key, 'SCHEDULED').waitFor();

    const before = service.stack.scheduler.clock.now();
    expect(await act(key, 'SCHEDULED', 'run')).toContain('"outcome":"succeeded"');
    expect(service.stack.scheduler.clock.now()).toBe(Date.parse(expiresAt)); // the manual clock moved to the job's time
    expect(service.stack.scheduler.clock.now()).toBeGreaterThan(before);
    await placed.locator('.follow.job-run', { hasText: 'succeeded' }).waitFor();
    const ran = commitOf(`job expire-unpaid-order (${key})`, 'OrderExpired');
    await ran.locator('.follow.event', { hasText: 'published OrderExpired' }).waitFor();
    expect(await ran.locator('li.write').allTextContents()).toEqual([
      expect.stringContaining(`job ${key} SUCCEEDED`),
      expect.stringContaining('expire unpaid order'),
    ]);
    await jobRow(key, 'SUCCEEDED').waitFor();

    // Raw records behind the ids, and the filters.
    await placed.locator('.head a.commit-id').click();
    await page.locator('#raw-body', { hasText: `"commitId"` }).waitFor();
    expect(JSON.parse(await page.locator('#raw-body').innerText()).items[0]).toMatchObject({
      pk: expect.stringMatching(/^outbox#/),
      _kind: 'outbox',
    });
    await page.locator('#raw button').click();
    await placed.locator('li.outbox-event a.event-id').click();
    await page.locator('#raw-body', { hasText: '"specversion"' }).waitFor();
    expect(JSON.parse(await page.locator('#raw-body').innerText())).toMatchObject({
      type: 'OrderPlaced',
      data: { orderId },
    });
    await page.locator('#raw button').click();
    await jobRow(key, 'SUCCEEDED').locator('a.job-id').click();
    expect(JSON.parse(await page.locator('#raw-body', { hasText: '"jobStatus"' }).innerText())).toMatchObject({
      jobKey: key,
      jobStatus: 'SUCCEEDED',
      version: 1,
    });
    await page.locator('#raw button').click();

    await page.fill('#filter-event', 'OrderExpired');
    await expect(page.locator('article.commit').count()).resolves.toBe(
      await page.locator('article.commit', { hasText: 'OrderExpired' }).count(),
    );
    await page.fill('#filter-event', '');
    await page.fill('#filter-job', key);
    await expect(page.locator('article.commit').count()).resolves.toBe(2);
    await page.fill('#filter-job', '');
  }, 60_000);

  it('cancels a job through a unit of work: CANCELLED, schedule deleted', async () => {
    const { orderId } = await placeOrder();
    const key = `expire-${orderId}`;
    await jobRow(key, 'SCHEDULED').waitFor();
    await act(key, 'SCHEDULED', 'cancel');
    const cancelled = commitOf('dev console: cancel', `pk=job#${key}`);
    await cancelled.locator('.follow.schedule', { hasText: `deleted ${key}` }).waitFor();
    expect(await cancelled.locator('li.outbox-job').textContent()).toMatch(/^cancel/);
    await jobRow(key, 'CANCELLED').waitFor();
  }, 60_000);

  it('shows failed runs in red, and a DEAD job comes back with retry', async () => {
    const { orderId } = await placeOrder();
    const key = `expire-${orderId}`;
    failingOrders.add(orderId);
    await jobRow(key, 'SCHEDULED').waitFor();
    await act(key, 'SCHEDULED', 'run');
    await jobRow(key, 'FAILED').waitFor();
    const failedRun = `.follow.job-run.error[data-key="${key}"]`;
    await page.locator(failedRun, { hasText: 'failed' }).first().waitFor();
    // Queried and measured in one synchronous step in the page (rows are re-rendered as updates arrive).
    expect(await page.evaluate(`getComputedStyle(document.querySelector('${failedRun}')).color`)).toBe(
      'rgb(192, 38, 45)',
    );
    await act(key, 'FAILED', 'run');
    await page.locator(`.follow.job-run[data-key="${key}"]`, { hasText: 'attempt 2' }).waitFor();
    await jobRow(key, 'FAILED').waitFor();
    await act(key, 'FAILED', 'run');
    await jobRow(key, 'DEAD').waitFor();
    await page.locator(`.follow.job-run.error[data-key="${key}"]`, { hasText: 'dead' }).waitFor();
    await page.locator('.follow.event', { hasText: 'published JobFailed' }).first().waitFor();

    failingOrders.delete(orderId);
    expect(JSON.parse(await act(key, 'DEAD', 'retry'))).toMatchObject({
      action: 'retried',
      status: 'SCHEDULED',
      version: expect.any(Number),
    });
    await commitOf('dev console: retry', `pk=job#${key}`)
      .locator('.follow.schedule', { hasText: `created ${key}` })
      .waitFor();
    await jobRow(key, 'SCHEDULED').waitFor();
    await act(key, 'SCHEDULED', 'run');
    await jobRow(key, 'SUCCEEDED').waitFor();
    await commitOf(`job expire-unpaid-order (${key})`, 'OrderExpired')
      .locator('.follow.event', { hasText: 'published OrderExpired' })
      .waitFor();
    // The three failed runs rolled back: red, and nothing of theirs was published.
    expect(await commitOf(`job expire-unpaid-order (${key})`, 'rolled back').count()).toBe(3);
  }, 60_000);

  it('refuses an action that does not apply, with a message naming neither table nor key', async () => {
    const { orderId } = await placeOrder();
    const key = `expire-${orderId}`;
    await jobRow(key, 'SCHEDULED').waitFor();
    const response = await fetch(`${devConsole.url}api/jobs/${encodeURIComponent(key)}/retry`, { method: 'POST' });
    expect(response.status).toBe(409);
    const { message } = (await response.json()) as { message: string };
    expect(message).toBe(
      'retry refused: the job is SCHEDULED; only a DEAD job can be retried (reschedule or cancel a pending one)',
    );
    expect(message).not.toContain(service.outboxTable);
  });
});
