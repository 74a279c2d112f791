/**
 * Typed job definitions: a job name maps to its handler, and the handler's payload type is the payload
 * type `scheduleJob` accepts for that name.
 */
import { ConfigurationError } from '../errors.js';
import { validateAsync, validateSync, type StandardSchemaV1 } from '../events/standard-schema.js';
import type { JobScheduleSpec } from '../outbox/messages.js';
import type { ScheduleInput, ScheduledJob } from '../unit-of-work/types.js';
import type { LoggerLike, UnitOfWork } from '../unit-of-work/unit-of-work.js';
import { backoffProblems, type JobBackoff } from './options.js';

/** What a job handler knows about the run it is in. */
export interface JobRunInfo {
  readonly jobId: string;
  /** The job's business key (`schedule({ key })`, default the job id). */
  readonly key: string;
  /** The job name, a key of the runner's `jobs`. */
  readonly name: string;
  /** Version of the job record this run claimed. */
  readonly version: number;
  /** 1 for the first attempt of a one-time job, 2 for its first retry, …; recurring jobs count every occurrence. */
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The job's schedule as its record holds it. */
  readonly schedule: JobScheduleSpec;
  /** True for `cron`/`rate` jobs. */
  readonly recurring: boolean;
  /** The occurrence this run is for (Scheduler's scheduled time, ISO 8601 UTC). */
  readonly scheduledTime: string;
  /** The Scheduler's id of this delivery (new on every Scheduler retry). */
  readonly executionId: string;
  /** The request id of the invocation that scheduled the job, when it was recorded. */
  readonly correlationId?: string;
}

/** The second argument of a job handler. */
export interface JobContext {
  /**
   * The job's own unit of work, also the ambient one (`currentUnitOfWork()`): its writes, events, follow-up
   * jobs and cancellations commit in one TransactWriteItems together with the job's SUCCEEDED status.
   */
  readonly uow: UnitOfWork;
  readonly job: JobRunInfo;
  readonly logger: LoggerLike;
}

/**
 * A job handler. It buffers on `uow` and returns; throwing (or a failed commit) discards everything it
 * buffered and records the failure, with a retry if attempts remain.
 */
export type JobHandler<TPayload = unknown> = (payload: TPayload, context: JobContext) => void | Promise<void>;

/** Job name → handler. */
export type JobDefinitions = { readonly [name: string]: JobHandler<never> };

/** The payload type of one job definition. */
export type JobPayload<THandler> = THandler extends (payload: infer P, context: JobContext) => unknown ? P : never;

/** Job name → payload type, for a {@link JobDefinitions} map. */
export type JobPayloads<TJobs extends JobDefinitions> = { [K in keyof TJobs & string]: JobPayload<TJobs[K]> };

/** The `schedule` input of any job of `TJobs`: a union discriminated on `job`, so name and payload must match. */
export type JobScheduleInput<TJobs extends JobDefinitions> = {
  [K in keyof TJobs & string]: ScheduleInput<K, JobPayload<TJobs[K]>>;
}[keyof TJobs & string];

/** Optional payload schemas of job definitions: job name → Standard Schema (zod, valibot, …) of its payload. */
export type JobPayloadSchemas<TJobs extends JobDefinitions> = {
  readonly [K in keyof TJobs & string]?: StandardSchemaV1<unknown, JobPayload<TJobs[K]>>;
};

/** Options of {@link defineJobs}. */
export interface DefineJobsOptions<TJobs extends JobDefinitions> {
  /**
   * Payload schemas: a job with one gets its payload validated before its handler runs (the handler receives
   * the schema's output; a bad payload fails the run with `SchemaValidationError` naming `run(<job>)` and the
   * path). Pass the same schemas to {@link scheduleJob} to validate at schedule too.
   */
  readonly schemas?: JobPayloadSchemas<TJobs>;
  /**
   * Retry backoff per job: job name → {@link JobBackoff}. A field a job leaves out falls back to the runner's
   * `backoff` option (then to its defaults). Validated here: an unknown job name or a bad value throws
   * `ConfigurationError` naming the job and the option (`backoff["send-email"].factor`).
   */
  readonly backoff?: { readonly [K in keyof TJobs & string]?: JobBackoff };
}

/** Where `defineJobs` keeps a handler's own backoff (a registered symbol: a second copy of the package reads it too). */
const JOB_BACKOFF = Symbol.for('lambda-unit-of-work.jobBackoff');

/** The backoff `defineJobs` gave this handler (only the fields that were set), or `undefined`. */
export function jobBackoffOf(handler: unknown): JobBackoff | undefined {
  return typeof handler === 'function' ? (handler as { [JOB_BACKOFF]?: JobBackoff })[JOB_BACKOFF] : undefined;
}

