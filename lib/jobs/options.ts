import { exponentialBackoffDelay } from '../backoff.js';
import { ConfigurationError } from '../errors.js';
import type { MetricsOption } from '../metrics/emitter.js';
import { resolveSettings, validateOptions, type UnitOfWorkOptions } from '../unit-of-work/settings.js';
import type { UnitOfWorkSettings } from '../unit-of-work/unit-of-work.js';
import type { JobDefinitions } from './definitions.js';

/**
 * Exponential backoff of job retries: attempt n (1-based) that failed is retried after
 * `cap = min(maxSeconds, baseSeconds × factor^(n-1))`, or, with `jitter`, after a random time in
 * [cap/2, cap) ("equal jitter": retries of jobs that failed together spread out, yet none comes sooner than
 * half the cap). Set on the runner (`backoff`) or per job (`defineJobs(jobs, { backoff })`).
 */
export interface JobBackoff {
  /** Delay after the first failed attempt, in seconds. @default 60 */
  readonly baseSeconds?: number;
  /** Growth per attempt. @default 2 */
  readonly factor?: number;
  /** Longest delay, in seconds. @default 3600 */
  readonly maxSeconds?: number;
  /** Equal jitter: a random delay in [cap/2, cap) instead of the cap. @default false */
  readonly jitter?: boolean;
}

/** The option names of {@link JobBackoff}. */
const BACKOFF_KEYS = ['baseSeconds', 'factor', 'maxSeconds', 'jitter'] as const;

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
  /** Randomness of the backoff jitter, a number in [0, 1); for tests. @default Math.random */
  readonly random?: () => number;
  /** The job-run metrics as EMF (docs/operate.md "Metrics"). @default off unless `UOW_METRICS=on` */
  readonly metrics?: MetricsOption;
}

/** Defaults of {@link JobRunnerOptions}. */
export const JOB_RUNNER_DEFAULTS = {
  backoff: { baseSeconds: 60, factor: 2, maxSeconds: 3600, jitter: false },
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
  readonly random: () => number;
}

const RUNNER_KEYS = ['jobs', 'backoff', 'leaseMarginMs', 'defaultLeaseMs', 'failedEventType', 'clock', 'random', 'metrics'] as const;
const COMPONENT = 'jobRunner(options)';

const nonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * The problems of a {@link JobBackoff} (empty when valid), each naming the option as `<path>.<name>`:
 * the runner's `backoff` and the per-job backoffs of `defineJobs` are checked by this one rule.
 */
export function backoffProblems(backoff: unknown, path: string): string[] {
  if (typeof backoff !== 'object' || backoff === null || Array.isArray(backoff))
    return [`"${path}" must be an object { ${BACKOFF_KEYS.join(', ')} }`];
  const b = backoff as JobBackoff;
  const problems: string[] = [];
  const unknown = Object.keys(b).filter((k) => !(BACKOFF_KEYS as readonly string[]).includes(k));
  if (unknown.length) problems.push(`unknown ${path} option(s) ${unknown.join(', ')} (known: ${BACKOFF_KEYS.join(', ')})`);
  if (b.baseSeconds !== undefined && !nonNegative(b.baseSeconds)) problems.push(`"${path}.baseSeconds" must be a number of seconds, 0 or more`);
  if (b.factor !== undefined && !(nonNegative(b.factor) && b.factor >= 1)) problems.push(`"${path}.factor" must be a number of at least 1`);
  if (b.maxSeconds !== undefined && !nonNegative(b.maxSeconds)) problems.push(`"${path}.maxSeconds" must be a number of seconds, 0 or more`);
  if (b.jitter !== undefined && typeof b.jitter !== 'boolean') problems.push(`"${path}.jitter" must be true or false`);
  return problems;
}

/** Validates the runner options (every problem named at once) and resolves them over the defaults. */
export function resolveJobRunnerOptions(options: JobRunnerOptions): JobRunnerSettings {
  if (typeof options !== 'object' || options === null) throw new ConfigurationError(COMPONENT, 'options must be an object with { jobs }');
  const { jobs, backoff, leaseMarginMs, defaultLeaseMs, failedEventType, clock, random, metrics: _metrics, ...uowOptions } = options;
  const problems: string[] = [];
  if ('readOnly' in options) problems.push('"readOnly" is not an option of the job runner (a job unit of work must write its status)');
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs)) problems.push('"jobs" must map job names to handlers');
  else {
    const bad = Object.entries(jobs).filter(([, h]) => typeof h !== 'function').map(([n]) => `"${n}"`);
    if (bad.length) problems.push(`the job${bad.length > 1 ? 's' : ''} ${bad.join(', ')} must be ${bad.length > 1 ? 'functions' : 'a function'} (payload, { uow, job }) => …`);
  }
  if (backoff !== undefined) problems.push(...backoffProblems(backoff, 'backoff'));
  if (leaseMarginMs !== undefined && !nonNegative(leaseMarginMs)) problems.push('"leaseMarginMs" must be a number of milliseconds, 0 or more');
  if (defaultLeaseMs !== undefined && !(nonNegative(defaultLeaseMs) && defaultLeaseMs > 0)) problems.push('"defaultLeaseMs" must be a positive number of milliseconds');
  if (failedEventType !== undefined && (typeof failedEventType !== 'string' || failedEventType === '')) problems.push('"failedEventType" must be a non-empty string');
  if (clock !== undefined && typeof clock !== 'function') problems.push('"clock" must be a function returning epoch milliseconds');
  if (random !== undefined && typeof random !== 'function') problems.push('"random" must be a function returning a number in [0, 1)');
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
    random: random ?? Math.random,
  };
}

/**
 * Seconds to wait before retrying after failed attempt `attempt` (1-based); `random` (in [0, 1)) draws
 * the jitter when `backoff.jitter` is on. Pure.
 */
export function retryDelaySeconds(attempt: number, backoff: Required<Omit<JobBackoff, 'jitter'>> & JobBackoff, random: () => number = Math.random): number {
  const exponential = { base: backoff.baseSeconds, factor: backoff.factor, max: backoff.maxSeconds, jitter: backoff.jitter ? 'equal' : 'none' } as const;
  return exponentialBackoffDelay(attempt - 1, exponential, random);
}
