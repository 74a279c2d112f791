/**
 * Trace context of a unit of work: the W3C `traceparent`/`tracestate` its events carry (CloudEvents
 * distributed-tracing extension) and the X-Ray trace header its PutEvents entries carry (`TraceHeader`).
 * Pure string work, no dependency: it runs in the handler's path.
 */

/** The trace context a unit of work records on its events and jobs. */
export interface TraceContext {
  /** W3C `traceparent`: `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. */
  readonly traceparent?: string;
  /** W3C `tracestate` (vendor entries), kept only with a `traceparent`. */
  readonly tracestate?: string;
  /** X-Ray trace header `Root=1-…;Parent=…;Sampled=1`, sent as the PutEvents entry's `TraceHeader`. */
  readonly traceHeader?: string;
}

/** Where Lambda puts the invocation's X-Ray trace header. */
export const XRAY_TRACE_ENV = '_X_AMZN_TRACE_ID';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const XRAY_ROOT = /(?:^|;)\s*Root=1-([0-9a-f]{8})-([0-9a-f]{24})(?:;|$)/;
const XRAY_PARENT = /(?:^|;)\s*Parent=([0-9a-f]{16})(?:;|$)/;
const XRAY_SAMPLED = /(?:^|;)\s*Sampled=1(?:;|$)/;
/** Longest `tracestate` the W3C spec asks vendors to propagate. */
const MAX_TRACESTATE_CHARS = 512;
/** Longest X-Ray header kept (EventBridge `TraceHeader` takes up to 500 characters). */
const MAX_TRACE_HEADER_CHARS = 500;

/** True for a well-formed W3C `traceparent` (version not `ff`, trace id and parent id not all zeros). */
export function isTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = TRACEPARENT.exec(value);
  return m !== null && m[1] !== 'ff' && !/^0+$/.test(m[2]) && !/^0+$/.test(m[3]);
}

/** True for an X-Ray trace header with a `Root=1-<8 hex>-<24 hex>`. */
export function isXRayTraceHeader(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TRACE_HEADER_CHARS && XRAY_ROOT.test(value);
}

/**
 * The W3C `traceparent` of an X-Ray header, by AWS's mapping: trace id `1-5759e988-bd862e3fe1be46a994272793`
 * → `5759e988bd862e3fe1be46a994272793`, `Parent` → parent id, `Sampled=1` → flags `01` (else `00`).
 * `undefined` when the header has no valid `Root` or `Parent`.
 */
export function traceparentFromXRay(header: string): string | undefined {
  const root = XRAY_ROOT.exec(header);
  const parent = XRAY_PARENT.exec(header);
  if (!root || !parent) return undefined;
  const traceparent = `00-${root[1]}${root[2]}-${parent[1]}-${XRAY_SAMPLED.test(header) ? '01' : '00'}`;
  return isTraceparent(traceparent) ? traceparent : undefined;
}

/** The X-Ray header of a W3C `traceparent` (the mapping of {@link traceparentFromXRay}, reversed). */
export function xrayHeaderFromTraceparent(traceparent: string): string | undefined {
  const m = TRACEPARENT.exec(traceparent);
  if (!m || !isTraceparent(traceparent)) return undefined;
  const sampled = (Number.parseInt(m[4], 16) & 1) === 1 ? '1' : '0';
  return `Root=1-${m[2].slice(0, 8)}-${m[2].slice(8)};Parent=${m[3]};Sampled=${sampled}`;
}

/** The 32-hex trace id of a `traceparent` (what logs carry as `traceId`). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return traceparent !== undefined && isTraceparent(traceparent) ? traceparent.slice(3, 35) : undefined;
}

/**
 * Resolves the trace context of a unit of work, once, when it first buffers an event or a job:
 * - `traceparent`: the given one when well-formed, else derived from the X-Ray header (the given
 *   `traceHeader`, else `process.env._X_AMZN_TRACE_ID`); `tracestate` only with a given `traceparent`;
 * - `traceHeader`: the given one, else the invocation's `_X_AMZN_TRACE_ID`, else derived from the `traceparent`.
 * Malformed values are ignored (never an error: tracing must not fail a commit). `undefined` when nothing is known.
 */
export function resolveTraceContext(
  given: TraceContext | undefined,
  env: NodeJS.ProcessEnv = process.env,
): TraceContext | undefined {
  const envHeader = env[XRAY_TRACE_ENV];
  const header = isXRayTraceHeader(given?.traceHeader)
    ? given.traceHeader
    : isXRayTraceHeader(envHeader)
      ? envHeader
      : undefined;
  const ownParent = isTraceparent(given?.traceparent) ? given.traceparent : undefined;
  const traceparent = ownParent ?? (header ? traceparentFromXRay(header) : undefined);
  if (!traceparent) return header ? { traceHeader: header } : undefined;
  const state =
    ownParent && typeof given?.tracestate === 'string' && given.tracestate !== '' ? given.tracestate : undefined;
  const traceHeader = header ?? xrayHeaderFromTraceparent(traceparent);
  return {
    traceparent,
    ...(state !== undefined && state.length <= MAX_TRACESTATE_CHARS ? { tracestate: state } : {}),
    ...(traceHeader ? { traceHeader } : {}),
  };
}
