/**
 * The size of a `PutEvents` entry as EventBridge counts it, and the service's limits: one definition used by
 * the unit of work (refusing an event at `publish`), the dispatcher (chunking calls) and the local EventBridge.
 * Dependency-free.
 */

/** Service limits of one `PutEvents` call. */
export const PUT_EVENTS_LIMITS = {
  /** Entries per call. */
  maxEntries: 10,
  /** Bytes per call (and per entry), counted as {@link putEventsEntryBytes} does. */
  maxBytes: 256 * 1024,
} as const;

/** Bytes EventBridge counts for an entry's `Time`. */
const TIME_BYTES = 14;

/** The UTF-8 byte counts of an entry's parts. */
export interface PutEventsEntryParts {
  /** Whether the entry has a `Time`. */
  readonly time: boolean;
  readonly source: number;
  readonly detailType: number;
  readonly detail: number;
  /** The sum over `Resources`. @default 0 */
  readonly resources?: number;
}

/**
 * Size of an entry as EventBridge counts it: 14 bytes for `Time`, plus the UTF-8 bytes of `Source`,
 * `DetailType`, `Detail` and each of `Resources`.
 */
export function putEventsEntryBytes(parts: PutEventsEntryParts): number {
  return (parts.time ? TIME_BYTES : 0) + parts.source + parts.detailType + parts.detail + (parts.resources ?? 0);
}

/** The fields of a `PutEvents` entry that count towards its size. */
export interface SizedPutEventsEntry {
  readonly Time?: unknown;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: readonly string[];
}

/** {@link putEventsEntryBytes} of an entry as sent (`PutEventsRequestEntry`, or as received by the local bus). */
export function putEventsEntrySize(entry: SizedPutEventsEntry): number {
  const bytes = (s: unknown): number => (typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : 0);
  return putEventsEntryBytes({
    time: entry.Time !== undefined && entry.Time !== null,
    source: bytes(entry.Source),
    detailType: bytes(entry.DetailType),
    detail: bytes(entry.Detail),
    resources: (entry.Resources ?? []).reduce((sum, r) => sum + bytes(r), 0),
  });
}
