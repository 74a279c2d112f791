/**
 * A commit whose answer was lost: the request may have reached DynamoDB (a connection reset or a timeout
 * after send, a failure raised after the request left) and landed. Before answering, the outcome is resolved:
 * the same TransactWriteItems is resent with the same ClientRequestToken (DynamoDB answers a committed token
 * idempotently for 10 minutes, and a transaction still in flight with it makes the resend wait), and the
 * commit's outbox item is read back (consistent read). Only when neither gives an answer is the outcome unknown.
 */
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CommitOutcomeUnknownError, isUnitOfWorkError } from '../errors.js';
import { OUTBOX_SCHEMA } from '../outbox/schema.js';
import type { BuiltTransaction } from './transaction.js';

/** Error names of answers DynamoDB (or the SDK before sending) gives: the request was definitely refused. */
const DEFINITE_ERRORS = new Set([
  'TransactionCanceledException',
  'TransactionInProgressException',
  'ValidationException',
  'IdempotentParameterMismatchException',
  'ConditionalCheckFailedException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'ItemCollectionSizeLimitExceededException',
  'ReplicatedWriteConflictException',
  'CredentialsProviderError',
  'ProviderError',
  'TokenProviderError',
]);

/** How often a commit with a lost answer is resent before the read-back decides. */
export const LOST_ANSWER_RESENDS = 3;

/**
 * True when a failed send may still have been applied: no answer from DynamoDB (network failure, timeout,
 * an exception raised after the request left) or a 5xx. A 4xx answer or a known refusal is definite.
 */
export function outcomeUnknown(error: unknown): boolean {
  if (isUnitOfWorkError(error)) return false;
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  if (e?.name && DEFINITE_ERRORS.has(e.name)) return false;
  const status = e?.$metadata?.httpStatusCode;
  return !(typeof status === 'number' && status >= 400 && status < 500);
}

/** What resolving a lost answer found: it landed, or a later send got a definite answer to classify. */
export type LostAnswerOutcome =
  | { readonly landed: true; readonly resends: number }
  | { readonly landed: false; readonly error: unknown; readonly resends: number };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves the outcome of a send whose answer was lost (see the module comment). `send` sends the built
 * transaction (through the library's commit scope). Throws {@link CommitOutcomeUnknownError} when it cannot
 * be known. A transaction without ClientRequestToken is never resent (it could apply twice): only read back.
 */
export async function resolveLostAnswer(
  client: DynamoDBDocumentClient,
  built: BuiltTransaction,
  commitId: string,
  lost: unknown,
  send: () => Promise<unknown>,
): Promise<LostAnswerOutcome> {
  let resends = 0;
  if (built.input.ClientRequestToken) {
    for (; resends < LOST_ANSWER_RESENDS; ) {
      await sleep(25 * 2 ** resends * (0.5 + Math.random()));
      resends++;
      try {
        await send();
        return { landed: true, resends };
      } catch (error) {
        if (!outcomeUnknown(error)) return { landed: false, error, resends };
      }
    }
  }
  if (await outboxItemLanded(client, built, commitId)) return { landed: true, resends };
  throw new CommitOutcomeUnknownError(commitId, { cause: lost });
}

/**
 * Consistent read of the first item the transaction puts with this `commitId` (its outbox item, or its
 * idempotency record); `false` when there is none, it is absent or unreadable (absence proves nothing: a
 * request still in flight may land later).
 */
async function outboxItemLanded(
  client: DynamoDBDocumentClient,
  built: BuiltTransaction,
  commitId: string,
): Promise<boolean> {
  const put = built.input.TransactItems?.find((i) => i.Put?.Item?.commitId === commitId)?.Put;
  if (!put?.Item) return false;
  const Key = {
    [OUTBOX_SCHEMA.partitionKey]: put.Item[OUTBOX_SCHEMA.partitionKey],
    [OUTBOX_SCHEMA.sortKey]: put.Item[OUTBOX_SCHEMA.sortKey],
  };
  try {
    const { Item } = await client.send(new GetCommand({ TableName: put.TableName, Key, ConsistentRead: true }));
    return Item?.commitId === commitId;
  } catch {
    return false;
  }
}

/** The command a commit sends (one definition for the first send and the resends). */
export function transactWriteCommand(built: BuiltTransaction): TransactWriteCommand {
  return new TransactWriteCommand(built.input);
}
