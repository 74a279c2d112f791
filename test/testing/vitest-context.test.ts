/**
 * The matchers' framework-neutral contract, checked with a vitest-shaped matcher context (`this` as vitest's
 * `MatcherState` gives it: `isNot`, `equals`, `utils`, `customTesters`, `promise`, …) instead of jest's.
 * vitest itself is not a dependency of this repository (and is not installed here), so this runs under jest:
 * the matchers are called directly, as vitest's `expect.extend` would call them, with vitest's asymmetric
 * matcher shape (`asymmetricMatch`, `toString`, `toAsymmetricMatcher`). The types of vitest's augmentation are
 * checked in vitest-augmentation.types.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { createTestUnitOfWork, unitOfWorkMatchers, type MatcherContext } from '../../lib/testing/index.js';

/** vitest's asymmetric matcher shape (`expect.any(String)` in vitest is an `Any` with these members). */
function vitestAny(type: StringConstructor | NumberConstructor) {
  return {
    $$typeof: Symbol.for('jest.asymmetricMatcher'),
    asymmetricMatch: (other: unknown) => typeof other === type.name.toLowerCase(),
    toString: () => 'Any',
    toAsymmetricMatcher: () => `Any<${type.name}>`,
  };
}

type Tester = (a: unknown, b: unknown, customTesters: readonly Tester[]) => boolean | undefined;
const isAsymmetric = (v: unknown): v is { asymmetricMatch(o: unknown): boolean } =>
  typeof (v as { asymmetricMatch?: unknown } | null)?.asymmetricMatch === 'function';

/** A deep equality as vitest's `this.equals` behaves: custom testers first, then asymmetric matchers, then structure. */
function vitestEquals(a: unknown, b: unknown, customTesters: readonly Tester[] = []): boolean {
  for (const tester of customTesters) {
    const verdict = tester(a, b, customTesters);
    if (verdict !== undefined) return verdict;
  }
  if (isAsymmetric(b)) return b.asymmetricMatch(a);
  if (isAsymmetric(a)) return a.asymmetricMatch(b);
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const [x, y] = [a as Record<string, unknown>, b as Record<string, unknown>];
  const keys = Object.keys(x);
  return (
    keys.length === Object.keys(y).length &&
    keys.every((k) => Object.hasOwn(y, k) && vitestEquals(x[k], y[k], customTesters))
  );
}

/** A vitest `MatcherState`-shaped `this`, recording which of its members the matcher read. */
function vitestContext(isNot: boolean, customTesters: readonly Tester[] = []) {
  const read = new Set<string>();
  const state = {
    isNot,
    promise: '',
    assertionCalls: 0,
    isExpectingAssertions: false,
    expectedAssertionsNumber: null,
    currentTestName: 'vitest-shaped',
    testPath: 'vitest-context.test.ts',
    customTesters,
    equals: vitestEquals,
    utils: {
      stringify: (v: unknown) => JSON.stringify(v),
      printReceived: (v: unknown) => `received ${JSON.stringify(v)}`,
      printExpected: (v: unknown) => `expected ${JSON.stringify(v)}`,
      matcherHint: (name: string) => `expect(received).${name}()`,
      diff: () => null,
    },
  };
  const ctx = new Proxy(state, {
    get: (target, prop, receiver) => {
      if (typeof prop === 'string') read.add(prop);
      return Reflect.get(target, prop, receiver);
    },
  }) as typeof state & MatcherContext;
  return { ctx, read };
}

/** A unit of work that wrote one order, published OrderPlaced and scheduled its expiry; optionally committed. */
async function orderUnitOfWork(commit: boolean) {
  const t = createTestUnitOfWork({ source: 'orders', tableKeys: { orders: ['pk'] } });
  t.uow.put({ TableName: 'orders', Item: { pk: 'o-1', status: 'PENDING' }, label: 'create order' });
  t.uow.publish({ type: 'OrderPlaced', data: { orderId: 'o-1', total: 25 } });
  t.uow.schedule({ job: 'expire-unpaid-order', payload: { orderId: 'o-1' }, delay: 900, key: 'expire-o-1' });
  if (commit) await t.commit();
  return t;
}

const m = unitOfWorkMatchers;

