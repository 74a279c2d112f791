import { ConfigurationError } from '../errors.js';
import { declareOptions } from '../options.js';
import { ENV } from '../outbox/schema.js';
import { SCHEDULER_NAME_PATTERN } from '../job-record/schedule-name.js';

/** Retries of one call (throttling, 5xx, network) inside an invocation. */
export interface CallRetryOptions {
  /**
   * Upper bound of attempts per call, the first one included. The retry budget is the invocation's remaining
   * time minus `safetyMarginMs`; this only bounds it where there is no deadline (outside Lambda).
   * @default 50
   */
  readonly maxAttempts?: number;
  /**
   * Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs × 2^(n-1))] ("full jitter").
   * @default 50
   */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  /**
   * No retry starts when less than this is left of the invocation (`context.getRemainingTimeInMillis()`):
   * the record is reported failed instead and Lambda redelivers it.
   * @default 1000
   */
  readonly safetyMarginMs?: number;
}

/** Retry policy of the job schedules (the Scheduler's own retries of a failed delivery to the job runner). */
export interface ScheduleRetryPolicy {
  /** 0–185. @default 185 (`UOW_SCHEDULE_MAX_RETRY_ATTEMPTS`) */
  readonly maximumRetryAttempts?: number;
  /** 60–86400. @default 86400 (`UOW_SCHEDULE_MAX_EVENT_AGE_SECONDS`) */
  readonly maximumEventAgeInSeconds?: number;
}

/** Configuration settings of the dispatcher; each falls back to its environment variable. */
export interface DispatcherSettings {
  /** Outbox/jobs table, read for job records (`UOW_OUTBOX_TABLE`). @default the table of the stream record's `eventSourceARN` */
  readonly outboxTable?: string;
  /** Bus that receives the events (`UOW_EVENT_BUS_NAME`). @default 'default' */
  readonly eventBusName?: string;
  /** Scheduler schedule group of job schedules (`UOW_SCHEDULE_GROUP`). @default 'default' */
  readonly scheduleGroup?: string;
  /** Target of job schedules: the job runner Lambda ARN (`UOW_JOB_RUNNER_ARN`). Required. */
  readonly jobRunnerArn?: string;
  /** Role the Scheduler assumes to invoke the job runner (`UOW_SCHEDULER_ROLE_ARN`). Required. */
  readonly schedulerRoleArn?: string;
  /** SQS queue of job deliveries the Scheduler gave up on (`UOW_JOB_DLQ_ARN`). @default none */
  readonly deadLetterQueueArn?: string;
  /** Retry policy written on every job schedule. */
  readonly scheduleRetryPolicy?: ScheduleRetryPolicy;
  /**
   * Calls in flight at once across the batch (`UOW_DISPATCH_CONCURRENCY`). `1` processes the records one
   * after the other, in stream order.
   * @default 16
   */
  readonly concurrency?: number;
  /** Retries of throttled / failed calls inside the invocation. */
  readonly retry?: CallRetryOptions;
  /**
   * URL of the SQS timer queue (`UOW_TIMER_QUEUE_URL`). When set, a one-time job due within
   * {@link SQS_TIMER_WINDOW_MS} (15 minutes) is sent there as a delayed message (consumed by `jobQueueRunner`) instead of
   * getting a Scheduler schedule; later and recurring jobs still go to the Scheduler.
   * @default none (every job goes to the Scheduler)
   */
  readonly timerQueueUrl?: string;
}

/** The settings after defaults and environment variables were applied and checked. */
export interface DispatcherConfig {
  readonly outboxTable?: string;
  readonly eventBusName: string;
  readonly scheduleGroup: string;
  readonly jobRunnerArn: string;
  readonly schedulerRoleArn: string;
  readonly deadLetterQueueArn?: string;
  readonly scheduleRetryPolicy: Required<ScheduleRetryPolicy>;
  readonly concurrency: number;
  readonly retry: Required<CallRetryOptions>;
  readonly timerQueueUrl?: string;
}

/** The longest `DelaySeconds` of an SQS message (15 minutes). */
export const SQS_MAX_DELAY_SECONDS = 900;

/**
 * How far ahead a one-time job may be due and still go to the SQS timer queue: {@link SQS_MAX_DELAY_SECONDS}
 * plus one second, as `delay: 900` gives an `at` rounded up to the second. Such a message (delay clamped to
 * 900) arrives less than 1 s before its `scheduledTime`, within `jobQueueRunner`'s default `earlyToleranceMs`.
 */
