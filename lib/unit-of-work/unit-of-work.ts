import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { uuidv7 } from '../uuidv7.js';
import type { LoggerLike } from '../logger.js';

export type { LoggerLike } from '../logger.js';
import {
  InvalidOperationError,
  LIBRARY_WRITE,
  ReadOnlyUnitOfWorkError,
  TransactionLimitError,
  type LibraryWrite,
} from '../errors.js';
import { DEFAULT_MAX_ATTEMPTS } from '../job-record/record.js';
import { scheduleNameFor } from '../job-record/schedule-name.js';
import type { CloudEvent, OutboxMessage } from '../outbox/messages.js';
import { OUTBOX_SCHEMA } from '../outbox/schema.js';
import { PUT_EVENTS_LIMITS, putEventsEntryBytes } from '../outbox/put-events-size.js';
import { clientOverride } from './settings.js';
import { resolveTraceContext, type TraceContext } from '../trace-context.js';
import {
  cancelJobParams,
  IF_JOB_EXISTS,
  newJobRecord,
  putJobRecordParams,
  rescheduleJobParams,
  reviveJobParams,
} from '../job-record/writes.js';
import { normalizeSchedule } from './schedule.js';
import { MAX_JOB_PAYLOAD_NESTING, validateEventInput } from './event-input.js';
import { isoTime } from '../iso-time.js';
import { snapshotJson } from './serializable.js';
import { displayValue } from './values.js';
import { MAX_ITEM_BYTES, MAX_TRANSACTION_ACTIONS, itemSize, utf8Length } from '../dynamodb/size.js';
import type {
  PendingCounts,
  PublishInput,
  ScheduleInput,
  ScheduleWhen,
  ScheduledJob,
  UowConditionCheckInput,
  UowDeleteInput,
  UowPutInput,
  UowUpdateInput,
  WriteKind,
} from './types.js';
import {
  duplicateItemError,
  itemIdentity,
  keyFromCondition,
  keyFromItem,
  validateKeyAttributes,
  validateWriteInput,
  WRITE_METHOD,
  type BufferedWrite,
  type WriteRole,
} from './writes.js';

/** Resolved settings of one unit of work (the middleware and `withUnitOfWork` build them from options). */
export interface UnitOfWorkSettings {
  readonly outboxTable: string;
  /** Returns the client to commit with (created lazily). */
  readonly client: () => DynamoDBDocumentClient;
  /** The `client` option as given (a `DynamoDBClient` or document client), to compare joining scopes' options. */
  readonly clientOption?: object;
  readonly source?: string;
  readonly readOnly: boolean;
  readonly retentionSeconds: number;
  readonly tableKeys: Readonly<Record<string, readonly string[]>>;
  readonly maxConflictRetries: number;
  readonly logger: LoggerLike;
  readonly correlationId?: string;
  /** Id of the consumed event being handled (the inbox sets it), recorded as `causationid` on events. */
  readonly causationId?: string;
  /** Source of the trace context (the `traceContext` option, or the runner's/inbox's restored one). */
  readonly traceContext?: () => TraceContext | undefined;
  /**
   * Exactly-once unit of work (an idempotent invocation, a job run): a retry of the invocation must not
   * commit anything twice, so `requiresNew` scopes inside it are refused unless they opt in.
   */
  readonly exactlyOnce?: boolean;
}

/** Largest EventBridge PutEvents entry. */
export const MAX_EVENT_BYTES = PUT_EVENTS_LIMITS.maxBytes;

/** What the message JSON of an event adds around its envelope: `{"kind":"event","event":` … `}`. */
const EVENT_MESSAGE_WRAPPER_BYTES = '{"kind":"event","event":}'.length;
/** What a trace header adds to the message JSON: `,"traceHeader":"…"` without the header itself. */
const TRACE_HEADER_FIELD_BYTES = ',"traceHeader":""'.length;

/** Lifecycle of a unit of work. */
export type UnitOfWorkState = 'open' | 'committing' | 'committed' | 'discarded' | 'failed';

interface BufferedMessage {
  readonly message: OutboxMessage;
  readonly json: string;
  /** UTF-8 bytes of `json`, measured once here and reused by the outbox encoding and the transaction's sizing. */
  readonly bytes: number;
  readonly jobKey?: string;
}

/** A message serialized and measured once, when it is buffered. */
function bufferMessage(message: OutboxMessage, jobKey?: string): BufferedMessage {
  const json = JSON.stringify(message);
  const bytes = utf8Length(json);
  return jobKey === undefined ? { message, json, bytes } : { message, json, bytes, jobKey };
}

