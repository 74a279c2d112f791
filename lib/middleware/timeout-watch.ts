import { ambientUnitOfWork } from '../unit-of-work/context.js';
import type { UnitOfWork } from '../unit-of-work/unit-of-work.js';

/**
 * Recognises Middy's early timeout without help from the user's `timeoutEarlyResponse`.
 *
 * Middy's `runRequest`, right after the `before` chain, synchronously creates the invocation's
 * `new AbortController()` (its signal goes to the handler) and calls the handler; on an early timeout it calls
 * `abort()` on it before `timeoutEarlyResponse()`, while the handler is still running. The `before` of
 * `unitOfWork()` makes the unit of work ambient in runRequest's own async context, so that constructor runs with
 * it as the store. Installed once, `globalThis.AbortController` becomes a transparent Proxy of the native class
 * (same prototype, `instanceof`, statics, subclassing) whose construct trap, while a unit of work is waiting for
 * its controller, takes the first controller constructed directly by a function named `runRequest` (Middy's), so
 * neither the handler's own controllers nor those of other middlewares are taken. Its `abort` discards the unit of
 * work at once: later operations of the still-running handler throw, and `after` finds nothing to commit.
 *
 * Limitation: a bundle minified without keeping names renames `runRequest`; then nothing is recognised (a warning is
 * logged once) and `discardOnTimeout(response)` is needed, as before.
 */

/** Why the unit of work is discarded, shown in the error of every later operation. */
export const TIMED_OUT_REASON = 'the invocation timed out early';

const MIDDY_RUN_REQUEST = 'runRequest';
const waiting = new WeakSet<UnitOfWork>();
const signalOf = new WeakMap<UnitOfWork, AbortSignal>();
let installed: typeof AbortController | undefined;
let warned = false;

/** Makes `globalThis.AbortController` recognise Middy's controllers (once per process; idempotent). */
export function installTimeoutWatch(): void {
  if (installed !== undefined && globalThis.AbortController === installed) return;
  const native = globalThis.AbortController;
  const construct = (target: typeof AbortController, args: unknown[], newTarget: Function): object => {
    const controller = Reflect.construct(target, args, newTarget) as AbortController;
    const uow = ambientUnitOfWork();
    if (uow !== undefined && waiting.has(uow) && constructedByMiddy(construct)) {
      waiting.delete(uow);
      signalOf.set(uow, controller.signal);
      controller.signal.addEventListener('abort', () => uow.discard(TIMED_OUT_REASON), { once: true });
    }
    return controller;
  };
  installed = new Proxy(native, { construct });
  globalThis.AbortController = installed;
}

/** Called at the end of the middleware's `before`: the next controller Middy creates in this context is `uow`'s. */
export function awaitHandlerController(uow: UnitOfWork): void {
  waiting.add(uow);
}

/**
 * In the middleware's `after`: `true` when Middy aborted the invocation's controller (an early timeout), in which
 * case the unit of work has been discarded. Logs once per process when Middy's controller was never recognised.
 */
export function timedOutEarly(uow: UnitOfWork): boolean {
  if (waiting.delete(uow) && !warned) {
    warned = true;
    uow.settings.logger.warn(
      "unitOfWork(): Middy's AbortController was not recognised (minified bundle or a replaced AbortController?); " +
        'an early timeout with a custom timeoutEarlyResponse needs discardOnTimeout(response)',
    );
  }
  const aborted = signalOf.get(uow)?.aborted === true;
  if (aborted) uow.discard(TIMED_OUT_REASON);
  return aborted;
}

/** Whether the function calling the construct trap (the frame below `trap`) is Middy's `runRequest`. */
function constructedByMiddy(trap: Function): boolean {
  const { prepareStackTrace, stackTraceLimit } = Error;
  const holder: { stack?: unknown } = {};
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_error, frames) => frames;
    Error.captureStackTrace(holder, trap);
    const frames = holder.stack as NodeJS.CallSite[] | undefined;
    return Array.isArray(frames) && frames[0]?.getFunctionName() === MIDDY_RUN_REQUEST;
  } finally {
    Error.prepareStackTrace = prepareStackTrace;
    Error.stackTraceLimit = stackTraceLimit;
  }
}
