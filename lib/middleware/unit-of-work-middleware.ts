import type { Context } from 'aws-lambda';
import type { MiddlewareObj, Request } from '@middy/core';
import { CommitSkippedError, ConfigurationError, FailedAfterCommitError, isUnitOfWorkError } from '../errors.js';
import type { RunningInvocation } from '../idempotency/idempotency.js';
import {
  idempotencyProblems,
  resolveIdempotency,
  type IdempotencyOptions,
  type ResolvedIdempotency,
} from '../idempotency/options.js';
import { createMetricsBatch, recordCommit, resolveMetrics, type MetricsOption } from '../metrics/emitter.js';
import { commitUnitOfWork, type CommitResult } from '../unit-of-work/commit.js';
import { activeUnitOfWork, enterUnitOfWork } from '../unit-of-work/context.js';
import { guardAllClients } from '../unit-of-work/guard.js';
import {
  resolveOutboxTable,
  resolveSettings,
  validateUnitOfWorkOptions,
  type UnitOfWorkOptions,
} from '../unit-of-work/settings.js';
import { UnitOfWork } from '../unit-of-work/unit-of-work.js';
import { awaitHandlerController, installTimeoutWatch, timedOutEarly, TIMED_OUT_REASON } from './timeout-watch.js';

/** The Lambda context as the handler sees it behind `unitOfWork()`: `context.uow` is its unit of work. */
export type UnitOfWorkContext = Context & { uow: UnitOfWork };

/** Options of the {@link unitOfWork} middleware: the unit-of-work options plus `idempotency`. */
export interface UnitOfWorkMiddlewareOptions<TEvent = any> extends UnitOfWorkOptions {
  /**
   * Exactly-once per key: a consistent read before the handler replays a committed response (the handler
   * does not run); otherwise the idempotency record commits in the same TransactWriteItems as the handler's
   * writes, events and jobs. See {@link IdempotencyOptions}. Not with `readOnly`.
   * @default undefined (no idempotency)
   */
  readonly idempotency?: IdempotencyOptions<TEvent>;
  /**
   * `'process'`: strict mode, calls `guardAllClients()` so that a direct write from ANY DynamoDB client of the
   * process, inside a unit of work, throws `EscapedWriteError` (not only clients passed to `guardClient`).
   * @default undefined (only clients passed to `guardClient` are guarded)
   */
  readonly guard?: 'process';
  /**
   * The library's commit metrics as EMF (see docs/operate.md "Metrics"), flushed once per invocation.
   * `false` turns them off even when `UOW_METRICS=on`. @default off unless `UOW_METRICS=on`
   */
  readonly metrics?: MetricsOption;
}

const COMPONENT = 'unitOfWork(options)';

/**
 * What {@link unitOfWork} returns, for `.use()`: two middleware objects, a yield point (see below) and the
 * unit of work itself (`before` opens, `after` commits, `onError` discards).
 */
export type UnitOfWorkMiddleware = MiddlewareObj<unknown, unknown, Error, UnitOfWorkContext>[];

/**
 * Middy middleware that gives every invocation a unit of work on `context.uow` (and as the ambient one,
 * see `currentUnitOfWork()`). The handler only buffers; after it returns, the middleware commits
 * everything in one TransactWriteItems (writes, job records and outbox items), then runs the `onCommitted`
 * callbacks. If the handler throws, everything is discarded and the handler's error propagates untouched. If
 * Middy answers an early timeout (`timeoutEarlyInMillis`) while the handler still runs, the unit of work is
 * discarded at Middy's abort: nothing commits, no idempotency record is stored, the handler's later operations throw.
 *
 * Options are validated here, when the middleware is created. It returns two middleware objects for `.use()`:
 * a yield point that gives the request its own async context (so nothing ambient leaks into the caller), and
 * the unit of work's `before`/`after`/`onError`.
 *
 * With `idempotency`: `@middy/http-error-handler` first; request parsers and validators
 * (`@middy/http-json-body-parser`) before `unitOfWork`, so the key and payload functions see the parsed
 * event and bad requests cost no read; every middleware whose `after` changes the response (serializers,
 * CORS, headers) after it, so the stored response is the final one (a replay returns early and skips them);
 * response validators (`@middy/validator` with `responseSchema`) after it too, so they run before the commit
 * (see docs/failure-semantics.md; a failure after the commit becomes `FailedAfterCommitError`):
 * `.use(httpErrorHandler()).use(httpJsonBodyParser()).use(unitOfWork({ idempotency })).use(httpResponseSerializer(…))`.
 *
 * @example
 * ```ts
 * export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, UnitOfWorkContext>()
 *   .use(httpErrorHandler())
 *   .use(unitOfWork({ outboxTable: process.env.OUTBOX_TABLE!, source: 'orders' }))
 *   .handler(async (event, { uow }) => {
 *     uow.put({ TableName: 'orders', Item: order, ConditionExpression: 'attribute_not_exists(pk)', label: 'create order' });
 *     uow.publish({ type: 'OrderPlaced', data: { orderId: order.id } });
 *     uow.schedule({ job: 'expire-unpaid-order', payload: { orderId: order.id }, delay: 900, key: `expire-${order.id}` });
 *     return { statusCode: 201 };
 *   });
 * ```
 */