/**
 * Buffers DynamoDB writes, domain events and jobs of one invocation (or one `withUnitOfWork` scope).
 * Nothing is sent until its owner (the `unitOfWork()` middleware or `withUnitOfWork`) commits it in one
 * TransactWriteItems; a handler has no way to commit. Every operation is checked when it is called.
 */
export class UnitOfWork {
  /** Commit id (UUIDv7): the outbox items of this unit of work are keyed by it. */
  readonly id: string = uuidv7();
  /** @internal */ readonly settings: UnitOfWorkSettings;
  #state: UnitOfWorkState = 'open';
  readonly #writes: BufferedWrite[] = [];
  readonly #messages: BufferedMessage[] = [];
  readonly #identities = new Map<string, BufferedWrite>();
  readonly #keyNames = new Map<string, readonly string[]>();
  readonly #unkeyedPuts = new Map<string, BufferedWrite[]>();
  readonly #jobs = new Map<string, { write: BufferedWrite; message: BufferedMessage }>();
  readonly #jobChanges = new Map<
    string,
    { write: BufferedWrite; message: BufferedMessage; kind: 'cancel' | 'reschedule' }
  >();
  readonly #eventIds = new Set<string>();
  readonly #onCommitted: (() => unknown)[] = [];
  #rollbackOnly: { cause: unknown } | undefined;
  #discardReason: string | undefined;
  #exactlyOnce: boolean;
  #trace: { value: TraceContext | undefined } | undefined;

  constructor(settings: UnitOfWorkSettings) {
    const override = clientOverride.getStore();
    this.settings = override ? { ...settings, client: () => override } : settings;
    this.#exactlyOnce = settings.exactlyOnce ?? false;
    this.#keyNames.set(settings.outboxTable, [OUTBOX_SCHEMA.partitionKey, OUTBOX_SCHEMA.sortKey]);
    for (const [table, names] of Object.entries(settings.tableKeys)) this.#keyNames.set(table, names);
  }

  /** Where the unit of work is in its life: only an `open` one takes operations. */
  get state(): UnitOfWorkState {
    return this.#state;
  }
  /** True when every write is refused. */
  get readOnly(): boolean {
    return this.settings.readOnly;
  }
  /** The invocation's request id, recorded on events and jobs. */
  get correlationId(): string | undefined {
    return this.settings.correlationId;
  }
  /**
   * The trace context recorded on this unit's events (`traceparent`, `tracestate`, PutEvents `TraceHeader`)
   * and jobs: resolved once, when first read (at the first event or job buffered), see `resolveTraceContext`.
   */
  get traceContext(): TraceContext | undefined {
    if (this.#trace === undefined) {
      let given: TraceContext | undefined;
      try {
        given = this.settings.traceContext?.();
      } catch (error) {
        this.settings.logger.warn('traceContext option threw; the X-Ray header alone is recorded', { error });
      }
      this.#trace = { value: resolveTraceContext(given) };
    }
    return this.#trace.value;
  }
  /** True once a joined scope failed: the commit will throw `RollbackOnlyError` and write nothing. */
  get rollbackOnly(): boolean {
    return this.#rollbackOnly !== undefined;
  }
  /** @internal The error of the first joined scope that failed (the `cause` of `RollbackOnlyError`). */
  get rollbackCause(): unknown {
    return this.#rollbackOnly?.cause;
  }
  /** @internal True for an exactly-once unit of work (idempotent invocation, job run). */
  get exactlyOnce(): boolean {
    return this.#exactlyOnce;
  }
  /** @internal Marks the unit of work exactly-once (the idempotency path, once the invocation has a key). */
  markExactlyOnce(): void {
    this.#exactlyOnce = true;
  }
  /**
   * @internal Marks the unit of work rollback-only (a joined scope threw): operations are still taken, but
   * the commit throws `RollbackOnlyError` with this cause and writes nothing. The first cause is kept.
   */
  markRollbackOnly(cause: unknown): void {
    this.#rollbackOnly ??= { cause };
  }

