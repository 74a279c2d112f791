import { InvalidOperationError } from '../errors.js';
import { isReservedWord } from './reserved-words.js';

/**
 * Checks the expressions of a transaction action before it is buffered, as DynamoDB would on commit: every
 * `#name` and `:value` used is defined, every one defined is used, and no reserved word is used bare as an
 * attribute name. A small tokenizer is enough: DynamoDB's grammar has no string literals.
 */

/** Functions of condition and update expressions. */
const FUNCTIONS = new Set([
  'attribute_exists',
  'attribute_not_exists',
  'attribute_type',
  'begins_with',
  'contains',
  'size',
  'if_not_exists',
  'list_append',
]);
/** Keywords per expression kind: bare words that are not attribute names. */
const KEYWORDS: Record<ExpressionKind, ReadonlySet<string>> = {
  ConditionExpression: new Set(['AND', 'OR', 'NOT', 'BETWEEN', 'IN']),
  UpdateExpression: new Set(['SET', 'REMOVE', 'ADD', 'DELETE']),
};

/** The expression parameters a transaction action may carry. */
export type ExpressionKind = 'ConditionExpression' | 'UpdateExpression';

/** The placeholders an expression uses. */
interface ExpressionTokens {
  readonly names: Set<string>;
  readonly values: Set<string>;
}

const TOKEN = /\s+|#[A-Za-z0-9_]+|:[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*|\d+|<>|<=|>=|[=<>(),.[\]+-]/y;

function tokenize(operation: string, kind: ExpressionKind, text: string): ExpressionTokens {
  const names = new Set<string>();
  const values = new Set<string>();
  TOKEN.lastIndex = 0;
  const tokens: string[] = [];
  while (TOKEN.lastIndex < text.length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m)
      throw new InvalidOperationError(
        operation,
        `${kind} has an unexpected character ${JSON.stringify(text[at])} at position ${at}`,
      );
    if (!/^\s/.test(m[0])) tokens.push(m[0]);
  }
  tokens.forEach((token, i) => {
    if (token.startsWith('#')) names.add(token);
    else if (token.startsWith(':')) values.add(token);
    else if (/^[A-Za-z_]/.test(token)) {
      const isKeyword = tokens[i - 1] !== '.' && KEYWORDS[kind].has(token.toUpperCase());
      if (isKeyword) return; // `AND (`, `IN (` are not calls
      if (tokens[i + 1] === '(' && tokens[i - 1] !== '.') {
        if (!FUNCTIONS.has(token))
          throw new InvalidOperationError(
            operation,
            `${kind} calls ${token}(), which is not a DynamoDB function (${[...FUNCTIONS].join(', ')})`,
          );
      } else if (isReservedWord(token)) {
        throw new InvalidOperationError(
          operation,
          `${kind} uses the reserved word "${token}" as an attribute name; write #${token} and add "#${token}": "${token}" to ExpressionAttributeNames`,
        );
      }
    }
  });
  return { names, values };
}

function placeholders(operation: string, field: string, map: unknown, prefix: string): string[] {
  if (map === undefined) return [];
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new InvalidOperationError(operation, `${field} must be an object`);
  const keys = Object.keys(map);
  if (keys.length === 0)
    throw new InvalidOperationError(operation, `${field} is empty; leave it out (DynamoDB refuses an empty map)`);
  for (const k of keys) {
    if (!k.startsWith(prefix) || k.length < 2)
      throw new InvalidOperationError(operation, `${field} key ${JSON.stringify(k)} must start with "${prefix}"`);
    if (prefix === '#') {
      const name = (map as Record<string, unknown>)[k];
      if (typeof name !== 'string' || name === '')
        throw new InvalidOperationError(operation, `${field}[${JSON.stringify(k)}] must be a non-empty attribute name`);
    }
  }
  return keys;
}

/**
 * Checks `UpdateExpression` / `ConditionExpression` against `ExpressionAttributeNames` and
 * `ExpressionAttributeValues`; throws {@link InvalidOperationError} naming `operation`, the placeholder or the
 * word. Does not check the values themselves (see `snapshotAttributes`).
 */
export function validateExpressions(operation: string, params: Record<string, unknown>): void {
  const names = new Set<string>();
  const values = new Set<string>();
  for (const kind of ['UpdateExpression', 'ConditionExpression'] as const) {
    const text = params[kind];
    if (text === undefined) continue;
    if (typeof text !== 'string' || text.trim() === '')
      throw new InvalidOperationError(operation, `${kind} must be a non-empty string`);
    const used = tokenize(operation, kind, text);
    for (const n of used.names) names.add(n);
    for (const v of used.values) values.add(v);
  }
  const definedNames = placeholders(operation, 'ExpressionAttributeNames', params.ExpressionAttributeNames, '#');
  const definedValues = placeholders(operation, 'ExpressionAttributeValues', params.ExpressionAttributeValues, ':');
  for (const n of names)
    if (!definedNames.includes(n))
      throw new InvalidOperationError(
        operation,
        `the expression uses ${n}, which ExpressionAttributeNames does not define`,
      );
  for (const v of values)
    if (!definedValues.includes(v))
      throw new InvalidOperationError(
        operation,
        `the expression uses ${v}, which ExpressionAttributeValues does not define`,
      );
  for (const n of definedNames)
    if (!names.has(n))
      throw new InvalidOperationError(
        operation,
        `ExpressionAttributeNames defines ${n}, which no expression uses (DynamoDB refuses unused names)`,
      );
  for (const v of definedValues)
    if (!values.has(v))
      throw new InvalidOperationError(
        operation,
        `ExpressionAttributeValues defines ${v}, which no expression uses (DynamoDB refuses unused values)`,
      );
}

/**
 * The attribute names a condition requires to exist or not exist (`attribute_not_exists(pk)`, `#pk` resolved):
 * how the key of a Put on a table whose key schema is not known is named in a `ConditionFailedError`.
 */
export function conditionAttributeNames(params: Record<string, unknown>): string[] {
  const text = params.ConditionExpression;
  if (typeof text !== 'string') return [];
  const names = (params.ExpressionAttributeNames ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const m of text.matchAll(/attribute_(?:not_)?exists\s*\(\s*(#?[A-Za-z0-9_]+)\s*\)/g)) {
    const token = m[1]!;
    const name = token.startsWith('#') ? names[token] : token;
    if (typeof name === 'string' && !out.includes(name)) out.push(name);
  }
  return out;
}
