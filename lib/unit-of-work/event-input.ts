import { InvalidOperationError } from '../errors.js';
import { snapshotJson, type JsonSnapshot } from './serializable.js';
import type { PublishInput } from './types.js';

/** Longest event `type` (EventBridge `DetailType`), in characters. */
export const MAX_EVENT_TYPE_CHARS = 128;
/** Longest event `source` (EventBridge `Source`), in characters. */
export const MAX_EVENT_SOURCE_CHARS = 256;
/**
 * Deepest nesting of an event's `data`: PutEvents processes JSON up to 1000 levels and the CloudEvents
 * envelope around `data` takes one; the rest is a margin for the envelope fields a consumer may add.
 */
export const MAX_EVENT_DATA_NESTING = 990;
/** Deepest nesting of a job payload (keeps every reader of it, and the checks, far from stack limits). */
export const MAX_JOB_PAYLOAD_NESTING = 990;

/** What {@link validateEventInput} checked: the source to use and the snapshot of `data`. */
export interface CheckedEvent {
  readonly source: string;
  readonly data: JsonSnapshot;
}

/**
 * Checks a `publish` input so that a committed event is always accepted by PutEvents (no poison outbox
 * items): `type` 1–128 characters, `source` 1–256 characters and not `aws.…` (EventBridge reserves it), a
 * string `subject` and `id`, `data` deliverable JSON (see `snapshotJson`; integers within 64 bits, nesting
 * within {@link MAX_EVENT_DATA_NESTING}). The entry size is checked by the caller on the envelope.
 * Throws {@link InvalidOperationError} naming `operation`.
 */
export function validateEventInput(
  operation: string,
  input: PublishInput<unknown>,
  defaultSource: string | undefined,
): CheckedEvent {
  if (typeof input !== 'object' || input === null) throw new InvalidOperationError(operation, 'expects { type, data }');
  if (typeof input.type !== 'string' || input.type.trim() === '')
    throw new InvalidOperationError(operation, 'type must be a non-empty string');
  if (input.type.length > MAX_EVENT_TYPE_CHARS)
    throw new InvalidOperationError(
      operation,
      `type is ${input.type.length} characters; EventBridge takes a DetailType of at most ${MAX_EVENT_TYPE_CHARS}`,
    );
  const source = input.source ?? defaultSource;
  if (source !== undefined && typeof source !== 'string')
    throw new InvalidOperationError(operation, 'source must be a string');
  if (typeof source !== 'string' || source === '')
    throw new InvalidOperationError(
      operation,
      'no event source: pass source, or set the unitOfWork({ source }) option',
    );
  if (source.length > MAX_EVENT_SOURCE_CHARS)
    throw new InvalidOperationError(
      operation,
      `source is ${source.length} characters; EventBridge takes a Source of at most ${MAX_EVENT_SOURCE_CHARS}`,
    );
  if (source.startsWith('aws.'))
    throw new InvalidOperationError(
      operation,
      `source "${source}" starts with "aws.", which EventBridge reserves for AWS services`,
    );
  if (input.subject !== undefined && typeof input.subject !== 'string')
    throw new InvalidOperationError(
      operation,
      `subject must be a string, not ${input.subject === null ? 'null' : typeof input.subject}`,
    );
  if (input.id !== undefined && (typeof input.id !== 'string' || input.id === ''))
    throw new InvalidOperationError(operation, 'id must be a non-empty string');
  const data = snapshotJson(input.data, operation, 'data', { maxNesting: MAX_EVENT_DATA_NESTING, int64: true });
  return { source, data };
}
