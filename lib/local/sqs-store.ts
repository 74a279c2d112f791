/**
 * The state of the local SQS: standard queues and their messages on a {@link LocalClock} (delays, visibility
 * timeouts, receive counts, retention, redrive to a dead-letter queue after `maxReceiveCount` receives).
 */
import { randomUUID } from 'node:crypto';
import type { LocalClock } from './clock.js';
import { md5OfAttributes, md5OfBody, sqsError, type SqsMessageAttribute } from './sqs-message.js';

/** A queue's settings (the SQS attribute names; numbers in seconds or bytes). */
export interface SqsQueueSettings {
  readonly VisibilityTimeout: number;
  readonly DelaySeconds: number;
  readonly MaximumMessageSize: number;
  readonly MessageRetentionPeriod: number;
  readonly ReceiveMessageWaitTimeSeconds: number;
  /** `{ deadLetterTargetArn, maxReceiveCount }`. */
  readonly RedrivePolicy?: { readonly deadLetterTargetArn: string; readonly maxReceiveCount: number };
}

/** A message as the store keeps it. */
export interface StoredSqsMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, SqsMessageAttribute>>;
  readonly md5OfBody: string;
  readonly md5OfAttributes?: string;
  /** Epoch ms. */
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  /** The receipt handle of the latest receive. */
  handle?: string;
  /** The queue it was moved from by a redrive policy. */
  readonly deadLetterSourceArn?: string;
}

/** A local queue. */
export interface LocalQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly createdAt: number;
  settings: SqsQueueSettings;
  readonly messages: StoredSqsMessage[];
}

const DEFAULT_SETTINGS: SqsQueueSettings = {
  VisibilityTimeout: 30,
  DelaySeconds: 0,
  MaximumMessageSize: 262_144,
  MessageRetentionPeriod: 345_600,
  ReceiveMessageWaitTimeSeconds: 0,
};

/** Limits of each numeric queue attribute. */
export const QUEUE_ATTRIBUTE_LIMITS: Readonly<Record<string, readonly [number, number]>> = {
  VisibilityTimeout: [0, 43_200],
  DelaySeconds: [0, 900],
  MaximumMessageSize: [1024, 1_048_576],
  MessageRetentionPeriod: [60, 1_209_600],
  ReceiveMessageWaitTimeSeconds: [0, 20],
};

/** Parses and checks `CreateQueue`/`SetQueueAttributes` attributes (string values, as on the wire). */
export function parseQueueAttributes(
  raw: Readonly<Record<string, string>>,
  base: SqsQueueSettings = DEFAULT_SETTINGS,
): SqsQueueSettings {
  const settings: Record<string, unknown> = { ...base };
  for (const [name, value] of Object.entries(raw)) {
    const limits = QUEUE_ATTRIBUTE_LIMITS[name];
    if (limits) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < limits[0] || n > limits[1])
        throw sqsError('InvalidParameterValue', `Invalid value for the parameter ${name}.`);
      settings[name] = n;
    } else if (name === 'RedrivePolicy') {
      let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
      try {
        policy = JSON.parse(value) as typeof policy;
      } catch {
        throw sqsError(
          'InvalidParameterValue',
          'Value for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.',
        );
      }
      const max = Number(policy.maxReceiveCount);
      if (typeof policy.deadLetterTargetArn !== 'string' || !Number.isInteger(max) || max < 1 || max > 1000)
        throw sqsError(
          'InvalidParameterValue',
          'Value for parameter RedrivePolicy is invalid. Reason: deadLetterTargetArn and maxReceiveCount (1-1000) are required.',
        );
      settings.RedrivePolicy = { deadLetterTargetArn: policy.deadLetterTargetArn, maxReceiveCount: max };
    } else if (
      ![
        'Policy',
        'KmsMasterKeyId',
        'KmsDataKeyReusePeriodSeconds',
        'SqsManagedSseEnabled',
        'RedriveAllowPolicy',
        'Tags',
      ].includes(name)
    ) {
      throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
    }
  }
  return settings as unknown as SqsQueueSettings;
}

/** What a receive hands out for one message. */
export interface ReceivedSqsMessage {
  readonly message: StoredSqsMessage;
  readonly receiptHandle: string;
}

