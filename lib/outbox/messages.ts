/**
 * Messages carried by outbox items. Events are CloudEvents 1.0 JSON envelopes; job messages tell the
 * dispatcher which EventBridge Scheduler schedule to create, update or delete.
 */
import type { TraceContext } from '../trace-context.js';

/** A CloudEvents 1.0 envelope (JSON format), as published to EventBridge as `Detail`. */
export interface CloudEvent<TData = unknown> {
  readonly specversion: '1.0';
  /** Time-sortable unique id (UUIDv7); the same on every redelivery. */
  readonly id: string;
  readonly source: string;
  readonly type: string;
  /** RFC 3339 time the event was published on the unit of work. */
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly subject?: string;
  /** Request id of the invocation that committed the event (extension attribute). */
  readonly correlationid?: string;
  /** Id of the consumed event whose handling published this one (extension attribute; set by the inbox). */
  readonly causationid?: string;
  /** W3C trace context of the commit (CloudEvents distributed-tracing extension). */
  readonly traceparent?: string;
  /** W3C `tracestate` that goes with `traceparent` (distributed-tracing extension). */
  readonly tracestate?: string;
  readonly data: TData;
}

/** When a job runs: exactly one of `at`, `cron`, `rate` (a `delay` is turned into `at` at buffer time). */
export interface JobScheduleSpec {
  /** One-time: ISO 8601 UTC time, whole seconds (`2026-11-22T10:15:00Z`). */
  readonly at?: string;
  /** Recurring: EventBridge Scheduler cron body, 6 fields (`0 8 * * ? *`). */
  readonly cron?: string;
  /** Recurring: EventBridge Scheduler rate body (`5 minutes`). */
  readonly rate?: string;
  /** IANA time zone of a cron expression. @default 'UTC' */
  readonly timezone?: string;
}

/** What the job runner receives (plus the Scheduler context attributes) for one job. */
export interface JobEnvelope<TPayload = unknown> {
  readonly jobId: string;
  readonly key: string;
  readonly name: string;
  /** Version of the job record this schedule was made for; a stale version is skipped by the runner. */
  readonly version: number;
  readonly payload: TPayload;
  readonly scheduleName: string;
  /** Request id of the invocation that scheduled the job (from the job record; the dispatcher sets it). */
  readonly correlationId?: string;
  /** Trace context of the commit that scheduled the job (from the job record; the dispatcher sets it). */
  readonly traceContext?: TraceContext;
}

/** Create the schedule of a newly committed job. */
export interface ScheduleJobMessage {
  readonly kind: 'job.schedule';
  readonly job: JobEnvelope;
  readonly schedule: JobScheduleSpec;
  readonly maxAttempts: number;
}

/** Move an existing job to a new time (also used by the runner for retries with backoff). */
export interface RescheduleJobMessage {
  readonly kind: 'job.reschedule';
  readonly key: string;
  readonly scheduleName: string;
  /**
   * The job-record version after the change, when the writer knows it (a runner's retry, conditional on the
   * claimed version). A unit of work's reschedule increments the version in DynamoDB and leaves this out.
   * The dispatcher never relies on it: it applies the job record it reads (docs/jobs.md, "Versions").
   */
  readonly version?: number;
  readonly schedule: JobScheduleSpec;
}

/** Delete the schedule of a cancelled job. */
export interface CancelJobMessage {
  readonly kind: 'job.cancel';
  readonly key: string;
  readonly scheduleName: string;
}

/** Publish one event. */
export interface EventMessage {
  readonly kind: 'event';
  readonly event: CloudEvent;
  /** X-Ray trace header of the commit, sent as the PutEvents entry's `TraceHeader`. */
  readonly traceHeader?: string;
}

/** Any message of an outbox item. */
export type OutboxMessage = EventMessage | ScheduleJobMessage | RescheduleJobMessage | CancelJobMessage;

/** The decoded form of one outbox item. */
export interface OutboxItem {
  readonly pk: string;
  readonly sk: string;
  readonly commitId: string;
  /** 1-based part number when a commit's messages did not fit in one item. */
  readonly part: number;
  readonly parts: number;
  readonly correlationId?: string;
  readonly createdAt: string;
  readonly ttl: number;
  readonly messages: readonly OutboxMessage[];
}
