/**
 * Pure mapping of outbox messages to EventBridge `PutEvents` entries and EventBridge Scheduler calls.
 * No I/O, no clock: every function here is tested without a network.
 */
import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { jobRunnerInputTemplate } from '../job-record/delivery-input.js';
import type { CloudEvent, JobEnvelope, JobScheduleSpec } from '../outbox/messages.js';
import type { DispatcherConfig } from './config.js';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../outbox/put-events-size.js';
import { isoSeconds } from '../iso-time.js';

/** Largest target `Input` of a schedule, in characters (a Scheduler limit). */
export const MAX_SCHEDULE_INPUT_CHARS = 8192;

/**
 * The `PutEvents` entry of a CloudEvent: `Source` and `DetailType` from the event, `Detail` the whole
 * CloudEvents JSON envelope, `Time` the event time, `TraceHeader` the commit's X-Ray header when it had one.
 */
export function toPutEventsEntry(event: CloudEvent, eventBusName: string, traceHeader?: string): PutEventsRequestEntry {
  const time = new Date(event.time);
  return {
    EventBusName: eventBusName,
    Source: event.source,
    DetailType: event.type,
    Detail: JSON.stringify(event),
    ...(Number.isNaN(time.getTime()) ? {} : { Time: time }),
    ...(traceHeader ? { TraceHeader: traceHeader } : {}),
  };
}

/**
 * Splits items into `PutEvents` calls of at most {@link PUT_EVENTS_LIMITS} entries and bytes, keeping
 * their order. An item that alone exceeds the byte limit gets a call of its own (the service rejects it).
 */
export function chunkPutEvents<T>(
  items: readonly T[],
  entryOf: (item: T) => PutEventsRequestEntry,
  limits = PUT_EVENTS_LIMITS,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = putEventsEntrySize(entryOf(item));
    if (current.length > 0 && (current.length >= limits.maxEntries || bytes + size > limits.maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** `yyyy-mm-ddThh:mm:ss` of an ISO time, in UTC, rounded up to the second (when an `at` schedule fires). */
export function atBody(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`"${iso}" is not an ISO 8601 time`);
  return isoSeconds(ms, 'ceil').slice(0, 19);
}

/** The Scheduler expression fields of a job schedule. */
export interface ScheduleExpressionFields {
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone?: string;
  readonly ActionAfterCompletion: 'DELETE' | 'NONE';
}

/**
 * The Scheduler expression of a job: `at(yyyy-mm-ddThh:mm:ss)` in UTC that deletes itself after it ran,
 * or a recurring `cron(...)` (with its time zone, UTC by default) / `rate(...)` that stays.
 */
export function scheduleExpressionOf(spec: JobScheduleSpec): ScheduleExpressionFields {
  if (spec.at !== undefined)
    return {
      ScheduleExpression: `at(${atBody(spec.at)})`,
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
    };
  if (spec.cron !== undefined)
    return {
      ScheduleExpression: `cron(${spec.cron.trim()})`,
      ScheduleExpressionTimezone: spec.timezone ?? 'UTC',
      ActionAfterCompletion: 'NONE',
    };
  if (spec.rate !== undefined)
    return {
      ScheduleExpression: `rate(${spec.rate.trim()})`,
      ...(spec.timezone ? { ScheduleExpressionTimezone: spec.timezone } : {}),
      ActionAfterCompletion: 'NONE',
    };
  throw new RangeError('a job schedule needs one of at, cron, rate');
}

/**
 * The target `Input` of a job schedule: the job envelope plus the Scheduler context placeholders. When
 * that JSON exceeds the Scheduler's 8192 characters the payload is left out and `payloadOmitted: true`
 * tells the job runner to read it from the job record.
 */
export function jobScheduleInputJson(job: JobEnvelope): string {
  const template = jobRunnerInputTemplate(job);
  const json = JSON.stringify(template);
  if (json.length <= MAX_SCHEDULE_INPUT_CHARS) return json;
  const { payload: _omitted, ...rest } = template;
  return JSON.stringify({ ...rest, payloadOmitted: true });
}

/**
 * The full `CreateSchedule` (and `UpdateSchedule`, which takes the same fields) input of a job: the
 * deterministic schedule name, the configured group, `FlexibleTimeWindow` OFF, the job runner as target
 * with the scheduler role, the retry policy and dead-letter queue.
 */
export function jobScheduleRequest(
  job: JobEnvelope,
  spec: JobScheduleSpec,
  config: DispatcherConfig,
): CreateScheduleCommandInput {
  return {
    Name: job.scheduleName,
    GroupName: config.scheduleGroup,
    ...scheduleExpressionOf(spec),
    FlexibleTimeWindow: { Mode: 'OFF' },
    State: 'ENABLED',
    Description: `job ${job.name} key ${job.key} v${job.version}`.slice(0, 512),
    Target: {
      Arn: config.jobRunnerArn,
      RoleArn: config.schedulerRoleArn,
      Input: jobScheduleInputJson(job),
      RetryPolicy: {
        MaximumRetryAttempts: config.scheduleRetryPolicy.maximumRetryAttempts,
        MaximumEventAgeInSeconds: config.scheduleRetryPolicy.maximumEventAgeInSeconds,
      },
      ...(config.deadLetterQueueArn ? { DeadLetterConfig: { Arn: config.deadLetterQueueArn } } : {}),
    },
  };
}
