/** The in-memory state of the local Scheduler: groups, schedules, and firing them at their time. */
import { randomUUID } from 'node:crypto';
import type { LocalClock } from './clock.js';
import { LocalServiceError } from './http.js';
import { nextOccurrence, schedulerTime, type ScheduleExpression } from './schedule-expression.js';
import type { ScheduleDefinition } from './scheduler-validate.js';

/** A schedule as the local Scheduler keeps it. */
export interface LocalSchedule extends ScheduleDefinition {
  readonly Name: string;
  readonly GroupName: string;
  readonly Arn: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly modifiedAt: number;
  /** Scheduled time of the next occurrence (epoch ms), `undefined` when none is left. */
  readonly nextAt?: number;
  /** Occurrences fired so far. */
  readonly fired: number;
}

/** What a registered local target receives besides the event. */
export interface LocalTargetContext {
  readonly scheduleArn: string;
  readonly scheduleName: string;
  readonly groupName: string;
  /** ISO time the occurrence was scheduled for (`2026-11-22T10:15:00Z`). */
  readonly scheduledTime: string;
  readonly attemptNumber: number;
  readonly executionId: string;
}

/** A local target: gets the target `Input` (parsed when it is JSON) like a Lambda function gets its event. */
export type LocalTarget = (event: unknown, context: LocalTargetContext) => unknown;

/** One delivery of an occurrence to its target. */
export interface Delivery extends LocalTargetContext {
  readonly targetArn: string;
  /** The `Input` after the context attributes were substituted. */
  readonly input: string;
  /** `failed`: a retry is pending; `dead-lettered` / `dropped` (no DLQ): the Scheduler gave up. */
  readonly outcome: 'succeeded' | 'failed' | 'dead-lettered' | 'dropped';
  readonly result?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
}

/** A message the local Scheduler "sent" to a schedule's SQS dead-letter queue. */
export interface DeadLetter {
  readonly queueArn: string;
  /** The target input, as the service sends it. */
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
}

interface Stored {
  def: ScheduleDefinition;
  expression: ScheduleExpression;
  name: string;
  group: string;
  arn: string;
  createdAt: number;
  modifiedAt: number;
  sinceMs: number;
  lastMs?: number;
  nextAt?: number;
  fired: number;
}

interface Retry {
  readonly s: Stored;
  readonly scheduledMs: number;
  readonly attempt: number;
  readonly dueMs: number;
}

/** Options of the store (see {@link LocalSchedulerOptions}). */
export interface SchedulerStoreOptions {
  readonly region: string;
  readonly accountId: string;
  readonly clock: LocalClock;
  /** First retry waits this long on the Scheduler's clock, doubling after each failure (max 5 minutes). */
  readonly retryBaseDelayMs: number;
  readonly onDeadLetter?: (message: DeadLetter) => void;
}

const MAX_RETRY_DELAY_MS = 5 * 60_000;
const notFound = (what: string): LocalServiceError =>
  new LocalServiceError('ResourceNotFoundException', `${what} does not exist.`, 404);

/** The local Scheduler's state and its firing engine. */
export class SchedulerStore {
  /** Schedule groups by name. */
  readonly groups = new Map<string, { arn: string; createdAt: number }>();
  private readonly schedules = new Map<string, Stored>();
  private readonly targets = new Map<string, LocalTarget>();
  private retries: Retry[] = [];
  /** Every delivery, in order. */
  readonly deliveries: Delivery[] = [];
  /** Every message sent to a dead-letter queue, in order. */
  readonly deadLetters: DeadLetter[] = [];

  constructor(private readonly options: SchedulerStoreOptions) {
    this.createGroup('default');
  }

  private arnOf(kind: 'schedule' | 'schedule-group', path: string): string {
    return `arn:aws:scheduler:${this.options.region}:${this.options.accountId}:${kind}/${path}`;
  }

  /** Creates a schedule group; ConflictException when it exists. Returns its ARN. */
  createGroup(name: string): string {
    if (this.groups.has(name))
      throw new LocalServiceError('ConflictException', `Schedule group ${name} already exists.`, 409);
    const arn = this.arnOf('schedule-group', name);
    this.groups.set(name, { arn, createdAt: this.options.clock.now() });
    return arn;
  }

  /** Deletes a group and its schedules (not `default`). */
  deleteGroup(name: string): void {
    if (name === 'default')
      throw new LocalServiceError('ValidationException', 'The default schedule group cannot be deleted.', 400);
    if (!this.groups.delete(name)) throw notFound(`Schedule group ${name}`);
    for (const [k, s] of this.schedules) if (s.group === name) this.schedules.delete(k);
  }

