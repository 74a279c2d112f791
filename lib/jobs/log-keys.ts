import type { LoggerLike } from '../logger.js';
import { traceIdOf, type TraceContext } from '../trace-context.js';

/** The keys every log line of one job delivery carries. */
export interface DeliveryLogKeys {
  /** Request id of the invocation that scheduled the job. */
  readonly correlationId?: string;
  /** The job's id: what caused this run (and its unit of work's `causationid`). */
  readonly causationId: string;
  /** 32-hex W3C trace id of the commit that scheduled the job. */
  readonly traceId?: string;
}

/** The log keys of a delivery (absent values left out). */
export function deliveryLogKeys(
  jobId: string,
  correlationId: string | undefined,
  trace: TraceContext | undefined,
): DeliveryLogKeys {
  const traceId = traceIdOf(trace?.traceparent);
  return { ...(correlationId ? { correlationId } : {}), causationId: jobId, ...(traceId ? { traceId } : {}) };
}

/** Powertools Logger's key methods (`appendKeys` adds keys to every later line, `removeKeys` drops them). */
interface KeyedLogger extends LoggerLike {
  appendKeys(keys: Record<string, unknown>): void;
  removeKeys(keys: string[]): void;
}

function isKeyedLogger(logger: LoggerLike): logger is KeyedLogger {
  const l = logger as Partial<KeyedLogger>;
  return typeof l.appendKeys === 'function' && typeof l.removeKeys === 'function';
}

/**
 * Runs `fn` with a logger whose lines all carry `keys`. A Powertools Logger gets them with `appendKeys` and
 * loses them with `removeKeys` when `fn` settles (the job handler's `logger` is that same logger, so its
 * lines carry them too; Lambda runs one invocation per process at a time). Any other logger is wrapped:
 * the keys are merged under the attributes of each call, which is safe for concurrent deliveries.
 */
export async function withLogKeys<T>(
  logger: LoggerLike,
  keys: object,
  fn: (logger: LoggerLike) => Promise<T>,
): Promise<T> {
  if (isKeyedLogger(logger)) {
    logger.appendKeys(keys as Record<string, unknown>);
    try {
      return await fn(logger);
    } finally {
      logger.removeKeys(Object.keys(keys));
    }
  }
  const at =
    (level: keyof LoggerLike) =>
    (message: string, ...extra: unknown[]): void => {
      const [first, ...rest] = extra;
      const merged =
        typeof first === 'object' && first !== null && !(first instanceof Error) ? { ...keys, ...first } : first;
      if (first === undefined) logger[level](message, keys);
      else if (merged === first) logger[level](message, keys, first, ...rest);
      else logger[level](message, merged, ...rest);
    };
  return fn({ debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') });
}
