/** Exactly-once handlers: the `idempotency` option of `unitOfWork()` and its record. */
export { IDEMPOTENCY_DEFAULTS, IDEMPOTENCY_OPTION_KEYS, type IdempotencyOptions } from './options.js';
export {
  IDEMPOTENCY_RECORD,
  RESPONSE_ENCODING,
  canonicalJson,
  clientRequestTokenFor,
  hashPayload,
  idempotencyRecordKey,
  type IdempotencyRecord,
  type ResponseEncoding,
} from './record.js';
