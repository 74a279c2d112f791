/** The logger interface every part of the library writes to (one definition: the unit of work, the dispatcher, the job runner). */

/** Where the library logs (message, then an attributes object or an error): Powertools `Logger` fits, so does `console`. */
export interface LoggerLike {
  debug(message: string, ...extra: unknown[]): void;
  info(message: string, ...extra: unknown[]): void;
  warn(message: string, ...extra: unknown[]): void;
  error(message: string, ...extra: unknown[]): void;
}

/** The methods a {@link LoggerLike} has. */
export const LOGGER_METHODS = ['debug', 'info', 'warn', 'error'] as const;

/** Whether `value` has every method of a {@link LoggerLike}. */
export function isLoggerLike(value: unknown): value is LoggerLike {
  return LOGGER_METHODS.every((m) => typeof (value as Record<string, unknown> | null)?.[m] === 'function');
}