export function unitOfWork<TEvent = any>(options: UnitOfWorkMiddlewareOptions<TEvent> = {}): UnitOfWorkMiddleware {
  const validated = validateUnitOfWorkOptions(options, COMPONENT, ['idempotency', 'guard', 'metrics']);
  const metrics = resolveMetrics(options.metrics, COMPONENT);
  if (options.guard !== undefined && options.guard !== 'process')
    throw new ConfigurationError(
      COMPONENT,
      `"guard" must be 'process' (or left out), not ${JSON.stringify(options.guard)}`,
    );
  if (options.guard === 'process') guardAllClients();
  resolveOutboxTable(validated, COMPONENT); // fail at creation, not at the first invocation
  const idempotency = resolveIdempotencyOption(options);
  installTimeoutWatch();
  // Loaded only by a middleware that uses idempotency: the others never evaluate it.
  const idempotent = idempotency ? import('../idempotency/idempotency.js') : undefined;
  const uowOf = new WeakMap<object, UnitOfWork>();
  const idempotentOf = new WeakMap<object, RunningInvocation>();

  const before = (request: Request<unknown, unknown, Error, UnitOfWorkContext>): void | Promise<void> => {
    const context = request.context as Partial<UnitOfWorkContext>;
    const uow = new UnitOfWork(resolveSettings(validated, COMPONENT, { correlationId: context.awsRequestId }));
    uowOf.set(request, uow);
    (request.context as UnitOfWorkContext).uow = uow;
    // Synchronous on purpose: the store is set in middy's own async context (see ownAsyncContext), which the
    // handler and the later middlewares inherit, and which ends with the request.
    enterUnitOfWork(uow);
    refuseSkippedCommit(request, uow);
    if (!idempotency || !idempotent) return awaitHandlerController(uow);
    return idempotent.then(async ({ beginIdempotent, identifyInvocation }) => {
      const invocation = identifyInvocation(idempotency, uow, request.event, request.context);
      if (!invocation) return awaitHandlerController(uow);
      uow.markExactlyOnce();
      const outcome = await beginIdempotent(uow, invocation);
      if (!outcome.replay) {
        idempotentOf.set(request, outcome.invocation);
        return awaitHandlerController(uow);
      }
      uow.discard();
      // earlyResponse (not a return value) so that a stored `undefined` is replayed too.
      (request as { earlyResponse?: unknown }).earlyResponse = outcome.response;
    });
  };

  const after = async (request: Request<unknown, unknown, Error, UnitOfWorkContext>): Promise<void> => {
    const uow = uowOf.get(request);
    // Middy answers an early timeout while the handler still runs: the unit of work is discarded, Middy's answer
    // goes out unchanged, nothing commits and no idempotency record is stored (see timeout-watch.ts).
    if (!uow || timedOutEarly(uow) || uow.state !== 'open') return;
    const invocation = idempotentOf.get(request);
    const batch = metrics ? createMetricsBatch(metrics) : undefined;
    const messages = batch ? uow.contents().messages : []; // read before the commit
    const counted = (committed: CommitResult | 'committed' | undefined): void => {
      if (!batch || committed === undefined || (committed !== 'committed' && !committed.sent)) return;
      const events = messages.filter((m) => m.kind === 'event').length;
      const known = committed === 'committed' ? {} : committed; // a lost answer: actions and attempts unknown
      recordCommit(batch, { ...known, events, jobs: messages.length - events }, false);
    };
    try {
      if (!invocation || !idempotency || !idempotent) {
        counted(await commitUnitOfWork(uow));
        return;
      }
      const { commitIdempotent } = await idempotent;
      const outcome = await commitIdempotent(uow, invocation, {
        response: request.response,
        storeResponse: idempotency.storeResponse,
        expiresAfter: idempotency.expiresAfter,
      });
      counted(outcome.committed); // a commit that lost to a concurrent duplicate is neither committed nor failed
      if (outcome.replayed) request.response = outcome.response;
    } catch (error) {
      if (batch) recordCommit(batch, { attempts: (error as { attempts?: number }).attempts ?? 1 }, true);
      throw error;
    } finally {
      await batch?.flush(uow.settings.logger);
    }
  };

  const onError = (request: Request<unknown, unknown, Error, UnitOfWorkContext>): void => {
    const uow = uowOf.get(request);
    if (
      uow?.state === 'committed' &&
      !(isUnitOfWorkError(request.error) && request.error.name === 'FailedAfterCommitError')
    ) {
      // An `after` that runs after ours failed: the commit stands but the caller gets an error. Say so.
      uow.settings.logger.error('a middleware failed after the unit of work committed', {
        commitId: uow.id,
        error: request.error,
      });
      request.error = new FailedAfterCommitError(uow.id, { cause: request.error });
      return;
    }
    uow?.discard();
    // Returning nothing leaves request.error as it is: the handler's error propagates untouched.
  };

  return [ownAsyncContext, { before, after, onError }];
}

