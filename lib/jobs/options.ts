import { ConfigurationError } from '../errors.js';
import { declareOptions, hasProblems, is, optionKeys, optionProblems } from '../options.js';
import { resolveSettings, UNIT_OF_WORK_OPTIONS, type UnitOfWorkOptions } from '../unit-of-work/settings.js';
import type { UnitOfWorkSettings } from '../unit-of-work/unit-of-work.js';
import type { JobDefinitions } from './definitions.js';

/** Exponential backoff of job retries: attempt n (1-based) that failed is retried after `min(maxSeconds, baseSeconds × factor^(n-1))`. */
export interface JobBackoff {
  /** Delay after the first failed attempt, in seconds. @default 60 */
  readonly baseSeconds?: number;
  /** Growth per attempt. @default 2 */
  readonly factor?: number;
  /** Longest delay, in seconds. @default 3600 */
  readonly maxSeconds?: number;
}

/** Options of {@link jobRunner}: the job definitions plus the unit-of-work options the job units of work use. */
export interface JobRunnerOptions<TJobs extends JobDefinitions = JobDefinitions> extends Omit<UnitOfWorkOptions, 'readOnly'> {
  /**
   * Job name → handler; see `defineJobs`. `{}` is valid: a service without jobs still deploys a runner (the
   * construct's schedule target); a delivery to it is recorded as an `UnknownJobError` failure, like any unknown name.
   */
  readonly jobs: TJobs;
  /** Retry delays of failed one-time jobs. @default { baseSeconds: 60, factor: 2, maxSeconds: 3600 } */
  readonly backoff?: JobBackoff;
  /**
   * Added to the invocation's remaining time to make the lease (covers clock skew between runners): a
   * crashed run can be reclaimed `remaining time + leaseMarginMs` after its claim. @default 5000
   */
  readonly leaseMarginMs?: number;
  /** Lease when the runner is called without a Lambda context (scripts, tests). @default 900000 (15 minutes, the Lambda maximum) */
  readonly defaultLeaseMs?: number;
  /** Event type published when a job is DEAD. @default 'JobFailed' */
  readonly failedEventType?: string;
  /** Clock in epoch milliseconds (leases, retry times); for tests and the local runtime. @default Date.now */
  readonly clock?: () => number;
}

/** Defaults of {@link JobRunnerOptions}. */
export const JOB_RUNNER_DEFAULTS = {
  backoff: { baseSeconds: 60, factor: 2, maxSeconds: 3600 },
  leaseMarginMs: 5000,
  defaultLeaseMs: 15 * 60 * 1000,
  failedEventType: 'JobFailed',
  /** CloudEvents source of `JobFailed` when neither `source` nor `UOW_EVENT_SOURCE` nor a function name is set. */
  fallbackSource: 'lambda-unit-of-work.jobs',
} as const;

/** Resolved runner settings. */
export interface JobRunnerSettings {
  readonly jobs: JobDefinitions;
  readonly jobNames: readonly string[];
  readonly uowOptions: Omit<UnitOfWorkOptions, 'client'>;
  readonly settings: UnitOfWorkSettings;
  readonly backoff: Required<JobBackoff>;
  readonly leaseMarginMs: number;
  readonly defaultLeaseMs: number;
  readonly failedEventType: string;
  readonly clock: () => number;
}

const COMPONENT = 'jobRunner(options)';

const seconds = { valid: is.numberAtLeast(0), rule: 'be a number of seconds, 0 or more' } as const;

/** The declaration of {@link JobBackoff} (nested under `backoff`). */
export const JOB_BACKOFF_OPTIONS = declareOptions<JobBackoff>()({
  baseSeconds: { doc: 'Delay after the first failed attempt', default: String(JOB_RUNNER_DEFAULTS.backoff.baseSeconds), ...seconds },
  factor: { doc: 'Growth per attempt', default: String(JOB_RUNNER_DEFAULTS.backoff.factor), valid: is.numberAtLeast(1), rule: 'be a number of at least 1' },
  maxSeconds: { doc: 'Longest delay', default: String(JOB_RUNNER_DEFAULTS.backoff.maxSeconds), ...seconds },
});

