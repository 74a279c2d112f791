/**
 * Matchers on a unit of work's recording, one object for jest (`expect.extend`) and vitest (`expect.extend`).
 * Their whole contract with the test framework is {@link MatcherContext}: `this.equals` (so asymmetric matchers
 * like `expect.any(String)` work), `this.isNot` and, when given, `this.customTesters`; they return
 * `{ pass, message }` and never alter `pass` for `.not` (both frameworks invert it). Nothing else of either
 * framework is used: no `this.utils`, no global `expect`, no import of jest or vitest.
 */
import { UnitOfWork } from '../unit-of-work/unit-of-work.js';
import { recordingOf, type UnitOfWorkRecording } from './test-unit-of-work.js';

/**
 * The part of jest's and vitest's matcher context (`this` of a matcher) these matchers use; both frameworks'
 * contexts are assignable to it.
 */
export interface MatcherContext {
  /** True under `.not`: only the message changes (the framework inverts `pass`). */
  readonly isNot?: boolean;
  /** The framework's deep equality, which honours asymmetric matchers and the custom testers passed. */
  equals(a: unknown, b: unknown, customTesters?: readonly unknown[]): boolean;
  /** Equality testers registered with `expect.addEqualityTesters` (jest 30, vitest), passed on to `equals`. */
  readonly customTesters?: readonly unknown[];
}

/** What a matcher returns (jest and vitest). */
export interface MatcherResult {
  readonly pass: boolean;
  readonly message: () => string;
}

/** Optional expectations of `toHaveScheduled` besides the payload. */
export interface ScheduledExpectation {
  readonly key?: unknown;
  readonly schedule?: unknown;
  readonly maxAttempts?: unknown;
}

/**
 * The matchers' types, to declare them on your test framework's `expect` (`R` is what a matcher returns):
 * jest (`@jest/globals`): `declare module 'expect' { interface Matchers<R> extends UnitOfWorkMatchers<R> {} }`;
 * vitest: `declare module 'vitest' { interface Assertion<T = any> extends UnitOfWorkMatchers<void> {} }`
 * (vitest's `T` is the received value's type, not the return type; `.resolves`/`.rejects` make it a promise).
 */
export interface UnitOfWorkMatchers<R = unknown> {
  /** The unit of work committed (state `committed`). */
  toHaveCommitted(): R;
  /** An event of this type was published; with `data`, one whose data equals it (asymmetric matchers allowed). */
  toHavePublished(type: string, data?: unknown): R;
  /** A job of this name was scheduled; with `payload` (and `expected`), one matching them. */
  toHaveScheduled(job: string, payload?: unknown, expected?: ScheduledExpectation): R;
  /** A put, update or delete on this table; with `key`, on the item with this key (a Put: by its item's attributes). */
  toHaveWritten(table: string, key?: Record<string, unknown>): R;
}

function recording(received: unknown, matcher: string): UnitOfWorkRecording {
  if (received instanceof UnitOfWork) return recordingOf(received);
  const r = received as Partial<UnitOfWorkRecording> | null;
  if (r && typeof r === 'object' && r.uow instanceof UnitOfWork) return recordingOf(r.uow, r.transactions ?? []);
  if (r && typeof r === 'object' && 'uow' in r && r.uow === undefined && Array.isArray(r.operations))
    return r as UnitOfWorkRecording;
  throw new TypeError(
    `${matcher}: expected a UnitOfWork, createTestUnitOfWork() or runHandler() result, received ${typeof received}`,
  );
}

/** JSON, with asymmetric matchers shown by name: `Any<String>` (jest and vitest both have `toAsymmetricMatcher`). */
const show = (value: unknown): string =>
  JSON.stringify(value, (_k, v) =>
    typeof v?.asymmetricMatch === 'function' ? String(v.toAsymmetricMatcher?.() ?? v.toString?.() ?? 'matcher') : v,
  );

function result(ctx: MatcherContext, pass: boolean, wanted: string, found: string): MatcherResult {
  return {
    pass,
    message: () => `expected the unit of work ${ctx.isNot ? 'not ' : ''}to have ${wanted}; it has ${found}`,
  };
}

/** The matchers: `expect.extend(unitOfWorkMatchers)` in jest or vitest. */
export const unitOfWorkMatchers = {
  toHaveCommitted(this: MatcherContext, received: unknown): MatcherResult {
    const r = recording(received, 'toHaveCommitted');
    return result(this, r.committed, 'committed', `state "${r.state}"`);
  },
  toHavePublished(this: MatcherContext, received: unknown, type: string, data?: unknown): MatcherResult {
    const r = recording(received, 'toHavePublished');
    const pass = r.events.some(
      (e) => e.type === type && (data === undefined || this.equals(e.data, data, this.customTesters)),
    );
    return result(
      this,
      pass,
      `published ${type}${data === undefined ? '' : ` with data ${show(data)}`}`,
      `events ${show(r.events.map((e) => ({ type: e.type, data: e.data })))}`,
    );
  },
  toHaveScheduled(
    this: MatcherContext,
    received: unknown,
    job: string,
    payload?: unknown,
    expected: ScheduledExpectation = {},
  ): MatcherResult {
    const r = recording(received, 'toHaveScheduled');
    const pass = r.jobs.some(
      (j) =>
        j.job === job &&
        (payload === undefined || this.equals(j.payload, payload, this.customTesters)) &&
        Object.entries(expected).every(
          ([name, value]) =>
            value === undefined || this.equals(j[name as keyof ScheduledExpectation], value, this.customTesters),
        ),
    );
    return result(
      this,
      pass,
      `scheduled ${job}${payload === undefined ? '' : ` with payload ${show(payload)}`}${Object.keys(expected).length ? ` and ${show(expected)}` : ''}`,
      `jobs ${show(r.jobs)}`,
    );
  },
  toHaveWritten(this: MatcherContext, received: unknown, table: string, key?: Record<string, unknown>): MatcherResult {
    const r = recording(received, 'toHaveWritten');
    const pass = r.operations.some(
      (o) =>
        o.kind !== 'ConditionCheck' &&
        o.table === table &&
        (key === undefined ||
          Object.entries(key).every(([name, value]) =>
            this.equals((o.key ?? o.item)?.[name], value, this.customTesters),
          )),
    );
    return result(
      this,
      pass,
      `written to ${table}${key ? ` the item ${show(key)}` : ''}`,
      `writes ${show(r.operations.map((o) => ({ kind: o.kind, table: o.table, key: o.key ?? o.item })))}`,
    );
  },
};