/**
 * Middy answers early when a middleware's `before`/`after` returns a value, and skips every hook after it:
 * one used after `unitOfWork()` would skip the commit and answer as if it had happened. Middy then assigns
 * `request.response = request.earlyResponse`; this accessor sees that assignment while the unit of work is
 * still open and fails the invocation with `CommitSkippedError` (nothing is committed) when anything was
 * buffered or the invocation is idempotent; an empty unit of work is just discarded.
 */
function refuseSkippedCommit(request: Request<unknown, unknown, Error, UnitOfWorkContext>, uow: UnitOfWork): void {
  let response = request.response;
  Object.defineProperty(request, 'response', {
    configurable: true,
    enumerable: true,
    get: () => response,
    set: (value: unknown) => {
      response = value;
      const r = request as { earlyResponse?: unknown; error?: unknown };
      if (
        uow.state !== 'open' ||
        r.error !== undefined ||
        !Object.hasOwn(r, 'earlyResponse') ||
        r.earlyResponse !== value
      )
        return;
      const { writes, messages } = uow.contents();
      const empty = writes.length === 0 && messages.length === 0 && !uow.exactlyOnce && !uow.rollbackOnly;
      uow.discard('a middleware after unitOfWork() answered early');
      if (!empty) throw new CommitSkippedError(uow.id);
    },
  });
}

/**
 * Optional since `unitOfWork()` recognises Middy's early timeout by itself (its abort signal, see
 * docs/failure-semantics.md): a plain `timeoutEarlyResponse: () => ({ statusCode: 503 })` already discards the unit
 * of work. Kept for code that wraps its response, and for bundles minified without keeping function names (where
 * Middy's signal cannot be recognised): when Middy calls it, it discards the ambient unit of work (nothing is
 * committed, no idempotency record is stored, later operations of the still-running handler throw), then answers
 * with `response` (or throws what it throws). Without `response` it throws a `TimeoutError`, as Middy does by default.
 *
 * @example
 * ```ts
 * middy({ timeoutEarlyInMillis: 500, timeoutEarlyResponse: discardOnTimeout(() => ({ statusCode: 503 })) })
 *   .use(unitOfWork({ outboxTable }))
 *   .handler(handler);
 * ```
 */
export function discardOnTimeout<T>(response?: () => T): () => T {
  return () => {
    // Middy calls it from a timer set inside the invocation, so the ambient unit of work is the invocation's.
    activeUnitOfWork()?.discard(TIMED_OUT_REASON);
    if (response) return response();
    throw Object.assign(new Error('[AbortError]: The operation was aborted.'), { name: 'TimeoutError' });
  };
}

/**
 * Runs first and yields once, so that the rest of middy's request runs in an async context of its own. Middy
 * calls the first `before` middlewares synchronously, in the frame of whoever called the handler; without
 * this, setting the ambient unit of work there would also change the caller's context (a handler called inside
 * another unit of work would replace it, and a unit of work left open by an early response would leak into
 * the caller's later code). After one `await` in middy's request, nothing set here reaches the caller.
 */
const ownAsyncContext: UnitOfWorkMiddleware[number] = { before: () => Promise.resolve() };

function resolveIdempotencyOption(options: UnitOfWorkMiddlewareOptions): ResolvedIdempotency | undefined {
  if (options.idempotency === undefined) return undefined;
  const problems = idempotencyProblems(options.idempotency);
  if (options.readOnly)
    problems.push('"idempotency" cannot be used with readOnly: a read-only unit of work commits no record');
  if (problems.length) throw new ConfigurationError(COMPONENT, problems.join('; '));
  return resolveIdempotency(options.idempotency);
}
