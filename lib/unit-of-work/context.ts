import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigurationError, NoUnitOfWorkError } from '../errors.js';
import { commitUnitOfWork, type CommitOptions } from './commit.js';
import { resolveSettings, toDocumentClient, validateOptions, type UnitOfWorkOptions } from './settings.js';
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

/** Options of {@link withUnitOfWork}: the unit-of-work options plus `propagation`. */
export interface WithUnitOfWorkOptions extends UnitOfWorkOptions, CommitOptions {
  /** @default 'required' */
  readonly propagation?: Propagation;
  /** Request id recorded on events and jobs of a new unit of work. */
  readonly correlationId?: string;
  /** Id of the consumed event a new unit of work handles, recorded as `causationid` on its events. */
  readonly causationId?: string;
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
export async function withUnitOfWork<T>(fn: (uow: UnitOfWork) => T | Promise<T>, options: WithUnitOfWorkOptions = {}): Promise<T> {
  const component = 'withUnitOfWork(options)';
  const { propagation = 'required', correlationId, causationId, clientRequestToken, ...uowOptions } = options;
  if (!Object.values(PROPAGATION).includes(propagation)) throw new ConfigurationError(component, `propagation must be one of ${Object.values(PROPAGATION).join(', ')}`);
  validateOptions(uowOptions, component);
  const outer = activeUnitOfWork();
  if (propagation === 'mandatory' && !outer) throw new NoUnitOfWorkError(`withUnitOfWork({ propagation: 'mandatory' }) found no active unit of work`);
  if (outer && propagation !== 'requiresNew') return ambient.run(outer, () => fn(outer));

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
    },
    component,
    { correlationId: correlationId ?? inherited?.correlationId, causationId },
  );
  const uow = new UnitOfWork({ ...settings, client: client ? () => client : (inherited?.client ?? settings.client) });
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