export const SQS_TIMER_WINDOW_MS = (SQS_MAX_DELAY_SECONDS + 1) * 1000;

/** Defaults of the optional settings. */
export const DISPATCHER_DEFAULTS = {
  eventBusName: 'default',
  scheduleGroup: 'default',
  concurrency: 16,
  scheduleRetryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 },
  retry: { maxAttempts: 50, baseDelayMs: 50, maxDelayMs: 2000, safetyMarginMs: 1000 },
} as const;

/**
 * The declaration of {@link DispatcherSettings} (`jobRunnerArn`, `schedulerRoleArn` required). Values may come
 * from the environment, so {@link resolveDispatcherConfig} checks them once resolved; this declares keys,
 * defaults and variables.
 */
export const DISPATCHER_SETTINGS = declareOptions<DispatcherSettings>()({
  outboxTable: {
    doc: 'Outbox/jobs table, read for job records',
    env: ENV.outboxTable,
    default: "the table of the record's eventSourceARN",
  },
  eventBusName: {
    doc: 'Bus that receives the events',
    env: ENV.eventBusName,
    default: DISPATCHER_DEFAULTS.eventBusName,
  },
  scheduleGroup: {
    doc: 'Scheduler schedule group of job schedules',
    env: ENV.scheduleGroup,
    default: DISPATCHER_DEFAULTS.scheduleGroup,
  },
  jobRunnerArn: { doc: 'Target of job schedules: the job runner Lambda ARN', env: ENV.jobRunnerArn },
  schedulerRoleArn: { doc: 'Role the Scheduler assumes to invoke the job runner', env: ENV.schedulerRoleArn },
  deadLetterQueueArn: {
    doc: 'SQS queue of job deliveries the Scheduler gave up on',
    env: ENV.jobDeadLetterQueueArn,
    default: 'none',
  },
  scheduleRetryPolicy: { doc: 'Retry policy written on every job schedule (defaults per field)' },
  concurrency: {
    doc: 'Calls in flight at once across the batch',
    env: ENV.dispatchConcurrency,
    default: String(DISPATCHER_DEFAULTS.concurrency),
  },
  retry: { doc: 'Retries of throttled / failed calls inside the invocation', default: '{ 50, 50, 2000, 1000 }' },
  timerQueueUrl: {
    doc: 'SQS timer queue of one-time jobs due within 15 minutes',
    env: ENV.timerQueueUrl,
    default: 'none (Scheduler only)',
  },
});

const NAME = SCHEDULER_NAME_PATTERN;

function integer(value: unknown, min: number, max: number): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

/**
 * Applies environment variables and defaults to the settings and checks them. Throws one
 * {@link ConfigurationError} naming every missing or invalid setting with its environment variable.
 */
