import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { DispatchError } from '../errors.js';
import { createMetricsBatch, resolveMetrics, type MetricsOption } from '../metrics/emitter.js';
import { METRICS } from '../metrics/names.js';
import { declareOptions, validateOptions } from '../options.js';
import { decodeOutboxImage, MalformedOutboxItemError } from '../outbox/decode.js';
import type { OutboxMessage } from '../outbox/messages.js';
import { createCaller, createServiceLimiters, newStats, type DispatchStats } from './calls.js';
import { createLimiter } from './limiter.js';
import {
  DISPATCHER_SETTINGS,
  resolveDispatcherConfig,
  tableNameFromStreamArn,
  type DispatcherConfig,
  type DispatcherSettings,
} from './config.js';
import type { LoggerLike } from '../logger.js';
import { isImagelessOutboxInsert, isOutboxInsert } from './decide.js';
import { createEventPublisher, type EventPublisher } from './eventbridge.js';
import { createJobRecordReader } from './job-records.js';
import { dispatchCancelJob, dispatchRescheduleJob, dispatchScheduleJob, type JobDispatchDeps } from './jobs.js';
import { realRetryClock, type RetryClock } from './retry.js';
import { createScheduleStore } from './scheduler.js';

/** Options of {@link outboxDispatcher}: the settings (each with an environment variable) plus clients and logger. */
export interface OutboxDispatcherOptions extends DispatcherSettings {
  /**
   * SDK clients to use. By default one of each is created from the environment with `maxAttempts: 1`,
   * so that the dispatcher's own retries (bounded by the invocation's remaining time) are the only ones.
   */
  readonly clients?: {
    readonly scheduler?: SchedulerClient;
    readonly eventBridge?: EventBridgeClient;
    readonly dynamodb?: DynamoDBClient;
    /** Sends the timers when `timerQueueUrl` is set. */
    readonly sqs?: SQSClient;
  };
  /** @default a Powertools `Logger` with service name `outbox-dispatcher` */
  readonly logger?: LoggerLike;
  /** Where the environment variables are read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Sleep and randomness of the retries (tests make them instant and deterministic). */
  readonly clock?: Partial<Pick<RetryClock, 'sleep' | 'random'>>;
  /** The dispatch metrics as EMF (docs/operate.md "Metrics"). @default off unless `UOW_METRICS=on` */
  readonly metrics?: MetricsOption;
}

