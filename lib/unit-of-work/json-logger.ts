import type { LoggerLike } from '../logger.js';

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
type Level = (typeof LEVELS)[number];

/** An error as a log attribute: what Powertools Logger writes for one (`name`, `message`, `stack`, `cause`). */
function errorAttribute(error: Error): Record<string, unknown> {
  const cause = error.cause instanceof Error ? errorAttribute(error.cause) : error.cause;
  return { name: error.name, message: error.message, stack: error.stack, ...(cause === undefined ? {} : { cause }) };
}

/** JSON.stringify replacer: errors as objects, bigints as strings, cycles cut. */
function replacer(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (value instanceof Error) return errorAttribute(value);
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}

/**
 * The unit of work's default logger: one JSON line per entry on the console (`level`, `message`, `service`,
 * `timestamp`, then the attributes passed), at or above `POWERTOOLS_LOG_LEVEL` / `AWS_LAMBDA_LOG_LEVEL`
 * (default INFO). A handler that wants the Powertools Logger's context (request id, cold start, sampling)
 * passes its own `logger`; this one keeps the Powertools package out of a handler's bundle.
 */
export function createJsonConsoleLogger(service: string): LoggerLike {
  const write = (level: Level, message: string, extra: unknown[]): void => {
    // Read at each entry, so a level set after the first import (tests, a warm container's config) applies.
    const wanted = (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? 'INFO').toUpperCase();
    if (LEVELS.indexOf(level) < Math.max(0, LEVELS.indexOf(wanted as Level))) return;
    const entry: Record<string, unknown> = { level, message, service, timestamp: new Date().toISOString() };
    for (const attributes of extra) {
      if (attributes instanceof Error) entry.error = attributes;
      else if (typeof attributes === 'object' && attributes !== null) Object.assign(entry, attributes);
    }
    const line = JSON.stringify(entry, replacer());
    if (level === 'ERROR') console.error(line);
    else if (level === 'WARN') console.warn(line);
    else console.log(line);
  };
  return {
    debug: (message, ...extra) => write('DEBUG', message, extra),
    info: (message, ...extra) => write('INFO', message, extra),
    warn: (message, ...extra) => write('WARN', message, extra),
    error: (message, ...extra) => write('ERROR', message, extra),
  };
}
