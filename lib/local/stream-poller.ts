/**
 * A local stand-in for Lambda's DynamoDB event source mapping: it reads a DynamoDB Local stream
 * (DescribeStream, GetShardIterator, GetRecords) and invokes a handler with `DynamoDBStreamEvent`s,
 * with the mapping's batch size, filter criteria, `ReportBatchItemFailures` checkpointing, bounded
 * retries, bisect on error and on-failure destination.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigurationError } from '../errors.js';
import { OUTBOX_STREAM_FILTER_PATTERN } from '../outbox/schema.js';
import { LOCAL_AWS_CONFIG } from './dynamodb-local.js';
import type { EventPattern } from './event-pattern.js';
import { localLambdaContext } from './stream-record.js';
import { laneBatches, ShardReader } from './stream-shards.js';

/** The handler the poller invokes, as Lambda would. */
export type StreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | void | undefined | null>;

/** What the on-failure destination receives when a batch is discarded (Lambda's invocation record, plus the records). */
export interface StreamFailure {
  readonly version: '1.0';
  readonly timestamp: string;
  readonly requestContext: {
    requestId: string;
    functionArn: string;
    condition: 'RetryAttemptsExhausted';
    approximateInvokeCount: number;
  };
  readonly responseContext: { statusCode: 200; executedVersion: '$LATEST'; functionError?: 'Unhandled' };
  readonly DDBStreamBatchInfo: {
    shardId: string;
    startSequenceNumber: string;
    endSequenceNumber: string;
    approximateArrivalOfFirstRecord?: string;
    approximateArrivalOfLastRecord?: string;
    batchSize: number;
    streamArn: string;
  };
  /** Local extra: the discarded records (Lambda only sends their sequence range). */
  readonly records: readonly DynamoDBRecord[];
  /** Local extra: what the last attempt reported failed, or the error it threw. */
  readonly failedSequenceNumbers: readonly string[];
  readonly error?: string;
}

/** Options of {@link startStreamPoller}. */
export interface StreamPollerOptions {
  readonly streamArn: string;
  readonly handler: StreamHandler;
  /** A DynamoDB Streams client, or the DynamoDB Local endpoint to make one for. */
  readonly client?: DynamoDBStreamsClient;
  readonly endpoint?: string;
  /** @default 100 */
  readonly batchSize?: number;
  /** Filter criteria (any pattern matches). `[]` delivers everything. @default [OUTBOX_STREAM_FILTER_PATTERN] */
  readonly filterPatterns?: readonly EventPattern[];
  /**
   * Retries of a failing batch before it goes to `onFailure`; -1 retries forever (Lambda's default).
   * @default 5 (the `TransactionalOutbox` construct's `retryAttempts`; bisect is on in both)
   */
  readonly maximumRetryAttempts?: number;
  /** @default true */
  readonly bisectBatchOnFunctionError?: boolean;
  /**
   * Lambda's `ParallelizationFactor` (1–10): up to this many batches of one shard in flight at once, records of one
   * partition key (the item's key) in one lane, in order, never in two concurrent batches. @default 1
   */
  readonly parallelizationFactor?: number;
  /** Honour `batchItemFailures` (Lambda's `FunctionResponseTypes: ['ReportBatchItemFailures']`). @default true */
  readonly reportBatchItemFailures?: boolean;
  /** The on-failure destination (an SQS queue in the stack). @default the failure is only kept in `failures` */
  readonly onFailure?: (failure: StreamFailure) => void | Promise<void>;
  /** @default 'TRIM_HORIZON' */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Wait between polls when the stream had nothing new. @default 50 */
  readonly pollIntervalMs?: number;
  /** Wait before retrying a failed batch. @default 100 */
  readonly retryDelayMs?: number;
  /** The function timeout: `getRemainingTimeInMillis()` counts down from it; a slower invocation counts as an error. @default 30000 */
  readonly functionTimeoutMs?: number;
  /** @default 'outbox-dispatcher' */
  readonly functionName?: string;
  /** `awsRegion` of the records. @default 'us-east-1' */
  readonly region?: string;
  /** Start paused (call `resume()`), e.g. to commit several units of work before anything is dispatched. @default false */
  readonly paused?: boolean;
}

/** One invocation of the handler. */
export interface StreamInvocation {
  readonly requestId: string;
  readonly shardId: string;
  readonly records: number;
  readonly batchItemFailures: number;
  readonly error?: string;
}

