import type { OperationRef } from '../errors.js';
import type { ActionRef } from './transaction.js';

/**
 * Which operations a `ValidationException` of a commit is about, as far as it can be told: DynamoDB does not
 * give the position, so the action is found by the table name or a key attribute name its message mentions
 * (`Type mismatch for key pk …`), or is the only operation of the commit. Empty when it cannot be told.
 */
export function validationCulprits(message: string, actions: readonly ActionRef[]): OperationRef[] {
  const business = actions.filter((a) => a.role !== 'outbox');
  const byTable = business.filter((a) => message.includes(a.table));
  if (byTable.length === 1) return byTable;
  const keyNamed = (byTable.length > 0 ? byTable : business).filter((a) =>
    Object.keys(a.key ?? {}).some((k) =>
      new RegExp(`\\b(?:key|Key:)\\s*${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(message),
    ),
  );
  if (keyNamed.length === 1) return keyNamed;
  return business.length === 1 ? business : [];
}

/** `"create order" (table orders)`, or the list of operations, for a commit failure message. */
export function describeCulprits(culprits: readonly OperationRef[]): string {
  return culprits.map((c) => `"${c.label}" (table ${c.table})`).join(', ');
}
