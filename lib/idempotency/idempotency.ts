/**
 * The idempotency flow of `unitOfWork({ idempotency })`: before the handler, one consistent read decides
 * replay / refuse / run; after it, the record joins the unit of work's TransactWriteItems, and a lost
 * commit (a concurrent duplicate won) turns into the winner's response.
 */
import type { Context } from 'aws-lambda';
import {
  CommitFailedError,
  CommitOutcomeUnknownError,
  ConditionFailedError,
  DuplicateJobError,
  IdempotencyConflictError,
  InvalidOperationError,
  TransactionConflictError,
} from '../errors.js';
import { commitUnitOfWork, type CommitResult } from '../unit-of-work/commit.js';
import type { UnitOfWork } from '../unit-of-work/unit-of-work.js';
import type { ResolvedIdempotency } from './options.js';
import {
  buildIdempotencyRecord,
  clientRequestTokenFor,
  decide,
  decodeResponse,
  hashPayload,
  idempotencyRecordKey,
  isLive,
  recordPutInput,
  type IdempotencyRecord,
} from './record.js';
import { readIdempotencyRecord } from './store.js';

/** What `before` learned about an invocation that has an idempotency key. */
export interface IdempotentInvocation {
  readonly table: string;
  readonly key: { readonly pk: string; readonly sk: string };
  readonly payloadHash?: string;
  readonly marker: () => unknown;
}

/** An invocation that runs, with the token its commit sends. */
export interface RunningInvocation extends IdempotentInvocation {
  readonly token: string;
}

/** The outcome of {@link beginIdempotent}. */
export type BeginOutcome =
  | { readonly replay: true; readonly response: unknown }
  | { readonly replay: false; readonly invocation: RunningInvocation };

/**
 * Synchronous part of `before`: the key and the payload hash (computed before the handler can change the
 * event). `undefined` when the key function returns `undefined`: the invocation runs without idempotency.
 */
export function identifyInvocation(
  options: ResolvedIdempotency,
  uow: UnitOfWork,
  event: unknown,
  context: Context,
): IdempotentInvocation | undefined {
  const key = options.key(event, context);
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key === '')
    throw new InvalidOperationError(
      'idempotency.key',
      `must return a non-empty string or undefined, not ${key === '' ? 'an empty string' : typeof key}`,
    );
  const scope = options.scope ?? context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME ?? '';
  return {
    table: options.table ?? uow.settings.outboxTable,
    key: idempotencyRecordKey(scope, key),
    payloadHash: options.payload ? hashPayload(options.payload(event, context)) : undefined,
    marker: () => options.markerResponse(event, context),
  };
}

/**
 * Reads the record (consistent) and decides: replay the stored response of a live record with the same
 * payload, throw `IdempotencyPayloadMismatchError` for another payload, or run.
 */
export async function beginIdempotent(uow: UnitOfWork, invocation: IdempotentInvocation): Promise<BeginOutcome> {
  const found = await readIdempotencyRecord(uow.settings.client(), invocation.table, invocation.key);
  const nowMs = Date.now();
  const decision = decide(found, invocation.payloadHash, nowMs);
  if (decision.action === 'replay')
    return { replay: true, response: decodeResponse(decision.record, invocation.marker) };
  return {
    replay: false,
    invocation: {
      ...invocation,
      token: clientRequestTokenFor(invocation.table, invocation.key.pk, decision.generation),
    },
  };
}

/** What {@link commitIdempotent} did: the response to return, and whether this invocation's commit went through. */
export interface IdempotentCommitOutcome {
  readonly response: unknown;
  /** `true` when a concurrent duplicate committed first: `response` is its response, nothing of ours was written. */
  readonly replayed: boolean;
  /**
   * Set when this invocation's commit went through: its figures, or `'committed'` when its answer was lost
   * and the idempotency record showed that it landed (actions and attempts are then unknown).
   */
  readonly committed?: CommitResult | 'committed';
}

/** Options of {@link commitIdempotent}. */
export interface CommitIdempotentOptions {
  readonly response: unknown;
  readonly storeResponse: boolean;
  readonly expiresAfter: number;
}

/**
 * Adds the record to the unit of work and commits it with the key's ClientRequestToken. When the commit
 * loses to a concurrent duplicate (the record's condition, a business condition the winner made fail, a
 * persistent conflict, or DynamoDB's IdempotentParameterMismatch), returns the winner's response instead.
 */
export async function commitIdempotent(
  uow: UnitOfWork,
  invocation: RunningInvocation,
  options: CommitIdempotentOptions,
): Promise<IdempotentCommitOutcome> {
  const nowMs = Date.now();
  const record = buildIdempotencyRecord({
    pk: invocation.key.pk,
    response: options.response,
    storeResponse: options.storeResponse,
    payloadHash: invocation.payloadHash,
    expiresAfterSeconds: options.expiresAfter,
    nowMs,
    requestId: uow.correlationId,
    commitId: uow.id,
  });
  uow.put(recordPutInput(invocation.table, record, nowMs));
  try {
    const committed = await commitUnitOfWork(uow, { clientRequestToken: invocation.token });
    return { response: options.response, replayed: false, committed };
  } catch (error) {
    const winner = await findWinner(uow, invocation, error);
    // A lost answer the commit could not resolve: the record says whether this very commit landed.
    if (error instanceof CommitOutcomeUnknownError && winner?.commitId === uow.id)
      return { response: options.response, replayed: false, committed: 'committed' };
    if (!winner) {
      if (isTokenMismatch(error))
        throw new IdempotencyConflictError(
          invocation.key.pk,
          'Another commit with this idempotency key used the same ClientRequestToken in the last 10 minutes, and its idempotency record is gone (expired and deleted): nothing was written; retry later',
          { cause: error },
        );
      throw error;
    }
    const decision = decide(winner, invocation.payloadHash, Date.now());
    if (decision.action !== 'replay') throw error;
    uow.settings.logger.debug('idempotency: a concurrent duplicate committed first; returning its response', {
      recordKey: invocation.key.pk,
    });
    return { response: decodeResponse(decision.record, invocation.marker), replayed: true };
  }
}

function isTokenMismatch(error: unknown): boolean {
  return (
    error instanceof CommitFailedError &&
    (error.cause as { name?: string } | undefined)?.name === 'IdempotentParameterMismatchException'
  );
}

/** The live record that made this commit fail, when a concurrent duplicate committed one. */
async function findWinner(
  uow: UnitOfWork,
  invocation: RunningInvocation,
  error: unknown,
): Promise<IdempotencyRecord | undefined> {
  const nowMs = Date.now();
  if (
    error instanceof ConditionFailedError &&
    error.libraryWrite === 'idempotency-record' &&
    error.table === invocation.table &&
    error.key?.pk === invocation.key.pk &&
    isLive(error.item, nowMs)
  )
    return error.item as unknown as IdempotencyRecord;
  const mayHaveLost =
    error instanceof ConditionFailedError ||
    error instanceof DuplicateJobError ||
    error instanceof TransactionConflictError ||
    error instanceof CommitOutcomeUnknownError ||
    isTokenMismatch(error);
  if (!mayHaveLost) return undefined;
  const found = await readIdempotencyRecord(uow.settings.client(), invocation.table, invocation.key);
  return isLive(found, Date.now()) ? found : undefined;
}
