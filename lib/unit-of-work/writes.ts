import { InvalidOperationError, formatKey, type OperationRef } from '../errors.js';
import { WRITE_KINDS, type WriteKind } from './types.js';

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
  Put: new Set(['TableName', 'Item', 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure', 'label']),
  Update: new Set(['TableName', 'Key', 'UpdateExpression', 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure', 'label']),
  Delete: new Set(['TableName', 'Key', 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure', 'label']),
  ConditionCheck: new Set(['TableName', 'Key', 'ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues', 'ReturnValuesOnConditionCheckFailure', 'label']),
};

const METHOD: Record<WriteKind, string> = { Put: 'put', Update: 'update', Delete: 'delete', ConditionCheck: 'conditionCheck' };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The label of an operation: the one given or `<method> <table>`. */
export function labelOf(kind: WriteKind, input: { label?: unknown; TableName?: unknown }): string {
  if (typeof input.label === 'string' && input.label.length > 0) return input.label;
  return `${METHOD[kind]} ${typeof input.TableName === 'string' ? input.TableName : '(no table)'}`;
}

/**
 * Validates the shape of a write input before it is buffered; throws {@link InvalidOperationError}
 * naming the operation. Returns the action body without the label.
 */
export function validateWriteInput(kind: WriteKind, input: unknown): { params: Record<string, unknown>; label: string } {
  if (!isRecord(input)) throw new InvalidOperationError(`${METHOD[kind]}()`, 'expects an input object');
  const label = labelOf(kind, input);
  const allowed = ALLOWED[kind];
  const params: Record<string, unknown> = {};
  let unknown: string[] | undefined;
  for (const k in input) {
    if (!allowed.has(k)) (unknown ??= []).push(k);
    else if (k !== 'label') params[k] = input[k];
  }
  if (unknown)
    throw new InvalidOperationError(label, `${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not allowed in a transaction ${kind} (allowed: ${[...ALLOWED[kind]].join(', ')})`);
  if (typeof input.TableName !== 'string' || input.TableName.length < 3)
    throw new InvalidOperationError(label, 'TableName must be a table name (3 characters or more)');
  if (kind === WRITE_KINDS.put) {
    if (!isRecord(input.Item)) throw new InvalidOperationError(label, 'Item must be an object');
  } else if (!isRecord(input.Key) || Object.keys(input.Key).length === 0) {
    throw new InvalidOperationError(label, 'Key must be an object with the key attributes');
  }
  if (kind === WRITE_KINDS.update && (typeof input.UpdateExpression !== 'string' || input.UpdateExpression.trim() === ''))
    throw new InvalidOperationError(label, 'UpdateExpression is required');
  if (kind === WRITE_KINDS.conditionCheck && (typeof input.ConditionExpression !== 'string' || input.ConditionExpression.trim() === ''))
    throw new InvalidOperationError(label, 'ConditionExpression is required');
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

/** Picks the key attributes out of a Put item; throws when the item lacks one. */
export function keyFromItem(label: string, table: string, item: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const key: Record<string, unknown> = {};
  for (const n of names) {
    if (item[n] === undefined) throw new InvalidOperationError(label, `Item lacks the key attribute "${n}" of table ${table}`);
    key[n] = item[n];
  }
  return key;
}

/** The error for two operations on one item (DynamoDB refuses them in one transaction). */
export function duplicateItemError(second: string, first: string, table: string, key: Record<string, unknown>): InvalidOperationError {
  return new InvalidOperationError(
    second,
    `"${first}" already writes this item (table ${table}, key ${formatKey(key)}); a transaction may hold only one operation per item: combine them into one`,
  );
}
