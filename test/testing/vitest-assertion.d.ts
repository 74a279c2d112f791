/**
 * A minimal local declaration of the `vitest` module: the members of vitest's own types (`@vitest/expect`,
 * re-exported by `vitest`) that the matchers' augmentation and `expect.extend` touch, with vitest's names,
 * type parameters (`Assertion<T = any>`) and signatures. vitest is not a dependency of this repository; this file
 * lets `npm run typecheck` compile vitest-augmentation.types.ts. Delete it if vitest is ever installed (the real
 * types then apply; an ambient declaration would shadow them).
 */
declare module 'vitest' {
  /** vitest's `Tester` (`expect.addEqualityTesters`). */
  export type Tester = (this: unknown, a: any, b: any, customTesters: Array<Tester>) => boolean | undefined;

  /** vitest's `MatcherState`: the `this` of a matcher. */
  export interface MatcherState {
    customTesters: Array<Tester>;
    assertionCalls: number;
    currentTestName?: string;
    equals: (a: unknown, b: unknown, customTesters?: Array<Tester>, strictCheck?: boolean) => boolean;
    expand?: boolean;
    expectedAssertionsNumber?: number | null;
    isExpectingAssertions?: boolean;
    isNot: boolean;
    promise: string;
    testPath?: string;
    utils: {
      stringify(object: unknown, maxDepth?: number): string;
      printReceived(object: unknown): string;
      printExpected(value: unknown): string;
      matcherHint(matcherName: string, received?: string, expected?: string): string;
      diff(a: unknown, b: unknown): string | undefined;
    };
  }

  export interface SyncExpectationResult {
    pass: boolean;
    message: () => string;
    actual?: any;
    expected?: any;
  }
  export type AsyncExpectationResult = Promise<SyncExpectationResult>;
  export type ExpectationResult = SyncExpectationResult | AsyncExpectationResult;
  export type RawMatcherFn<T extends MatcherState = MatcherState> = (
    this: T,
    received: any,
    ...expected: Array<any>
  ) => ExpectationResult;
  export type MatchersObject<T extends MatcherState = MatcherState> = Record<string, RawMatcherFn<T>> & ThisType<T>;

  type Promisify<O> = {
    [K in keyof O]: O[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : O[K];
  };

  /** vitest's `Assertion<T>`: what `expect(value)` returns; `T` is the received value's type. */
  export interface Assertion<T = any> {
    not: Assertion<T>;
    resolves: Promisify<Assertion<T>>;
    rejects: Promisify<Assertion<T>>;
    toBe(expected: T): void;
    toEqual<E>(expected: E): void;
  }

  export interface ExpectStatic {
    <T>(actual: T, message?: string): Assertion<T>;
    extend(expects: MatchersObject): void;
    any(constructor: unknown): any;
  }

  export const expect: ExpectStatic;
}
