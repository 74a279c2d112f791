import { exponentialBackoffDelay } from '../backoff.js';
import { ConfigurationError } from '../errors.js';
import type { MetricsOption } from '../metrics/emitter.js';
import { declareOptions, hasProblems, is, optionKeys, optionProblems } from '../options.js';
import { resolveSettings, UNIT_OF_WORK_OPTIONS, type UnitOfWorkOptions } from '../unit-of-work/settings.js';
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

/** Options of {@link jobRunner}: the job definitions plus the unit-of-work options the job units of work use. */
export interface JobRunnerOptions<TJobs extends JobDefinitions = JobDefinitions>
  extends Omit<UnitOfWorkOptions, 'readOnly'> {
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

const COMPONENT = 'jobRunner(options)';

const seconds = { valid: is.numberAtLeast(0), rule: 'be a number of seconds, 0 or more' } as const;

/** The declaration of {@link JobBackoff} (nested under `backoff`). */
export const JOB_BACKOFF_OPTIONS = declareOptions<JobBackoff>()({
  baseSeconds: {
    doc: 'Delay after the first failed attempt',
    default: String(JOB_RUNNER_DEFAULTS.backoff.baseSeconds),
    ...seconds,
  },
  factor: {
    doc: 'Growth per attempt',
    default: String(JOB_RUNNER_DEFAULTS.backoff.factor),
    valid: is.numberAtLeast(1),
    rule: 'be a number of at least 1',
  },
  maxSeconds: { doc: 'Longest delay', default: String(JOB_RUNNER_DEFAULTS.backoff.maxSeconds), ...seconds },
  jitter: {
    doc: 'Equal jitter: a random delay in [cap/2, cap)',
    default: 'false',
    valid: is.boolean,
    rule: 'be true or false',
  },
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
  failedEventType: {
    doc: 'Event type published when a job is DEAD',
    default: `'${JOB_RUNNER_DEFAULTS.failedEventType}'`,
    valid: is.nonEmptyString,
    rule: 'be a non-empty string',
  },
  clock: {
    doc: 'Clock in epoch milliseconds',
    default: 'Date.now',
    valid: is.function,
    rule: 'be a function returning epoch milliseconds',
  },
  random: {
    doc: 'Randomness of the backoff jitter',
    default: 'Math.random',
    valid: is.function,
    rule: 'be a function returning a number in [0, 1)',
  },
  metrics: { doc: 'The job-run metrics as EMF', default: 'off unless UOW_METRICS=on' },
});

/** The problems of the `jobs` map (each handler must be a function). */
function jobsProblems(jobs: unknown): string[] {
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs))
    return ['"jobs" must map job names to handlers'];
  const bad = Object.entries(jobs)
    .filter(([, h]) => typeof h !== 'function')
    .map(([n]) => `"${n}"`);
  if (!bad.length) return [];
  return [
    `the job${bad.length > 1 ? 's' : ''} ${bad.join(', ')} must be ${bad.length > 1 ? 'functions' : 'a function'} (payload, { uow, job }) => …`,
  ];
}

/**
 * The problems of a {@link JobBackoff} (empty when valid), each naming the option as `<path>.<name>`:
 * the runner's `backoff` and the per-job backoffs of `defineJobs` are checked by this one rule.
 */
export function backoffProblems(backoff: unknown, path: string): string[] {
  if (typeof backoff !== 'object' || backoff === null || Array.isArray(backoff))
    return [`"${path}" must be an object { ${optionKeys(JOB_BACKOFF_OPTIONS).join(', ')} }`];
  const problems = optionProblems(JOB_BACKOFF_OPTIONS, backoff, { prefix: `${path}.` });
  return [...problems.unknown, ...problems.invalid];
}

/** Validates the runner options (every problem named at once) and resolves them over the defaults. */
export function resolveJobRunnerOptions(options: JobRunnerOptions): JobRunnerSettings {
  if (typeof options !== 'object' || options === null)
    throw new ConfigurationError(COMPONENT, 'options must be an object with { jobs }');
  const {
    jobs,
    backoff,
    leaseMarginMs,
    defaultLeaseMs,
    failedEventType,
    clock,
    random,
    metrics: _metrics,
    ...uowOptions
  } = options;
  const invalid: string[] = [];
  if ('readOnly' in options)
    invalid.push('"readOnly" is not an option of the job runner (a job unit of work must write its status)');
  const runner = optionProblems(JOB_RUNNER_OPTIONS, options, { allow: optionKeys(UNIT_OF_WORK_OPTIONS) });
  if (jobs !== undefined) invalid.push(...jobsProblems(jobs));
  const uow = optionProblems(UNIT_OF_WORK_OPTIONS, uowOptions, { allow: optionKeys(JOB_RUNNER_OPTIONS) });
  const problems = {
    missing: [...runner.missing, ...uow.missing],
    invalid: [
      ...invalid,
      ...(backoff !== undefined ? backoffProblems(backoff, 'backoff') : []),
      ...runner.invalid,
      ...uow.invalid,
    ],
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
    random: random ?? Math.random,
  };
}

/**
 * Seconds to wait before retrying after failed attempt `attempt` (1-based); `random` (in [0, 1)) draws
 * the jitter when `backoff.jitter` is on. Pure.
 */
export function retryDelaySeconds(
  attempt: number,
  backoff: Required<Omit<JobBackoff, 'jitter'>> & JobBackoff,
  random: () => number = Math.random,
): number {
  const exponential = {
    base: backoff.baseSeconds,
    factor: backoff.factor,
    max: backoff.maxSeconds,
    jitter: backoff.jitter ? 'equal' : 'none',
  } as const;
  return exponentialBackoffDelay(attempt - 1, exponential, random);
}
