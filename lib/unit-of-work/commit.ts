import { AsyncLocalStorage } from 'node:async_hooks';
import { channel } from 'node:diagnostics_channel';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { exponentialBackoffDelay } from '../backoff.js';
import { CommitFailedError, InvalidOperationError, RollbackOnlyError, TransactionConflictError } from '../errors.js';
import { classifyCommitError } from './commit-errors.js';
import { outcomeUnknown, resolveLostAnswer, transactWriteCommand } from './commit-outcome.js';
import { buildTransaction, type BuiltTransaction } from './transaction.js';
import type { LoggerLike, UnitOfWork } from './unit-of-work.js';

/** Marks the library's own TransactWriteItems so `guardClient` lets it through. */
export const commitScope = new AsyncLocalStorage<true>();

/** Options of one commit. */
export interface CommitOptions {
  /** Idempotency token of the TransactWriteItems call (DynamoDB remembers it 10 minutes). @default the unit of work's id */
  readonly clientRequestToken?: string;
}

/** Result of a commit. */
export interface CommitResult {
  /** False when nothing was buffered and nothing was sent. */
  readonly sent: boolean;
  readonly actions: number;
  readonly attempts: number;
}

/**
 * The `node:diagnostics_channel` on which every TransactWriteItems the library sends (units of work, job
 * failure transactions) is reported once it succeeded or finally failed, as a {@link CommitReport}. Nothing
 * is built when no one subscribes; local tools (the dev console) subscribe, Lambda code never needs to.
 * Subscribers must not throw: Node reports a subscriber's error as an uncaught exception.
 */
export const COMMIT_CHANNEL = 'lambda-unit-of-work:commit';

/** What {@link COMMIT_CHANNEL} carries. */
export interface CommitReport {
  /** The TransactWriteItems input (document form). */
  readonly input: BuiltTransaction['input'];
  /** What each action is (label, table, key, role), by position. */
  readonly actions: BuiltTransaction['actions'];
  readonly attempts: number;
  /** The error the commit failed with (nothing was written). */
  readonly error?: unknown;
}

const commitChannel = channel(COMMIT_CHANNEL);

function report(built: BuiltTransaction, attempts: number, error?: unknown): void {
  if (!commitChannel.hasSubscribers) return;
  commitChannel.publish({
    input: built.input,
    actions: built.actions,
    attempts,
    ...(error !== undefined ? { error } : {}),
  } satisfies CommitReport);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base·2^attempt)). */
export function conflictBackoffMs(attempt: number, baseMs = 20, capMs = 1000): number {
  return exponentialBackoffDelay(attempt, { base: baseMs, factor: 2, max: capMs, jitter: 'full' });
}

/**
 * Sends a built transaction; a `TransactionConflict` (or `TransactionInProgress`, or a throttled item) is
 * retried with jittered exponential backoff up to `maxConflictRetries` times, with the same token, then fails
 * with {@link TransactionConflictError} (or `CommitFailedError` when throttled). A lost answer is resolved
 * before anything is reported (see `resolveLostAnswer`): it is success when the commit landed, and
 * `CommitOutcomeUnknownError` only when that cannot be known. Other failures become the library's typed errors.
 * Returns the number of sends.
 */
export async function sendTransaction(
  client: DynamoDBDocumentClient,
  built: BuiltTransaction,
  maxConflictRetries: number,
): Promise<number> {
  const send = (): Promise<unknown> => commitScope.run(true, () => client.send(transactWriteCommand(built)));
  let sends = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      sends++;
      await send();
      report(built, sends);
      return sends;
    } catch (caught) {
      let error = caught;
      if (outcomeUnknown(error)) {
        const outcome = await resolveLostAnswer(client, built, built.commitId, error, send);
        sends += outcome.resends;
        if (outcome.landed) {
          report(built, sends);
          return sends;
        }
        error = outcome.error;
      }
      const failure = await classifyCommitError(error, built.actions, attempt + 1);
      const fail = (final: Error): Error => (report(built, sends, final), final);
      if (!failure.retry) throw fail(failure.error);
      if (attempt >= maxConflictRetries) {
        const refs = built.actions
          .filter((a) => a.role !== 'outbox')
          .map(({ label, table, key }) => ({ label, table, key }));
        if (failure.reason === 'throttled')
          throw fail(
            new CommitFailedError(`The transaction was still throttled after ${attempt + 1} attempts`, refs, {
              cause: error,
            }),
          );
        throw fail(new TransactionConflictError(attempt + 1, refs, { cause: error }));
      }
      await sleep(conflictBackoffMs(attempt));
    }
  }
}