  /** @internal Adds the key attribute names of tables this unit of work does not know yet (a joining scope's `tableKeys`). */
  declareTableKeys(tableKeys: Readonly<Record<string, readonly string[]>>): void {
    for (const [table, names] of Object.entries(tableKeys)) {
      if (this.#keyNames.has(table)) continue;
      this.#keyNames.set(table, names);
      for (const pending of this.#unkeyedPuts.get(table) ?? [])
        this.#claim(
          pending,
          keyFromItem(pending.ref.label, table, pending.params.Item as Record<string, unknown>, names),
        );
      this.#unkeyedPuts.delete(table);
    }
  }

  /** What is buffered so far. */
  get pending(): PendingCounts {
    return {
      writes: this.#writes.filter((w) => w.role === 'write').length,
      events: this.#eventIds.size,
      jobs: this.#jobs.size,
      jobChanges: this.#jobChanges.size,
    };
  }

  /** Buffers a Put (the `@aws-sdk/lib-dynamodb` shape, plus `label`). */
  put(input: UowPutInput): void {
    this.#addWrite('Put', input);
  }
  /** Buffers an Update. */
  update(input: UowUpdateInput): void {
    this.#addWrite('Update', input);
  }
  /** Buffers a Delete. */
  delete(input: UowDeleteInput): void {
    this.#addWrite('Delete', input);
  }
  /** Buffers a ConditionCheck: the commit fails unless the condition holds. */
  conditionCheck(input: UowConditionCheckInput): void {
    this.#addWrite('ConditionCheck', input);
  }

  /**
   * Buffers a domain event (a CloudEvents 1.0 envelope in the outbox item); it is published to EventBridge
   * by the dispatcher only after the commit. Returns the event id.
   */
  publish<TData>(input: PublishInput<TData>): string {
    const op = `publish(${typeof input?.type === 'string' && input.type ? input.type : '?'})`;
    this.#assertWritable(op);
    const { source, data } = validateEventInput(op, input, this.settings.source);
    const id = input.id ?? uuidv7();
    const trace = this.traceContext;
    if (this.#eventIds.has(id))
      throw new InvalidOperationError(op, `an event with id ${id} is already published in this unit of work`);
    // Assigned in envelope order rather than spread: this runs for every event.
    const envelope: Record<string, unknown> = {
      specversion: '1.0',
      id,
      source,
      type: input.type,
      time: isoTime(Date.now()),
      datacontenttype: 'application/json',
    };
    if (input.subject !== undefined) envelope.subject = input.subject;
    if (this.settings.correlationId) envelope.correlationid = this.settings.correlationId;
    if (this.settings.causationId) envelope.causationid = this.settings.causationId;
    if (trace?.traceparent) envelope.traceparent = trace.traceparent;
    if (trace?.tracestate) envelope.tracestate = trace.tracestate;
    envelope.data = data.value;
    const event = envelope as unknown as CloudEvent<TData>;
    const traceHeader = trace?.traceHeader;
    const message: OutboxMessage = traceHeader ? { kind: 'event', event, traceHeader } : { kind: 'event', event };
    const buffered = bufferMessage(message);
    // The entry's Detail is the envelope: the message JSON measured once, minus what the message adds around it.
    const headerBytes = traceHeader ? TRACE_HEADER_FIELD_BYTES + utf8Length(traceHeader) : 0;
    const bytes = putEventsEntryBytes({
      time: true,
      source: utf8Length(source),
      detailType: utf8Length(input.type),
      detail: buffered.bytes - EVENT_MESSAGE_WRAPPER_BYTES - headerBytes,
    });
    if (bytes > MAX_EVENT_BYTES)
      throw new TransactionLimitError(
        `${op}: the event's PutEvents entry would be ${bytes} bytes; EventBridge takes at most ${MAX_EVENT_BYTES} per entry`,
        {
          limit: 'itemBytes',
          actual: bytes,
          maximum: MAX_EVENT_BYTES,
          offenders: [{ label: op, table: this.settings.outboxTable, bytes }],
        },
      );
    this.#checkActionCount(op, 0, true);
    this.#eventIds.add(id);
    this.#messages.push(buffered);
    return id;
  }

  /**
   * Buffers a job: a job record (status SCHEDULED) in the outbox table and a message that makes the
   * dispatcher create its EventBridge Scheduler schedule after the commit.
   */
  schedule<TName extends string, TPayload>(input: ScheduleInput<TName, TPayload>): ScheduledJob {
    const op = `schedule(${typeof input?.job === 'string' && input.job ? input.job : '?'})`;
    this.#assertWritable(op);
    if (typeof input?.job !== 'string' || input.job.trim() === '')
      throw new InvalidOperationError(op, 'job must be a non-empty job name');
    const payload = snapshotJson(input.payload, op, 'payload', { maxNesting: MAX_JOB_PAYLOAD_NESTING });
    const now = Date.now();
    const schedule = normalizeSchedule(input, now, op);
    const jobId = uuidv7();
    const key = input.key ?? jobId;
    if (typeof key !== 'string' || key === '' || Buffer.byteLength(key) > 1024)
      throw new InvalidOperationError(op, 'key must be a string of 1 to 1024 bytes');
    const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 185)
      throw new InvalidOperationError(op, `maxAttempts ${displayValue(maxAttempts)} must be an integer from 1 to 185`);
    if (this.#jobs.has(key) || this.#jobChanges.has(key))
      throw new InvalidOperationError(op, `job key "${key}" is already used in this unit of work`);
    const ifExists = input.ifExists ?? 'fail';
    if (!IF_JOB_EXISTS.includes(ifExists))
      throw new InvalidOperationError(
        op,
        `ifExists ${displayValue(ifExists)} must be one of ${IF_JOB_EXISTS.map((v) => `'${v}'`).join(', ')}`,
      );
    const scheduleName = scheduleNameFor(key);
    const payloadJson = payload.json;
    const record = newJobRecord({
      jobId,
      key,
      name: input.job,
      payloadJson,
      schedule,
      scheduleName,
      maxAttempts,
      nowIso: isoTime(now),
      correlationId: this.settings.correlationId,
      traceContext: this.traceContext,
    });
    const write = this.#buffer(
      'Put',
      putJobRecordParams(this.settings.outboxTable, record, ifExists),
      `${op} ${key}`,
      'job',
      { jobKey: key, jobName: input.job },
    );
    const message: OutboxMessage = {
      kind: 'job.schedule',
      job: { jobId, key, name: input.job, version: 1, payload: payload.value, scheduleName },
      schedule,
      maxAttempts,
    };
    const buffered = bufferMessage(message, key);
    this.#messages.push(buffered);
    this.#jobs.set(key, { write, message: buffered });
    return { jobId, key, scheduleName };
  }

  /**
   * Cancels the job with this key when the unit of work commits: its record becomes CANCELLED (the commit
   * fails with `ConditionFailedError` unless it is SCHEDULED, FAILED or RUNNING) and its schedule is
   * deleted. A job scheduled in this same unit of work is simply dropped.
   */
  cancelJob(key: string): void {
    const op = `cancelJob(${displayValue(key)})`;
    this.#assertWritable(op);
    if (typeof key !== 'string' || key === '') throw new InvalidOperationError(op, 'key must be a non-empty string');
    const own = this.#jobs.get(key);
    if (own) {
      this.#drop(own.write, own.message);
      this.#jobs.delete(key);
      return;
    }
    const change = this.#jobChanges.get(key);
    if (change?.kind === 'cancel') return;
    const now = Date.now();
    const params = cancelJobParams(
      this.settings.outboxTable,
      key,
      new Date(now).toISOString(),
      Math.floor(now / 1000) + this.settings.retentionSeconds,
    );
    const message: OutboxMessage = { kind: 'job.cancel', key, scheduleName: scheduleNameFor(key) };
    if (change) this.#drop(change.write, change.message);
    const write = this.#buffer('Update', params, op, 'jobChange', { jobKey: key });
    const buffered = bufferMessage(message, key);
    this.#messages.push(buffered);
    this.#jobChanges.set(key, { write, message: buffered, kind: 'cancel' });
  }

  /**
   * Moves the job with this key to a new time (`at`/`delay`/`cron`/`rate`) when the unit of work commits; its
   * version changes, so a delivery of the old schedule is skipped. The commit fails with `ConditionFailedError`
   * unless the job is SCHEDULED or FAILED. A job scheduled in this same unit of work just gets the new time.
   */
  rescheduleJob(key: string, when: ScheduleWhen): void {
    const op = `rescheduleJob(${displayValue(key)})`;
    this.#assertWritable(op);
    if (typeof key !== 'string' || key === '') throw new InvalidOperationError(op, 'key must be a non-empty string');
    const now = Date.now();
    const schedule = normalizeSchedule(when ?? {}, now, op);
    const own = this.#jobs.get(key);
    if (own) {
      const item = own.write.params.Item as Record<string, unknown>;
      const { nextRunAt: _n, ...rest } = item;
      own.write.params = {
        ...own.write.params,
        Item: { ...rest, schedule, ...(schedule.at ? { nextRunAt: schedule.at } : {}) },
      };
      const message = { ...(own.message.message as Extract<OutboxMessage, { kind: 'job.schedule' }>), schedule };
      const replaced = bufferMessage(message, key);
      this.#messages[this.#messages.indexOf(own.message)] = replaced;
      own.message = replaced as BufferedMessage;
      return;
    }
    const change = this.#jobChanges.get(key);
    if (change?.kind === 'cancel') throw new InvalidOperationError(op, 'the job is cancelled in this unit of work');
    if (change) this.#drop(change.write, change.message);
    const write = this.#buffer(
      'Update',
      rescheduleJobParams(this.settings.outboxTable, key, schedule, new Date(now).toISOString()),
      op,
      'jobChange',
      { jobKey: key },
    );
    const message: OutboxMessage = { kind: 'job.reschedule', key, scheduleName: scheduleNameFor(key), schedule }; // the version is the record's
    const buffered = bufferMessage(message, key);
    this.#messages.push(buffered);
    this.#jobChanges.set(key, { write, message: buffered, kind: 'reschedule' });
  }

