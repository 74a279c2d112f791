/**
 * The inbox: a batch consumer wrapper that handles each record of an SQS, Kinesis or DynamoDB-streams batch
 * exactly once. One unit of work per record; its dedup record commits in the same TransactWriteItems as the
 * record's writes, events and jobs; partial batch responses through Powertools batch.
 */
import {
  BatchProcessor,
  EventType,
  SqsFifoPartialProcessorAsync,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, KinesisStreamRecord, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { ConfigurationError, InvalidOperationError } from '../errors.js';
import { toCloudEvent } from '../events/catalog.js';
import type { CloudEvent } from '../outbox/messages.js';
import { withUnitOfWork } from '../unit-of-work/context.js';
import { declareOptions, optionKeys } from '../options.js';
import { resolveSettings, validateUnitOfWorkOptions, type UnitOfWorkOptions } from '../unit-of-work/settings.js';
import type { UnitOfWork } from '../unit-of-work/unit-of-work.js';
import { INBOX_RECORD, hasInboxRecord, inboxRecordKey, inboxRecordPut } from './record.js';

/** The event sources the inbox consumes (Powertools' `EventType`). */
export type InboxRecordType = keyof typeof EventType;

/** The record type of each source. */
export interface InboxRecords {
  SQS: SQSRecord;
  KinesisDataStreams: KinesisStreamRecord;
  DynamoDBStreams: DynamoDBRecord;
}

/** What an inbox handler gets besides the message. */
export interface InboxContext<TRecord> {
  /** The record's own unit of work (also the ambient one): its operations commit with the dedup record. */
  readonly uow: UnitOfWork;
  /** The raw record. */
  readonly record: TRecord;
  /** The dedup key of the message. */
  readonly key: string;
  /** The Lambda context of the batch. */
  readonly lambdaContext?: Context;
}

/** Handles one message; throwing fails only its record (nothing it buffered is committed). */
export type InboxHandler<TMessage, TRecord> = (
  message: TMessage,
  context: InboxContext<TRecord>,
) => void | Promise<void>;

/** Options of {@link inboxConsumer}: the unit-of-work options plus the inbox's own. */
export interface InboxOptions<TMessage, TType extends InboxRecordType = 'SQS'> extends UnitOfWorkOptions {
  /** Name of this consumer, part of every dedup key: two consumers of the same event dedup separately. */
  readonly name: string;
  /** @default 'SQS' */
  readonly recordType?: TType;
  /**
   * SQS FIFO: records are handled in order and, after a failure, the rest of the batch (or, with
   * `{ skipGroupOnError: true }`, the rest of that message group) is reported failed unprocessed
   * (Powertools' `SqsFifoPartialProcessorAsync`). @default false
   */
  readonly fifo?: boolean | { readonly skipGroupOnError: boolean };
  /** Table of the dedup records, with the outbox table's key schema (pk, sk). @default the outbox table */
  readonly inboxTable?: string;
  /**
   * Record → message. @default SQS: the body parsed as an EventBridge event (or a CloudEvent) → its CloudEvent;
   * Kinesis: the same from the base64 data; DynamoDB streams: the record itself. A typed catalog fits:
   * `parse: (record) => orderEvents.parse(record.body)`.
   */
  readonly parse?: (record: InboxRecords[TType]) => TMessage | Promise<TMessage>;
  /** Dedup key of a message. @default the CloudEvent `id` (DynamoDB streams: the record's `eventID`) */
  readonly key?: (message: TMessage, record: InboxRecords[TType]) => string;
  /** How long a dedup record is kept, in seconds (at least the source's redelivery window). @default 14 days */
  readonly dedupSeconds?: number;
  /** Handle the records of a standard batch concurrently. @default true for SQS, false for streams (in order) */
  readonly parallel?: boolean;
}

/**
 * The declaration of the inbox's own options (the rest are {@link UNIT_OF_WORK_OPTIONS}); their values,
 * which depend on one another, are checked by `validateInboxOptions`.
 */
export const INBOX_OPTIONS = declareOptions<Omit<InboxOptions<unknown, InboxRecordType>, keyof UnitOfWorkOptions>>()({
  name: { doc: 'Name of this consumer, part of every dedup key', required: true },
  recordType: { doc: 'Kind of records consumed', default: "'SQS'" },
  fifo: { doc: 'SQS FIFO: records handled in order', default: 'false' },
  inboxTable: { doc: 'Table of the dedup records', default: 'the outbox table' },
  parse: { doc: 'Record → message', default: 'body → CloudEvent' },
  key: { doc: 'Dedup key of a message', default: 'the CloudEvent id' },
  dedupSeconds: { doc: 'Seconds a dedup record is kept', default: '14 days' },
  parallel: { doc: 'Handle the records of a standard batch concurrently', default: 'SQS: true, streams: false' },
});

/** What the wrapper returns: a Lambda handler answering with partial batch failures. */
export type InboxConsumerHandler<TType extends InboxRecordType> = (
  event: { Records: InboxRecords[TType][] },
  context?: Context,
) => Promise<SQSBatchResponse>;

function isCloudEvent(value: unknown): value is CloudEvent {
  const v = value as Partial<CloudEvent> | null;
  return typeof v === 'object' && v !== null && v.specversion === '1.0' && typeof v.id === 'string';
}

function defaultParse(type: InboxRecordType): (record: never) => unknown {
  if (type === 'SQS') return (record: SQSRecord) => toCloudEvent(record.body, 'inbox parse');
  if (type === 'KinesisDataStreams')
    return (record: KinesisStreamRecord) =>
      toCloudEvent(Buffer.from(record.kinesis.data, 'base64').toString('utf8'), 'inbox parse');
  return (record: DynamoDBRecord) => record;
}

function validateInboxOptions(options: InboxOptions<unknown, InboxRecordType>, component: string): void {
  const problems: string[] = [];
  if (typeof options.name !== 'string' || options.name === '' || options.name.includes('#'))
    problems.push('"name" must be a non-empty string without "#"');
  if (options.recordType !== undefined && !Object.hasOwn(EventType, options.recordType))
    problems.push(`"recordType" must be one of ${Object.keys(EventType).join(', ')}`);
  if (options.fifo && (options.recordType ?? 'SQS') !== 'SQS') problems.push('"fifo" is for SQS only');
  if (options.fifo && options.parallel)
    problems.push('"parallel" cannot be used with "fifo" (FIFO records are handled in order)');
  for (const fn of ['parse', 'key'] as const)
    if (options[fn] !== undefined && typeof options[fn] !== 'function') problems.push(`"${fn}" must be a function`);
  if (options.dedupSeconds !== undefined && !(Number.isInteger(options.dedupSeconds) && options.dedupSeconds >= 60))
    problems.push('"dedupSeconds" must be an integer of at least 60');
  if (options.inboxTable !== undefined && (typeof options.inboxTable !== 'string' || options.inboxTable.length < 3))
    problems.push('"inboxTable" must be a table name');
  if (options.readOnly) problems.push('"readOnly" cannot be used: the inbox commits a dedup record per message');
  if (problems.length) throw new ConfigurationError(component, problems.join('; '));
}

/**
 * Wraps a message handler as a batch consumer with an inbox: each record runs in its own unit of work whose
 * commit also puts a dedup record keyed on the message's CloudEvent `id` (or `key`), conditional on none
 * being there. A redelivered record whose record exists is acknowledged without running; a duplicate handled
 * concurrently that loses the commit race is acknowledged too (its effects were committed by the winner).
 * Events published while handling carry the consumed event's `correlationid` (or its id), `causationid`, and
 * its `traceparent`/`tracestate` when it has them.
 * A failing record is reported in `batchItemFailures` and never fails its neighbours.
 *
 * @example
 * ```ts
 * export const handler = inboxConsumer(async (event, { uow }) => {
 *   uow.update({ TableName: 'summaries', Key: { pk: event.data.customerId }, UpdateExpression: 'ADD orders :one', ExpressionAttributeValues: { ':one': 1 } });
 * }, { name: 'order-summaries', parse: (record) => orderEvents.parse(record.body) });
 * ```
 */
export function inboxConsumer<TMessage = CloudEvent, TType extends InboxRecordType = 'SQS'>(
  handler: InboxHandler<TMessage, InboxRecords[TType]>,
  options: InboxOptions<TMessage, TType>,
): InboxConsumerHandler<TType> {
  const component = `inboxConsumer(${typeof options?.name === 'string' ? options.name : '?'})`;
  if (typeof handler !== 'function') throw new ConfigurationError(component, 'the handler must be a function');
  const { name, recordType, fifo, inboxTable, parse, key, dedupSeconds, parallel, ...uowOptions } =
    validateUnitOfWorkOptions(options, component, optionKeys(INBOX_OPTIONS)) as InboxOptions<TMessage, TType>;
  validateInboxOptions(options as unknown as InboxOptions<unknown, InboxRecordType>, component);
  const type: InboxRecordType = recordType ?? 'SQS';
  const settings = resolveSettings(uowOptions, component);
  const table = inboxTable ?? settings.outboxTable;
  const parseRecord = (parse ?? defaultParse(type)) as (record: InboxRecords[TType]) => TMessage | Promise<TMessage>;
  const keep = dedupSeconds ?? INBOX_RECORD.defaultDedupSeconds;
  const keyOf = (message: TMessage, record: InboxRecords[TType]): string => {
    const k = key
      ? key(message, record)
      : isCloudEvent(message)
        ? message.id
        : type === 'DynamoDBStreams'
          ? (record as DynamoDBRecord).eventID
          : undefined;
    if (typeof k !== 'string' || k === '')
      throw new InvalidOperationError(
        `${component} record`,
        'no dedup key: the message is not a CloudEvent with an id; pass the key option',
      );
    return k;
  };

  const handleRecord = async (
    record: InboxRecords[TType],
    lambdaContext?: Context,
  ): Promise<'handled' | 'duplicate'> => {
    const message = await parseRecord(record);
    const messageKey = keyOf(message, record);
    const recordKey = inboxRecordKey(name, messageKey);
    const client = settings.client();
    if (await hasInboxRecord(client, table, recordKey)) {
      settings.logger.debug('inbox: already handled; acknowledged without running', { consumer: name, messageKey });
      return 'duplicate';
    }
    const cloud = isCloudEvent(message) ? message : undefined;
    let handlerReturned = false;
    try {
      await withUnitOfWork(
        async (uow) => {
          uow.put(
            inboxRecordPut(table, recordKey, {
              consumer: name,
              messageKey,
              commitId: uow.id,
              nowMs: Date.now(),
              dedupSeconds: keep,
            }),
          );
          await handler(message, { uow, record, key: messageKey, lambdaContext });
          handlerReturned = true;
        },
        {
          ...uowOptions,
          client,
          propagation: 'requiresNew',
          correlationId: cloud ? (cloud.correlationid ?? cloud.id) : lambdaContext?.awsRequestId,
          causationId: cloud?.id,
          // The consumed event's trace context carries on into this commit's events (else the option's, or X-Ray).
          ...(cloud?.traceparent
            ? { traceContext: () => ({ traceparent: cloud.traceparent, tracestate: cloud.tracestate }) }
            : {}),
        },
      );
      return 'handled';
    } catch (error) {
      // The commit failed: lost the race to a concurrent duplicate (its record, or a condition its writes made
      // fail), or applied with the answer lost. Either way a live record now means the message was handled.
      if (handlerReturned && (await hasInboxRecord(client, table, recordKey))) {
        settings.logger.debug('inbox: a duplicate committed first; acknowledged', { consumer: name, messageKey });
        return 'duplicate';
      }
      throw error;
    }
  };

  return (event, lambdaContext) => {
    const processor = fifo ? new SqsFifoPartialProcessorAsync() : new BatchProcessor(EventType[type]);
    const skipGroupOnError = typeof fifo === 'object' ? fifo.skipGroupOnError : false;
    const processing = fifo
      ? { context: lambdaContext, skipGroupOnError }
      : { context: lambdaContext, processInParallel: parallel ?? type === 'SQS' };
    return processPartialResponse(
      event,
      (record: InboxRecords[TType]) => handleRecord(record, lambdaContext),
      processor,
      processing as never,
    ) as Promise<SQSBatchResponse>;
  };
}
