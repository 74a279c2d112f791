/**
 * A local Amazon SQS on loopback for the real `SQSClient` (`endpoint`), speaking the JSON protocol the SDK v3
 * uses (AwsJson1_0, `X-Amz-Target: AmazonSQS.<Operation>`, query-compatible errors in `x-amzn-query-error`).
 * Standard queues in memory on a manual or real clock; see {@link startLocalSqs}.
 */
import { manualClock, realClock, type LocalClock } from './clock.js';
import { createFaults, type FaultControls, type LatencySetting } from './faults.js';
import { startLocalServer, type LocalRequest } from './http.js';
import type { LocalQuota } from './quota.js';
import {
  attributeSelected,
  batchErrorCode,
  checkBody,
  checkMessageAttributes,
  intParameter,
  messageSize,
  sqsError,
  type SqsMessageAttribute,
} from './sqs-message.js';
import {
  parseQueueAttributes,
  SqsStore,
  type LocalQueue,
  type ReceivedSqsMessage,
  type StoredSqsMessage,
} from './sqs-store.js';

/** Options of {@link startLocalSqs}. */
export interface LocalSqsOptions {
  /** @default a free port */
  readonly port?: number;
  /** `'manual'` (tests move it with `advance()`), `'real'`, or your own clock. @default 'real' */
  readonly clock?: 'manual' | 'real' | LocalClock;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '000000000000' */
  readonly accountId?: string;
  /** Queues to create at start: name → attributes (SQS attribute names, string values). */
  readonly queues?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Latency of every call. @default 0 */
  readonly latencyMs?: LatencySetting;
  /** A request quota (token bucket); calls over it answer `RequestThrottled`. */
  readonly quota?: LocalQuota;
}

/** A message as a test sees it in a queue. */
export interface LocalSqsMessage {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, SqsMessageAttribute>>;
  readonly receiveCount: number;
  /** Epoch ms when it becomes (or became) visible. */
  readonly visibleAt: number;
  readonly deadLetterSourceArn?: string;
}

/** A running local SQS. */
export interface LocalSqs extends FaultControls {
  /** Pass it as `endpoint` to `new SQSClient({ endpoint, ...LOCAL_AWS_CONFIG })`. */
  readonly endpoint: string;
  readonly port: number;
  readonly clock: LocalClock;
  /** Every call: operation, queue name, and `'ok'` or the error answered. */
  readonly calls: readonly { readonly operation: string; readonly queue?: string; readonly outcome: string }[];
  /** Creates a queue; returns its URL. */
  createQueue(name: string, attributes?: Readonly<Record<string, string>>): string;
  queueUrl(name: string): string;
  queueArn(name: string): string;
  /** The messages of a queue (visible, delayed and in flight), oldest first. */
  messages(name: string): LocalSqsMessage[];
  /** `ApproximateNumberOfMessages` / `…NotVisible` / `…Delayed` of a queue. */
  counts(name: string): { visible: number; notVisible: number; delayed: number };
  /** Moves a manual clock forward (delays and visibility timeouts end) and wakes long polls. */
  advance(ms: number): void;
  stop(): Promise<void>;
}

const SYSTEM_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SentTimestamp',
  'SenderId',
  'DeadLetterQueueSourceArn',
];

/** Validates the entry list of a batch call (1–10 entries, distinct well-formed ids). */
function batchEntries(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value) || value.length === 0)
    throw sqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  if (value.length > 10)
    throw sqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are 10. You have sent ${value.length}.`,
    );
  const ids = new Set<string>();
  for (const e of value as Record<string, unknown>[]) {
    if (typeof e?.Id !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(e.Id))
      throw sqsError(
        'InvalidBatchEntryId',
        `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.`,
      );
    if (ids.has(e.Id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${e.Id} repeated.`);
    ids.add(e.Id);
  }
  return value as Record<string, unknown>[];
}

/** Runs `fn` per batch entry: `Successful` entries, and `Failed` ones with the service's error code. */
function perEntry(
  entries: Record<string, unknown>[],
  fn: (entry: Record<string, unknown>) => Record<string, unknown>,
): Record<string, unknown> {
  const Successful: unknown[] = [];
  const Failed: unknown[] = [];
  for (const e of entries) {
    try {
      Successful.push({ Id: e.Id, ...fn(e) });
    } catch (error) {
      Failed.push({ Id: e.Id, SenderFault: true, Code: batchErrorCode(error), Message: (error as Error).message });
    }
  }
  return { Successful, Failed };
}

