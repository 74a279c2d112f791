/**
 * A local EventBridge `PutEvents` on loopback, speaking the service's JSON 1.1 protocol, for the real
 * `EventBridgeClient` (`endpoint`). Accepted events are kept in memory and can be fanned out to
 * in-process subscribers matched by event pattern, as rules would.
 */
import { randomUUID } from 'node:crypto';
import { matchesPattern, type EventPattern } from './event-pattern.js';
import { createFaults, type FaultControls, type LatencySetting } from './faults.js';
import { LocalServiceError, startLocalServer, type LocalRequest } from './http.js';
import type { LocalQuota } from './quota.js';
import { isoSeconds } from '../iso-time.js';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../outbox/put-events-size.js';

/** Options of {@link startLocalEventBridge}. */
export interface LocalEventBridgeOptions {
  /** @default a free port */
  readonly port?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** Buses that exist besides `default`. */
  readonly buses?: readonly string[];
  /** Latency of every call. @default 0 */
  readonly latencyMs?: LatencySetting;
  /** A request quota (`tokenBucketQuota`): calls over it answer `ThrottlingException` (400), as PutEvents does. */
  readonly quota?: LocalQuota;
}

/** A `PutEvents` entry as it arrived (wire field names). */
export interface ReceivedEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
  /** Epoch seconds. */
  readonly Time?: number;
  readonly Resources?: readonly string[];
  /** The X-Ray trace header the caller sent with the entry. */
  readonly TraceHeader?: string;
}

/** An event the local bus accepted. */
export interface PublishedEvent {
  readonly eventId: string;
  readonly eventBusName: string;
  readonly source: string;
  readonly detailType: string;
  /** The parsed `Detail` (the CloudEvent, for events of the outbox). */
  readonly detail: unknown;
  readonly time: Date;
  readonly resources: readonly string[];
}

/** The event a rule target receives (EventBridge event envelope). */
export interface EventBridgeEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: unknown;
}

/** One entry and what the endpoint answered for it. */
export interface EntryOutcome {
  readonly entry: ReceivedEntry;
  /** The event id, or the error code of a failed entry. */
  readonly eventId?: string;
  readonly errorCode?: string;
}