  /** ResourceNotFoundException unless the group exists. */
  requireGroup(name: string): void {
    if (!this.groups.has(name)) throw notFound(`Schedule group ${name}`);
  }

  private stored(name: string, group: string): Stored {
    this.requireGroup(group);
    const s = this.schedules.get(`${group}/${name}`);
    if (!s) throw notFound(`Schedule ${name}`);
    return s;
  }

  private plan(s: Stored): void {
    s.nextAt = nextOccurrence(s.expression, {
      timezone: s.def.ScheduleExpressionTimezone ?? 'UTC',
      sinceMs: s.sinceMs,
      ...(s.def.StartDate !== undefined ? { startMs: s.def.StartDate * 1000 } : {}),
      ...(s.def.EndDate !== undefined ? { endMs: s.def.EndDate * 1000 } : {}),
      ...(s.lastMs !== undefined ? { lastMs: s.lastMs } : {}),
    });
  }

  /** CreateSchedule: ConflictException when the name is taken in the group. Returns the schedule ARN. */
  create(name: string, group: string, def: ScheduleDefinition, expression: ScheduleExpression): string {
    this.requireGroup(group);
    const key = `${group}/${name}`;
    if (this.schedules.has(key))
      throw new LocalServiceError('ConflictException', `Schedule ${name} already exists.`, 409);
    const now = this.options.clock.now();
    const s: Stored = {
      def,
      expression,
      name,
      group,
      arn: this.arnOf('schedule', key),
      createdAt: now,
      modifiedAt: now,
      sinceMs: now,
      fired: 0,
    };
    this.plan(s);
    this.schedules.set(key, s);
    return s.arn;
  }

  /** UpdateSchedule: replaces the whole definition; the schedule starts over from now. */
  update(name: string, group: string, def: ScheduleDefinition, expression: ScheduleExpression): string {
    const s = this.stored(name, group);
    const now = this.options.clock.now();
    Object.assign(s, { def, expression, modifiedAt: now, sinceMs: now, lastMs: undefined });
    this.plan(s);
    return s.arn;
  }

  /** DeleteSchedule: ResourceNotFoundException when it does not exist. */
  delete(name: string, group: string): void {
    this.stored(name, group);
    this.schedules.delete(`${group}/${name}`);
  }

  /** GetSchedule: ResourceNotFoundException when it does not exist. */
  get(name: string, group: string): LocalSchedule {
    return this.view(this.stored(name, group));
  }

  /** The schedule, or `undefined` (no error). */
  find(name: string, group = 'default'): LocalSchedule | undefined {
    const s = this.schedules.get(`${group}/${name}`);
    return s ? this.view(s) : undefined;
  }

  /** Schedules of one group (or all), sorted by group and name. */
  list(group?: string): LocalSchedule[] {
    return [...this.schedules.values()]
      .filter((s) => group === undefined || s.group === group)
      .sort((a, b) => (a.group + '/' + a.name < b.group + '/' + b.name ? -1 : 1))
      .map((s) => this.view(s));
  }

  private view(s: Stored): LocalSchedule {
    return {
      ...s.def,
      Name: s.name,
      GroupName: s.group,
      Arn: s.arn,
      createdAt: s.createdAt,
      modifiedAt: s.modifiedAt,
      ...(s.nextAt !== undefined ? { nextAt: s.nextAt } : {}),
      fired: s.fired,
    };
  }

  /** Makes `target` the handler of deliveries to `arn`; returns the function that unregisters it. */
  registerTarget(arn: string, target: LocalTarget): () => void {
    this.targets.set(arn, target);
    return () => {
      if (this.targets.get(arn) === target) this.targets.delete(arn);
    };
  }

