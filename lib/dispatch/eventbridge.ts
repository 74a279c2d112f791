import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { DispatchError } from '../errors.js';
import type { CloudEvent } from '../outbox/messages.js';
import type { Caller } from './calls.js';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../outbox/put-events-size.js';
import { chunkPutEvents, toPutEventsEntry } from './map.js';
import { backoffDelay, mayRetry } from './retry.js';

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

interface Pending {
  readonly event: CloudEvent;
  readonly entry: PutEventsRequestEntry;
  resolve(eventId: string): void;
  reject(error: unknown): void;
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
  let queue: Pending[] = [];
  let scheduled = false;

  const sendChunk = async (chunk: Pending[]): Promise<void> => {
    let pending = chunk;
    for (let attempt = 1; pending.length > 0; attempt++) {
      let result;
      try {
        result = await caller.call(() => {
          caller.stats.putEventsCalls++;
          return client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
        });
      } catch (error) {
        caller.stats.callsFailed++;
        for (const p of pending)
          p.reject(
            new DispatchError(`PutEvents ${p.event.id}`, `the call failed: ${(error as Error).message}`, {
              cause: error,
            }),
          );
        return;
      }
      const entries = result.Entries ?? [];
      const resend: Pending[] = [];
      pending.forEach((p, i) => {
        const r = entries[i];
        if (r?.EventId) {
          caller.stats.eventsPublished++;
          p.resolve(r.EventId);
        } else if (r?.ErrorCode && PERMANENT_ENTRY_ERRORS.has(r.ErrorCode)) {
          caller.stats.callsFailed++;
          p.reject(
            new DispatchError(`PutEvents ${p.event.id}`, `rejected: ${r.ErrorCode} ${r.ErrorMessage ?? ''}`.trim()),
          );
        } else {
          resend.push(p);
        }
      });
      if (resend.length === 0) return;
      const delay = backoffDelay(attempt, caller.policy, caller.clock.random);
      if (!mayRetry(attempt, delay, caller.policy, caller.clock.remainingMs())) {
        for (const p of resend) {
          caller.stats.callsFailed++;
          const r = entries[pending.indexOf(p)];
          p.reject(
            new DispatchError(
              `PutEvents ${p.event.id}`,
              `still failing after ${attempt} attempts: ${r?.ErrorCode ?? 'no result entry'} ${r?.ErrorMessage ?? ''}`.trim(),
            ),
          );
        }
        return;
      }
      caller.stats.eventsResent += resend.length;
      await caller.clock.sleep(delay);
      pending = resend;
    }
  };

  const flush = (): void => {
    scheduled = false;
    const items = queue;
    queue = [];
    for (const chunk of chunkPutEvents(items, (p) => p.entry)) void sendChunk(chunk);
  };

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
        queue.push({ event, entry, resolve, reject });
        if (queue.length >= PUT_EVENTS_LIMITS.maxEntries * 10) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
