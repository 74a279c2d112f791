import { InvalidOperationError } from '../errors.js';
import { objectKind, renderPath, type AttributePath } from './values.js';

/** Largest signed 64-bit integer: PutEvents refuses JSON integers beyond it. */
const INT64_MAX = 9223372036854775807n;

/** Options of {@link snapshotJson}. */
export interface JsonSnapshotOptions {
  /** Deepest container nesting accepted (the value itself, when a container, is level 1). */
  readonly maxNesting: number;
  /** Refuse integers outside the signed 64-bit range (PutEvents does). @default false */
  readonly int64?: boolean;
}

/**
 * A checked JSON value: its text (serialized when first read) and a plain copy of it (what is committed, whatever
 * the caller mutates later).
 */
export interface JsonSnapshot {
  readonly json: string;
  readonly value: unknown;
}

class JsonCopy {
  readonly #stack = new Set<object>();
  constructor(
    readonly operation: string,
    readonly what: string,
    readonly options: JsonSnapshotOptions,
  ) {}

  fail(path: AttributePath, problem: string): never {
    throw new InvalidOperationError(
      this.operation,
      `${this.what} is not deliverable JSON: ${renderPath(path)} ${problem}`,
    );
  }

  read(obj: object, key: string | number, path: AttributePath): unknown {
    try {
      return (obj as Record<string | number, unknown>)[key];
    } catch (error) {
      return this.fail(path, `could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  number(value: number, path: AttributePath): number {
    if (!Number.isFinite(value)) this.fail(path, `is ${value} (JSON would turn it into null)`);
    if (
      this.options.int64 &&
      Math.abs(value) > Number.MAX_SAFE_INTEGER &&
      Number.isInteger(value) &&
      !/[e.]/.test(String(value)) &&
      (BigInt(value) > INT64_MAX || BigInt(value) < -INT64_MAX - 1n)
    )
      this.fail(path, `is ${value}, an integer beyond 64 bits: EventBridge refuses it (send it as a string)`);
    return value;
  }

  /** Returns the JSON-equivalent copy; `undefined` means "left out", as JSON.stringify does for properties. */
  value(value: unknown, path: AttributePath, depth: number): unknown {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        return this.number(value, path);
      case 'undefined':
        return undefined;
      case 'bigint':
        return this.fail(path, 'is a BigInt (convert it to a string or number)');
      case 'function':
        return this.fail(path, 'is a function');
      case 'symbol':
        return this.fail(path, 'is a symbol');
      default:
        break;
    }
    if (value === null) return null;
    let obj = value as object;
    const toJSON = this.read(obj, 'toJSON', path);
    if (typeof toJSON === 'function') {
      let replaced: unknown;
      try {
        replaced = (toJSON as (key: string) => unknown).call(obj, '');
      } catch (error) {
        return this.fail(path, `threw in toJSON(): ${error instanceof Error ? error.message : String(error)}`);
      }
      if (replaced === null || typeof replaced !== 'object') return this.value(replaced, path, depth);
      obj = replaced;
    }
    if (obj instanceof Map || obj instanceof Set)
      this.fail(path, `is a ${obj.constructor.name} (JSON would turn it into {})`);
    if (this.#stack.has(obj)) this.fail(path, 'refers back to an object that contains it (a cycle)');
    if (depth + 1 > this.options.maxNesting) this.fail(path, `is nested deeper than ${this.options.maxNesting} levels`);
    this.#stack.add(obj);
    try {
      if (Array.isArray(obj)) {
        const out: unknown[] = [];
        for (let i = 0; i < obj.length; i++) {
          const p = { parent: path, member: i };
          const item = this.value(this.read(obj, i, p), p, depth + 1);
          if (item === undefined) this.fail(p, 'is undefined (JSON would turn it into null)');
          out.push(item);
        }
        return out;
      }
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null)
        this.fail(path, `is ${objectKind(obj)} (JSON keeps only its own enumerable fields; pass a plain object)`);
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(obj)) {
        const p = { parent: path, member: k };
        const item = this.value(this.read(obj, k, p), p, depth + 1);
        if (item !== undefined) out[k] = item;
      }
      return out;
    } finally {
      this.#stack.delete(obj);
    }
  }
}

/**
 * Checks that `value` (an event's `data`, a job's `payload`) means the same after `JSON.stringify` and can be
 * delivered, and returns its JSON text and a plain copy. Refused, naming `operation` and the path: BigInt,
 * cycles, functions, symbols, Map, Set, NaN/±Infinity, class instances without `toJSON` (JSON would keep only
 * their own enumerable fields: private fields become `{}`), `undefined` in arrays (JSON makes it null),
 * throwing getters or `toJSON`, nesting beyond `maxNesting`, and `undefined` at the top level. `toJSON` is
 * honoured (a Date becomes its ISO string); `undefined` properties are left out, as JSON does.
 */
export function snapshotJson(
  value: unknown,
  operation: string,
  what: string,
  options: JsonSnapshotOptions,
): JsonSnapshot {
  if (value === undefined)
    throw new InvalidOperationError(operation, `${what} is undefined; use null for "no ${what}"`);
  const copy = new JsonCopy(operation, what, options).value(value, what, 0);
  if (copy === undefined)
    throw new InvalidOperationError(operation, `${what} turns into nothing in JSON (its toJSON() returned undefined)`);
  return new Snapshot(copy);
}

/**
 * The text is serialized on first read: `publish` embeds the copy in its message and serializes that once, so
 * serializing the data on its own as well would be wasted work on every event.
 */
class Snapshot implements JsonSnapshot {
  #json: string | undefined;
  constructor(readonly value: unknown) {}
  get json(): string {
    return (this.#json ??= JSON.stringify(this.value));
  }
}