async function runCallbacks(callbacks: readonly (() => unknown)[], logger: LoggerLike): Promise<void> {
  for (const callback of callbacks) {
    try {
      await callback();
    } catch (error) {
      logger.warn('onCommitted callback failed; the commit stands', { error });
    }
  }
}

/**
 * Commits a unit of work once: builds its TransactWriteItems (nothing is sent when nothing is buffered),
 * sends it, then runs its `onCommitted` callbacks. Any failure leaves the unit of work `failed` and
 * nothing written; a rollback-only unit of work (a joined scope failed) throws `RollbackOnlyError` without
 * sending. Logs one debug line per commit (commit id, labels, actions, attempts, latency, outcome). Used by
 * the middleware and `withUnitOfWork`; handlers never call it.
 */
export async function commitUnitOfWork(uow: UnitOfWork, options: CommitOptions = {}): Promise<CommitResult> {
  if (uow.state !== 'open') throw new InvalidOperationError('commit', `the unit of work is already ${uow.state}`);
  const { writes, messages, messageJson, messageBytes, callbacks } = uow.contents();
  const { settings } = uow;
  const startedAt = performance.now();
  uow.transition('committing');
  let result: CommitResult = { sent: false, actions: 0, attempts: 0 };
  try {
    if (uow.rollbackOnly) throw new RollbackOnlyError(uow.id, { cause: uow.rollbackCause });
    if (writes.length > 0 || messages.length > 0) {
      const built = buildTransaction({
        commitId: uow.id,
        outboxTable: settings.outboxTable,
        writes,
        messages,
        messageJson,
        messageBytes,
        now: new Date(),
        retentionSeconds: settings.retentionSeconds,
        correlationId: settings.correlationId,
        // One token per commit, the same on every attempt: a retry after TransactionInProgress (or a resend
        // after a lost answer) can never apply the transaction twice. DynamoDB only remembers tokens of
        // transactions that succeeded, so retrying a cancelled one with it is fine.
        clientRequestToken: options.clientRequestToken ?? uow.id,
      });
      result = { sent: false, actions: built.actions.length, attempts: 0 };
      const attempts = await sendTransaction(settings.client(), built, settings.maxConflictRetries);
      result = { sent: true, actions: built.actions.length, attempts };
    }
  } catch (error) {
    uow.transition('failed');
    logCommit(uow, startedAt, result, error);
    throw error;
  }
  uow.transition('committed');
  logCommit(uow, startedAt, result);
  await runCallbacks(callbacks, settings.logger);
  return result;
}

/**
 * The one debug line of a commit, so commit tracing turns on by log level (`POWERTOOLS_LOG_LEVEL=DEBUG`).
 * A failure also carries the error's name and the table/key/label fields its exposed message leaves out.
 */
function logCommit(uow: UnitOfWork, startedAt: number, result: CommitResult, error?: unknown): void {
  const { writes } = uow.contents();
  const e = error as
    | { name?: string; message?: string; label?: string; table?: string; key?: unknown; operations?: unknown }
    | undefined;
  uow.settings.logger.debug('unit of work commit', {
    commitId: uow.id,
    ...(uow.correlationId ? { correlationId: uow.correlationId } : {}),
    outcome: error === undefined ? (result.sent ? 'committed' : 'nothing to commit') : 'failed',
    labels: writes.map((w) => w.ref.label),
    actions: result.actions,
    attempts: result.attempts || ((error as { attempts?: number } | undefined)?.attempts ?? 0),
    latencyMs: Math.round((performance.now() - startedAt) * 100) / 100,
    ...(e
      ? {
          error: {
            name: e.name,
            message: e.message,
            label: e.label,
            table: e.table,
            key: e.key,
            operations: e.operations,
          },
        }
      : {}),
  });
}
