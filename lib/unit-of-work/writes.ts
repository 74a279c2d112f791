import { InvalidOperationError, formatKey, type OperationRef } from '../errors.js';
import { conditionAttributeNames, validateExpressions } from './expressions.js';
import { WRITE_KINDS, type WriteKind } from './types.js';
import { isNumberValue, memberPath, snapshotAttributes } from './values.js';

/** What a buffered action is for: a business write, a new job record, or a job cancel/reschedule. */
export type WriteRole = 'write' | 'job' | 'jobChange';

/** One TransactWriteItems action held by a unit of work. */
export interface BufferedWrite {
  readonly kind: WriteKind;
  /** The action body as `@aws-sdk/lib-dynamodb` takes it (no label). */
  params: Record<string, unknown>;
  ref: OperationRef;
  /** Estimated request bytes of the action. */
  bytes: number;
  /** Estimated item bytes (Put only). */
  itemBytes: number;
  readonly role: WriteRole;
  readonly jobKey?: string;
  readonly jobName?: string;
}

const ALLOWED: Record<WriteKind, ReadonlySet<string>> = {
  Put: new Set([
    'TableName',
    'Item',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValuesOnConditionCheckFailure',
    'label',
  ]),
  Update: new Set([
    'TableName',
    'Key',
    'UpdateExpression',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValuesOnConditionCheckFailure',
    'label',
  ]),
  Delete: new Set([
    'TableName',
    'Key',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValuesOnConditionCheckFailure',
    'label',
  ]),
  ConditionCheck: new Set([
    'TableName',
    'Key',
    'ConditionExpression',
    'ExpressionAttributeNames',
    'ExpressionAttributeValues',
    'ReturnValuesOnConditionCheckFailure',
    'label',
  ]),
};

