import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigurationError, NoUnitOfWorkError, RequiresNewRefusedError } from '../errors.js';
import { commitUnitOfWork, type CommitOptions } from './commit.js';
import { resolveSettings, toDocumentClient, validateUnitOfWorkOptions, type UnitOfWorkOptions } from './settings.js';
import { UnitOfWork } from './unit-of-work.js';

/** The ambient unit of work of the current async context. */
const ambient = new AsyncLocalStorage<UnitOfWork>();

/** The ambient unit of work when one is open here, else `undefined`. A committed or discarded one does not count. */
export function activeUnitOfWork(): UnitOfWork | undefined {
  const uow = ambient.getStore();
  return uow && uow.state === 'open' ? uow : undefined;
}

/**
 * The unit of work of the current invocation, wherever it is called from (services, repositories) as long
 * as it runs inside the handler wrapped by `unitOfWork()` or inside `withUnitOfWork()`.
 *
 * @throws NoUnitOfWorkError when none is active here.
 * @example
 * ```ts
 * export async function saveOrder(order: Order): Promise<void> {
 *   currentUnitOfWork().put({ TableName: 'orders', Item: order, label: 'save order' });
 * }
 * ```
 */
export function currentUnitOfWork(): UnitOfWork {
  const uow = activeUnitOfWork();
  if (!uow) throw new NoUnitOfWorkError();
  return uow;
}

/** @internal The ambient unit of work in any state (the guard refuses writes until it is committed). */
export function ambientUnitOfWork(): UnitOfWork | undefined {
  return ambient.getStore();
}

/** @internal Makes `uow` the ambient unit of work for the rest of the current async context (middleware `before`). */
export function enterUnitOfWork(uow: UnitOfWork): void {
  ambient.enterWith(uow);
}

/** How `withUnitOfWork` relates to an ambient unit of work. */
export const PROPAGATION = {
  /** Join the ambient unit of work; open (and commit) a new one when there is none. */
  required: 'required',
  /** Always open a new one with its own commit, kept even if the outer one later fails. */
  requiresNew: 'requiresNew',
  /** Join the ambient unit of work; throw `NoUnitOfWorkError` when there is none. */
  mandatory: 'mandatory',
} as const;

/** One of {@link PROPAGATION}. */
export type Propagation = (typeof PROPAGATION)[keyof typeof PROPAGATION];

/** @internal Option key (not enumerable by `Object.keys`) that makes a new unit of work exactly-once (the job runner sets it). */
export const EXACTLY_ONCE: unique symbol = Symbol.for('lambda-unit-of-work.exactlyOnce') as never;

/** Options of {@link withUnitOfWork}: the unit-of-work options plus `propagation`. */
export interface WithUnitOfWorkOptions extends UnitOfWorkOptions, CommitOptions {
  /** @default 'required' */
  readonly propagation?: Propagation;
  /** Request id recorded on events and jobs of a new unit of work. */
  readonly correlationId?: string;
  /** Id of the consumed event a new unit of work handles, recorded as `causationid` on its events. */
  readonly causationId?: string;
  /**
   * With `requiresNew` inside an exactly-once unit of work (an idempotent invocation or a job run): accept
   * that this scope commits again on every attempt of the invocation. Without it such a scope throws
   * `RequiresNewRefusedError`. @default false
   */
  readonly commitsOnEveryAttempt?: boolean;
  /** @internal */
  readonly [EXACTLY_ONCE]?: boolean;
}

/**
 * Runs `fn` in a unit of work. When it opens a new one (no ambient one, or `requiresNew`), it commits it
 * after `fn` resolves and discards it if `fn` throws (the error propagates untouched). A joined unit of
 * work is committed by its owner. Options not given are taken from the ambient unit of work, then from the
 * environment.
 *
 * @example
 * ```ts
 * // an audit entry that is kept even if the caller's unit of work fails later
 * await withUnitOfWork(async (uow) => {
 *   uow.put({ TableName: 'audit', Item: entry, label: 'audit entry' });
 * }, { propagation: 'requiresNew' });
 * ```
 */
