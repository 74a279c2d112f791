/** What the dev console shows: one row per commit, and what followed from it (pure data, JSON as served). */

/** One action of a commit, as the unit of work labelled it. */
export interface ConsoleWrite {
  readonly op: 'put' | 'update' | 'delete' | 'check';
  readonly table: string;
  /** The item key, as `pk=…,sk=…`. */
  readonly key: string;
  readonly label: string;
  /** `write` (business), `job` (new job record), `jobChange` (cancel/reschedule/retry/run transition). */
  readonly role: string;
}

/** A job message of a commit. */
export interface ConsoleJobMessage {
  readonly kind: 'schedule' | 'reschedule' | 'cancel';
  readonly key: string;
  readonly scheduleName: string;
  readonly name?: string;
  readonly version?: number;
  /** `at …`, `cron …` or `rate …`. */
  readonly when?: string;
}

/** Something that happened after a commit, from the stream or the Scheduler. */
export type ConsoleFollowUp =
  | {
      readonly kind: 'event';
      readonly at: string;
      readonly id: string;
      readonly type: string;
      /** EventBridge's event id, when accepted. */
      readonly eventBridgeId?: string;
      /** Milliseconds from the commit to EventBridge's answer. */
      readonly lagMs?: number;
      readonly error?: ConsoleError;
    }
  | {
      readonly kind: 'schedule';
      readonly at: string;
      readonly action: 'created' | 'updated' | 'deleted';
      readonly name: string;
      readonly expression?: string;
      readonly version?: number;
      /** UpdateSchedule/DeleteSchedule found no schedule (a one-time schedule deletes itself after it ran): not an error. */
      readonly gone?: boolean;
      readonly error?: ConsoleError;
    }
  | {
      readonly kind: 'job-run';
      readonly at: string;
      readonly runId: string;
      readonly job: string;
      readonly key: string;
      /** The job's attempt (from the runner's answer). */
      readonly attempt?: number;
      /** The Scheduler's delivery attempt of this occurrence (1, then its retries). */
      readonly delivery: number;
      /** `running` until the runner answers, then its outcome (`succeeded`, `failed`, `dead`, `skipped`, …). */
      readonly outcome: string;
      readonly reason?: string;
      /** The commit the run made (its own row). */
      readonly commitId?: string;
      readonly error?: ConsoleError;
    }
  | { readonly kind: 'dispatch-failure'; readonly at: string; readonly error: ConsoleError };

/** An error as shown: name and message. */
export interface ConsoleError {
  readonly name: string;
  readonly message: string;
}

/** One timeline row: a commit (or a rolled-back attempt) and what followed from it. */
export interface ConsoleCommitRow {
  /** The commit id (outbox items are keyed by it); a generated id for commits without messages. */
  readonly id: string;
  readonly seq: number;
  readonly at: string;
  /** Who committed: the HTTP route, `job <name> (<key>)`, or `?`. */
  source: string;
  readonly correlationId?: string;
  readonly status: 'committed' | 'rolled back';
  readonly error?: ConsoleError;
  readonly writes: readonly ConsoleWrite[];
  readonly events: readonly { readonly id: string; readonly type: string }[];
  readonly jobs: readonly ConsoleJobMessage[];
  readonly followed: ConsoleFollowUp[];
}

/** The summary of an error (never throws). */
export function consoleError(error: unknown): ConsoleError {
  if (error instanceof Error) return { name: error.name || 'Error', message: error.message };
  return { name: 'Error', message: typeof error === 'string' ? error : String(error) };
}

/** `pk=order-1,sk=x` for a key object. */
export function formatItemKey(key: Readonly<Record<string, unknown>> | undefined): string {
  if (!key) return '';
  return Object.entries(key)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(',');
}
