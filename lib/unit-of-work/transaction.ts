import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { TransactionLimitError, type OperationRef } from '../errors.js';
import { encodeSizedOutboxItems, OversizedMessageError, type SizedOutboxItem } from '../outbox/encode.js';
import type { OutboxMessage } from '../outbox/messages.js';
import { OUTBOX_SCHEMA } from '../outbox/schema.js';
import { MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, MAX_TRANSACTION_BYTES } from '../dynamodb/size.js';
import type { BufferedWrite, WriteRole } from './writes.js';

/** What each action of a built transaction is, by position, to map DynamoDB's cancellation reasons back. */
export interface ActionRef extends OperationRef {
  readonly role: WriteRole | 'outbox';
  readonly jobKey?: string;
  readonly jobName?: string;
  readonly bytes: number;
}

/** A TransactWriteItems input ready to send, with what each action is. */
export interface BuiltTransaction {
  /** The commit id its outbox items are keyed by. */
  readonly commitId: string;
  readonly input: TransactWriteCommandInput;
  readonly actions: readonly ActionRef[];
  readonly outboxItems: number;
}

/** Inputs of {@link buildTransaction}. */
export interface BuildTransactionInput {
  readonly commitId: string;
  readonly outboxTable: string;
  readonly writes: readonly BufferedWrite[];
  readonly messages: readonly OutboxMessage[];
  /** Pre-serialized messages (same order) to avoid stringifying twice. */
  readonly messageJson?: readonly string[];
  /** UTF-8 bytes of each of `messageJson`, so that no message is measured twice. */
  readonly messageBytes?: readonly number[];
  readonly now: Date;
  readonly retentionSeconds: number;
  readonly correlationId?: string;
  readonly clientRequestToken?: string;
}

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/**
 * The TransactItems entry of a buffered write. A conditional write returns the item's old values on a
 * failed condition (`ALL_OLD`, unless it says otherwise), so `ConditionFailedError` can carry them.
 */
function transactItem(w: BufferedWrite): TransactItem {
  let body = w.params;
  if (body.ConditionExpression !== undefined && body.ReturnValuesOnConditionCheckFailure === undefined) {
    body = { ...body };
    body.ReturnValuesOnConditionCheckFailure = 'ALL_OLD';
  }
  // Assigned rather than a computed key in a literal: it runs for every write.
  const entry: Record<string, unknown> = {};
  entry[w.kind] = body;
  return entry as TransactItem;
}

function biggest(actions: readonly ActionRef[]): (OperationRef & { bytes: number })[] {
  return [...actions]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 5)
    .map(({ label, table, key, bytes }) => ({ label, table, key, bytes }));
}

/**
 * Builds the one TransactWriteItems of a commit: the buffered writes and job records in call order, then
 * the outbox item(s) holding every message in order. Pure; checks DynamoDB's limits (100 actions, 4 MB,
 * 400 KB per item) and throws {@link TransactionLimitError} naming the largest operations.
 */
export function buildTransaction(input: BuildTransactionInput): BuiltTransaction {
  const TransactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = [];
  const actions: ActionRef[] = [];
  for (const w of input.writes) {
    TransactItems.push(transactItem(w));
    const { label, table, key, libraryWrite } = w.ref;
    const action: ActionRef = { label, table, key, role: w.role, jobKey: w.jobKey, jobName: w.jobName, bytes: w.bytes };
    actions.push(libraryWrite === undefined ? action : { ...action, libraryWrite });
  }
  let items: SizedOutboxItem[] = [];
  if (input.messages.length > 0) {
    try {
      items = encodeSizedOutboxItems({
        commitId: input.commitId,
        messages: input.messages,
        messageJson: input.messageJson,
        messageBytes: input.messageBytes,
        now: input.now,
        retentionSeconds: input.retentionSeconds,
        correlationId: input.correlationId,
      });
    } catch (error) {
      if (!(error instanceof OversizedMessageError)) throw error;
      const m = input.messages[error.index]!;
      const label =
        m.kind === 'event'
          ? `publish(${m.event.type})`
          : m.kind === 'job.schedule'
            ? `schedule(${m.job.name}) ${m.job.key}`
            : `${m.kind} ${m.key}`;
      throw new TransactionLimitError(
        `${label}: the message is ${error.bytes} bytes, more than an outbox item holds (${error.maximum})`,
        {
          limit: 'itemBytes',
          actual: error.bytes,
          maximum: error.maximum,
          offenders: [{ label, table: input.outboxTable, bytes: error.bytes }],
        },
      );
    }
  }
  for (const { item, bytes } of items) {
    TransactItems.push({ Put: { TableName: input.outboxTable, Item: item } });
    actions.push({
      label: `outbox item ${String(item[OUTBOX_SCHEMA.sortKey])}`,
      table: input.outboxTable,
      key: { pk: item.pk, sk: item.sk },
      role: 'outbox',
      bytes,
    });
    if (bytes > MAX_ITEM_BYTES)
      throw new TransactionLimitError(
        `the outbox item is ${bytes} bytes; DynamoDB items hold at most ${MAX_ITEM_BYTES}`,
        { limit: 'itemBytes', actual: bytes, maximum: MAX_ITEM_BYTES, offenders: biggest(actions) },
      );
  }
  if (TransactItems.length > MAX_TRANSACTION_ACTIONS) {
    const writes = actions.filter((a) => a.role === 'write').length;
    const jobs = actions.filter((a) => a.role === 'job' || a.role === 'jobChange').length;
    throw new TransactionLimitError(
      `the transaction holds ${TransactItems.length} actions (${writes} writes + ${jobs} job records + ${items.length} outbox items); DynamoDB allows ${MAX_TRANSACTION_ACTIONS}`,
      { limit: 'actions', actual: TransactItems.length, maximum: MAX_TRANSACTION_ACTIONS, offenders: biggest(actions) },
    );
  }
  const total = actions.reduce((n, a) => n + a.bytes, 0);
  if (total > MAX_TRANSACTION_BYTES) {
    const top = biggest(actions);
    throw new TransactionLimitError(
      `the transaction is about ${total} bytes; DynamoDB allows ${MAX_TRANSACTION_BYTES}. Largest: ${top.map((o) => `"${o.label}" ${o.bytes} B`).join(', ')}`,
      { limit: 'transactionBytes', actual: total, maximum: MAX_TRANSACTION_BYTES, offenders: top },
    );
  }
  return {
    commitId: input.commitId,
    input: { TransactItems, ...(input.clientRequestToken ? { ClientRequestToken: input.clientRequestToken } : {}) },
    actions,
    outboxItems: items.length,
  };
}