/** The DynamoDB stream handler; `config` is the resolved configuration. */
export interface OutboxDispatcherHandler {
  (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse>;
  readonly config: DispatcherConfig;
}

/** The declaration of {@link OutboxDispatcherOptions}: the settings plus the injected dependencies. */
export const OUTBOX_DISPATCHER_OPTIONS = declareOptions<OutboxDispatcherOptions>()({
  ...DISPATCHER_SETTINGS,
  clients: { doc: 'SDK clients to use', default: 'created from the environment with maxAttempts: 1' },
  logger: { doc: 'Where the dispatcher logs', default: 'Powertools Logger' },
  env: { doc: 'Where the environment variables are read', default: 'process.env' },
  clock: { doc: 'Sleep and randomness of the retries', default: 'real time, Math.random' },
  metrics: { doc: 'The batch metrics as EMF (docs/operate.md "Metrics")', default: 'off unless UOW_METRICS=on' },
});

interface InvocationDeps {
  readonly publisher: EventPublisher;
  readonly jobs: Omit<JobDispatchDeps, 'table'>;
  readonly config: DispatcherConfig;
  readonly stats: DispatchStats;
  readonly chains: Map<string, Promise<unknown>>;
  /** Dispatch lag of every record dispatched in full: now minus its outbox item's `createdAt` (the commit time). */
  readonly lagsMs: number[];
}

/** Runs `fn` after the previous job message of the same key in this batch settled (stream order per key). */
function chained<T>(chains: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
  const run = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
  chains.set(
    key,
    run.catch(() => undefined),
  );
  return run;
}

function dispatchMessage(message: OutboxMessage, deps: InvocationDeps, table: string | undefined): Promise<unknown> {
  if (message.kind === 'event') return deps.publisher.publish(message.event, message.traceHeader);
  if (!table) throw new DispatchError(message.kind, 'the outbox table is unknown: set outboxTable (UOW_OUTBOX_TABLE)');
  const jobDeps = { ...deps.jobs, table };
  if (message.kind === 'job.schedule')
    return chained(deps.chains, message.job.key, () => dispatchScheduleJob(message, jobDeps));
  if (message.kind === 'job.reschedule')
    return chained(deps.chains, message.key, () => dispatchRescheduleJob(message, jobDeps));
  return chained(deps.chains, message.key, () => dispatchCancelJob(message, jobDeps));
}

function messageRef(message: OutboxMessage): string {
  if (message.kind === 'event') return `event ${message.event.type} ${message.event.id}`;
  if (message.kind === 'job.schedule') return `job.schedule ${message.job.key} (${message.job.jobId})`;
  return `${message.kind} ${message.key}`;
}

/**
 * Refuses to start a record when less than `retry.safetyMarginMs` is left of the invocation: it is reported
 * failed without a single call made (never half-done), and Lambda redelivers it with the rest of the batch.
 */
function assertTimeToStart(record: DynamoDBRecord, clock: RetryClock, config: DispatcherConfig): void {
  const left = clock.remainingMs();
  if (left >= config.retry.safetyMarginMs) return;
  throw new DispatchError(
    `stream record ${record.dynamodb?.SequenceNumber ?? record.eventID ?? '?'}`,
    `not started: ${Math.max(0, Math.round(left))} ms left in the invocation, less than retry.safetyMarginMs (${config.retry.safetyMarginMs} ms)`,
  );
}

async function dispatchRecord(record: DynamoDBRecord, deps: InvocationDeps): Promise<void> {
  if (isImagelessOutboxInsert(record))
    throw new DispatchError(
      `outbox item ${record.dynamodb?.Keys?.pk?.S ?? '?'}/${record.dynamodb?.Keys?.sk?.S ?? '?'}`,
      `the stream record has no NewImage (StreamViewType ${record.dynamodb?.StreamViewType ?? 'unknown'}): its messages cannot be read; ` +
        'set the outbox table stream view type to NEW_IMAGE (or NEW_AND_OLD_IMAGES)',
    );
  if (!isOutboxInsert(record)) {
    deps.stats.ignored++;
    return;
  }
  const item = decodeOutboxImage(record.dynamodb?.NewImage as Parameters<typeof decodeOutboxImage>[0]);
  const table = deps.config.outboxTable ?? tableNameFromStreamArn(record.eventSourceARN);
  const results = await Promise.allSettled(
    item.messages.map((m) => {
      try {
        return dispatchMessage(m, deps, table);
      } catch (error) {
        return Promise.reject(error);
      }
    }),
  );
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected' ? [{ message: messageRef(item.messages[i]!), error: r.reason as Error }] : [],
  );
  if (failures.length > 0) {
    const error = new DispatchError(
      `outbox item ${item.pk}/${item.sk}`,
      `${failures.length} of ${item.messages.length} messages failed: ${failures.map((f) => `${f.message}: ${f.error.message}`).join('; ')}`,
      {
        cause: failures.length === 1 ? failures[0]!.error : new AggregateError(failures.map((f) => f.error)),
        failures,
      },
    );
    throw error;
  }
  const committedAt = Date.parse(item.createdAt);
  if (Number.isFinite(committedAt)) deps.lagsMs.push(Math.max(0, Date.now() - committedAt)); // clocks may skew
}

/**
 * The outbox dispatcher: the handler of the outbox table's DynamoDB stream (event source mapping with
 * `ReportBatchItemFailures`). For every INSERT of an outbox item it publishes the events with
 * `PutEvents` and creates, updates or deletes the job schedules in EventBridge Scheduler (with `timerQueueUrl`,
 * one-time jobs due within 15 minutes get a delayed SQS message instead, `SendMessageBatch`); other records
 * are ignored (an outbox INSERT without `NewImage`, a misconfigured stream, is reported failed). After
 * each schedule call the job record is read again and the schedule converged to it if it moved meanwhile
 * (a late call never leaves a stale schedule). Calls of the whole batch run in parallel, per AWS service
 * (Scheduler, EventBridge, DynamoDB) in an AIMD window of at most `concurrency` calls that throttling cuts
 * and successes grow back; throttling and server errors are retried with full-jitter backoff while the
 * invocation has time (minus `retry.safetyMarginMs`), so a record fails only when time runs out. A record whose messages
 * could not all be delivered (or that cannot be decoded) is returned in `batchItemFailures`, logged with
 * its sequence number, key and reason, and never fails its neighbours. Redelivery is safe: schedules
 * have deterministic names, and events keep their ids.
 *
 * Configuration is read once, when the handler is created (cold start), and missing settings throw a
 * `ConfigurationError` naming them.
 *
 * @example
 * ```ts
 * // functions/outbox-dispatcher.ts: everything from the environment (UOW_JOB_RUNNER_ARN, …)
 * export const handler = outboxDispatcher();
 *
 * // or explicit
 * export const handler = outboxDispatcher({
 *   eventBusName: 'orders', jobRunnerArn, schedulerRoleArn, deadLetterQueueArn, concurrency: 16,
 * });
 * ```
 */
