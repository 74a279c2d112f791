/**
 * A local EventBridge Scheduler on loopback, speaking the service's REST-JSON protocol, for the real
 * `SchedulerClient` (`endpoint`). Schedules live in memory; due occurrences are delivered to targets
 * registered with `registerTarget(arn, handler)`, on a manual clock (tests) or the real one (`npm start`).
 */
import { manualClock, realClock, type LocalClock } from './clock.js';
import { createFaults, type FaultControls, type LatencySetting } from './faults.js';
import { LocalServiceError, startLocalServer, type LocalRequest } from './http.js';
import type { LocalQuota } from './quota.js';
import {
  SchedulerStore,
  type DeadLetter,
  type Delivery,
  type LocalSchedule,
  type LocalTarget,
} from './scheduler-store.js';
import { checkName, validateDefinition } from './scheduler-validate.js';

/** Options of {@link startLocalScheduler}. */
export interface LocalSchedulerOptions {
  /** @default a free port */
  readonly port?: number;
  /**
   * `'manual'`: time moves only through `advance()`/`clock.set()` and occurrences fire there or on
   * `fireDue()`; `'real'`: the wall clock, checked every `tickMs`; or your own {@link LocalClock}.
   * @default 'manual'
   */
  readonly clock?: 'manual' | 'real' | LocalClock;
  /** Start of a manual clock. @default now */
  readonly startTime?: Date | number;
  /** How often the real-clock mode looks for due occurrences. @default 1000 */
  readonly tickMs?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** Schedule groups that exist from the start besides `default`. */
  readonly groups?: readonly string[];
  /** Latency of every call (ms, or per operation). @default 0 */
  readonly latencyMs?: LatencySetting;
  /** Delay before the first retry of a failed delivery, on the Scheduler's clock; doubles each time. @default 1000 */
  readonly retryBaseDelayMs?: number;
  /** Called with each message sent to a dead-letter queue. */
  readonly onDeadLetter?: (message: DeadLetter) => void;
  /** A request quota (`tokenBucketQuota`): calls over it answer `ThrottlingException` (429), as the service does. */
  readonly quota?: LocalQuota;
}

/** One API call the endpoint answered. */
export interface LocalCall {
  readonly operation: string;
  readonly name?: string;
  readonly group?: string;
  /** `'ok'` or the error type answered. */
  readonly outcome: string;
}

/** A running local Scheduler. */
export interface LocalScheduler extends FaultControls {
  /** Pass it as `endpoint` to `new SchedulerClient({ endpoint, ...LOCAL_AWS_CONFIG })`. */
  readonly endpoint: string;
  readonly port: number;
  readonly clock: LocalClock;
  /** Every call answered, in order. */
  readonly calls: readonly LocalCall[];
  /** Every delivery to a target, in order. */
  readonly deliveries: readonly Delivery[];
  readonly deadLetters: readonly DeadLetter[];
  /** Failed deliveries waiting for their retry time. */
  readonly pendingRetries: number;
  /** Makes `handler` the target `arn`; returns a function that unregisters it. */
  registerTarget(arn: string, handler: LocalTarget): () => void;
  /** The schedules (of one group, or all), sorted by group and name. */
  schedules(group?: string): LocalSchedule[];
  getSchedule(name: string, group?: string): LocalSchedule | undefined;
  createGroup(name: string): void;
  /** Delivers every occurrence and retry due now. */
  fireDue(): Promise<Delivery[]>;
  /** Moves the manual clock forward by `ms`, then {@link LocalScheduler.fireDue}. */
  advance(ms: number): Promise<Delivery[]>;
  /** Moves the manual clock to the schedule's next occurrence, then fires what is due. */
  advanceToNext(name: string, group?: string): Promise<Delivery[]>;
  /** Delivers one occurrence of a schedule now without changing it (e.g. to simulate a duplicate delivery). */
  fire(name: string, options?: { group?: string; scheduledTime?: Date; attemptNumber?: number }): Promise<Delivery>;
  stop(): Promise<void>;
}

const OPERATIONS: Record<string, string> = {
  'POST schedules/': 'CreateSchedule',
  'GET schedules/': 'GetSchedule',
  'PUT schedules/': 'UpdateSchedule',
  'DELETE schedules/': 'DeleteSchedule',
  'GET schedules': 'ListSchedules',
  'POST schedule-groups/': 'CreateScheduleGroup',
  'GET schedule-groups/': 'GetScheduleGroup',
  'DELETE schedule-groups/': 'DeleteScheduleGroup',
  'GET schedule-groups': 'ListScheduleGroups',
};