function checkedBackoffs(
  jobs: JobDefinitions,
  backoffs: Record<string, JobBackoff | undefined>,
): Map<string, JobBackoff> {
  const problems: string[] = [];
  const resolved = new Map<string, JobBackoff>();
  for (const [name, backoff] of Object.entries(backoffs)) {
    if (backoff === undefined) continue;
    const path = `backoff[${JSON.stringify(name)}]`;
    if (!Object.hasOwn(jobs, name))
      problems.push(`${path}: there is no job "${name}" (jobs: ${Object.keys(jobs).join(', ') || 'none'})`);
    const found = backoffProblems(backoff, path);
    problems.push(...found);
    if (!found.length)
      resolved.set(name, Object.fromEntries(Object.entries(backoff).filter(([, v]) => v !== undefined)) as JobBackoff);
  }
  if (problems.length) throw new ConfigurationError('defineJobs(options)', problems.join('; '));
  return resolved;
}

/**
 * Declares job definitions. Without options it returns its argument unchanged; its type is what makes
 * `jobRunner` and {@link scheduleJob} agree on names and payload types. With `schemas`, the handlers of the
 * jobs that have one validate their payload first; with `backoff`, those jobs retry with their own backoff.
 * @throws ConfigurationError for a bad `backoff` (naming the job and the option).
 *
 * @example
 * ```ts
 * export const orderJobs = defineJobs({
 *   'expire-unpaid-order': async (payload: { orderId: string }, { uow }) => { ... },
 * }, {
 *   schemas: { 'expire-unpaid-order': z.object({ orderId: z.string() }) },
 *   backoff: { 'expire-unpaid-order': { baseSeconds: 10, factor: 3, maxSeconds: 600, jitter: true } },
 * });
 * export type OrderJobs = typeof orderJobs;
 * ```
 */
export function defineJobs<const TJobs extends JobDefinitions>(
  jobs: TJobs,
  options: DefineJobsOptions<TJobs> = {},
): TJobs {
  const schemas = options.schemas as Record<string, StandardSchemaV1 | undefined> | undefined;
  const backoffs = options.backoff
    ? checkedBackoffs(jobs, options.backoff as Record<string, JobBackoff | undefined>)
    : undefined;
  if (!schemas && !backoffs?.size) return jobs;
  const wrapped: Record<string, unknown> = { ...jobs };
  for (const [name, schema] of Object.entries(schemas ?? {})) {
    const handler = jobs[name] as JobHandler<unknown> | undefined;
    if (!handler || !schema) continue;
    wrapped[name] = async (payload: unknown, context: JobContext) =>
      handler(await validateAsync(schema, payload, `run(${name})`, 'the job payload'), context);
  }
  for (const [name, backoff] of backoffs ?? []) {
    const handler = wrapped[name] as JobHandler<unknown>;
    wrapped[name] = Object.assign((payload: unknown, context: JobContext) => handler(payload, context), {
      [JOB_BACKOFF]: backoff,
    });
  }
  return wrapped as TJobs;
}

/**
 * `uow.schedule(input)` with the job name and payload checked against job definitions at compile time:
 * a misspelt name or a payload of the wrong shape does not compile. Only the type of the definitions is
 * needed (`import type`), so the handler that schedules never bundles the job code.
 *
 * @example
 * ```ts
 * import type { OrderJobs } from './orders/jobs.js';
 * scheduleJob<OrderJobs>(uow, { job: 'expire-unpaid-order', payload: { orderId }, delay: 900, key: `expire-${orderId}` });
 * ```
 * With `{ schemas }` (the payload schemas given to `defineJobs`, kept in a module of their own so the scheduling
 * handler does not bundle job code), the payload is validated synchronously first and the schema's output is
 * scheduled. @throws SchemaValidationError naming `schedule(<job>)` and the failing path.
 */
export function scheduleJob<TJobs extends JobDefinitions>(
  uow: UnitOfWork,
  input: JobScheduleInput<TJobs>,
  options: { readonly schemas?: JobPayloadSchemas<TJobs> } = {},
): ScheduledJob {
  const schema = (options.schemas as Record<string, StandardSchemaV1 | undefined> | undefined)?.[input?.job];
  if (!schema) return uow.schedule(input as ScheduleInput<string, unknown>);
  const operation = `schedule(${input.job})`;
  const payload = validateSync(schema, input.payload, operation, 'the job payload');
  return uow.schedule({ ...(input as ScheduleInput<string, unknown>), payload });
}