/** A running poller. */
export interface StreamPoller {
  /** Resolves once every record written before the call has been handled (or sent to `onFailure`). */
  drain(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  /** Stops invoking the handler until {@link StreamPoller.resume} (records keep accumulating in the stream). */
  pause(): void;
  resume(): void;
  readonly invocations: readonly StreamInvocation[];
  readonly failures: readonly StreamFailure[];
  /** The last error of the polling loop itself (e.g. the stream is gone), if any. */
  readonly lastPollError?: unknown;
}

interface Batch {
  records: DynamoDBRecord[];
  attempts: number;
  notBefore: number;
}

/**
 * Starts polling `streamArn` and invoking `handler` like an event source mapping with
 * `ReportBatchItemFailures`: per shard (and per lane of `parallelizationFactor`), in order, one batch at a time. A batch that reports failures is
 * retried from the lowest failed sequence number; a batch whose invocation throws is bisected (when
 * enabled) and retried; after `maximumRetryAttempts` the batch goes to `onFailure` and the shard moves on.
 *
 * @example
 * ```ts
 * const poller = startStreamPoller({ endpoint: ddb.endpoint, streamArn, handler: outboxDispatcher(config) });
 * // ... commit a unit of work ...
 * await poller.drain();
 * await poller.stop();
 * ```
 */
export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const region = options.region ?? 'us-east-1';
  const functionName = options.functionName ?? 'outbox-dispatcher';
  const batchSize = options.batchSize ?? 100;
  const maxRetries = options.maximumRetryAttempts ?? 5;
  const bisect = options.bisectBatchOnFunctionError ?? true;
  const reportFailures = options.reportBatchItemFailures ?? true;
  const pollInterval = options.pollIntervalMs ?? 50;
  const retryDelay = options.retryDelayMs ?? 100;
  const timeoutMs = options.functionTimeoutMs ?? 30000;
  const factor = options.parallelizationFactor ?? 1;
  if (!Number.isInteger(factor) || factor < 1 || factor > 10) {
    throw new ConfigurationError(
      'startStreamPoller',
      `parallelizationFactor must be an integer from 1 to 10, got ${factor}`,
    );
  }
  const ownClient = !options.client;
  const client = options.client ?? new DynamoDBStreamsClient({ endpoint: options.endpoint, ...LOCAL_AWS_CONFIG });
  const reader = new ShardReader(
    client,
    options.streamArn,
    region,
    options.filterPatterns ?? [OUTBOX_STREAM_FILTER_PATTERN],
    options.startingPosition ?? 'TRIM_HORIZON',
  );
  /** Per shard, `factor` lanes of batches: each lane one batch at a time, the lanes concurrently. */
  const batches = new Map<string, Batch[][]>();
  const invocations: StreamInvocation[] = [];
  const failures: StreamFailure[] = [];
  let running = true;
  let paused = options.paused ?? false;
  let lastPollError: unknown;
  let cycle = 0;
  let waiters: { since: number; resolve: () => void }[] = [];