describe('the matchers with a vitest-shaped matcher context', () => {
  it('toHaveCommitted: pass and fail, with and without .not; only isNot/equals/customTesters are read', async () => {
    const committed = await orderUnitOfWork(true);
    const open = await orderUnitOfWork(false);
    const plain = vitestContext(false);
    expect(m.toHaveCommitted.call(plain.ctx, committed).pass).toBe(true);
    const failed = m.toHaveCommitted.call(plain.ctx, open);
    expect(failed.pass).toBe(false);
    expect(failed.message()).toBe('expected the unit of work to have committed; it has state "open"');
    const not = vitestContext(true);
    const notFailed = m.toHaveCommitted.call(not.ctx, committed); // pass true under .not: vitest fails the test
    expect(notFailed.pass).toBe(true);
    expect(notFailed.message()).toBe('expected the unit of work not to have committed; it has state "committed"');
    expect([...plain.read, ...not.read].every((k) => ['isNot', 'equals', 'customTesters'].includes(k))).toBe(true);
  });

  it('toHavePublished(type, data?): vitest asymmetric matchers match and are named in the message', async () => {
    const t = await orderUnitOfWork(true);
    const { ctx, read } = vitestContext(false);
    expect(m.toHavePublished.call(ctx, t, 'OrderPlaced').pass).toBe(true);
    expect(m.toHavePublished.call(ctx, t, 'OrderPlaced', { orderId: vitestAny(String), total: 25 }).pass).toBe(true);
    const wrongData = m.toHavePublished.call(ctx, t, 'OrderPlaced', { orderId: vitestAny(Number), total: 25 });
    expect(wrongData.pass).toBe(false);
    expect(wrongData.message()).toBe(
      'expected the unit of work to have published OrderPlaced with data {"orderId":"Any<Number>","total":25}; ' +
        'it has events [{"type":"OrderPlaced","data":{"orderId":"o-1","total":25}}]',
    );
    const not = vitestContext(true);
    const notPaid = m.toHavePublished.call(not.ctx, t, 'OrderPaid');
    expect(notPaid.pass).toBe(false); // .not passes
    expect(notPaid.message()).toMatch(/^expected the unit of work not to have published OrderPaid; it has events/);
    expect(read.has('equals')).toBe(true);
    expect(read.has('utils')).toBe(false);
  });

  it("toHavePublished passes the context's customTesters on to equals (expect.addEqualityTesters)", async () => {
    const t = await orderUnitOfWork(true);
    // a tester that says any two totals within 1 of each other are equal
    const near: Tester = (a, b) => (typeof a === 'number' && typeof b === 'number' ? Math.abs(a - b) <= 1 : undefined);
    const data = { orderId: 'o-1', total: 25.5 };
    expect(m.toHavePublished.call(vitestContext(false).ctx, t, 'OrderPlaced', data).pass).toBe(false);
    expect(m.toHavePublished.call(vitestContext(false, [near]).ctx, t, 'OrderPlaced', data).pass).toBe(true);
  });

  it('toHaveScheduled(job, payload?, { key, schedule, maxAttempts }?): pass and fail', async () => {
    const t = await orderUnitOfWork(true);
    const { ctx } = vitestContext(false);
    expect(m.toHaveScheduled.call(ctx, t, 'expire-unpaid-order').pass).toBe(true);
    expect(
      m.toHaveScheduled.call(
        ctx,
        t,
        'expire-unpaid-order',
        { orderId: vitestAny(String) },
        { key: 'expire-o-1', schedule: { at: vitestAny(String) }, maxAttempts: 3 },
      ).pass,
    ).toBe(true);
    const wrongKey = m.toHaveScheduled.call(ctx, t, 'expire-unpaid-order', undefined, { key: 'expire-o-2' });
    expect(wrongKey.pass).toBe(false);
    expect(wrongKey.message()).toMatch(
      /^expected the unit of work to have scheduled expire-unpaid-order and \{"key":"expire-o-2"\}; it has jobs \[\{.*"key":"expire-o-1"/,
    );
    const notSent = m.toHaveScheduled.call(vitestContext(true).ctx, t, 'send-reminder', { orderId: 'o-1' });
    expect(notSent.pass).toBe(false);
    expect(notSent.message()).toMatch(
      /^expected the unit of work not to have scheduled send-reminder with payload \{"orderId":"o-1"\}; it has jobs/,
    );
  });

  it('toHaveWritten(table, key?): pass and fail', async () => {
    const t = await orderUnitOfWork(true);
    const { ctx } = vitestContext(false);
    expect(m.toHaveWritten.call(ctx, t, 'orders').pass).toBe(true);
    expect(m.toHaveWritten.call(ctx, t, 'orders', { pk: 'o-1' }).pass).toBe(true);
    const other = m.toHaveWritten.call(ctx, t, 'orders', { pk: 'o-2' });
    expect(other.pass).toBe(false);
    expect(other.message()).toBe(
      'expected the unit of work to have written to orders the item {"pk":"o-2"}; ' +
        'it has writes [{"kind":"Put","table":"orders","key":{"pk":"o-1"}}]',
    );
    const notPayments = m.toHaveWritten.call(vitestContext(true).ctx, t, 'payments');
    expect(notPayments.pass).toBe(false);
    expect(notPayments.message()).toMatch(/^expected the unit of work not to have written to payments; it has writes/);
  });
});