export function resolveDispatcherConfig(
  settings: DispatcherSettings,
  env: Readonly<Record<string, string | undefined>> = process.env,
): DispatcherConfig {
  const missing: string[] = [];
  const problems: string[] = [];
  const pick = (option: keyof DispatcherSettings, envName: string): string | undefined => {
    const value = settings[option] ?? env[envName];
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const outboxTable = pick('outboxTable', ENV.outboxTable);
  const eventBusName = pick('eventBusName', ENV.eventBusName) ?? DISPATCHER_DEFAULTS.eventBusName;
  const scheduleGroup = pick('scheduleGroup', ENV.scheduleGroup) ?? DISPATCHER_DEFAULTS.scheduleGroup;
  const jobRunnerArn = pick('jobRunnerArn', ENV.jobRunnerArn);
  const schedulerRoleArn = pick('schedulerRoleArn', ENV.schedulerRoleArn);
  const deadLetterQueueArn = pick('deadLetterQueueArn', ENV.jobDeadLetterQueueArn);
  const timerQueueUrl = pick('timerQueueUrl', ENV.timerQueueUrl);

  if (!jobRunnerArn) missing.push(`jobRunnerArn (${ENV.jobRunnerArn}) is required: the job runner Lambda ARN`);
  else if (!jobRunnerArn.startsWith('arn:'))
    problems.push(`jobRunnerArn (${ENV.jobRunnerArn}) "${jobRunnerArn}" is not an ARN`);
  if (!schedulerRoleArn)
    missing.push(`schedulerRoleArn (${ENV.schedulerRoleArn}) is required: the role EventBridge Scheduler assumes`);
  else if (!schedulerRoleArn.startsWith('arn:'))
    problems.push(`schedulerRoleArn (${ENV.schedulerRoleArn}) "${schedulerRoleArn}" is not an ARN`);
  if (deadLetterQueueArn && !deadLetterQueueArn.startsWith('arn:'))
    problems.push(`deadLetterQueueArn (${ENV.jobDeadLetterQueueArn}) "${deadLetterQueueArn}" is not an ARN`);
  if (timerQueueUrl && !/^https?:\/\/[^/]+\/.+/.test(timerQueueUrl))
    problems.push(`timerQueueUrl (${ENV.timerQueueUrl}) "${timerQueueUrl}" is not an SQS queue URL`);
  if (!NAME.test(scheduleGroup))
    problems.push(`scheduleGroup (${ENV.scheduleGroup}) "${scheduleGroup}" must be 1-64 characters of [0-9a-zA-Z-_.]`);

  const concurrencyRaw = settings.concurrency ?? env[ENV.dispatchConcurrency] ?? DISPATCHER_DEFAULTS.concurrency;
  const concurrency = integer(concurrencyRaw, 1, 1000);
  if (concurrency === undefined)
    problems.push(
      `concurrency (${ENV.dispatchConcurrency}) ${JSON.stringify(concurrencyRaw)} must be an integer 1-1000`,
    );

  const attemptsRaw =
    settings.scheduleRetryPolicy?.maximumRetryAttempts ??
    env[ENV.scheduleMaxRetryAttempts] ??
    DISPATCHER_DEFAULTS.scheduleRetryPolicy.maximumRetryAttempts;
  const maximumRetryAttempts = integer(attemptsRaw, 0, 185);
  if (maximumRetryAttempts === undefined)
    problems.push(
      `scheduleRetryPolicy.maximumRetryAttempts (${ENV.scheduleMaxRetryAttempts}) ${JSON.stringify(attemptsRaw)} must be an integer 0-185`,
    );
  const ageRaw =
    settings.scheduleRetryPolicy?.maximumEventAgeInSeconds ??
    env[ENV.scheduleMaxEventAgeSeconds] ??
    DISPATCHER_DEFAULTS.scheduleRetryPolicy.maximumEventAgeInSeconds;
  const maximumEventAgeInSeconds = integer(ageRaw, 60, 86400);
  if (maximumEventAgeInSeconds === undefined)
    problems.push(
      `scheduleRetryPolicy.maximumEventAgeInSeconds (${ENV.scheduleMaxEventAgeSeconds}) ${JSON.stringify(ageRaw)} must be an integer 60-86400`,
    );

  const retry = { ...DISPATCHER_DEFAULTS.retry, ...definedOnly(settings.retry ?? {}) };
  if (integer(retry.maxAttempts, 1, 100) === undefined)
    problems.push(`retry.maxAttempts ${JSON.stringify(retry.maxAttempts)} must be an integer 1-100`);
  for (const k of ['baseDelayMs', 'maxDelayMs', 'safetyMarginMs'] as const)
    if (typeof retry[k] !== 'number' || !(retry[k] >= 0))
      problems.push(`retry.${k} ${JSON.stringify(retry[k])} must be a number ≥ 0`);

  if (missing.length + problems.length > 0)
    throw new ConfigurationError('outboxDispatcher', { missing, invalid: problems });
  return {
    ...(outboxTable ? { outboxTable } : {}),
    eventBusName,
    scheduleGroup,
    jobRunnerArn: jobRunnerArn!,
    schedulerRoleArn: schedulerRoleArn!,
    ...(deadLetterQueueArn ? { deadLetterQueueArn } : {}),
    scheduleRetryPolicy: {
      maximumRetryAttempts: maximumRetryAttempts!,
      maximumEventAgeInSeconds: maximumEventAgeInSeconds!,
    },
    concurrency: concurrency!,
    retry,
    ...(timerQueueUrl ? { timerQueueUrl } : {}),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The table name in a DynamoDB stream ARN (`arn:aws:dynamodb:…:table/<name>/stream/<label>`). */
export function tableNameFromStreamArn(arn: string | undefined): string | undefined {
  return arn ? /:table\/([^/]+)\/stream\//.exec(arn)?.[1] : undefined;
}
