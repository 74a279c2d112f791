/**
 * The sender of the SQS timer transport: packs the timer messages of a batch into `SendMessageBatch` calls.
 * The dispatcher imports this module (and with it the SQS client) only when `timerQueueUrl` is set.
 */
import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import type { Caller } from './calls.js';
import { type BatchEntry, type EntryOutcome, sendWithResends } from './resend.js';
import type { TimerSender } from './timers.js';
import { createTickBatch } from './tick-batch.js';

/** Entries per `SendMessageBatch` call (an SQS limit). */
export const SEND_MESSAGE_BATCH_MAX_ENTRIES = 10;

/** The dispatcher's default SQS client: from the environment, `maxAttempts: 1` (its own retries are the only ones). */
export function createDefaultSqsClient(): SQSClient {
  return new SQSClient({ maxAttempts: 1 });
}

interface Pending extends BatchEntry<string> {
  readonly entry: Omit<SendMessageBatchRequestEntry, 'Id'>;
}

/**
 * A {@link TimerSender} for one invocation. Timers sent in the same tick (the job messages of a whole batch)
 * are packed into `SendMessageBatch` calls of ≤ 10 entries, sent in parallel through the caller's limiter
 * (throttling cuts its AIMD window and is retried with backoff, as for the other services). Entries the
 * response lists as `Failed` without `SenderFault` are resent with backoff, only those, while attempts and
 * time are left; a sender fault, or a call that failed for good, rejects its entries (their records fail, and
 * Lambda redelivers them: a duplicate timer is harmless, the runner's claim runs the job once).
 */
export function createTimerSender(client: SQSClient, queueUrl: string, caller: Caller): TimerSender {
  const sendChunk = (chunk: Pending[]): Promise<void> =>
    sendWithResends(
      chunk,
      caller,
      async (pending) => {
        caller.stats.sendMessageBatchCalls++;
        const Entries = pending.map((p, i) => ({ Id: `t${i}`, ...p.entry }));
        const result = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
        const ok = new Map((result.Successful ?? []).map((s) => [s.Id, s.MessageId ?? '']));
        const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
        return pending.map((_, i): EntryOutcome<string> => {
          const id = `t${i}`;
          if (ok.has(id)) {
            caller.stats.timersSent++;
            return { ok: ok.get(id)! };
          }
          const f = failed.get(id);
          const reason = f ? `${f.Code} ${f.Message ?? ''}`.trim() : 'no result entry';
          return f?.SenderFault ? { rejected: reason } : { retry: reason };
        });
      },
      (count) => {
        caller.stats.timersResent += count;
      },
    );

  const batch = createTickBatch<Pending>((items) => {
    for (let i = 0; i < items.length; i += SEND_MESSAGE_BATCH_MAX_ENTRIES)
      void sendChunk(items.slice(i, i + SEND_MESSAGE_BATCH_MAX_ENTRIES));
  });

  return {
    send(timer, ref) {
      return new Promise<string>((resolve, reject) => {
        const entry = { MessageBody: timer.body, DelaySeconds: timer.delaySeconds };
        batch.add({ label: `SendMessageBatch ${ref}`, entry, resolve, reject });
      });
    },
  };
}
