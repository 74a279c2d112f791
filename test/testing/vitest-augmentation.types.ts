/**
 * Type-level test, compiled by `npm run typecheck` and never run: the vitest augmentation documented in
 * lib/testing/matchers.ts and docs/testing.md compiles against vitest's `Assertion` (the local declaration in
 * vitest-assertion.d.ts), `expect.extend` accepts the matchers (vitest's `MatcherState` is assignable to their
 * `this`), and wrong arguments do not compile (each `@ts-expect-error` fails the typecheck if the line compiles).
 */
import { expect } from 'vitest';
import { createTestUnitOfWork, unitOfWorkMatchers, type UnitOfWorkMatchers } from '../../lib/testing/index.js';

declare module 'vitest' {
  interface Assertion<T = any> extends UnitOfWorkMatchers<void> {}
}

expect.extend(unitOfWorkMatchers);

const t = createTestUnitOfWork();
expect(t).toHaveCommitted();
expect(t).not.toHavePublished('OrderPaid');
expect(t).toHavePublished('OrderPlaced', { orderId: expect.any(String) });
expect(t).toHaveScheduled('expire-unpaid-order', { orderId: 'o-1' }, { key: 'expire-o-1', maxAttempts: 3 });
expect(t).toHaveWritten('orders', { pk: 'o-1' });
const later: Promise<void> = expect(Promise.resolve(t)).resolves.toHaveCommitted();

// @ts-expect-error the event type is a string
expect(t).toHavePublished(42);
// @ts-expect-error toHaveWritten takes a table name
expect(t).toHaveWritten();
// @ts-expect-error a key is an object of attributes
expect(t).toHaveWritten('orders', 'o-1');
// @ts-expect-error unknown expectation of toHaveScheduled
expect(t).toHaveScheduled('expire-unpaid-order', undefined, { keys: 'expire-o-1' });
// @ts-expect-error a matcher returns void, not the received value
const wrong: number = expect(t).toHaveCommitted();

export { later, wrong };
