import { InvalidOperationError } from '../errors.js';

function describe(path: string): string {
  return path === '' ? 'the value itself' : path;
}

/** Fast check without paths: true when `value` is plainly JSON-safe. */
function isPlainJson(value: unknown, depth: number, seen: object[]): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > 64 || seen.includes(value)) return false;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return true;
  if (value instanceof Map || value instanceof Set) return false;
  seen.push(value);
  let ok = true;
  if (Array.isArray(value)) {
    for (let i = 0; ok && i < value.length; i++) ok = isPlainJson(value[i], depth + 1, seen);
  } else {
    const obj = value as Record<string, unknown>;
    for (const k in obj) if (!(ok = isPlainJson(obj[k], depth + 1, seen))) break;
  }
  seen.pop();
  return ok;
}

/**
 * Throws {@link InvalidOperationError} (naming `operation` and the path of the offending value) unless
 * `value` survives `JSON.stringify` unchanged in meaning: no BigInt, cycle, function, symbol, Map, Set,
 * NaN/Infinity anywhere, and not `undefined` at the top level. Nested `undefined` properties are dropped by
 * JSON, as usual, and are accepted.
 */
export function assertJsonSerializable(value: unknown, operation: string, what: string): void {
  if (value === undefined) throw new InvalidOperationError(operation, `${what} is undefined; use null for "no ${what}"`);
  if (isPlainJson(value, 0, [])) return;
  const stack = new Set<object>();
  const visit = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
      case 'undefined':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new InvalidOperationError(operation, `${what} is not JSON-serializable: ${describe(path)} is ${v}`);
        return;
      case 'bigint':
        throw new InvalidOperationError(operation, `${what} is not JSON-serializable: ${describe(path)} is a BigInt (convert it to a string or number)`);
      case 'function':
        throw new InvalidOperationError(operation, `${what} is not JSON-serializable: ${describe(path)} is a function`);
      case 'symbol':
        throw new InvalidOperationError(operation, `${what} is not JSON-serializable: ${describe(path)} is a symbol`);
      default:
        break;
    }
    if (v === null) return;
    const obj = v as object;
    if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') return; // Date and friends
    if (obj instanceof Map || obj instanceof Set)
      throw new InvalidOperationError(operation, `${what} is not JSON-serializable: ${describe(path)} is a ${obj.constructor.name} (JSON would turn it into {})`);
    if (stack.has(obj)) throw new InvalidOperationError(operation, `${what} is not JSON-serializable: ${describe(path)} refers back to itself (a cycle)`);
    stack.add(obj);
    if (Array.isArray(obj)) obj.forEach((item, i) => visit(item, `${path}[${i}]`));
    else for (const [k, item] of Object.entries(obj)) visit(item, path === '' ? k : `${path}.${k}`);
    stack.delete(obj);
  };
  visit(value, '');
}