/** The declaration of the runner's own options (the unit-of-work ones are {@link UNIT_OF_WORK_OPTIONS}). */
export const JOB_RUNNER_OPTIONS = declareOptions<Omit<JobRunnerOptions, keyof UnitOfWorkOptions>>()({
  jobs: { doc: 'Job name → handler', required: true },
  backoff: { doc: 'Retry delays of failed one-time jobs', default: '{ baseSeconds: 60, factor: 2, maxSeconds: 3600 }' },
  leaseMarginMs: {
    doc: 'Added to the remaining time to make the lease',
    default: String(JOB_RUNNER_DEFAULTS.leaseMarginMs),
    valid: is.numberAtLeast(0),
    rule: 'be a number of milliseconds, 0 or more',
  },
  defaultLeaseMs: {
    doc: 'Lease without a Lambda context',
    default: String(JOB_RUNNER_DEFAULTS.defaultLeaseMs),
    valid: (v) => is.numberAtLeast(0)(v) && (v as number) > 0,
    rule: 'be a positive number of milliseconds',
  },
  failedEventType: { doc: 'Event type published when a job is DEAD', default: `'${JOB_RUNNER_DEFAULTS.failedEventType}'`, valid: is.nonEmptyString, rule: 'be a non-empty string' },
  clock: { doc: 'Clock in epoch milliseconds', default: 'Date.now', valid: is.function, rule: 'be a function returning epoch milliseconds' },
});

/** The problems of the `jobs` map (each handler must be a function). */
function jobsProblems(jobs: unknown): string[] {
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs)) return ['"jobs" must map job names to handlers'];
  const bad = Object.entries(jobs).filter(([, h]) => typeof h !== 'function').map(([n]) => `"${n}"`);
  if (!bad.length) return [];
  return [`the job${bad.length > 1 ? 's' : ''} ${bad.join(', ')} must be ${bad.length > 1 ? 'functions' : 'a function'} (payload, { uow, job }) => …`];
}

/** Validates the runner options (every problem named at once) and resolves them over the defaults. */
export function resolveJobRunnerOptions(options: JobRunnerOptions): JobRunnerSettings {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError(COMPONENT, 'options must be an object with { jobs }');
  const { jobs, backoff, leaseMarginMs, defaultLeaseMs, failedEventType, clock, ...uowOptions } = options;
  const invalid: string[] = [];
  if ('readOnly' in options) invalid.push('"readOnly" is not an option of the job runner (a job unit of work must write its status)');
  const runner = optionProblems(JOB_RUNNER_OPTIONS, options, { allow: optionKeys(UNIT_OF_WORK_OPTIONS) });
  if (jobs !== undefined) invalid.push(...jobsProblems(jobs));
  const nested = typeof backoff === 'object' && backoff !== null ? optionProblems(JOB_BACKOFF_OPTIONS, backoff, { prefix: 'backoff.' }) : undefined;
  const uow = optionProblems(UNIT_OF_WORK_OPTIONS, uowOptions, { allow: optionKeys(JOB_RUNNER_OPTIONS) });
  const problems = {
    missing: [...runner.missing, ...uow.missing],
    invalid: [...invalid, ...(nested?.unknown ?? []), ...(nested?.invalid ?? []), ...runner.invalid, ...uow.invalid],
    unknown: uow.unknown,
  };
  if (hasProblems(problems)) throw new ConfigurationError(COMPONENT, problems);
  const settings = resolveSettings(uowOptions, COMPONENT);
  const { client: _client, ...rest } = uowOptions;
  return {
    jobs,
    jobNames: Object.keys(jobs),
    uowOptions: rest,
    settings,
    backoff: { ...JOB_RUNNER_DEFAULTS.backoff, ...backoff },
    leaseMarginMs: leaseMarginMs ?? JOB_RUNNER_DEFAULTS.leaseMarginMs,
    defaultLeaseMs: defaultLeaseMs ?? JOB_RUNNER_DEFAULTS.defaultLeaseMs,
    failedEventType: failedEventType ?? JOB_RUNNER_DEFAULTS.failedEventType,
    clock: clock ?? Date.now,
  };
}

/** Seconds to wait before retrying after failed attempt `attempt` (1-based). Pure. */
export function retryDelaySeconds(attempt: number, backoff: Required<JobBackoff>): number {
  return Math.min(backoff.maxSeconds, backoff.baseSeconds * backoff.factor ** Math.max(0, attempt - 1));
}
