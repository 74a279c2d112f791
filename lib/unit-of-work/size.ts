/**
 * Item sizes by DynamoDB's rules, computed on the native JavaScript values that `@aws-sdk/lib-dynamodb`
 * marshalls (no marshalling needed): attribute names count their UTF-8 bytes; strings their UTF-8 bytes;
 * numbers about one byte per two significant digits plus one; binary its length; booleans and null one
 * byte; lists and maps 3 bytes plus one per element plus their contents.
 */

function numberSize(text: string): number {
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

/** Size in bytes of one native attribute value. */
export function valueSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return Buffer.byteLength(value, 'utf8');
    case 'number':
    case 'bigint':
      return numberSize(String(value));
    case 'boolean':
      return 1;
    case 'undefined':
      return 0;
    default:
      break;
  }
  if (value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (value instanceof Set) {
    let n = 0;
    for (const v of value) n += valueSize(v);
    return n;
  }
  if (Array.isArray(value)) {
    let n = 3;
    for (const v of value) n += valueSize(v) + 1;
    return n;
  }
  const asNumber = value as { value?: unknown; toString?: () => string };
  if (value && typeof asNumber.value === 'string' && value.constructor?.name === 'NumberValue') return numberSize(asNumber.value);
  let n = 3;
  for (const [k, v] of Object.entries(value as object)) {
    if (v === undefined) continue;
    n += Buffer.byteLength(k, 'utf8') + valueSize(v) + 1;
  }
  return n;
}

/** Size in bytes of an item (top-level attributes, without the map overhead). */
export function itemSize(item: Record<string, unknown> | undefined): number {
  if (!item) return 0;
  let n = 0;
  for (const [k, v] of Object.entries(item)) {
    if (v === undefined) continue;
    n += Buffer.byteLength(k, 'utf8') + valueSize(v);
  }
  return n;
}

/** Maximum size of one item. */
export const MAX_ITEM_BYTES = 400 * 1024;
/** Maximum aggregate size of one TransactWriteItems. */
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
/** Maximum actions of one TransactWriteItems. */
export const MAX_TRANSACTION_ACTIONS = 100;