  private async deliver(s: Stored, scheduledMs: number, attempt: number): Promise<Delivery> {
    const executionId = randomUUID();
    const scheduledTime = schedulerTime(scheduledMs);
    const input = (s.def.Target.Input ?? '{}')
      .replaceAll('<aws.scheduler.scheduled-time>', scheduledTime)
      .replaceAll('<aws.scheduler.attempt-number>', String(attempt))
      .replaceAll('<aws.scheduler.execution-id>', executionId)
      .replaceAll('<aws.scheduler.schedule-arn>', s.arn);
    const context: LocalTargetContext = {
      scheduleArn: s.arn,
      scheduleName: s.name,
      groupName: s.group,
      scheduledTime,
      attemptNumber: attempt,
      executionId,
    };
    const base = { ...context, targetArn: s.def.Target.Arn, input };
    const target = this.targets.get(s.def.Target.Arn);
    let error: { name: string; message: string };
    let retryable = true;
    if (!target) {
      error = { name: 'ResourceNotFoundException', message: `no local target is registered for ${s.def.Target.Arn}` };
      retryable = false;
    } else {
      let event: unknown = input;
      try {
        event = JSON.parse(input);
      } catch {
        // not JSON: the target gets the text
      }
      try {
        const result = await target(event, context);
        return this.record({ ...base, outcome: 'succeeded', result });
      } catch (e) {
        error = { name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) };
      }
    }
    const policy = s.def.Target.RetryPolicy ?? {};
    const maxRetries = policy.MaximumRetryAttempts ?? 185;
    const maxAgeMs = (policy.MaximumEventAgeInSeconds ?? 86400) * 1000;
    const delay = Math.min(MAX_RETRY_DELAY_MS, this.options.retryBaseDelayMs * 2 ** (attempt - 1));
    const dueMs = this.options.clock.now() + delay;
    if (retryable && attempt <= maxRetries && dueMs - scheduledMs < maxAgeMs) {
      this.retries.push({ s, scheduledMs, attempt: attempt + 1, dueMs });
      return this.record({ ...base, outcome: 'failed', error });
    }
    const queueArn = s.def.Target.DeadLetterConfig?.Arn;
    if (!queueArn) return this.record({ ...base, outcome: 'dropped', error });
    const message: DeadLetter = {
      queueArn,
      body: input,
      attributes: {
        ERROR_CODE: error.name,
        ERROR_MESSAGE: error.message,
        EXHAUSTED_RETRY_CONDITION: !retryable
          ? 'NonRetryableError'
          : attempt > maxRetries
            ? 'MaximumRetryAttempts'
            : 'MaximumEventAgeInSeconds',
        RETRY_ATTEMPTS: String(attempt - 1),
        SCHEDULE_ARN: s.arn,
        GROUP_ARN: this.arnOf('schedule-group', s.group),
        TARGET_ARN: s.def.Target.Arn,
      },
    };
    this.deadLetters.push(message);
    this.options.onDeadLetter?.(message);
    return this.record({ ...base, outcome: 'dead-lettered', error });
  }

  private record(delivery: Delivery): Delivery {
    this.deliveries.push(delivery);
    return delivery;
  }

  /** Delivers every occurrence and retry due at the clock's time, earliest first, one at a time. */
  async fireDue(): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for (let guard = 0; guard < 100_000; guard++) {
      const now = this.options.clock.now();
      let due: Stored | undefined;
      for (const s of this.schedules.values())
        if (s.def.State === 'ENABLED' && s.nextAt !== undefined && s.nextAt <= now && (!due || s.nextAt < due.nextAt!))
          due = s;
      const retry = this.retries.filter((r) => r.dueMs <= now).sort((a, b) => a.dueMs - b.dueMs)[0];
      if (!due && !retry) break;
      if (retry && (!due || retry.dueMs <= due.nextAt!)) {
        this.retries = this.retries.filter((r) => r !== retry);
        out.push(await this.deliver(retry.s, retry.scheduledMs, retry.attempt));
        continue;
      }
      const s = due!;
      const scheduledMs = s.nextAt!;
      s.lastMs = scheduledMs;
      s.fired++;
      this.plan(s);
      const delivery = await this.deliver(s, scheduledMs, 1);
      // A one-time schedule with ActionAfterCompletion DELETE removes itself once it has run (unless replaced meanwhile).
      if (
        s.expression.kind === 'at' &&
        s.def.ActionAfterCompletion === 'DELETE' &&
        s.lastMs === scheduledMs &&
        this.schedules.get(`${s.group}/${s.name}`) === s
      )
        this.schedules.delete(`${s.group}/${s.name}`);
      out.push(delivery);
    }
    return out;
  }

  /** Delivers the schedule's occurrence now (its next scheduled time, or `scheduledTime`), without changing its state. */
  async fire(
    name: string,
    group = 'default',
    options: { scheduledTime?: Date; attemptNumber?: number } = {},
  ): Promise<Delivery> {
    const s = this.stored(name, group);
    const scheduledMs = options.scheduledTime?.getTime() ?? s.nextAt ?? s.lastMs ?? this.options.clock.now();
    return this.deliver(s, scheduledMs, options.attemptNumber ?? 1);
  }

  /** Retries waiting for their time. */
  get pendingRetries(): number {
    return this.retries.length;
  }
}
