/**
 * Collects what the dev console shows from public hooks only: the library's commit channel
 * (`COMMIT_CHANNEL`), SDK middlewares on the local stack's Scheduler and EventBridge clients, the job
 * runner target (wrapped) and the stream poller's on-failure destination. Rows change as follow-ups
 * arrive; every change goes to the subscribers (the console's server-sent events).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { COMMIT_CHANNEL, type CommitReport } from '../../unit-of-work/commit.js';
import type { OutboxMessage } from '../../outbox/messages.js';
import type { LocalOutboxStack } from '../outbox-stack.js';
import type { LocalTarget } from '../scheduler-store.js';
import type { StreamFailure } from '../stream-poller.js';
import {
  consoleError,
  formatItemKey,
  type ConsoleCommitRow,
  type ConsoleFollowUp,
  type ConsoleJobMessage,
  type ConsoleWrite,
} from './timeline-model.js';

const OPS = { Put: 'put', Update: 'update', Delete: 'delete', ConditionCheck: 'check' } as const;
const SCHEDULE_CALLS = {
  CreateScheduleCommand: 'created',
  UpdateScheduleCommand: 'updated',
  DeleteScheduleCommand: 'deleted',
} as const;

const whenOf = (s: { at?: string; cron?: string; rate?: string }): string =>
  s.at ? `at ${s.at}` : s.cron ? `cron ${s.cron}` : `rate ${s.rate}`;
const parse = (text: unknown): any => {
  try {
    return typeof text === 'string' ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
};

/** Records commits and what followed them for the dev console. Create one, `attach(stack)`, `close()` when done. */
export class ConsoleRecorder {
  readonly #rows: ConsoleCommitRow[] = [];
  /** Follow-ups no commit could be found for (shown as rows of their own). */
  readonly #unlinked: ConsoleCommitRow[] = [];
  readonly #byId = new Map<string, ConsoleCommitRow>();
  readonly #eventCommit = new Map<string, string>();
  readonly #cloudEvents = new Map<string, unknown>();
  readonly #outboxItems = new Map<string, Record<string, unknown>[]>();
  readonly #routes = new Map<string, string>();
  readonly #listeners = new Set<(row: ConsoleCommitRow) => void>();
  readonly #run = new AsyncLocalStorage<{ runId: string; source: string; commitId?: string }>();
  readonly #onCommit = (message: unknown): void => {
    try {
      this.recordCommit(message as CommitReport);
    } catch (error) {
      // Node would turn a channel subscriber's error into an uncaught exception: never let one out.
      console.error('dev console: could not record a commit:', error);
    }
  };
  #seq = 0;

  constructor() {
    subscribe(COMMIT_CHANNEL, this.#onCommit);
  }

  /** Every row, oldest first (commits, then unlinked follow-ups by time). */
  rows(): ConsoleCommitRow[] {
    return [...this.#rows, ...this.#unlinked].sort((a, b) => a.seq - b.seq);
  }
  /** The outbox items a commit wrote, as sent. */
  outboxItems(commitId: string): Record<string, unknown>[] | undefined {
    return this.#outboxItems.get(commitId);
  }
  /** The CloudEvent with this id, as put on EventBridge. */
  cloudEvent(id: string): unknown {
    return this.#cloudEvents.get(id);
  }
  /** Calls `listener` with every row that was added or changed; returns the unsubscribe function. */
  onChange(listener: (row: ConsoleCommitRow) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  /** Stops listening to commits. */
  close(): void {
    unsubscribe(COMMIT_CHANNEL, this.#onCommit);
    this.#listeners.clear();
  }

  #changed(row: ConsoleCommitRow): void {
    for (const listener of this.#listeners) {
      try {
        listener(row);
      } catch {
        // a broken subscriber never breaks recording
      }
    }
  }

  /** Records one reported commit (the commit channel's subscriber). */
  recordCommit(report: CommitReport): void {
    const writes: ConsoleWrite[] = [];
    const events: { id: string; type: string }[] = [];
    const jobs: ConsoleJobMessage[] = [];
    const items: Record<string, unknown>[] = [];
    let commitId: string | undefined;
    (report.input.TransactItems ?? []).forEach((action, i) => {
      const [kind, body] = Object.entries(action)[0] as [keyof typeof OPS, Record<string, any>];
      const ref = report.actions[i];
      if (ref?.role === 'outbox') {
        items.push(body.Item);
        commitId ??= body.Item?.commitId;
        for (const m of (parse(body.Item?.messages) ?? []) as OutboxMessage[]) {
          if (m.kind === 'event') events.push({ id: m.event.id, type: m.event.type });
          else if (m.kind === 'job.schedule')
            jobs.push({
              kind: 'schedule',
              key: m.job.key,
              scheduleName: m.job.scheduleName,
              name: m.job.name,
              version: m.job.version,
              when: whenOf(m.schedule),
            });
          else if (m.kind === 'job.reschedule')
            jobs.push({
              kind: 'reschedule',
              key: m.key,
              scheduleName: m.scheduleName,
              version: m.version,
              when: whenOf(m.schedule),
            });
          else jobs.push({ kind: 'cancel', key: m.key, scheduleName: m.scheduleName });
        }
        return;
      }
      // A Put on a table whose key names the unit of work never learned: show the usual key attributes.
      const guessed = body.Item
        ? Object.fromEntries(['pk', 'sk', 'PK', 'SK', 'id'].filter((k) => k in body.Item).map((k) => [k, body.Item[k]]))
        : undefined;
      const key = ref?.key ?? body.Key ?? guessed;
      writes.push({
        op: OPS[kind],
        table: String(body.TableName),
        key: formatItemKey(key),
        label: ref?.label ?? '',
        role: ref?.role ?? 'write',
      });
    });
    const run = this.#run.getStore();
    const correlationId = items[0]?.correlationId as string | undefined;
    const row: ConsoleCommitRow = {
      id: commitId ?? `local-${randomUUID()}`,
      seq: ++this.#seq,
      at: new Date().toISOString(),
      source: run?.source ?? (correlationId ? this.#routes.get(correlationId) : undefined) ?? '?',
      ...(correlationId ? { correlationId } : {}),
      status: report.error === undefined ? 'committed' : 'rolled back',
      ...(report.error === undefined ? {} : { error: consoleError(report.error) }),
      writes,
      events,
      jobs,
      followed: [],
    };
    if (run && row.status === 'committed') run.commitId = row.id;
    this.#rows.push(row);
    this.#byId.set(row.id, row);
    if (row.status === 'committed') {
      if (items.length) this.#outboxItems.set(row.id, items);
      for (const e of events) this.#eventCommit.set(e.id, row.id);
    }
    this.#changed(row);
  }

  /** Names the source of the commits of an HTTP request (the local HTTP API's `onRequest`). */
  recordRequest(info: { routeKey: string; requestId: string }): void {
    this.#routes.set(info.requestId, info.routeKey);
    for (const row of this.#rows)
      if (row.correlationId === info.requestId && row.source === '?') {
        row.source = info.routeKey;
        this.#changed(row);
      }
  }

  /** The latest committed row carrying a job message for `scheduleName` (of `version`, when given). */
  #commitOfSchedule(
    scheduleName: string,
    kinds: readonly ConsoleJobMessage['kind'][],
    version?: number,
  ): ConsoleCommitRow | undefined {
    for (let i = this.#rows.length - 1; i >= 0; i--) {
      const row = this.#rows[i]!;
      if (row.status !== 'committed') continue;
      if (
        row.jobs.some(
          (j) =>
            j.scheduleName === scheduleName &&
            kinds.includes(j.kind) &&
            (version === undefined || j.version === version),
        )
      )
        return row;
    }
    return version === undefined ? undefined : this.#commitOfSchedule(scheduleName, kinds);
  }

  #follow(row: ConsoleCommitRow | undefined, followUp: ConsoleFollowUp): ConsoleCommitRow {
    let target = row;
    if (!target) {
      target = {
        id: `unlinked-${randomUUID()}`,
        seq: ++this.#seq,
        at: followUp.at,
        source: 'after commit (unlinked)',
        status: 'committed',
        writes: [],
        events: [],
        jobs: [],
        followed: [],
      };
      this.#unlinked.push(target);
    }
    target.followed.push(followUp);
    this.#changed(target);
    return target;
  }

  /** Records the dispatcher's EventBridge and Scheduler calls through SDK middlewares on the stack's clients. */
  attach(stack: Pick<LocalOutboxStack, 'clients'>): void {
    const observe = (
      client: { middlewareStack: any },
      name: string,
      recordCall: (command: string, input: any, output: any, error?: unknown) => void,
    ): void => {
      // Recording never changes the call's outcome.
      const record = (command: string, input: any, output: any, error?: unknown): void => {
        try {
          recordCall(command, input, output, error);
        } catch (e) {
          console.error('dev console: could not record a call:', e);
        }
      };
      client.middlewareStack.add(
        (next: any, context: any) => async (args: any) => {
          try {
            const result = await next(args);
            record(context.commandName, args.input, result.output);
            return result;
          } catch (error) {
            record(context.commandName, args.input, undefined, error);
            throw error;
          }
        },
        { step: 'initialize', name: `dev-console-${name}-${randomUUID()}` },
      );
    };
    observe(stack.clients.eventBridge, 'events', (command, input, output, error) => {
      if (command === 'PutEventsCommand') this.recordPublished(input.Entries ?? [], output?.Entries ?? [], error);
    });
    observe(stack.clients.scheduler, 'scheduler', (command, input, _output, error) => {
      const action = SCHEDULE_CALLS[command as keyof typeof SCHEDULE_CALLS];
      if (!action) return;
      const version = parse(input.Target?.Input)?.version as number | undefined;
      const gone = action !== 'created' && (error as Error | undefined)?.name === 'ResourceNotFoundException';
      const row = this.#commitOfSchedule(
        input.Name,
        action === 'deleted'
          ? ['cancel']
          : action === 'created'
            ? ['schedule', 'reschedule']
            : ['reschedule', 'schedule'],
        version,
      );
      this.#follow(row ?? this.#commitOfSchedule(input.Name, ['schedule', 'reschedule', 'cancel']), {
        kind: 'schedule',
        at: new Date().toISOString(),
        action,
        name: input.Name,
        ...(input.ScheduleExpression ? { expression: input.ScheduleExpression } : {}),
        ...(version !== undefined ? { version } : {}),
        ...(gone ? { gone } : error ? { error: consoleError(error) } : {}),
      });
    });
  }

  /**
   * Records timer messages the dispatcher sent to the SQS timer queue (`SendMessageBatch` entries: the body is
   * the job delivery, `DelaySeconds` its delay), each as a schedule `created` by its commit.
   */
  recordTimersQueued(entries: readonly { MessageBody?: string; DelaySeconds?: number }[], error?: unknown): void {
    for (const entry of entries) {
      const job = parse(entry.MessageBody) as { scheduleName?: string; version?: number } | undefined;
      if (!job?.scheduleName) continue;
      const row = this.#commitOfSchedule(job.scheduleName, ['schedule', 'reschedule'], job.version);
      this.#follow(row, {
        kind: 'schedule',
        at: new Date().toISOString(),
        action: 'created',
        name: job.scheduleName,
        expression: `SQS timer, delay ${entry.DelaySeconds ?? 0} s`,
        ...(job.version !== undefined ? { version: job.version } : {}),
        ...(error ? { error: consoleError(error) } : {}),
      });
    }
  }

  /** Records a PutEvents call: each entry as published, or failed with its error code. */
  recordPublished(
    entries: readonly { Detail?: string; DetailType?: string }[],
    results: readonly { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[],
    error?: unknown,
  ): void {
    const now = Date.now();
    entries.forEach((entry, i) => {
      const cloudEvent = parse(entry.Detail);
      const id = String(cloudEvent?.id ?? '?');
      const commitId = this.#eventCommit.get(id);
      const row = commitId ? this.#byId.get(commitId) : undefined;
      const result = results[i];
      const failure = error
        ? consoleError(error)
        : result?.ErrorCode
          ? { name: result.ErrorCode, message: result.ErrorMessage ?? 'entry not accepted (will be resent)' }
          : undefined;
      if (!failure) this.#cloudEvents.set(id, cloudEvent);
      this.#follow(row, {
        kind: 'event',
        at: new Date(now).toISOString(),
        id,
        type: String(entry.DetailType ?? cloudEvent?.type ?? '?'),
        ...(result?.EventId ? { eventBridgeId: result.EventId } : {}),
        ...(row ? { lagMs: now - Date.parse(row.at) } : {}),
        ...(failure ? { error: failure } : {}),
      });
    });
  }

  /** Records a batch the stream poller gave up on (its on-failure destination), on the commits it held. */
  recordStreamFailure(failure: StreamFailure): void {
    const error = {
      name: 'StreamBatchDiscarded',
      message: failure.error ?? `records ${failure.failedSequenceNumbers.join(', ')} kept failing`,
    };
    const ids = new Set(
      failure.records.map((r) => r.dynamodb?.NewImage?.commitId?.S).filter((id): id is string => !!id),
    );
    if (ids.size === 0) this.#follow(undefined, { kind: 'dispatch-failure', at: new Date().toISOString(), error });
    for (const id of ids)
      this.#follow(this.#byId.get(id), { kind: 'dispatch-failure', at: new Date().toISOString(), error });
  }

  /** Wraps the job runner target: each delivery becomes a `job-run` follow-up, and the commit it makes is linked to it. */
  wrapTarget(target: LocalTarget): LocalTarget {
    return async (event, context) => {
      const input = (event ?? {}) as { name?: string; key?: string; version?: number };
      const key = String(input.key ?? '?');
      const scheduleRow = this.#commitOfSchedule(context.scheduleName, ['schedule', 'reschedule'], input.version);
      const run = { runId: context.executionId, source: `job ${input.name ?? '?'} (${key})` };
      const followUp = {
        kind: 'job-run' as const,
        at: new Date().toISOString(),
        runId: run.runId,
        job: String(input.name ?? '?'),
        key,
        delivery: context.attemptNumber,
      };
      const state: { runId: string; source: string; commitId?: string } = { ...run };
      const row = this.#follow(scheduleRow, { ...followUp, outcome: 'running' });
      const settle = (fields: Partial<Extract<ConsoleFollowUp, { kind: 'job-run' }>>): void => {
        const at = row.followed.findIndex((f) => f.kind === 'job-run' && f.runId === run.runId);
        row.followed[at] = {
          ...followUp,
          outcome: 'running',
          ...fields,
          ...(state.commitId ? { commitId: state.commitId } : {}),
        } as ConsoleFollowUp;
        this.#changed(row);
      };
      try {
        const result = (await this.#run.run(state, () => target(event, context))) as
          | { outcome?: string; attempt?: number; reason?: string; error?: { name: string; message: string } }
          | undefined;
        settle({
          outcome: result?.outcome ?? 'done',
          ...(result?.attempt !== undefined ? { attempt: result.attempt } : {}),
          ...(result?.reason ? { reason: result.reason } : {}),
          ...(result?.error ? { error: result.error } : {}),
        });
        return result;
      } catch (error) {
        settle({ outcome: 'error', error: consoleError(error) });
        throw error;
      }
    };
  }
}
