import type {
  TransactWriteConditionCheck,
  TransactWriteDelete,
  TransactWritePut,
  TransactWriteUpdate,
} from '@aws-sdk/lib-dynamodb';

/** A label names an operation in errors and logs; default: `<operation> <table>`. */
export interface Labelled {
  /** Names the operation in errors (e.g. `'create order'`). @default '<put|update|delete|conditionCheck> <TableName>' */
  readonly label?: string;
}

/** `uow.put` input: the `@aws-sdk/lib-dynamodb` transaction Put shape plus a label. */
export type UowPutInput = TransactWritePut & Labelled;
/** `uow.update` input: the `@aws-sdk/lib-dynamodb` transaction Update shape plus a label. */
export type UowUpdateInput = TransactWriteUpdate & Labelled;
/** `uow.delete` input: the `@aws-sdk/lib-dynamodb` transaction Delete shape plus a label. */
export type UowDeleteInput = TransactWriteDelete & Labelled;
/** `uow.conditionCheck` input: the `@aws-sdk/lib-dynamodb` transaction ConditionCheck shape plus a label. */
export type UowConditionCheckInput = TransactWriteConditionCheck & Labelled;

/** The four kinds of TransactWriteItems actions. */
export const WRITE_KINDS = {
  put: 'Put',
  update: 'Update',
  delete: 'Delete',
  conditionCheck: 'ConditionCheck',
} as const;

/** One of the values of {@link WRITE_KINDS}. */
export type WriteKind = (typeof WRITE_KINDS)[keyof typeof WRITE_KINDS];

/** `uow.publish` input. */
export interface PublishInput<TData = unknown> {
  /** Event type, e.g. `'OrderPlaced'`: EventBridge `DetailType`. Must not be empty. */
  readonly type: string;
  /** JSON-serializable event data (`null` is allowed, `undefined` is not). */
  readonly data: TData;
  /** CloudEvents `source`. @default the unit of work's `source` option */
  readonly source?: string;
  /** Event id. @default a new UUIDv7 (time-sortable) */
  readonly id?: string;
  /** CloudEvents `subject`, e.g. the order id. */
  readonly subject?: string;
}

/** When a job should run: exactly one of `at`, `delay`, `cron`, `rate`. */
export interface ScheduleWhen {
  /** One-time, at this instant (must not be in the past). Rounded up to the whole second. */
  readonly at?: Date | string;
  /** One-time, this many seconds after the buffering call. */
  readonly delay?: number;
  /** Recurring: 6-field EventBridge Scheduler cron, with or without `cron(...)` around it. */
  readonly cron?: string;
  /** Recurring: `'5 minutes'`, `'1 hour'`, … with or without `rate(...)` around it. */
  readonly rate?: string;
  /** IANA time zone of `cron`. @default 'UTC' */
  readonly timezone?: string;
}

/** `uow.schedule` input. */
export interface ScheduleInput<TName extends string = string, TPayload = unknown> extends ScheduleWhen {
  /** The job name: a key of the job runner's `jobs`. */
  readonly job: TName;
  /** JSON-serializable payload handed to the job handler (`null` allowed, `undefined` not). */
  readonly payload: TPayload;
  /**
   * Business key of the job, naming at most one job at a time per outbox table; used by `cancelJob`,
   * `rescheduleJob` and `retryJob`. A key is reusable once its job is finished (SUCCEEDED, DEAD, CANCELLED: the
   * new job replaces the record). While a job with the key is pending (SCHEDULED, FAILED) the commit fails with
   * `DuplicateJobError` unless `ifExists: 'replace'`; while it is RUNNING it always fails (see `ifExists`).
   * Any string: keys that are not valid schedule names are mapped to one with a hash (see `scheduleNameFor`).
   * @default the job id
   */
  readonly key?: string;
  /** Attempts before the job is DEAD (first run included), 1–185. @default 3 */
  readonly maxAttempts?: number;
  /**
   * When a job with this key exists and is pending (SCHEDULED or FAILED): `'fail'` fails the commit with
   * `DuplicateJobError`; `'replace'` replaces it in the same transaction (debounce: new job id, payload and
   * time; the old job's deliveries skip). A RUNNING job is never replaced (`DuplicateJobError`, status
   * RUNNING); a finished one (SUCCEEDED, DEAD, CANCELLED) is always replaced: its key is free again. @default 'fail'
   */
  readonly ifExists?: 'fail' | 'replace';
}

/** `uow.schedule` result. */
export interface ScheduledJob {
  readonly jobId: string;
  readonly key: string;
  readonly scheduleName: string;
}

/** Counts of what a unit of work holds. */
export interface PendingCounts {
  readonly writes: number;
  readonly events: number;
  readonly jobs: number;
  /** Cancellations and reschedules. */
  readonly jobChanges: number;
}