const seconds = (ms: number): number => ms / 1000;

function wire(s: LocalSchedule): Record<string, unknown> {
  const { createdAt, modifiedAt, nextAt: _n, fired: _f, ...rest } = s;
  return { ...rest, CreationDate: seconds(createdAt), LastModificationDate: seconds(modifiedAt) };
}

/**
 * Starts a local EventBridge Scheduler: CreateSchedule, GetSchedule, UpdateSchedule, DeleteSchedule,
 * ListSchedules and the schedule-group calls, validated like the service (names, expressions, time
 * zones, target fields → `ValidationException`; `ConflictException`; `ResourceNotFoundException`).
 *
 * @example
 * ```ts
 * const scheduler = await startLocalScheduler({ startTime: new Date('2026-11-22T10:00:00Z') });
 * scheduler.registerTarget(jobRunnerArn, (input) => runner(input));
 * const client = new SchedulerClient({ endpoint: scheduler.endpoint, ...LOCAL_AWS_CONFIG });
 * // ... the dispatcher creates schedules through `client` ...
 * await scheduler.advance(15 * 60_000); // fires what became due
 * await scheduler.stop();
 * ```
 */
export async function startLocalScheduler(options: LocalSchedulerOptions = {}): Promise<LocalScheduler> {
  const clock =
    typeof options.clock === 'object'
      ? options.clock
      : options.clock === 'real'
        ? realClock()
        : manualClock(options.startTime ?? Date.now());
  const store = new SchedulerStore({
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    clock,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 1000,
    ...(options.onDeadLetter ? { onDeadLetter: options.onDeadLetter } : {}),
  });
  for (const g of options.groups ?? []) store.createGroup(g);
  const faults = createFaults(options.latencyMs ?? 0, 429);
  const calls: LocalCall[] = [];

  const route = async (req: LocalRequest): Promise<{ body?: unknown }> => {
    const [, collection, rawName] = /^\/(schedules|schedule-groups)(?:\/([^/]+))?\/?$/.exec(req.path) ?? [];
    const operation = collection ? OPERATIONS[`${req.method} ${collection}${rawName ? '/' : ''}`] : undefined;
    if (!operation)
      throw new LocalServiceError(
        'ValidationException',
        `${req.method} ${req.path} is not an operation of the local Scheduler`,
        400,
      );
    const name = rawName ? decodeURIComponent(rawName) : undefined;
    const group = (req.body.GroupName as string | undefined) ?? req.query.get('groupName') ?? undefined;
    const call = { operation, ...(name ? { name } : {}), ...(group ? { group } : {}) };
    try {
      options.quota?.admit(operation, 429);
      await faults.before(operation);
      const body = handle(operation, name, req);
      calls.push({ ...call, outcome: 'ok' });
      return { body };
    } catch (error) {
      calls.push({ ...call, outcome: (error as Error).name });
      throw error;
    }
  };

  const tokens = new Map<string, string>();
  const handle = (operation: string, name: string | undefined, req: LocalRequest): unknown => {
    if (name !== undefined) checkName(name, 'name');
    const groupOf = (g: unknown): string => {
      const group = typeof g === 'string' && g !== '' ? g : 'default';
      checkName(group, 'groupName');
      return group;
    };
    switch (operation) {
      case 'CreateSchedule': {
        const group = groupOf(req.body.GroupName);
        const token = typeof req.body.ClientToken === 'string' ? `${group}/${name}/${req.body.ClientToken}` : undefined;
        const { definition, expression } = validateDefinition(req.body);
        if (token && tokens.has(token)) return { ScheduleArn: tokens.get(token) };
        const arn = store.create(name!, group, definition, expression);
        if (token) tokens.set(token, arn);
        return { ScheduleArn: arn };
      }
      case 'UpdateSchedule': {
        const group = groupOf(req.body.GroupName);
        const token =
          typeof req.body.ClientToken === 'string' ? `update/${group}/${name}/${req.body.ClientToken}` : undefined;
        const { definition, expression } = validateDefinition(req.body);
        if (token && tokens.has(token)) return { ScheduleArn: tokens.get(token) }; // a retried request: applied once
        const arn = store.update(name!, group, definition, expression);
        if (token) tokens.set(token, arn);
        return { ScheduleArn: arn };
      }
      case 'GetSchedule':
        return wire(store.get(name!, groupOf(req.query.get('groupName'))));
      case 'DeleteSchedule': {
        const group = groupOf(req.query.get('groupName'));
        const clientToken = req.query.get('clientToken');
        const token = clientToken ? `delete/${group}/${name}/${clientToken}` : undefined;
        if (token && tokens.has(token)) return {}; // a retried request: success again, not ResourceNotFoundException
        store.delete(name!, group);
        if (token) tokens.set(token, '');
        return {};
      }
      case 'ListSchedules': {
        const group = req.query.get('ScheduleGroup') ?? undefined;
        if (group !== undefined) store.requireGroup(group);
        const prefix = req.query.get('NamePrefix') ?? '';
        const state = req.query.get('State');
        const all = store.list(group).filter((s) => s.Name.startsWith(prefix) && (!state || s.State === state));
        return page(
          all,
          req,
          (s) => ({
            Arn: s.Arn,
            Name: s.Name,
            GroupName: s.GroupName,
            State: s.State,
            CreationDate: seconds(s.createdAt),
            LastModificationDate: seconds(s.modifiedAt),
            Target: { Arn: s.Target.Arn },
          }),
          'Schedules',
        );
      }
      case 'CreateScheduleGroup':
        return { ScheduleGroupArn: store.createGroup(name!) };
      case 'GetScheduleGroup': {
        const g = store.groups.get(name!);
        if (!g) throw new LocalServiceError('ResourceNotFoundException', `Schedule group ${name} does not exist.`, 404);
        return {
          Arn: g.arn,
          Name: name,
          State: 'ACTIVE',
          CreationDate: seconds(g.createdAt),
          LastModificationDate: seconds(g.createdAt),
        };
      }
      case 'DeleteScheduleGroup':
        store.deleteGroup(name!);
        return {};
      default: {
        const groups = [...store.groups.entries()].filter(([n]) => n.startsWith(req.query.get('NamePrefix') ?? ''));
        return page(
          groups,
          req,
          ([n, g]) => ({
            Arn: g.arn,
            Name: n,
            State: 'ACTIVE',
            CreationDate: seconds(g.createdAt),
            LastModificationDate: seconds(g.createdAt),
          }),
          'ScheduleGroups',
        );
      }
    }
  };

  const server = await startLocalServer(route, {
    port: options.port,
    style: 'rest-json',
    contentType: 'application/json',
  });
  let firing: Promise<Delivery[]> | undefined;
  const fireDue = async (): Promise<Delivery[]> => {
    while (firing) await firing.catch(() => undefined);
    firing = store.fireDue();
    try {
      return await firing;
    } finally {
      firing = undefined;
    }
  };
  const ticker =
    clock.mode === 'real'
      ? setInterval(() => void fireDue().catch(() => undefined), options.tickMs ?? 1000)
      : undefined;
  ticker?.unref();

  return {
    endpoint: server.endpoint,
    port: server.port,
    clock,
    calls,
    get deliveries() {
      return store.deliveries;
    },
    get deadLetters() {
      return store.deadLetters;
    },
    get pendingRetries() {
      return store.pendingRetries;
    },
    registerTarget: (arn, handler) => store.registerTarget(arn, handler),
    schedules: (group) => store.list(group),
    getSchedule: (name, group) => store.find(name, group),
    createGroup: (name) => void store.createGroup(name),
    fireDue,
    async advance(ms) {
      clock.advance(ms);
      return fireDue();
    },
    async advanceToNext(name, group) {
      const next = store.find(name, group)?.nextAt;
      if (next === undefined) throw new Error(`schedule ${group ?? 'default'}/${name} has no next occurrence`);
      if (next > clock.now()) clock.set(next);
      return fireDue();
    },
    fire: (name, o = {}) => store.fire(name, o.group, o),
    setLatency: faults.setLatency,
    throttle: faults.throttle,
    failNext: faults.failNext,
    clearFaults: faults.clearFaults,
    async stop() {
      if (ticker) clearInterval(ticker);
      await server.close();
    },
  };
}

function page<T>(
  items: readonly T[],
  req: LocalRequest,
  map: (item: T) => unknown,
  key: string,
): Record<string, unknown> {
  const max = Number(req.query.get('MaxResults') ?? 100);
  if (!Number.isInteger(max) || max < 1 || max > 100)
    throw new LocalServiceError('ValidationException', 'MaxResults must be 1-100', 400);
  const start = Number(req.query.get('NextToken') ?? 0) || 0;
  const slice = items.slice(start, start + max);
  return { [key]: slice.map(map), ...(start + max < items.length ? { NextToken: String(start + max) } : {}) };
}
