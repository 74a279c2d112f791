import { ConfigurationError } from '../errors.js';
import type { MetricsOption } from '../metrics/emitter.js';
import { resolveSettings, validateOptions, type UnitOfWorkOptions } from '../unit-of-work/settings.js';
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
  /** The job-run metrics as EMF (docs/operate.md "Metrics"). @default off unless `UOW_METRICS=on` */
  readonly metrics?: MetricsOption;
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

const RUNNER_KEYS = ['jobs', 'backoff', 'leaseMarginMs', 'defaultLeaseMs', 'failedEventType', 'clock', 'metrics'] as const;
const COMPONENT = 'jobRunner(options)';

const nonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Validates the runner options (every problem named at once) and resolves them over the defaults. */
export function resolveJobRunnerOptions(options: JobRunnerOptions): JobRunnerSettings {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError(COMPONENT, 'options must be an object with { jobs }');
  const { jobs, backoff, leaseMarginMs, defaultLeaseMs, failedEventType, clock, metrics: _metrics, ...uowOptions } = options;
  const problems: string[] = [];
  if ('readOnly' in options) problems.push('"readOnly" is not an option of the job runner (a job unit of work must write its status)');
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs)) problems.push('"jobs" must map job names to handlers');
  else {
    const bad = Object.entries(jobs).filter(([, h]) => typeof h !== 'function').map(([n]) => `"${n}"`);
    if (bad.length) problems.push(`the job${bad.length > 1 ? 's' : ''} ${bad.join(', ')} must be ${bad.length > 1 ? 'functions' : 'a function'} (payload, { uow, job }) => …`);
  }
  if (backoff !== undefined) {
    const unknown = Object.keys(backoff).filter((k) => !['baseSeconds', 'factor', 'maxSeconds'].includes(k));
    if (unknown.length) problems.push(`unknown backoff option(s) ${unknown.join(', ')} (known: baseSeconds, factor, maxSeconds)`);
    if (backoff.baseSeconds !== undefined && !nonNegative(backoff.baseSeconds)) problems.push('"backoff.baseSeconds" must be a number of seconds, 0 or more');
    if (backoff.factor !== undefined && !(nonNegative(backoff.factor) && backoff.factor >= 1)) problems.push('"backoff.factor" must be a number of at least 1');
    if (backoff.maxSeconds !== undefined && !nonNegative(backoff.maxSeconds)) problems.push('"backoff.maxSeconds" must be a number of seconds, 0 or more');
  }
  if (leaseMarginMs !== undefined && !nonNegative(leaseMarginMs)) problems.push('"leaseMarginMs" must be a number of milliseconds, 0 or more');
  if (defaultLeaseMs !== undefined && !(nonNegative(defaultLeaseMs) && defaultLeaseMs > 0)) problems.push('"defaultLeaseMs" must be a positive number of milliseconds');
  if (failedEventType !== undefined && (typeof failedEventType !== 'string' || failedEventType === '')) problems.push('"failedEventType" must be a non-empty string');
  if (clock !== undefined && typeof clock !== 'function') problems.push('"clock" must be a function returning epoch milliseconds');
  try {
    validateOptions(uowOptions, COMPONENT, RUNNER_KEYS);
  } catch (error) {
    if (error instanceof ConfigurationError) problems.push(...error.missing);
    else throw error;
  }
  if (problems.length) throw new ConfigurationError(COMPONENT, problems.join('; '));
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