  /**
   * Revives a DEAD job when the unit of work commits: SCHEDULED again under a new version with its attempts
   * counted from 0, due at `when.at`/`when.delay` (default: now); the dispatcher re-creates its schedule. The
   * commit fails with `ConditionFailedError` unless the job is DEAD (and at `seenVersion`, when given); its version becomes the
   * record's version + 1, whatever the clocks say.
   */
  retryJob(key: string, when: Pick<ScheduleWhen, 'at' | 'delay'> = { delay: 0 }, seenVersion?: number): void {
    const op = `retryJob(${key})`;
    this.#assertWritable(op);
    if (typeof key !== 'string' || key === '') throw new InvalidOperationError(op, 'key must be a non-empty string');
    if (this.#jobs.has(key) || this.#jobChanges.has(key))
      throw new InvalidOperationError(op, `job key "${key}" is already used in this unit of work`);
    const now = Date.now();
    const schedule = normalizeSchedule(when, now, op) as { at: string };
    const params = reviveJobParams(this.settings.outboxTable, key, schedule, new Date(now).toISOString(), seenVersion);
    const write = this.#buffer('Update', params, op, 'jobChange', { jobKey: key });
    const message: OutboxMessage = { kind: 'job.reschedule', key, scheduleName: scheduleNameFor(key), schedule };
    const buffered = bufferMessage(message, key);
    this.#messages.push(buffered);
    this.#jobChanges.set(key, { write, message: buffered, kind: 'reschedule' });
  }

  /**
   * Registers best-effort work to run after the outermost commit succeeded, in registration order. It
   * never runs when the commit fails or the unit of work is discarded; if it throws, the error is logged
   * and the invocation still succeeds. Use the outbox (events, jobs) for work that must not be lost.
   */
  onCommitted(callback: () => unknown): void {
    if (typeof callback !== 'function') throw new InvalidOperationError('onCommitted()', 'expects a function');
    if (this.#state !== 'open')
      throw new InvalidOperationError('onCommitted()', `the unit of work is already ${this.#state}`);
    this.#onCommitted.push(callback);
  }

  /** @internal What the commit sends. */
  contents(): {
    writes: readonly BufferedWrite[];
    messages: readonly OutboxMessage[];
    messageJson: readonly string[];
    messageBytes: readonly number[];
    callbacks: readonly (() => unknown)[];
  } {
    const messages = this.#messages;
    return {
      writes: this.#writes,
      messages: messages.map((m) => m.message),
      messageJson: messages.map((m) => m.json),
      messageBytes: messages.map((m) => m.bytes),
      callbacks: this.#onCommitted,
    };
  }

  /** @internal Moves the state machine; only the commit and discard paths call it. */
  transition(to: UnitOfWorkState): void {
    this.#state = to;
  }

  /**
   * Drops everything buffered; later operations throw. Called by the owner on error. `reason` (e.g. "the
   * invocation timed out") is named in the errors of later operations.
   */
  discard(reason?: string): void {
    if (this.#state !== 'open') return;
    this.#state = 'discarded';
    this.#discardReason = reason;
  }

  #assertWritable(op: string): void {
    if (this.#state !== 'open')
      throw new InvalidOperationError(
        op,
        `the unit of work is already ${this.#state}${this.#discardReason ? ` (${this.#discardReason})` : ''}; an operation now would never be committed`,
      );
    if (this.settings.readOnly) throw new ReadOnlyUnitOfWorkError(op);
  }

  #checkActionCount(op: string, adding: number, withMessage: boolean): void {
    const actions = this.#writes.length + adding + (this.#messages.length > 0 || withMessage ? 1 : 0);
    if (actions > MAX_TRANSACTION_ACTIONS)
      throw new TransactionLimitError(
        `${op}: the transaction would hold ${actions} actions (${this.#writes.length} writes and job records + the outbox item); DynamoDB allows ${MAX_TRANSACTION_ACTIONS}`,
        {
          limit: 'actions',
          actual: actions,
          maximum: MAX_TRANSACTION_ACTIONS,
          offenders: [],
        },
      );
  }

  #addWrite(kind: WriteKind, input: unknown): void {
    const method = WRITE_METHOD[kind];
    this.#assertWritable(
      typeof (input as { label?: unknown })?.label === 'string' ? (input as { label: string }).label : `${method}()`,
    );
    const { params, label } = validateWriteInput(kind, input);
    validateKeyAttributes(label, kind, params, this.#keyNames.get(params.TableName as string));
    const write = this.#buffer(kind, params, label, 'write', {});
    if (!write.ref.key) write.ref = { ...write.ref, key: keyFromCondition(params) };
    const libraryWrite = (input as { [LIBRARY_WRITE]?: LibraryWrite })[LIBRARY_WRITE];
    if (libraryWrite) write.ref = { ...write.ref, libraryWrite };
  }

  #buffer(
    kind: WriteKind,
    params: Record<string, unknown>,
    label: string,
    role: WriteRole,
    job: { jobKey?: string; jobName?: string },
  ): BufferedWrite {
    this.#checkActionCount(label, 1, role !== 'write');
    const table = params.TableName as string;
    const itemBytes = kind === 'Put' ? itemSize(params.Item as Record<string, unknown>) : 0;
    if (itemBytes > MAX_ITEM_BYTES)
      throw new TransactionLimitError(
        `${label}: the item is ${itemBytes} bytes; DynamoDB items hold at most ${MAX_ITEM_BYTES}`,
        {
          limit: 'itemBytes',
          actual: itemBytes,
          maximum: MAX_ITEM_BYTES,
          offenders: [{ label, table, bytes: itemBytes }],
        },
      );
    const bytes =
      kind === 'Put'
        ? itemBytes
        : itemSize(params.Key as Record<string, unknown>) +
          itemSize(params.ExpressionAttributeValues as Record<string, unknown>) +
          String(params.UpdateExpression ?? '').length +
          String(params.ConditionExpression ?? '').length;
    const write: BufferedWrite = { kind, params, ref: { label, table }, bytes, itemBytes, role, ...job };
    this.#identify(write);
    this.#writes.push(write);
    return write;
  }

  /** Finds the item key of a write and refuses a second operation on the same item. */
  #identify(write: BufferedWrite): void {
    const table = write.ref.table;
    if (write.kind !== 'Put') {
      const key = write.params.Key as Record<string, unknown>;
      write.ref = { ...write.ref, key };
      if (!this.#keyNames.has(table)) {
        this.#keyNames.set(table, Object.keys(key));
        for (const pending of this.#unkeyedPuts.get(table) ?? [])
          this.#claim(
            pending,
            keyFromItem(pending.ref.label, table, pending.params.Item as Record<string, unknown>, Object.keys(key)),
          );
        this.#unkeyedPuts.delete(table);
      }
      this.#claim(write, key);
      return;
    }
    const names = this.#keyNames.get(table);
    if (!names) {
      const list = this.#unkeyedPuts.get(table);
      if (list) list.push(write);
      else this.#unkeyedPuts.set(table, [write]);
      return;
    }
    const key = keyFromItem(write.ref.label, table, write.params.Item as Record<string, unknown>, names);
    this.#claim(write, key);
  }

  #claim(write: BufferedWrite, key: Record<string, unknown>): void {
    write.ref = { ...write.ref, key };
    const identity = itemIdentity(write.ref.table, key);
    const first = this.#identities.get(identity);
    if (first && first !== write) throw duplicateItemError(write.ref.label, first.ref.label, write.ref.table, key);
    this.#identities.set(identity, write);
  }

  #drop(write: BufferedWrite, message: BufferedMessage): void {
    this.#writes.splice(this.#writes.indexOf(write), 1);
    if (write.ref.key) this.#identities.delete(itemIdentity(write.ref.table, write.ref.key));
    const i = this.#messages.indexOf(message);
    if (i >= 0) this.#messages.splice(i, 1);
  }
}