/** The unit-of-work method that buffers each write kind (named in errors). */
export const WRITE_METHOD: Readonly<Record<WriteKind, string>> = {
  Put: 'put',
  Update: 'update',
  Delete: 'delete',
  ConditionCheck: 'conditionCheck',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The label of an operation: the one given or `<method> <table>`. */
export function labelOf(kind: WriteKind, input: { label?: unknown; TableName?: unknown }): string {
  if (typeof input.label === 'string' && input.label.length > 0) return input.label;
  return `${WRITE_METHOD[kind]} ${typeof input.TableName === 'string' ? input.TableName : '(no table)'}`;
}

/**
 * Keys that libraries add to the params they build but that are no request fields; dropped from a write input
 * so the library's params can be passed as they are. `ToolboxItem`: dynamodb-toolbox's parsed copy of the item
 * (`PutItemCommand(...).params()`, `UpdateItemCommand(...).params()`).
 */
export const LIBRARY_ONLY_KEYS: ReadonlySet<string> = new Set(['ToolboxItem']);

/** DynamoDB's table names, and table ARNs (which TransactWriteItems also takes). */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TABLE_ARN = /^arn:[\w-]+:dynamodb:[\w-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/;

const RETURN_VALUES_ON_FAILURE = new Set(['ALL_OLD', 'NONE']);

/**
 * Validates a write input before it is buffered and returns a snapshot of it: the action body without the
 * label, its `Item`, `Key` and `ExpressionAttributeValues` deep-copied after {@link snapshotAttributes} checked
 * them, the expressions checked by {@link validateExpressions}. Keys of {@link LIBRARY_ONLY_KEYS} are
 * dropped; any other key a transaction action cannot take is refused. Throws {@link InvalidOperationError}
 * naming the operation and the offending attribute path.
 */
export function validateWriteInput(
  kind: WriteKind,
  input: unknown,
): { params: Record<string, unknown>; label: string } {
  if (!isRecord(input)) throw new InvalidOperationError(`${WRITE_METHOD[kind]}()`, 'expects an input object');
  const label = labelOf(kind, input);
  const allowed = ALLOWED[kind];
  const params: Record<string, unknown> = {};
  let unknown: string[] | undefined;
  try {
    for (const k of Object.keys(input)) {
      if (LIBRARY_ONLY_KEYS.has(k)) continue;
      if (!allowed.has(k)) (unknown ??= []).push(k);
      else if (k !== 'label') params[k] = input[k];
    }
  } catch (error) {
    throw new InvalidOperationError(
      label,
      `the input could not be read: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (unknown)
    throw new InvalidOperationError(
      label,
      `${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not allowed in a transaction ${kind} (allowed: ${[...ALLOWED[kind]].join(', ')})`,
    );
  if (typeof params.TableName !== 'string' || !(TABLE_NAME.test(params.TableName) || TABLE_ARN.test(params.TableName)))
    throw new InvalidOperationError(
      label,
      "TableName must be a table name (3 to 255 of a-z, A-Z, 0-9, '_', '-', '.') or a table ARN",
    );
  if (kind === WRITE_KINDS.put) {
    if (!isRecord(params.Item)) throw new InvalidOperationError(label, 'Item must be an object');
    params.Item = snapshotAttributes(label, params.Item, 'Item');
  } else {
    if (!isRecord(params.Key) || Object.keys(params.Key).length === 0)
      throw new InvalidOperationError(label, 'Key must be an object with the key attributes');
    params.Key = snapshotAttributes(label, params.Key, 'Key');
  }
  if (
    kind === WRITE_KINDS.update &&
    (typeof params.UpdateExpression !== 'string' || params.UpdateExpression.trim() === '')
  )
    throw new InvalidOperationError(label, 'UpdateExpression is required');
  if (
    kind === WRITE_KINDS.conditionCheck &&
    (typeof params.ConditionExpression !== 'string' || params.ConditionExpression.trim() === '')
  )
    throw new InvalidOperationError(label, 'ConditionExpression is required');
  const onFailure = params.ReturnValuesOnConditionCheckFailure;
  if (onFailure !== undefined && !RETURN_VALUES_ON_FAILURE.has(onFailure as string))
    throw new InvalidOperationError(
      label,
      `ReturnValuesOnConditionCheckFailure must be ALL_OLD or NONE, not ${JSON.stringify(onFailure)}`,
    );
  validateExpressions(label, params);
  if (params.ExpressionAttributeNames !== undefined)
    params.ExpressionAttributeNames = { ...(params.ExpressionAttributeNames as object) };
  if (params.ExpressionAttributeValues !== undefined)
    params.ExpressionAttributeValues = snapshotAttributes(
      label,
      params.ExpressionAttributeValues as Record<string, unknown>,
      'ExpressionAttributeValues',
    );
  return { params, label };
}

function canonical(value: unknown): string {
  if (value instanceof Uint8Array) return `b:${Buffer.from(value).toString('base64')}`;
  if (typeof value === 'bigint') return `n:${value}`;
  if (typeof value === 'number') return `n:${value}`;
  if (typeof value === 'string') return `s:${value}`;
  return `?:${JSON.stringify(value)}`;
}

/** A string that is equal for two operations on the same item. */
export function itemIdentity(table: string, key: Record<string, unknown>): string {
  const names = Object.keys(key).sort();
  let out = table;
  for (const n of names) out += `\u0000${n}\u0001${canonical(key[n])}`;
  return out;
}

/** Why a value cannot be a key attribute value (DynamoDB keys are non-empty strings, numbers or binary). */
function keyValueProblem(value: unknown): string | undefined {
  if (typeof value === 'string')
    return value === '' ? 'is an empty string; key attributes must not be empty' : undefined;
  if (typeof value === 'number' || typeof value === 'bigint' || isNumberValue(value)) return undefined;
  if (value instanceof Uint8Array)
    return value.byteLength === 0 ? 'is empty binary; key attributes must not be empty' : undefined;
  return `is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : value instanceof Set ? 'a set' : typeof value === 'object' ? 'a map' : typeof value}; a key attribute is a string, number or binary`;
}

/**
 * Checks the key attributes of a (snapshotted) write: a `Key` has 1 or 2 attributes, exactly the table's key
 * attributes when they are known (`tableKeys`, the outbox table, or learned from an earlier operation); a Put's
 * `Item` has every known key attribute; key values are non-empty strings, numbers or binary.
 */
export function validateKeyAttributes(
  label: string,
  kind: WriteKind,
  params: Record<string, unknown>,
  names: readonly string[] | undefined,
): void {
  const table = params.TableName as string;
  const shown = names ? `(${names.join(', ')})` : '';
  if (kind === WRITE_KINDS.put) {
    const item = params.Item as Record<string, unknown>;
    for (const n of names ?? []) {
      if (item[n] === undefined)
        throw new InvalidOperationError(label, `Item lacks the key attribute "${n}" of table ${table} ${shown}`);
      const problem = keyValueProblem(item[n]);
      if (problem) throw new InvalidOperationError(label, `${memberPath('Item', n)} ${problem}`);
    }
    return;
  }
  const key = params.Key as Record<string, unknown>;
  const given = Object.keys(key);
  if (given.length > 2)
    throw new InvalidOperationError(
      label,
      `Key has ${given.length} attributes (${given.join(', ')}); a DynamoDB key has 1 or 2`,
    );
  if (names) {
    const missing = names.filter((n) => !given.includes(n));
    const extra = given.filter((n) => !names.includes(n));
    if (missing.length > 0 || extra.length > 0)
      throw new InvalidOperationError(
        label,
        `Key must hold exactly the key attributes of table ${table} ${shown}: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`,
      );
  }
  for (const n of given) {
    const problem = keyValueProblem(key[n]);
    if (problem) throw new InvalidOperationError(label, `${memberPath('Key', n)} ${problem}`);
  }
}

/** Picks the key attributes out of a Put item; throws when the item lacks one. */
export function keyFromItem(
  label: string,
  table: string,
  item: Record<string, unknown>,
  names: readonly string[],
): Record<string, unknown> {
  const key: Record<string, unknown> = {};
  for (const n of names) {
    if (item[n] === undefined)
      throw new InvalidOperationError(label, `Item lacks the key attribute "${n}" of table ${table}`);
    key[n] = item[n];
  }
  return key;
}

/** The error for two operations on one item (DynamoDB refuses them in one transaction). */
export function duplicateItemError(
  second: string,
  first: string,
  table: string,
  key: Record<string, unknown>,
): InvalidOperationError {
  return new InvalidOperationError(
    second,
    `"${first}" already writes this item (table ${table}, key ${formatKey(key)}); a transaction may hold only one operation per item: combine them into one`,
  );
}

/**
 * The key of a Put on a table whose key attributes are not known, as far as its condition tells: the
 * attributes of `attribute_not_exists(…)` / `attribute_exists(…)` that the item holds as key-like values (at
 * most two). Names the item in a `ConditionFailedError` without reading the table's schema (no
 * `dynamodb:DescribeTable` permission needed). Undefined when the condition names none.
 */
export function keyFromCondition(params: Record<string, unknown>): Record<string, unknown> | undefined {
  const item = params.Item as Record<string, unknown> | undefined;
  if (!item) return undefined;
  const names = conditionAttributeNames(params).filter(
    (n) => item[n] !== undefined && keyValueProblem(item[n]) === undefined,
  );
  if (names.length === 0 || names.length > 2) return undefined;
  return Object.fromEntries(names.map((n) => [n, item[n]]));
}
