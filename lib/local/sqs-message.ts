/**
 * SQS message rules shared by the local SQS store and endpoint: the service's errors (with their AWS Query
 * codes, which the SDK's query-compatible JSON protocol reads from `x-amzn-query-error`), message attribute
 * validation, sizes and the MD5 digests the SDK checks.
 */
import { createHash } from 'node:crypto';
import { LocalServiceError } from './http.js';

/** A message attribute as on the wire (`BinaryValue` is base64 in the JSON protocol). */
export interface SqsMessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: string;
}

/** The SQS errors the local endpoint answers, by the SDK's error name: [AWS Query code, HTTP status]. */
const ERRORS = {
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  QueueNameExists: ['QueueAlreadyExists', 400],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  InvalidMessageContents: ['InvalidMessageContents', 400],
  InvalidAttributeName: ['InvalidAttributeName', 400],
  InvalidParameterValue: ['InvalidParameterValue', 400],
  MissingParameter: ['MissingParameter', 400],
  RequestThrottled: ['RequestThrottled', 403],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  InvalidAction: ['InvalidAction', 400],
} as const satisfies Record<string, readonly [string, number]>;

/** An SQS error name the local endpoint can answer. */
export type SqsErrorName = keyof typeof ERRORS;

/** An SQS error as the service sends it: `__type` plus the `x-amzn-query-error: <code>;Sender` header. */
export function sqsError(name: SqsErrorName, message: string): LocalServiceError {
  const [code, status] = ERRORS[name];
  return new LocalServiceError(`com.amazonaws.sqs#${name}`, message, status, {
    'x-amzn-query-error': `${code};Sender`,
  });
}

/** The SQS error code of a batch entry failure (`Failed[].Code`). */
export function batchErrorCode(error: unknown): string {
  const type = error instanceof LocalServiceError ? error.type.replace(/^.*#/, '') : 'InternalError';
  return type in ERRORS ? ERRORS[type as SqsErrorName][0] : type;
}

/** Characters SQS accepts in a body or string attribute (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF). */
const INVALID_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Refuses a body that is empty, not a string or has characters SQS does not allow. */
export function checkBody(body: unknown, field: string): string {
  if (typeof body !== 'string') throw sqsError('MissingParameter', `The request must contain the parameter ${field}.`);
  if (body.length === 0)
    throw sqsError(
      'InvalidParameterValue',
      `Value for parameter ${field} is invalid. Reason: Message must be at least one character.`,
    );
  if (INVALID_CHARACTER.test(body))
    throw sqsError(
      'InvalidMessageContents',
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  return body;
}

/** Validates message attributes (≤ 10, names, data types, a value that matches the type); returns them. */
export function checkMessageAttributes(value: unknown): Record<string, SqsMessageAttribute> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw sqsError('InvalidParameterValue', 'MessageAttributes must be a map');
  const entries = Object.entries(value as Record<string, SqsMessageAttribute>);
  if (entries.length > 10)
    throw sqsError(
      'InvalidParameterValue',
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`,
    );
  for (const [name, a] of entries) {
    if (
      !/^[A-Za-z0-9_.-]{1,256}$/.test(name) ||
      /^(aws\.|amazon\.)/i.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..')
    )
      throw sqsError('InvalidParameterValue', `Message attribute name '${name}' is invalid.`);
    const type = a?.DataType;
    if (typeof type !== 'string' || !/^(String|Number|Binary)(\.[^\s]{1,})?$/.test(type) || type.length > 256)
      throw sqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`,
      );
    const binary = type.startsWith('Binary');
    const given = binary ? a.BinaryValue : a.StringValue;
    if (typeof given !== 'string' || given === '')
      throw sqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${type.split('.')[0]}'.`,
      );
    if (type.startsWith('Number') && !Number.isFinite(Number(given)))
      throw sqsError(
        'InvalidParameterValue',
        `Can't cast the value of message (user) attribute '${name}' to a number.`,
      );
  }
  return Object.fromEntries(
    entries.map(([n, a]) => [
      n,
      a.DataType.startsWith('Binary')
        ? { DataType: a.DataType, BinaryValue: a.BinaryValue! }
        : { DataType: a.DataType, StringValue: a.StringValue! },
    ]),
  );
}

/** Bytes a message counts against the size limit: body + each attribute's name, type and value. */
export function messageSize(body: string, attributes: Readonly<Record<string, SqsMessageAttribute>>): number {
  let bytes = Buffer.byteLength(body, 'utf8');
  for (const [name, a] of Object.entries(attributes))
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(a.DataType) +
      (a.BinaryValue !== undefined
        ? Buffer.from(a.BinaryValue, 'base64').length
        : Buffer.byteLength(a.StringValue ?? ''));
  return bytes;
}

/** MD5 (hex) of a body: `MD5OfMessageBody` / `MD5OfBody`, which the SDK verifies. */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/** MD5 (hex) of message attributes as SQS computes it (sorted names; length-prefixed name, type, transport byte, value). */
export function md5OfAttributes(attributes: Readonly<Record<string, SqsMessageAttribute>>): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const field = (bytes: Buffer): void => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  for (const name of names) {
    const a = attributes[name]!;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(a.DataType, 'utf8'));
    const binary = a.BinaryValue !== undefined;
    hash.update(Buffer.from([binary ? 2 : 1]));
    field(binary ? Buffer.from(a.BinaryValue!, 'base64') : Buffer.from(a.StringValue!, 'utf8'));
  }
  return hash.digest('hex');
}

/** Whether attribute `name` is selected by `MessageAttributeNames` (`All`, `.*`, exact names, `prefix.*`). */
export function attributeSelected(name: string, selectors: readonly string[]): boolean {
  return selectors.some(
    (s) => s === 'All' || s === '.*' || s === name || (s.endsWith('.*') && name.startsWith(s.slice(0, -1))),
  );
}

/** An integer parameter within bounds, or `fallback` when absent; `InvalidParameterValue` otherwise. */
export function intParameter(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    throw sqsError(
      'InvalidParameterValue',
      `Value ${String(value)} for parameter ${name} is invalid. Reason: must be between ${min} and ${max}.`,
    );
  return n;
}
