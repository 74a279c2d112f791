/** One line a {@link MemoryLogger} kept. */
export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly attributes: Record<string, unknown>;
}

/** A logger with the shape the dispatcher uses, keeping lines in memory (tests read `entries`). */
export interface MemoryLogger {
  readonly entries: LogEntry[];
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
}

/**
 * A logger that keeps every line in `entries` instead of printing it.
 *
 * @example
 * const logger = createMemoryLogger();
 * const handler = outboxDispatcher({ ...config, logger });
 * logger.entries.filter((e) => e.level === 'error');
 */
export function createMemoryLogger(): MemoryLogger {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (message: string, attributes: Record<string, unknown> = {}): void =>
      void entries.push({ level, message, attributes });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
