/**
 * Item sizes by DynamoDB's rules, computed on the native JavaScript values that `@aws-sdk/lib-dynamodb`
 * marshalls (no marshalling needed): attribute names count their UTF-8 bytes; strings their UTF-8 bytes;
 * numbers about one byte per two significant digits plus one; binary its length; booleans and null one
 * byte; lists and maps 3 bytes plus one per element plus their contents.
 */

/** Bytes of a number: about one per two significant digits plus one (sign and point counted: an upper bound). */
function numberSize(text: string): number {
  return Math.min(21, Math.ceil(text.length / 2) + 1);
}

/** UTF-8 length of a string; a plain loop beats Buffer.byteLength on the short strings items are made of. */
export function utf8Length(text: string): number {
  const n = text.length;
  if (n > 128) return Buffer.byteLength(text, 'utf8');
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** Size in bytes of one native attribute value. */
export function valueSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return utf8Length(value);
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
  if (value && typeof asNumber.value === 'string' && value.constructor?.name === 'NumberValue')
    return numberSize(asNumber.value);
  let n = 3;
  const map = value as Record<string, unknown>;
  for (const k in map) {
    const v = map[k];
    if (v === undefined) continue;
    n += utf8Length(k) + valueSize(v) + 1;
  }
  return n;
}

/** Size in bytes of an item (top-level attributes, without the map overhead). */
export function itemSize(item: Record<string, unknown> | undefined): number {
  if (!item) return 0;
  let n = 0;
  for (const k in item) {
    const v = item[k];
    if (v === undefined) continue;
    n += utf8Length(k) + valueSize(v);
  }
  return n;
}

/** Maximum size of one item. */
export const MAX_ITEM_BYTES = 400 * 1024;
/** Maximum aggregate size of one TransactWriteItems. */
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
/** Maximum actions of one TransactWriteItems. */
export const MAX_TRANSACTION_ACTIONS = 100;