/**
 * Starts a local SQS: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, PurgeQueue, Get/SetQueueAttributes,
 * SendMessage(Batch) (per-message `DelaySeconds` 0–900, ≤ 10 entries, size ≤ `MaximumMessageSize` per message
 * and per batch), ReceiveMessage (visibility timeout, `WaitTimeSeconds` long polling, `MaxNumberOfMessages`,
 * system attributes such as `ApproximateReceiveCount`, `MessageAttributeNames`), DeleteMessage(Batch),
 * ChangeMessageVisibility(Batch) and the redrive policy (after `maxReceiveCount` receives a message moves to the
 * dead-letter queue). Errors carry the service's codes (`QueueDoesNotExist`, `ReceiptHandleIsInvalid`, …).
 *
 * @example
 * ```ts
 * const sqs = await startLocalSqs({ clock: 'manual' });
 * const client = new SQSClient({ endpoint: sqs.endpoint, ...LOCAL_AWS_CONFIG });
 * const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: 'jobs' }));
 * await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hi', DelaySeconds: 60 }));
 * sqs.advance(60_000); // now visible
 * ```
 */
export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const clock =
    typeof options.clock === 'object' ? options.clock : options.clock === 'manual' ? manualClock() : realClock();
  const faults = createFaults(options.latencyMs ?? 0, 400);
  const calls: { operation: string; queue?: string; outcome: string }[] = [];
  let store!: SqsStore;
  let stopped = false;

  const toWire = (
    r: ReceivedSqsMessage,
    systemNames: readonly string[],
    attributeNames: readonly string[],
  ): Record<string, unknown> => {
    const m = r.message;
    const all = systemNames.includes('All');
    const system: Record<string, string> = {
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt),
      SentTimestamp: String(m.sentAt),
      SenderId: options.accountId ?? '000000000000',
      ...(m.deadLetterSourceArn ? { DeadLetterQueueSourceArn: m.deadLetterSourceArn } : {}),
    };
    const Attributes = Object.fromEntries(Object.entries(system).filter(([n]) => all || systemNames.includes(n)));
    const selected = Object.fromEntries(
      Object.entries(m.attributes).filter(([n]) => attributeSelected(n, attributeNames)),
    );
    return {
      MessageId: m.messageId,
      ReceiptHandle: r.receiptHandle,
      MD5OfBody: m.md5OfBody,
      Body: m.body,
      ...(Object.keys(Attributes).length ? { Attributes } : {}),
      ...(Object.keys(selected).length
        ? { MessageAttributes: selected, MD5OfMessageAttributes: m.md5OfAttributes }
        : {}),
    };
  };

  const sendOne = (queue: LocalQueue, e: Record<string, unknown>, bodyField: string): StoredSqsMessage => {
    const body = checkBody(e.MessageBody, bodyField);
    const attributes = checkMessageAttributes(e.MessageAttributes);
    const size = messageSize(body, attributes);
    if (size > queue.settings.MaximumMessageSize)
      throw sqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${queue.settings.MaximumMessageSize} bytes.`,
      );
    const delay = intParameter(e.DelaySeconds, 'DelaySeconds', 0, 900, queue.settings.DelaySeconds);
    return store.send(queue, body, attributes, delay);
  };
  const sent = (m: StoredSqsMessage): Record<string, unknown> => ({
    MessageId: m.messageId,
    MD5OfMessageBody: m.md5OfBody,
    ...(m.md5OfAttributes ? { MD5OfMessageAttributes: m.md5OfAttributes } : {}),
  });

  const receive = async (b: Record<string, unknown>): Promise<unknown> => {
    const queue = store.byUrl(b.QueueUrl);
    const max = intParameter(b.MaxNumberOfMessages, 'MaxNumberOfMessages', 1, 10, 1);
    const visibility = intParameter(
      b.VisibilityTimeout,
      'VisibilityTimeout',
      0,
      43_200,
      queue.settings.VisibilityTimeout,
    );
    const wait = intParameter(
      b.WaitTimeSeconds,
      'WaitTimeSeconds',
      0,
      20,
      queue.settings.ReceiveMessageWaitTimeSeconds,
    );
    const systemNames = [
      ...((b.MessageSystemAttributeNames as string[]) ?? []),
      ...((b.AttributeNames as string[]) ?? []),
    ];
    for (const n of systemNames)
      if (n !== 'All' && !SYSTEM_ATTRIBUTES.includes(n) && !n.startsWith('AWSTrace'))
        throw sqsError('InvalidAttributeName', `Unknown Attribute ${n}.`);
    const attributeNames = (b.MessageAttributeNames as string[]) ?? [];
    const deadline = Date.now() + wait * 1000;
    for (;;) {
      const got = store.receive(queue, max, visibility);
      if (got.length > 0 || Date.now() >= deadline || stopped)
        return { Messages: got.map((r) => toWire(r, systemNames, attributeNames)) };
      await new Promise<void>((resolve) => {
        const done = (): void => {
          off();
          clearTimeout(timer);
          resolve();
        };
        const off = store.onChange(done);
        // A real clock makes delayed messages visible without any call: look again every 50 ms.
        const timer = setTimeout(
          done,
          Math.max(0, Math.min(deadline - Date.now(), clock.mode === 'real' ? 50 : 2 ** 30)),
        );
      });
    }
  };

  const handle = async (operation: string, b: Record<string, unknown>): Promise<unknown> => {
    switch (operation) {
      case 'CreateQueue':
        return {
          QueueUrl: store.createQueue(b.QueueName as string, (b.Attributes as Record<string, string>) ?? {}).url,
        };
      case 'GetQueueUrl':
        return { QueueUrl: store.byName(String(b.QueueName ?? '')).url };
      case 'ListQueues': {
        const prefix = String(b.QueueNamePrefix ?? '');
        return { QueueUrls: [...store.queues.values()].filter((q) => q.name.startsWith(prefix)).map((q) => q.url) };
      }
      case 'DeleteQueue':
        store.deleteQueue(store.byUrl(b.QueueUrl));
        return {};
      case 'PurgeQueue':
        store.purge(store.byUrl(b.QueueUrl));
        return {};
      case 'SetQueueAttributes': {
        const queue = store.byUrl(b.QueueUrl);
        queue.settings = parseQueueAttributes((b.Attributes as Record<string, string>) ?? {}, queue.settings);
        return {};
      }
      case 'GetQueueAttributes': {
        const queue = store.byUrl(b.QueueUrl);
        const c = store.counts(queue);
        const s = queue.settings;
        const all: Record<string, string> = {
          QueueArn: queue.arn,
          ApproximateNumberOfMessages: String(c.visible),
          ApproximateNumberOfMessagesNotVisible: String(c.notVisible),
          ApproximateNumberOfMessagesDelayed: String(c.delayed),
          CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
          LastModifiedTimestamp: String(Math.floor(queue.createdAt / 1000)),
          VisibilityTimeout: String(s.VisibilityTimeout),
          DelaySeconds: String(s.DelaySeconds),
          MaximumMessageSize: String(s.MaximumMessageSize),
          MessageRetentionPeriod: String(s.MessageRetentionPeriod),
          ReceiveMessageWaitTimeSeconds: String(s.ReceiveMessageWaitTimeSeconds),
          ...(s.RedrivePolicy ? { RedrivePolicy: JSON.stringify(s.RedrivePolicy) } : {}),
        };
        const names = (b.AttributeNames as string[] | undefined) ?? [];
        for (const n of names)
          if (n !== 'All' && !(n in all) && n !== 'RedrivePolicy')
            throw sqsError('InvalidAttributeName', `Unknown Attribute ${n}.`);
        return {
          Attributes: Object.fromEntries(
            Object.entries(all).filter(([n]) => names.includes('All') || names.includes(n)),
          ),
        };
      }
      case 'SendMessage':
        return sent(sendOne(store.byUrl(b.QueueUrl), b, 'MessageBody'));
      case 'SendMessageBatch': {
        const queue = store.byUrl(b.QueueUrl);
        const entries = batchEntries(b.Entries);
        const total = entries.reduce(
          (n, e) =>
            n +
            (typeof e.MessageBody === 'string'
              ? messageSize(e.MessageBody, checkMessageAttributes(e.MessageAttributes))
              : 0),
          0,
        );
        if (total > queue.settings.MaximumMessageSize)
          throw sqsError(
            'BatchRequestTooLong',
            `Batch requests cannot be longer than ${queue.settings.MaximumMessageSize} bytes. You have sent ${total} bytes.`,
          );
        return perEntry(entries, (e) =>
          sent(sendOne(queue, e, `SendMessageBatchRequestEntry.${String(e.Id)}.MessageBody`)),
        );
      }
      case 'ReceiveMessage':
        return receive(b);
      case 'DeleteMessage':
        store.delete(store.byUrl(b.QueueUrl), b.ReceiptHandle);
        return {};
      case 'DeleteMessageBatch': {
        const queue = store.byUrl(b.QueueUrl);
        return perEntry(batchEntries(b.Entries), (e) => (store.delete(queue, e.ReceiptHandle), {}));
      }
      case 'ChangeMessageVisibility': {
        const queue = store.byUrl(b.QueueUrl);
        store.changeVisibility(
          queue,
          b.ReceiptHandle,
          intParameter(b.VisibilityTimeout, 'VisibilityTimeout', 0, 43_200, Number.NaN),
        );
        return {};
      }
      case 'ChangeMessageVisibilityBatch': {
        const queue = store.byUrl(b.QueueUrl);
        return perEntry(batchEntries(b.Entries), (e) => {
          store.changeVisibility(
            queue,
            e.ReceiptHandle,
            intParameter(e.VisibilityTimeout, 'VisibilityTimeout', 0, 43_200, Number.NaN),
          );
          return {};
        });
      }
      default:
        throw sqsError('InvalidAction', `The action ${operation} is not valid for this endpoint.`);
    }
  };

  const route = async (req: LocalRequest): Promise<{ body?: unknown }> => {
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AmazonSQS\./, '');
    const queue =
      typeof req.body.QueueUrl === 'string'
        ? req.body.QueueUrl.split('/').pop()
        : (req.body.QueueName as string | undefined);
    try {
      options.quota?.admit(operation, () => sqsError('RequestThrottled', 'Request is throttled.'));
      await faults.before(operation);
      const body = await handle(operation, req.body);
      calls.push({ operation, ...(queue ? { queue } : {}), outcome: 'ok' });
      return { body };
    } catch (error) {
      calls.push({
        operation,
        ...(queue ? { queue } : {}),
        outcome: (error as { type?: string }).type?.replace(/^.*#/, '') ?? (error as Error).name,
      });
      throw error;
    }
  };

  const server = await startLocalServer(route, {
    port: options.port,
    style: 'json-1.0',
    contentType: 'application/x-amz-json-1.0',
  });
  store = new SqsStore({
    endpoint: server.endpoint,
    region: options.region ?? 'us-east-1',
    accountId: options.accountId ?? '000000000000',
    clock,
  });
  for (const [name, attributes] of Object.entries(options.queues ?? {})) store.createQueue(name, attributes);

  return {
    endpoint: server.endpoint,
    port: server.port,
    clock,
    calls,
    createQueue: (name, attributes) => store.createQueue(name, attributes).url,
    queueUrl: (name) => store.byName(name).url,
    queueArn: (name) => store.byName(name).arn,
    messages: (name) =>
      store.byName(name).messages.map((m) => ({
        messageId: m.messageId,
        body: m.body,
        attributes: m.attributes,
        receiveCount: m.receiveCount,
        visibleAt: m.visibleAt,
        ...(m.deadLetterSourceArn ? { deadLetterSourceArn: m.deadLetterSourceArn } : {}),
      })),
    counts: (name) => store.counts(store.byName(name)),
    advance(ms) {
      clock.advance(ms);
      store.notify();
    },
    setLatency: faults.setLatency,
    throttle: faults.throttle,
    failNext: faults.failNext,
    clearFaults: faults.clearFaults,
    async stop() {
      stopped = true;
      store.notify();
      await server.close();
    },
  };
}
