import { InvalidOperationError } from '../errors.js';

/**
 * Checks and copies the native values of an item, key or `ExpressionAttributeValues` the way
 * `@aws-sdk/lib-dynamodb` would marshal them, refusing at the call everything DynamoDB cannot store or the
 * SDK would change silently: `undefined`, NaN/±Infinity, numbers outside DynamoDB's range or precision,
 * functions, symbols, Dates, class instances, empty or mixed sets, cycles, nesting beyond DynamoDB's 32
 * levels, empty attribute names, and getters that throw. The copy is what commits, so a later mutation of
 * the caller's object cannot change it.
 */

/** Deepest container nesting of one attribute value: DynamoDB allows 32 levels and counts the item as one. */
export const MAX_ATTRIBUTE_NESTING = 31;
/** Most significant digits of a DynamoDB number. */
export const MAX_NUMBER_DIGITS = 38;
/** Smallest positive magnitude of a DynamoDB number is 1E-130; largest below 1E+126. */
const MIN_EXPONENT = -130;
const MAX_EXPONENT = 125;
/** Longest attribute name, in UTF-8 bytes. */
const MAX_NAME_BYTES = 65535;

/** 10^38: a bigint strictly inside ±10^38 has at most 38 digits and is in range. */
const BIGINT_38 = 10n ** 38n;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `parent.child` or `parent["odd key"]`: how error messages name a map member. */
export function memberPath(parent: string, name: string): string {
  return IDENTIFIER.test(name) ? `${parent}.${name}` : `${parent}[${JSON.stringify(name)}]`;
}

/** An attribute path, built cheaply while walking and rendered only for an error message. */
export type AttributePath =
  | string
  | { readonly parent: AttributePath; readonly member: string | number; readonly element?: true };

/** `Item.lines[2].price`: the text of an {@link AttributePath}. */
export function renderPath(path: AttributePath): string {
  if (typeof path === 'string') return path;
  const parent = renderPath(path.parent);
  if (path.element) return `${parent}<element ${path.member}>`;
  return typeof path.member === 'number' ? `${parent}[${path.member}]` : memberPath(parent, path.member);
}

/** Digits and exponent of a decimal text, or undefined when it is not a decimal number. */
function decimalParts(text: string): { digits: string; exponent: number } | undefined {
  const m = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
  const whole = m[1] ?? '';
  const fraction = m[2] ?? '';
  const all = (whole + fraction).replace(/^0+/, '');
  const exponent =
    Number(m[3] ?? 0) + whole.length - 1 - ((whole + fraction).length - (whole + fraction).replace(/^0+/, '').length);
  return { digits: all.replace(/0+$/, ''), exponent };
}

/** Why a decimal text is not a storable DynamoDB number, or undefined when it is. */
export function numberProblem(text: string): string | undefined {
  const parts = decimalParts(text);
  if (!parts) return 'not a decimal number';
  if (parts.digits === '') return undefined; // zero
  if (parts.digits.length > MAX_NUMBER_DIGITS)
    return `with ${parts.digits.length} significant digits; DynamoDB keeps at most ${MAX_NUMBER_DIGITS}`;
  if (parts.exponent > MAX_EXPONENT)
    return "beyond DynamoDB's largest number (9.9999999999999999999999999999999999999E+125)";
  if (parts.exponent < MIN_EXPONENT) return "smaller than DynamoDB's smallest non-zero number (1E-130)";
  return undefined;
}

/** A canonical text of a number (for duplicate detection in number sets). */
function canonicalNumber(text: string): string {
  const parts = decimalParts(text);
  if (!parts || parts.digits === '') return '0';
  return `${text.trim().startsWith('-') ? '-' : ''}${parts.digits}e${parts.exponent}`;
}

/** Whether `value` is `@aws-sdk/lib-dynamodb`'s `NumberValue` (by name: survives duplicate package copies). */
export function isNumberValue(value: unknown): value is { value: string; toString(): string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    value.constructor?.name === 'NumberValue' &&
    typeof (value as { value?: unknown }).value === 'string'
  );
}