/** The queues of one local SQS endpoint. */
export class SqsStore {
  readonly queues = new Map<string, LocalQueue>();
  readonly #handles = new Map<string, { queue: string; messageId: string }>();
  readonly #listeners = new Set<() => void>();

  constructor(
    private readonly options: {
      readonly endpoint: string;
      readonly region: string;
      readonly accountId: string;
      readonly clock: LocalClock;
    },
  ) {}

  /** Creates a queue (or returns the existing one when its attributes are the same). */
  createQueue(name: string, attributes: Readonly<Record<string, string>> = {}): LocalQueue {
    if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(name))
      throw sqsError(
        'InvalidParameterValue',
        name?.endsWith?.('.fifo')
          ? 'FIFO queues are not supported by the local SQS.'
          : 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    const settings = parseQueueAttributes(attributes);
    const existing = this.queues.get(name);
    if (existing) {
      if (JSON.stringify(existing.settings) !== JSON.stringify(settings))
        throw sqsError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute(s).`,
        );
      return existing;
    }
    const queue: LocalQueue = {
      name,
      url: `${this.options.endpoint}/${this.options.accountId}/${name}`,
      arn: `arn:aws:sqs:${this.options.region}:${this.options.accountId}:${name}`,
      createdAt: this.options.clock.now(),
      settings,
      messages: [],
    };
    this.queues.set(name, queue);
    return queue;
  }

  /** The queue of a queue URL (its last path segment is the name), or `QueueDoesNotExist`. */
  byUrl(url: unknown): LocalQueue {
    if (typeof url !== 'string' || url === '')
      throw sqsError('MissingParameter', 'The request must contain the parameter QueueUrl.');
    return this.byName(url.replace(/\/+$/, '').split('/').pop() ?? '');
  }

  /** The queue named `name`, or `QueueDoesNotExist`. */
  byName(name: string): LocalQueue {
    const queue = this.queues.get(name);
    if (!queue) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  /** The queue with this ARN, if it exists. */
  byArn(arn: string): LocalQueue | undefined {
    return [...this.queues.values()].find((q) => q.arn === arn);
  }

  deleteQueue(queue: LocalQueue): void {
    this.queues.delete(queue.name);
  }

  /** Stores a message, visible after `delaySeconds` (default: the queue's `DelaySeconds`). */
  send(
    queue: LocalQueue,
    body: string,
    attributes: Readonly<Record<string, SqsMessageAttribute>>,
    delaySeconds?: number,
  ): StoredSqsMessage {
    const now = this.options.clock.now();
    const message: StoredSqsMessage = {
      messageId: randomUUID(),
      body,
      attributes,
      md5OfBody: md5OfBody(body),
      ...(Object.keys(attributes).length ? { md5OfAttributes: md5OfAttributes(attributes)! } : {}),
      sentAt: now,
      visibleAt: now + (delaySeconds ?? queue.settings.DelaySeconds) * 1000,
      receiveCount: 0,
    };
    queue.messages.push(message);
    this.notify();
    return message;
  }

  /**
   * Receives up to `max` visible messages and hides them for `visibilitySeconds`. A message already received
   * `maxReceiveCount` times is moved to the dead-letter queue of the redrive policy instead of being handed out.
   */
  receive(queue: LocalQueue, max: number, visibilitySeconds = queue.settings.VisibilityTimeout): ReceivedSqsMessage[] {
    const now = this.options.clock.now();
    this.#expire(queue, now);
    const out: ReceivedSqsMessage[] = [];
    for (const message of [...queue.messages]) {
      if (out.length >= max) break;
      if (message.visibleAt > now) continue;
      const policy = queue.settings.RedrivePolicy;
      const dlq = policy ? this.byArn(policy.deadLetterTargetArn) : undefined;
      if (policy && dlq && message.receiveCount >= policy.maxReceiveCount) {
        this.#remove(queue, message);
        dlq.messages.push({
          messageId: message.messageId,
          body: message.body,
          attributes: message.attributes,
          md5OfBody: message.md5OfBody,
          ...(message.md5OfAttributes ? { md5OfAttributes: message.md5OfAttributes } : {}),
          sentAt: message.sentAt,
          visibleAt: now,
          receiveCount: 0,
          deadLetterSourceArn: queue.arn,
        });
        continue;
      }
      message.receiveCount++;
      message.firstReceiveAt ??= now;
      message.visibleAt = now + visibilitySeconds * 1000;
      if (message.handle) this.#handles.delete(message.handle);
      const handle = Buffer.from(`${queue.name}/${message.messageId}/${message.receiveCount}/${randomUUID()}`).toString(
        'base64url',
      );
      message.handle = handle;
      this.#handles.set(handle, { queue: queue.name, messageId: message.messageId });
      out.push({ message, receiptHandle: handle });
    }
    if (out.length > 0) this.notify();
    return out;
  }

  /**
   * Deletes the message of a receipt handle. A handle of an earlier receive (the message was received again
   * since) succeeds without deleting, as SQS may; a handle that was never issued is `ReceiptHandleIsInvalid`.
   */
  delete(queue: LocalQueue, handle: unknown): 'deleted' | 'stale' | 'gone' {
    const message = this.#messageOf(queue, handle);
    if (message === 'gone') return 'gone';
    if (message.handle !== handle) return 'stale';
    this.#remove(queue, message);
    this.notify();
    return 'deleted';
  }

  /** Sets the visibility timeout of a message in flight, from now. */
  changeVisibility(queue: LocalQueue, handle: unknown, seconds: number): void {
    const message = this.#messageOf(queue, handle);
    const now = this.options.clock.now();
    if (message === 'gone' || message.handle !== handle || message.visibleAt <= now)
      throw sqsError('MessageNotInflight', 'Message does not exist or is not available for visibility timeout change.');
    if ((now - (message.firstReceiveAt ?? now)) / 1000 + seconds > 43_200)
      throw sqsError(
        'InvalidParameterValue',
        `Value ${seconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`,
      );
    message.visibleAt = now + seconds * 1000;
    this.notify();
  }

  /** `ApproximateNumberOfMessages` / `…NotVisible` / `…Delayed`. */
  counts(queue: LocalQueue): { visible: number; notVisible: number; delayed: number } {
    const now = this.options.clock.now();
    this.#expire(queue, now);
    let visible = 0;
    let notVisible = 0;
    let delayed = 0;
    for (const m of queue.messages) {
      if (m.visibleAt <= now) visible++;
      else if (m.receiveCount > 0) notVisible++;
      else delayed++;
    }
    return { visible, notVisible, delayed };
  }

  purge(queue: LocalQueue): void {
    for (const m of queue.messages.splice(0)) if (m.handle) this.#handles.delete(m.handle);
  }

  /** Calls `listener` after every change (a send, receive, delete, visibility change, clock move). */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Wakes the waiting receives (the clock moved, a message arrived). */
  notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  #messageOf(queue: LocalQueue, handle: unknown): StoredSqsMessage | 'gone' {
    const ref = typeof handle === 'string' ? this.#handles.get(handle) : undefined;
    const issued =
      typeof handle === 'string' && ref === undefined
        ? Buffer.from(handle, 'base64url').toString('utf8').split('/')
        : undefined;
    if (!ref) {
      // A handle this store issued earlier (its message received again, or deleted) decodes to queue/id/n/uuid.
      if (issued?.length === 4 && issued[0] === queue.name)
        return queue.messages.find((m) => m.messageId === issued[1]) ?? 'gone';
      throw sqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${String(handle)}" is not a valid receipt handle.`,
      );
    }
    if (ref.queue !== queue.name)
      throw sqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle is not a valid receipt handle for this queue.`,
      );
    return queue.messages.find((m) => m.messageId === ref.messageId) ?? 'gone';
  }

  #remove(queue: LocalQueue, message: StoredSqsMessage): void {
    queue.messages.splice(queue.messages.indexOf(message), 1);
    if (message.handle) this.#handles.delete(message.handle);
  }

  #expire(queue: LocalQueue, now: number): void {
    const limit = now - queue.settings.MessageRetentionPeriod * 1000;
    for (const m of queue.messages.filter((x) => x.sentAt < limit)) this.#remove(queue, m);
  }
}