/** A running local EventBridge. */
export interface LocalEventBridge extends FaultControls {
  /** Pass it as `endpoint` to `new EventBridgeClient({ endpoint, ...LOCAL_AWS_CONFIG })`. */
  readonly endpoint: string;
  readonly port: number;
  /** Accepted events, in order. */
  readonly events: readonly PublishedEvent[];
  /** Every entry received (accepted or failed), in order. */
  readonly entries: readonly EntryOutcome[];
  /** Every call: its entry count, failed count, or the error answered. */
  readonly calls: readonly {
    readonly operation: string;
    readonly entries: number;
    readonly failed: number;
    readonly outcome: string;
  }[];
  /** Errors thrown by subscribers. */
  readonly subscriberErrors: readonly unknown[];
  /**
   * The next `times` entries (matching `match`, if given) fail inside an otherwise successful call, reported
   * in `FailedEntryCount`/`Entries` with `errorCode` (default `InternalFailure`).
   */
  failEntries(
    times: number,
    options?: { match?: (entry: ReceivedEntry) => boolean; errorCode?: string; errorMessage?: string },
  ): void;
  createEventBus(name: string): void;
  /** Delivers accepted events matching `pattern` (EventBridge pattern on the envelope) to `handler`, after the call returned. */
  subscribe(pattern: EventPattern, handler: (event: EventBridgeEnvelope) => unknown): () => void;
  /** Resolves when every subscriber delivery started so far has finished. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a local EventBridge answering `PutEvents` like the service: 1–10 entries and ≤ 256 KB per call
 * (`ValidationException` otherwise); per-entry `InvalidArgument` / `MalformedDetail` /
 * `ResourceNotFoundException` (unknown bus) reported in `Entries` with `FailedEntryCount`.
 *
 * @example
 * ```ts
 * const bus = await startLocalEventBridge();
 * const client = new EventBridgeClient({ endpoint: bus.endpoint, ...LOCAL_AWS_CONFIG });
 * await client.send(new PutEventsCommand({ Entries: [{ Source: 'orders', DetailType: 'OrderPlaced', Detail: '{}' }] }));
 * bus.events[0]?.detailType; // 'OrderPlaced'
 * ```
 */
export async function startLocalEventBridge(options: LocalEventBridgeOptions = {}): Promise<LocalEventBridge> {
  const region = options.region ?? 'us-east-1';
  const account = options.accountId ?? '000000000000';
  const buses = new Set(['default', ...(options.buses ?? [])]);
  const faults = createFaults(options.latencyMs ?? 0, 400, 'InternalException'); // PutEvents' documented 500
  const events: PublishedEvent[] = [];
  const entries: EntryOutcome[] = [];
  const calls: { operation: string; entries: number; failed: number; outcome: string }[] = [];
  const subscriberErrors: unknown[] = [];
  const subscribers = new Set<{ pattern: EventPattern; handler: (event: EventBridgeEnvelope) => unknown }>();
  const inFlight = new Set<Promise<unknown>>();
  let entryFaults: {
    remaining: number;
    match?: (e: ReceivedEntry) => boolean;
    errorCode: string;
    errorMessage: string;
  }[] = [];

  const busName = (name: string | undefined): string =>
    name ? (/:event-bus\/(.+)$/.exec(name)?.[1] ?? name) : 'default';

  const putEntry = (entry: ReceivedEntry): { EventId: string } | { ErrorCode: string; ErrorMessage: string } => {
    for (const field of ['Source', 'DetailType', 'Detail'] as const)
      if (typeof entry[field] !== 'string' || entry[field] === '')
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
        };
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail!);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail))
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const bus = busName(entry.EventBusName);
    if (!buses.has(bus))
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${bus} does not exist.` };
    const fault = entryFaults.find((f) => f.remaining > 0 && (!f.match || f.match(entry)));
    if (fault) {
      fault.remaining--;
      entryFaults = entryFaults.filter((f) => f.remaining > 0);
      return { ErrorCode: fault.errorCode, ErrorMessage: fault.errorMessage };
    }
    const event: PublishedEvent = {
      eventId: randomUUID(),
      eventBusName: bus,
      source: entry.Source!,
      detailType: entry.DetailType!,
      detail,
      time: entry.Time !== undefined ? new Date(entry.Time * 1000) : new Date(),
      resources: entry.Resources ?? [],
    };
    events.push(event);
    fanOut(event);
    return { EventId: event.eventId };
  };

  const fanOut = (event: PublishedEvent): void => {
    const envelope: EventBridgeEnvelope = {
      version: '0',
      id: event.eventId,
      'detail-type': event.detailType,
      source: event.source,
      account,
      time: isoSeconds(event.time.getTime(), 'floor'),
      region,
      resources: event.resources,
      detail: event.detail,
    };
    for (const s of subscribers) {
      if (!matchesPattern(s.pattern, envelope)) continue;
      const p = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => s.handler(envelope))
        .catch((error: unknown) => void subscriberErrors.push(error))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
  };

  const route = async (req: LocalRequest): Promise<{ body?: unknown }> => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.replace(/^AWSEvents\./, '');
    if (operation !== 'PutEvents')
      throw new LocalServiceError(
        'UnknownOperationException',
        `${target || 'no X-Amz-Target'} is not an operation of the local EventBridge`,
      );
    const list = req.body.Entries;
    try {
      options.quota?.admit(operation);
      await faults.before(operation);
      if (!Array.isArray(list) || list.length < 1 || list.length > 10)
        throw new LocalServiceError(
          'ValidationException',
          `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10`,
        );
      const total = (list as ReceivedEntry[]).reduce((n, e) => n + putEventsEntrySize(e), 0);
      if (total > PUT_EVENTS_LIMITS.maxBytes)
        throw new LocalServiceError(
          'ValidationException',
          `Total size of the entries in the request is over the limit (${total} > ${PUT_EVENTS_LIMITS.maxBytes} bytes).`,
        );
      const results = (list as ReceivedEntry[]).map((entry) => {
        const r = putEntry(entry);
        entries.push({ entry, ...('EventId' in r ? { eventId: r.EventId } : { errorCode: r.ErrorCode }) });
        return r;
      });
      const failed = results.filter((r) => 'ErrorCode' in r).length;
      calls.push({ operation, entries: list.length, failed, outcome: 'ok' });
      return { body: { FailedEntryCount: failed, Entries: results } };
    } catch (error) {
      calls.push({
        operation,
        entries: Array.isArray(list) ? list.length : 0,
        failed: 0,
        outcome: (error as Error).name,
      });
      throw error;
    }
  };

  const server = await startLocalServer(route, {
    port: options.port,
    style: 'json-1.1',
    contentType: 'application/x-amz-json-1.1',
  });
  return {
    endpoint: server.endpoint,
    port: server.port,
    events,
    entries,
    calls,
    subscriberErrors,
    failEntries(times, o = {}) {
      entryFaults.push({
        remaining: times,
        ...(o.match ? { match: o.match } : {}),
        errorCode: o.errorCode ?? 'InternalFailure',
        errorMessage: o.errorMessage ?? 'Injected entry failure',
      });
    },
    createEventBus(name) {
      if (buses.has(name))
        throw new LocalServiceError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
      buses.add(name);
    },
    subscribe(pattern, handler) {
      const s = { pattern, handler };
      subscribers.add(s);
      return () => void subscribers.delete(s);
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    setLatency: faults.setLatency,
    throttle: faults.throttle,
    failNext: faults.failNext,
    clearFaults() {
      faults.clearFaults();
      entryFaults = [];
    },
    stop: () => server.close(),
  };
}
