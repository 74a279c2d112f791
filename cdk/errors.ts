import { UnitOfWorkError } from '../lib/errors.js';

/**
 * Invalid props of a {@link TransactionalOutbox}: thrown while the construct is built, before synthesis.
 * The message names the construct: `TransactionalOutbox(<id>): <what is wrong>`.
 *
 * @example
 * // TransactionalOutbox(Outbox): retryAttempts must be an integer from 0 to 10000 (got -1); …
 */
export class TransactionalOutboxError extends UnitOfWorkError {
  override readonly name = 'TransactionalOutboxError' as const;
  /** The id of the construct whose props are invalid. */
  readonly constructId: string;
  constructor(constructId: string, message: string) {
    super(`TransactionalOutbox(${constructId}): ${message}`);
    this.constructId = constructId;
  }
}