function isBinary(value: unknown): value is ArrayBufferView | ArrayBuffer {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function copyBinary(value: ArrayBufferView | ArrayBuffer): Uint8Array {
  return value instanceof ArrayBuffer
    ? new Uint8Array(value.slice(0))
    : new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
}

/** What kind of thing a refused object is, for messages (`a Foo instance`). */
export function objectKind(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name} instance` : 'an object with a custom prototype';
}

class Snapshot {
  readonly #stack = new Set<object>();
  constructor(readonly operation: string) {}

  fail(path: AttributePath, problem: string): never {
    throw new InvalidOperationError(this.operation, `${renderPath(path)} ${problem}`);
  }

  number(text: string, path: AttributePath): void {
    const problem = numberProblem(text);
    if (problem) this.fail(path, `is ${/^[\d.eE+-]+$/.test(text) ? text : JSON.stringify(text)}, ${problem}`);
  }

  value(value: unknown, path: AttributePath, depth: number): unknown {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'number':
        if (!Number.isFinite(value)) this.fail(path, `is ${value}; DynamoDB stores only finite numbers`);
        if (Math.abs(value) > Number.MAX_SAFE_INTEGER)
          this.fail(
            path,
            `is ${value}, beyond Number.MAX_SAFE_INTEGER: the SDK refuses imprecise numbers (use a BigInt or NumberValue)`,
          );
        // A double has at most 17 significant digits and is below 1E+126 here: only underflow is possible.
        if (value !== 0 && Math.abs(value) < 1e-130) this.number(String(value), path);
        return value;
      case 'bigint':
        if (value <= -BIGINT_38 || value >= BIGINT_38) this.number(value.toString(), path);
        return value;
      case 'undefined':
        return this.fail(path, 'is undefined; leave the attribute out or use null');
      case 'function':
        return this.fail(path, 'is a function; DynamoDB cannot store it (the SDK would drop it silently)');
      case 'symbol':
        return this.fail(path, 'is a symbol; DynamoDB cannot store it');
      default:
        break;
    }
    if (value === null) return null;
    const obj = value as object;
    if (isNumberValue(obj)) {
      this.number(obj.value, path);
      return obj;
    }
    if (isBinary(obj)) return copyBinary(obj);
    if (obj instanceof Date) return this.fail(path, 'is a Date; store date.toISOString() or date.getTime()');
    if (this.#stack.has(obj)) this.fail(path, 'refers back to an object that contains it (a cycle)');
    if (depth >= MAX_ATTRIBUTE_NESTING)
      this.fail(path, `is nested deeper than DynamoDB's 32 levels (the item is the first)`);
    this.#stack.add(obj);
    try {
      if (Array.isArray(obj)) {
        const out: unknown[] = new Array(obj.length);
        for (let i = 0; i < obj.length; i++) {
          const p = { parent: path, member: i };
          out[i] = this.value(this.read(obj, i, p), p, depth + 1);
        }
        return out;
      }
      if (obj instanceof Set) return this.set(obj, path);
      if (obj instanceof Map) {
        const out: Record<string, unknown> = {};
        for (const [k, v] of obj) {
          if (typeof k !== 'string') this.fail(path, `is a Map with a ${typeof k} key; DynamoDB map keys are strings`);
          out[this.name(k, path)] = this.value(v, { parent: path, member: k }, depth + 1);
        }
        return out;
      }
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null)
        this.fail(
          path,
          `is ${objectKind(obj)}; pass a plain object (DynamoDB would store only its own enumerable fields, or refuse it)`,
        );
      return this.map(obj as Record<string, unknown>, path, depth);
    } finally {
      this.#stack.delete(obj);
    }
  }

  /** Reads a member, turning a throwing getter or proxy trap into a named error. */
  read(obj: object, key: string | number, path: AttributePath): unknown {
    try {
      return (obj as Record<string | number, unknown>)[key];
    } catch (error) {
      return this.fail(path, `could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  name(name: string, path: AttributePath): string {
    if (name === '') this.fail(path, 'has an empty attribute name; DynamoDB refuses it');
    if (name.length > MAX_NAME_BYTES / 3 && Buffer.byteLength(name) > MAX_NAME_BYTES)
      this.fail({ parent: path, member: `${name.slice(0, 20)}…` }, `is a name longer than ${MAX_NAME_BYTES} bytes`);
    return name;
  }

  map(obj: Record<string, unknown>, path: AttributePath, depth: number): Record<string, unknown> {
    let keys: string[];
    try {
      keys = Object.keys(obj);
    } catch (error) {
      return this.fail(path, `could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const p = { parent: path, member: k };
      out[this.name(k, path)] = this.value(this.read(obj, k, p), p, depth + 1);
    }
    return out;
  }

  set(set: Set<unknown>, path: AttributePath): Set<unknown> {
    if (set.size === 0)
      this.fail(path, 'is an empty Set; DynamoDB refuses empty sets (leave the attribute out or REMOVE it)');
    const kinds = new Set<string>();
    const numbers = new Set<string>();
    const out = new Set<unknown>();
    let i = 0;
    for (const element of set) {
      const p: AttributePath = { parent: path, member: i++, element: true };
      if (typeof element === 'string') kinds.add('string');
      else if (typeof element === 'number' || typeof element === 'bigint' || isNumberValue(element)) {
        kinds.add('number');
        const text = isNumberValue(element) ? element.value : String(element);
        const canonical = canonicalNumber(text);
        if (numbers.has(canonical))
          this.fail(path, `holds the number ${text} twice (DynamoDB refuses duplicates in a number set)`);
        numbers.add(canonical);
      } else if (isBinary(element)) kinds.add('binary');
      else
        this.fail(
          p,
          `is ${element === null ? 'null' : typeof element === 'object' ? objectKind(element) : typeof element}; a Set holds only strings, numbers or binary values`,
        );
      out.add(this.value(element, p, MAX_ATTRIBUTE_NESTING - 1));
    }
    if (kinds.size > 1) this.fail(path, `mixes ${[...kinds].join(' and ')} values; a DynamoDB set holds one type`);
    return out;
  }
}

/**
 * Checks an attribute map (an `Item`, a `Key` or `ExpressionAttributeValues`) and returns a deep copy of it.
 * Throws {@link InvalidOperationError} naming `operation` and the attribute path (e.g. `Item.items[2].price`).
 */
export function snapshotAttributes(
  operation: string,
  map: Record<string, unknown>,
  root: string,
): Record<string, unknown> {
  const snapshot = new Snapshot(operation);
  return snapshot.value(map, root, -1) as Record<string, unknown>;
}

/** Renders any input for an error message without ever throwing (symbols, null-prototype objects, hostile toString). */
export function displayValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'boolean' ||
    value === undefined ||
    value === null
  )
    return String(value);
  if (typeof value === 'symbol') return value.toString();
  if (typeof value === 'function') return 'a function';
  return Array.isArray(value) ? 'a list' : 'an object';
}