export async function withUnitOfWork<T>(
  fn: (uow: UnitOfWork) => T | Promise<T>,
  options: WithUnitOfWorkOptions = {},
): Promise<T> {
  const component = 'withUnitOfWork(options)';
  const {
    propagation = 'required',
    correlationId,
    causationId,
    clientRequestToken,
    commitsOnEveryAttempt,
    ...uowOptions
  } = options;
  if (!Object.values(PROPAGATION).includes(propagation))
    throw new ConfigurationError(component, `propagation must be one of ${Object.values(PROPAGATION).join(', ')}`);
  if (commitsOnEveryAttempt !== undefined && typeof commitsOnEveryAttempt !== 'boolean')
    throw new ConfigurationError(component, '"commitsOnEveryAttempt" must be a boolean');
  validateUnitOfWorkOptions(uowOptions, component);
  const outer = activeUnitOfWork();
  if (propagation === 'mandatory' && !outer)
    throw new NoUnitOfWorkError(`withUnitOfWork({ propagation: 'mandatory' }) found no active unit of work`);
  if (outer && propagation !== 'requiresNew') {
    assertJoinable(outer, { ...uowOptions, correlationId, clientRequestToken, commitsOnEveryAttempt }, component);
    if (uowOptions.tableKeys) outer.declareTableKeys(uowOptions.tableKeys);
    return joinScope(outer, fn);
  }
  if (outer?.exactlyOnce && commitsOnEveryAttempt !== true) throw new RequiresNewRefusedError();

  const inherited = outer?.settings;
  const client = uowOptions.client ? toDocumentClient(uowOptions.client) : undefined;
  const settings = resolveSettings(
    {
      outboxTable: uowOptions.outboxTable ?? inherited?.outboxTable,
      source: uowOptions.source ?? inherited?.source,
      retentionSeconds: uowOptions.retentionSeconds ?? inherited?.retentionSeconds,
      tableKeys: uowOptions.tableKeys ?? inherited?.tableKeys,
      maxConflictRetries: uowOptions.maxConflictRetries ?? inherited?.maxConflictRetries,
      readOnly: uowOptions.readOnly,
      logger: uowOptions.logger ?? inherited?.logger,
      traceContext: uowOptions.traceContext ?? inherited?.traceContext,
    },
    component,
    { correlationId: correlationId ?? inherited?.correlationId, causationId },
  );
  const uow = new UnitOfWork({
    ...settings,
    client: client ? () => client : (inherited?.client ?? settings.client),
    clientOption: uowOptions.client ?? inherited?.clientOption,
    exactlyOnce: options[EXACTLY_ONCE] === true,
  });
  let result: T;
  try {
    result = await ambient.run(uow, () => fn(uow));
  } catch (error) {
    uow.discard();
    throw error;
  }
  await commitUnitOfWork(uow, { clientRequestToken });
  return result;
}

/** Runs a joining scope: if it throws, the unit of work it joined becomes rollback-only (and the error propagates). */
async function joinScope<T>(outer: UnitOfWork, fn: (uow: UnitOfWork) => T | Promise<T>): Promise<T> {
  try {
    return await ambient.run(outer, () => fn(outer));
  } catch (error) {
    outer.markRollbackOnly(error);
    throw error;
  }
}

/**
 * A joining scope commits nothing of its own, so an option that differs from the unit of work it joins would
 * be silently ignored: refuse it at the call, naming the option. `tableKeys` must not contradict the joined ones.
 */
function assertJoinable(outer: UnitOfWork, given: Record<string, unknown>, component: string): void {
  const s = outer.settings;
  const problems: string[] = [];
  const differs = (name: string, value: unknown, current: unknown, shown = String(current)): void => {
    if (value !== undefined && value !== current)
      problems.push(`"${name}" (${String(value)}) contradicts the unit of work it joins (${shown})`);
  };
  differs('readOnly', given.readOnly, s.readOnly, s.readOnly ? 'read-only' : 'writable');
  differs('outboxTable', given.outboxTable, s.outboxTable);
  differs('source', given.source, s.source);
  differs('retentionSeconds', given.retentionSeconds, s.retentionSeconds);
  differs('maxConflictRetries', given.maxConflictRetries, s.maxConflictRetries);
  differs('correlationId', given.correlationId, s.correlationId);
  if (given.logger !== undefined && given.logger !== s.logger)
    problems.push('"logger" differs from the logger of the unit of work it joins');
  if (given.traceContext !== undefined && given.traceContext !== s.traceContext)
    problems.push('"traceContext" differs from the unit of work it joins (its trace context is already taken)');
  if (given.client !== undefined && given.client !== s.clientOption && given.client !== s.client())
    problems.push('"client" differs from the client of the unit of work it joins (it commits with its own)');
  for (const [table, names] of Object.entries((given.tableKeys ?? {}) as Record<string, readonly string[]>)) {
    const known = s.tableKeys[table];
    if (known && known.join() !== names.join())
      problems.push(
        `"tableKeys.${table}" (${names.join(', ')}) contradicts the joined unit of work (${known.join(', ')})`,
      );
  }
  if (given.clientRequestToken !== undefined)
    problems.push('"clientRequestToken" has no effect on a joining scope: its owner commits');
  if (given.commitsOnEveryAttempt !== undefined) problems.push('"commitsOnEveryAttempt" only applies to requiresNew');
  if (problems.length)
    throw new ConfigurationError(
      component,
      `${problems.join('; ')}. Use propagation: 'requiresNew' for a unit of work of its own`,
    );
}