  const discard = async (
    shardId: string,
    batch: Batch,
    failed: string[],
    error: string | undefined,
    requestId: string,
  ): Promise<void> => {
    const first = batch.records[0]!;
    const last = batch.records[batch.records.length - 1]!;
    const arrival = (r: DynamoDBRecord): string | undefined =>
      r.dynamodb?.ApproximateCreationDateTime
        ? new Date(r.dynamodb.ApproximateCreationDateTime * 1000).toISOString()
        : undefined;
    const failure: StreamFailure = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId,
        functionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: batch.attempts,
      },
      responseContext: {
        statusCode: 200,
        executedVersion: '$LATEST',
        ...(error ? { functionError: 'Unhandled' as const } : {}),
      },
      DDBStreamBatchInfo: {
        shardId,
        startSequenceNumber: first.dynamodb!.SequenceNumber!,
        endSequenceNumber: last.dynamodb!.SequenceNumber!,
        ...(arrival(first) ? { approximateArrivalOfFirstRecord: arrival(first) } : {}),
        ...(arrival(last) ? { approximateArrivalOfLastRecord: arrival(last) } : {}),
        batchSize: batch.records.length,
        streamArn: options.streamArn,
      },
      records: batch.records,
      failedSequenceNumbers: failed,
      ...(error ? { error } : {}),
    };
    failures.push(failure);
    await options.onFailure?.(failure);
  };

  const invoke = async (shardId: string, queue: Batch[]): Promise<void> => {
    const batch = queue[0]!;
    if (batch.notBefore > Date.now()) return;
    const requestId = randomUUID();
    const context = localLambdaContext(functionName, region, requestId, timeoutMs);
    let response: DynamoDBBatchResponse | void | undefined | null;
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      response = await Promise.race([
        options.handler({ Records: batch.records }, context),
        new Promise<never>(
          (_, reject) =>
            (timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs} ms`)), timeoutMs)),
        ),
      ]);
    } catch (e) {
      error = (e as Error)?.message ?? String(e);
    } finally {
      clearTimeout(timer);
    }
    const reported = reportFailures && !error ? (response?.batchItemFailures ?? []) : [];
    invocations.push({
      requestId,
      shardId,
      records: batch.records.length,
      batchItemFailures: reported.length,
      ...(error ? { error } : {}),
    });
    const sequence = batch.records.map((r) => r.dynamodb?.SequenceNumber);
    const indexes = reported.map((f) => (f?.itemIdentifier ? sequence.indexOf(f.itemIdentifier) : -1));
    if (!error && indexes.length === 0) {
      queue.shift(); // complete success: checkpoint after the batch
      return;
    }
    batch.attempts++;
    // An identifier that is empty or not in the batch makes the whole batch a failure, as in Lambda.
    const wholeBatch = error !== undefined || indexes.some((i) => i < 0);
    const lowest = wholeBatch ? 0 : Math.min(...indexes);
    const remaining: Batch = {
      records: batch.records.slice(lowest),
      attempts: batch.attempts,
      notBefore: Date.now() + retryDelay,
    };
    if (maxRetries >= 0 && batch.attempts > maxRetries) {
      queue.shift();
      const failed = error
        ? remaining.records.map((r) => r.dynamodb!.SequenceNumber!)
        : reported.map((f) => f.itemIdentifier);
      await discard(
        shardId,
        remaining,
        failed,
        error ?? (wholeBatch ? 'invalid batchItemFailures' : undefined),
        requestId,
      );
      return;
    }
    if (error && bisect && remaining.records.length > 1) {
      const half = Math.ceil(remaining.records.length / 2);
      queue.splice(
        0,
        1,
        { ...remaining, records: remaining.records.slice(0, half) },
        { ...remaining, records: remaining.records.slice(half) },
      );
      return;
    }
    queue[0] = remaining;
  };

  const poll = async (): Promise<boolean> => {
    let busy = false;
    // The shards concurrently, and per shard up to `factor` batches (one per lane), as Lambda's event source mapping.
    const shards = await reader.shards((id) => (batches.get(id) ?? []).every((lane) => lane.length === 0));
    await Promise.all(
      shards.map(async (shard) => {
        const lanes = batches.get(shard.shardId) ?? Array.from({ length: factor }, (): Batch[] => []);
        batches.set(shard.shardId, lanes);
        if (lanes.every((lane) => lane.length === 0)) {
          const split = laneBatches(await shard.take(batchSize * factor), factor, batchSize);
          split.forEach((cut, i) => lanes[i]!.push(...cut.map((records) => ({ records, attempts: 0, notBefore: 0 }))));
        }
        const active = lanes.filter((lane) => lane.length > 0);
        if (active.length > 0) busy = true;
        await Promise.all(active.map((lane) => invoke(shard.shardId, lane)));
      }),
    );
    return busy || reader.fetchedInLastRound();
  };

  const loop = (async () => {
    while (running) {
      if (paused) {
        await new Promise((resolve) => setTimeout(resolve, pollInterval));
        continue;
      }
      const started = ++cycle;
      let busy = true;
      try {
        busy = await poll();
        lastPollError = undefined;
      } catch (error) {
        lastPollError = error;
      }
      if (!busy && lastPollError === undefined) {
        const ready = waiters.filter((w) => w.since < started);
        waiters = waiters.filter((w) => w.since >= started);
        for (const w of ready) w.resolve();
      }
      if (!busy && running) await new Promise((resolve) => setTimeout(resolve, pollInterval));
    }
  })();

  return {
    invocations,
    failures,
    get lastPollError() {
      return lastPollError;
    },
    drain(timeout = 10000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.resolve !== done);
          reject(
            new Error(
              `stream poller did not drain within ${timeout} ms${lastPollError ? `: ${(lastPollError as Error).message}` : ''}`,
            ),
          );
        }, timeout);
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push({ since: cycle, resolve: done });
      });
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    async stop() {
      running = false;
      await loop;
      if (ownClient) client.destroy();
    },
  };
}
