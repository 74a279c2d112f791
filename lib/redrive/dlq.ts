/** Consuming a dead-letter queue for a redrive: every message once, deleted only when handled, the rest released. */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** Where a redrive reads its messages and how. */
export interface DlqOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Read and decide, but change nothing (no dispatch, no run, no delete). @default false */
  readonly dryRun?: boolean;
  /** Stop after this many messages. @default all */
  readonly maxMessages?: number;
  /** How long a message stays hidden while it is handled. @default 300 */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Messages sent after this time (epoch ms, their `SentTimestamp`) are left for the next run, so a redrive
   * never chases its own output (a delivery it rescheduled that failed again while it ran). @default now
   */
  readonly sentBefore?: number;
}

/** What a redrive did, message by message. */
export interface RedriveSummary<TReport> {
  readonly dryRun: boolean;
  readonly received: number;
  readonly deleted: number;
  /** Messages left in the queue (failed, kept on purpose, or a dry run); visible again at once. */
  readonly kept: number;
  /** Messages that arrived after the redrive started, left untouched for the next run. */
  readonly newer: number;
  readonly messages: readonly TReport[];
}

/** What a message handler decided: delete the message (handled, or nothing left to do) or keep it. */
export interface MessageDecision<TReport> {
  readonly delete: boolean;
  readonly report: TReport;
}

/**
 * Receives the queue's messages (each once, even if SQS hands one out twice), calls `handle` for each, deletes
 * those it says to delete (never on a dry run) and makes the others visible again at the end, so the next
 * redrive sees them. Messages sent after the redrive started are left alone (see `sentBefore`). Stops at an
 * empty receive (or one with only newer messages) or after `maxMessages`.
 */
export async function redriveQueue<TReport>(
  options: DlqOptions,
  handle: (message: Message) => Promise<MessageDecision<TReport>>,
): Promise<RedriveSummary<TReport>> {
  const dryRun = options.dryRun ?? false;
  const max = options.maxMessages ?? Number.POSITIVE_INFINITY;
  const sentBefore = options.sentBefore ?? Date.now();
  const seen = new Set<string>();
  const newer = new Map<string, Message>();
  const keep: Message[] = [];
  const reports: TReport[] = [];
  let deleted = 0;
  while (seen.size < max) {
    const out = await options.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        WaitTimeSeconds: 1,
        VisibilityTimeout: options.visibilityTimeoutSeconds ?? 300,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const fresh = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId!) && !newer.has(m.MessageId!));
    for (const m of fresh) if (Number(m.Attributes?.SentTimestamp ?? 0) > sentBefore) newer.set(m.MessageId!, m);
    if (fresh.every((m) => newer.has(m.MessageId!))) break;
    for (const message of fresh.filter((m) => !newer.has(m.MessageId!))) {
      seen.add(message.MessageId!);
      const decision = await handle(message);
      reports.push(decision.report);
      if (decision.delete && !dryRun) {
        await options.sqs.send(
          new DeleteMessageCommand({ QueueUrl: options.queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
        deleted++;
      } else keep.push(message);
    }
  }
  const release = [...keep, ...newer.values()];
  for (let i = 0; i < release.length; i += 10)
    await options.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: release
          .slice(i, i + 10)
          .map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  return { dryRun, received: seen.size, deleted, kept: keep.length, newer: newer.size, messages: reports };
}
