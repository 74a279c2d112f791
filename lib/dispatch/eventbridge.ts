import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DispatchError } from '../errors.js';
import type { CloudEvent } from '../outbox/messages.js';
import type { Caller } from './calls.js';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../outbox/put-events-size.js';
import { chunkPutEvents, toPutEventsEntry } from './map.js';
import { type BatchEntry, type EntryOutcome, sendWithResends } from './resend.js';
import { createTickBatch } from './tick-batch.js';

/** Per-entry error codes that no resend can fix. */
const PERMANENT_ENTRY_ERRORS = new Set([
  'InvalidArgument',
  'MalformedDetail',
  'ValidationException',
  'AccessDeniedException',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
  'ResourceNotFoundException',
]);

interface Pending extends BatchEntry<string> {
  readonly event: CloudEvent;
  readonly entry: PutEventsRequestEntry;
}

/** Publishes CloudEvents through `PutEvents`, grouping the events of concurrent callers into full calls. */
export interface EventPublisher {
  /**
   * Resolves with the EventBridge event id once the event was accepted; rejects with a {@link DispatchError}.
   * `traceHeader` (the committing invocation's X-Ray header) is sent as the entry's `TraceHeader`.
   */
  publish(event: CloudEvent, traceHeader?: string): Promise<string>;
}

/**
 * An {@link EventPublisher} for one invocation. Events published in the same tick are packed into
 * `PutEvents` calls of ≤ 10 entries and ≤ 256 KB, sent in parallel through the caller's limiter;
 * entries the service reports failed (`FailedEntryCount`/`Entries`) are resent with backoff, only those,
 * while attempts and time are left. Throttled or failed calls are retried as a whole.
 */
export function createEventPublisher(client: EventBridgeClient, eventBusName: string, caller: Caller): EventPublisher {
  const sendChunk = (chunk: Pending[]): Promise<void> =>
    sendWithResends(
      chunk,
      caller,
      async (pending) => {
        caller.stats.putEventsCalls++;
        const result = await client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        const entries = result.Entries ?? [];
        return pending.map((_, i): EntryOutcome<string> => {
          const r = entries[i];
          if (r?.EventId) {
            caller.stats.eventsPublished++;
            return { ok: r.EventId };
          }
          const reason = r ? `${r.ErrorCode ?? ''} ${r.ErrorMessage ?? ''}`.trim() : 'no result entry';
          return r?.ErrorCode && PERMANENT_ENTRY_ERRORS.has(r.ErrorCode) ? { rejected: reason } : { retry: reason };
        });
      },
      (count) => {
        caller.stats.eventsResent += count;
      },
    );

  // Up to ten full calls' worth is flushed at once: a huge batch does not wait for the tick to end.
  const batch = createTickBatch<Pending>((items) => {
    for (const chunk of chunkPutEvents(items, (p) => p.entry)) void sendChunk(chunk);
  }, PUT_EVENTS_LIMITS.maxEntries * 10);

  return {
    publish(event, traceHeader) {
      return new Promise<string>((resolve, reject) => {
        const entry = toPutEventsEntry(event, eventBusName, traceHeader);
        const size = putEventsEntrySize(entry);
        if (size > PUT_EVENTS_LIMITS.maxBytes) {
          reject(
            new DispatchError(
              `PutEvents ${event.id}`,
              `the entry is ${size} bytes, over the ${PUT_EVENTS_LIMITS.maxBytes} EventBridge accepts`,
            ),
          );
          return;
        }
        batch.add({ label: `PutEvents ${event.id}`, event, entry, resolve, reject });
      });
    },
  };
}
