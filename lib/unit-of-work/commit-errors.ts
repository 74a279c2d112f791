import {
  CommitFailedError,
  ConditionFailedError,
  DuplicateJobError,
  InvalidOperationError,
  type UnitOfWorkError,
} from '../errors.js';
import type { ActionRef } from './transaction.js';
import { describeCulprits, validationCulprits } from './validation-failure.js';

const ATTRIBUTE_VALUE_TAGS = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS']);

/**
 * The item of a cancellation reason as plain JavaScript. `@aws-sdk/util-dynamodb` is imported only here, on a
 * failed condition: a static import would make every cold start link it (~1.5 ms) for an error path.
 */
async function plainItem(item: unknown): Promise<Record<string, unknown> | undefined> {
  if (!item || typeof item !== 'object') return undefined;
  const values = Object.values(item as object);
  const marshalled =
    values.length > 0 &&
    values.every(
      (v) => v && typeof v === 'object' && Object.keys(v).length === 1 && ATTRIBUTE_VALUE_TAGS.has(Object.keys(v)[0]!),
    );
  if (!marshalled) return item as Record<string, unknown>;
  const { unmarshall } = await import('@aws-sdk/util-dynamodb');
  return unmarshall(item as never);
}

interface CancellationReason {
  Code?: string;
  Message?: string;
  Item?: unknown;
}

/** What to do with a failed TransactWriteItems. */
export type CommitFailure =
  | { readonly retry: true; readonly reason: 'conflict' | 'throttled' }
  | { readonly retry: false; readonly error: UnitOfWorkError };

/**
 * Maps an SDK error of TransactWriteItems to the library's typed errors, using the position of each
 * cancellation reason to name the operation. Pure (async only to load the unmarshaller on a failed condition).
 * A `TransactionConflict` (and only that) asks for a retry.
 */
export async function classifyCommitError(
  error: unknown,
  actions: readonly ActionRef[],
  attempts: number,
): Promise<CommitFailure> {
  const e = error as { name?: string; message?: string; CancellationReasons?: CancellationReason[] };
  const refs = actions.filter((a) => a.role !== 'outbox').map(({ label, table, key }) => ({ label, table, key }));
  if (e?.name === 'TransactionCanceledException') {
    const reasons = e.CancellationReasons ?? [];
    const failedAt = reasons.findIndex((r) => r?.Code === 'ConditionalCheckFailed');
    if (failedAt >= 0) {
      const action = actions[failedAt];
      if (action?.role === 'job') {
        const status = ((await plainItem(reasons[failedAt]?.Item)) as { jobStatus?: string } | undefined)?.jobStatus;
        return {
          retry: false,
          error: new DuplicateJobError(action.jobKey ?? '?', action.jobName ?? '?', { cause: error, status }),
        };
      }
      return {
        retry: false,
        error: new ConditionFailedError(
          {
            label: action?.label ?? `action #${failedAt}`,
            table: action?.table ?? '?',
            key: action?.key,
            ...(action?.libraryWrite ? { libraryWrite: action.libraryWrite } : {}),
            index: failedAt,
            item: await plainItem(reasons[failedAt]?.Item),
          },
          { cause: error },
        ),
      };
    }
    // Conflicts and throttling of single items are transient: retry the whole transaction (same token).
    if (reasons.some((r) => r?.Code === 'TransactionConflict')) return { retry: true, reason: 'conflict' };
    if (reasons.some((r) => r?.Code === 'ThrottlingError' || r?.Code === 'ProvisionedThroughputExceeded'))
      return { retry: true, reason: 'throttled' };
    const problems = reasons
      .map((r, i) =>
        r?.Code && r.Code !== 'None'
          ? `"${actions[i]?.label ?? `action #${i}`}"${actions[i] ? ` (table ${actions[i]!.table})` : ''}: ${r.Code}${r.Message ? ` (${r.Message})` : ''}`
          : '',
      )
      .filter(Boolean);
    const refused = actions
      .filter((a, i) => a.role !== 'outbox' && reasons[i]?.Code && reasons[i]?.Code !== 'None')
      .map(({ label, table, key }) => ({ label, table, key }));
    return {
      retry: false,
      error: new CommitFailedError(
        `The transaction was cancelled: ${problems.join('; ') || e.message}`,
        refused.length > 0 ? refused : refs,
        { cause: error },
      ),
    };
  }
  if (e?.name === 'TransactionInProgressException') return { retry: true, reason: 'conflict' };
  if (e?.name === 'ValidationException' && /multiple operations on one item/i.test(e.message ?? ''))
    return {
      retry: false,
      error: new InvalidOperationError(
        'commit',
        `${e.message}: two buffered operations target the same item (declare the table's key attributes with the tableKeys option to catch this when the operation is buffered)`,
        { cause: error },
      ),
    };
  if (e?.name === 'IdempotentParameterMismatchException')
    return {
      retry: false,
      error: new CommitFailedError(
        'The ClientRequestToken of this commit was already used in the last 10 minutes for a different transaction',
        refs,
        { cause: error },
      ),
    };
  if (e?.name === 'ValidationException') {
    const culprits = validationCulprits(e.message ?? '', actions);
    if (culprits.length > 0)
      return {
        retry: false,
        error: new CommitFailedError(
          `The commit failed: DynamoDB refused ${describeCulprits(culprits)}: ValidationException: ${e.message}`,
          culprits,
          { cause: error },
        ),
      };
  }
  return {
    retry: false,
    error: new CommitFailedError(`The commit failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`, refs, {
      cause: error,
    }),
  };
}