export function outboxDispatcher(options: OutboxDispatcherOptions = {}): OutboxDispatcherHandler {
  validateOptions('outboxDispatcher', OUTBOX_DISPATCHER_OPTIONS, options);
  const config = resolveDispatcherConfig(options, options.env ?? process.env);
  const logger: LoggerLike = options.logger ?? new Logger({ serviceName: 'outbox-dispatcher' });
  const scheduler = options.clients?.scheduler ?? new SchedulerClient({ maxAttempts: 1 });
  const eventBridge = options.clients?.eventBridge ?? new EventBridgeClient({ maxAttempts: 1 });
  const dynamodb = options.clients?.dynamodb ?? new DynamoDBClient({ maxAttempts: 1 });
  // The SQS client and the sender load on the first invocation, and only with timers on (no cold-start cost otherwise).
  let timerSender: Promise<typeof import('./timer-sender.js')> | undefined;
  let sqs = options.clients?.sqs;
  const limiters = createServiceLimiters(config.concurrency);
  const metrics = resolveMetrics(options.metrics, 'outboxDispatcher', options.env ?? process.env);

  const handler = async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
    const started = performance.now();
    if (!options.logger && context) (logger as Logger).addContext(context);
    const stats = newStats();
    const base = realRetryClock(
      context?.getRemainingTimeInMillis ? () => context.getRemainingTimeInMillis() : undefined,
    );
    const clock: RetryClock = { ...base, ...options.clock };
    const caller = (service: keyof typeof limiters) => createCaller(limiters[service], config.retry, clock, stats);
    const timerModule = config.timerQueueUrl ? await (timerSender ??= import('./timer-sender.js')) : undefined;
    if (timerModule) sqs ??= timerModule.createDefaultSqsClient();
    const deps: InvocationDeps = {
      publisher: createEventPublisher(eventBridge, config.eventBusName, caller('events')),
      jobs: {
        store: createScheduleStore(scheduler, caller('scheduler')),
        records: createJobRecordReader(dynamodb, caller('dynamodb')),
        config,
        stats,
        logger,
        ...(timerModule && sqs && config.timerQueueUrl
          ? { timers: timerModule.createTimerSender(sqs, config.timerQueueUrl, caller('sqs')) }
          : {}),
      },
      config,
      stats,
      chains: new Map(),
      lagsMs: [],
    };
    const records = event.Records ?? [];
    stats.records = records.length;
    // Records start in stream order, `concurrency` at a time, each only while the invocation has time left.
    const recordGate = createLimiter(config.concurrency);

    const recordHandler = async (record: DynamoDBRecord): Promise<void> => {
      try {
        await recordGate.run(() => {
          assertTimeToStart(record, clock, config);
          return dispatchRecord(record, deps);
        });
      } catch (error) {
        stats.failed++;
        const key = record.dynamodb?.Keys;
        logger.error(
          error instanceof MalformedOutboxItemError ? 'malformed outbox item' : 'outbox item not dispatched',
          {
            sequenceNumber: record.dynamodb?.SequenceNumber,
            eventID: record.eventID,
            pk: key?.pk?.S,
            sk: key?.sk?.S,
            reason: (error as Error).message,
            ...(error instanceof DispatchError && error.failures.length > 0
              ? { failedMessages: error.failures.map((f) => f.message) }
              : {}),
            error: error as Error,
          },
        );
        throw error;
      }
    };
    const processor = new BatchProcessor(EventType.DynamoDBStreams);
    const response = (await processPartialResponse(event, recordHandler, processor, {
      ...(context ? { context } : {}),
      processInParallel: config.concurrency > 1,
      throwOnFullBatchFailure: false,
    })) as DynamoDBBatchResponse;
    logger.info('outbox batch dispatched', {
      ...stats,
      batchItemFailures: response.batchItemFailures.length,
      ...(deps.lagsMs.length ? { maxLagMs: deps.lagsMs.reduce((a, b) => Math.max(a, b)) } : {}),
      peakConcurrency: Math.max(...Object.values(limiters).map((l) => l.peak)),
      window: Object.fromEntries(Object.entries(limiters).map(([service, l]) => [service, l.limit])),
      latencyMs: Math.round(performance.now() - started),
    });
    if (metrics) {
      const batch = createMetricsBatch(metrics);
      batch.add(METRICS.dispatchRecords, stats.records);
      batch.add(METRICS.eventsPublished, stats.eventsPublished);
      batch.add(METRICS.schedulesCreated, stats.schedulesCreated);
      batch.add(METRICS.schedulesUpdated, stats.schedulesUpdated);
      batch.add(METRICS.schedulesDeleted, stats.schedulesDeleted);
      batch.add(METRICS.timersQueued, stats.timersSent);
      batch.add(METRICS.callsThrottled, stats.throttled);
      batch.add(METRICS.dispatchFailures, stats.callsFailed);
      batch.add(METRICS.partialBatchFailures, response.batchItemFailures.length);
      for (const lag of deps.lagsMs) batch.add(METRICS.dispatchLagMs, lag);
      await batch.flush(logger); // never throws: the batch response stands
    }
    return { batchItemFailures: [...response.batchItemFailures] }; // a fresh object: Powertools reuses its default response
  };
  return Object.assign(handler, { config });
}
