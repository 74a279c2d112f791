import type { CreateScheduleCommandInput } from '@aws-sdk/client-scheduler';
import { DispatchError } from '../errors.js';
import type { JobRecord } from '../job-record/record.js';
import type { CancelJobMessage, JobEnvelope, RescheduleJobMessage, ScheduleJobMessage } from '../outbox/messages.js';
import type { DispatchStats } from './calls.js';
import type { DispatcherConfig } from './config.js';
import type { LoggerLike } from '../logger.js';
import { describeJobRecord, desiredSchedule, mayHaveSchedule, sameSchedule, scheduleFingerprint } from './decide.js';
import type { JobRecordReader } from './job-records.js';
import { jobScheduleRequest } from './map.js';
import type { ScheduleStore } from './scheduler.js';
import { isTimerDue, jobTimer, type TimerSender } from './timers.js';

/**
 * What the dispatcher did for a job, by its result: a Scheduler call, `queued` (an SQS timer sent, and any
 * schedule the job may have had deleted), or `none` (the job needs no delivery and never had a schedule).
 */
export type ScheduleAction =
  | 'created'
  | 'updated'
  | 'already-present'
  | 'replaced'
  | 'deleted'
  | 'already-gone'
  | 'queued'
  | 'none';

/** What the dispatcher did with one job message. */
export interface JobOutcome {
  /** The first call: it applied the job record as read when the message was handled. */
  readonly action: ScheduleAction;
  readonly scheduleName: string;
  /**
   * The calls made after the first because the job record moved while it was in flight (a newer
   * reschedule, a cancel, a retry), each with the record state it applied (`jobId vN STATUS` or `missing`).
   */
  readonly reconciled?: readonly { readonly action: ScheduleAction; readonly record: string }[];
}

/** What the job message handlers need. */
export interface JobDispatchDeps {
  readonly store: ScheduleStore;
  readonly records: JobRecordReader;
  readonly config: DispatcherConfig;
  /** The outbox/jobs table holding the job records. */
  readonly table: string;
  readonly stats: DispatchStats;
  /** Where a convergence (the record moved during the call) is logged, at info level. */
  readonly logger?: Pick<LoggerLike, 'info'>;
  /** The SQS timer transport (`timerQueueUrl` set): one-time jobs due within 15 minutes go there. */
  readonly timers?: TimerSender;
  /** The time timer delays count from. @default Date.now */
  readonly now?: () => number;
}

/** `CreateSchedule`/`GetSchedule`/`UpdateSchedule` rounds of one {@link putSchedule} while the schedule changes under it. */
const MAX_ROUNDS = 3;

/**
 * Schedule calls of one job message, each followed by a consistent read of the job record, before the
 * message is reported failed (Lambda retries its record) because the record kept moving.
 */
export const MAX_CONVERGENCE_ROUNDS = 5;

/** The job envelope of a schedule made from the job record itself (its job id, version, name and payload). */
function envelopeOf(record: JobRecord, scheduleName: string, operation: string): JobEnvelope {
  let payload: unknown;
  try {
    payload = JSON.parse(record.payload);
  } catch (error) {
    throw new DispatchError(operation, 'the job record payload is not JSON', { cause: error });
  }
  return {
    jobId: record.jobId,
    key: record.jobKey,
    name: record.jobName,
    version: record.version,
    payload,
    scheduleName,
    ...(record.correlationId ? { correlationId: record.correlationId } : {}),
    ...(record.traceContext ? { traceContext: record.traceContext } : {}),
  };
}

/**
 * The schedule `record` calls for ({@link desiredSchedule}) as the full `CreateSchedule` input (the record's
 * job id, version, payload and schedule; the configured target, role, retry policy and dead-letter queue),
 * or `undefined` when it calls for none. Messages only say which job to look at: this is what is applied.
 */
export function scheduleRequestOfRecord(
  record: JobRecord | undefined,
  scheduleName: string,
  config: DispatcherConfig,
  operation = `schedule ${scheduleName}`,
): CreateScheduleCommandInput | undefined {
  if (!record || !desiredSchedule(record).present) return undefined;
  if (!record.schedule)
    throw new DispatchError(operation, `the job record (${describeJobRecord(record)}) has no schedule`);
  return jobScheduleRequest(envelopeOf(record, scheduleName, operation), record.schedule, config);
}

/**
 * Makes the schedule exactly `request`. `createFirst` (a new job) tries CreateSchedule and, on
 * `ConflictException`, reads the existing schedule: the same in every field that matters
 * ({@link sameSchedule}) means done, anything else is replaced with UpdateSchedule. Otherwise
 * UpdateSchedule first, and CreateSchedule when the schedule is gone (a one-time schedule deletes itself).
 */
async function putSchedule(
  request: CreateScheduleCommandInput,
  deps: JobDispatchDeps,
  createFirst: boolean,
): Promise<ScheduleAction> {
  const name = request.Name!;
  let tryCreate = createFirst;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (!tryCreate) {
      if ((await deps.store.update(request)) === 'updated') {
        deps.stats.schedulesUpdated++;
        return createFirst ? 'replaced' : 'updated';
      }
      tryCreate = true;
      continue;
    }
    if ((await deps.store.create(request)) === 'created') {
      deps.stats.schedulesCreated++;
      return 'created';
    }
    const existing = await deps.store.get(name, deps.config.scheduleGroup);
    if (!existing) continue; // deleted in between: create again
    if (sameSchedule(existing, request)) {
      deps.stats.schedulesAlreadyPresent++;
      return 'already-present';
    }
    tryCreate = false;
  }
  throw new DispatchError(
    `schedule ${name}`,
    `the schedule kept changing under the dispatcher for ${MAX_ROUNDS} rounds`,
  );
}

/** DeleteSchedule; a schedule that is already gone is success. */
async function removeSchedule(scheduleName: string, deps: JobDispatchDeps): Promise<ScheduleAction> {
  if ((await deps.store.delete(scheduleName, deps.config.scheduleGroup)) === 'deleted') {
    deps.stats.schedulesDeleted++;
    return 'deleted';
  }
  deps.stats.schedulesAlreadyGone++;
  return 'already-gone';
}

/** What a job record calls for, and the call(s) that make it so. */
interface Plan {
  /** Equal for two reads of the record that call for the same thing (the convergence test). */
  readonly fingerprint: string;
  apply(): Promise<ScheduleAction>;
}

/**
 * The {@link Plan} of `record`: with the SQS transport, a one-time job due within 15 minutes gets a timer
 * message (and the delete of a schedule it may have had, {@link mayHaveSchedule}); a job that calls for no
 * delivery and never had a schedule needs no call. Anything else gets its schedule made or deleted.
 */
function planOf(
  record: JobRecord | undefined,
  scheduleName: string,
  createFirst: boolean,
  deps: JobDispatchDeps,
  operation: string,
): Plan {
  const timers = deps.timers;
  const now = (deps.now ?? Date.now)();
  if (timers && record && desiredSchedule(record).present && isTimerDue(record.schedule, now)) {
    const timer = jobTimer(envelopeOf(record, scheduleName, operation), record.schedule.at!, now);
    return {
      fingerprint: `timer ${timer.body}`,
      apply: async () => {
        await timers.send(timer, `job ${record.jobKey} v${record.version}`);
        if (mayHaveSchedule(record)) await removeSchedule(scheduleName, deps);
        return 'queued';
      },
    };
  }
  const request = scheduleRequestOfRecord(record, scheduleName, deps.config, operation);
  const fingerprint = scheduleFingerprint(request);
  if (request) return { fingerprint, apply: () => putSchedule(request, deps, createFirst) };
  if (timers && !mayHaveSchedule(record))
    return {
      fingerprint,
      apply: async () => {
        deps.stats.jobsWithoutCall++;
        return 'none';
      },
    };
  return { fingerprint, apply: () => removeSchedule(scheduleName, deps) };
}

/**
 * The one handling of every job message (schedule, reschedule, cancel; first delivery or redelivery):
 * read the job record (consistent), make the schedule what it calls for, read it again, and repeat until
 * the record read after the last call calls for the very schedule that call set. There is no early
 * return: whatever the message says, and however stale it is, the handling ends with the schedule
 * matching the record read last, or fails (Lambda redelivers the stream record, which does the same).
 * A call that landed late (slow, retried after throttling) therefore never leaves a stale schedule:
 * whichever handling makes the last call also reads the newest record afterwards and converges to it.
 */
async function convergeJob(
  key: string,
  scheduleName: string,
  createFirst: boolean,
  deps: JobDispatchDeps,
): Promise<JobOutcome> {
  const operation = `schedule ${scheduleName}`;
  const calls: { action: ScheduleAction; record: string }[] = [];
  let applied: string | undefined;
  for (let round = 1; ; round++) {
    const record = await deps.records.read(deps.table, key);
    const plan = planOf(record, scheduleName, round === 1 && createFirst, deps, operation);
    const wanted = plan.fingerprint;
    if (wanted === applied) break;
    if (round > MAX_CONVERGENCE_ROUNDS)
      throw new DispatchError(
        operation,
        `the job record kept changing while its schedule was being set (${MAX_CONVERGENCE_ROUNDS} rounds; record now ${describeJobRecord(record)})`,
      );
    const action = await plan.apply();
    calls.push({ action, record: describeJobRecord(record) });
    applied = wanted;
    if (action === 'none') break; // no call made: none can have landed late
  }
  const [first, ...reconciled] = calls;
  if (reconciled.length === 0) return { action: first!.action, scheduleName };
  deps.stats.jobsReconciled++;
  deps.logger?.info('job schedule converged to a job record that moved during dispatch', {
    key,
    scheduleName,
    action: first!.action,
    basedOn: first!.record,
    reconciled,
  });
  return { action: first!.action, scheduleName, reconciled };
}

/** `job.schedule`: the schedule of a newly committed job (CreateSchedule first), converged to its record. */
export function dispatchScheduleJob(message: ScheduleJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  return convergeJob(message.job.key, message.job.scheduleName, true, deps);
}

/** `job.reschedule` (a reschedule or a runner's retry): UpdateSchedule first, converged to the job record. */
export function dispatchRescheduleJob(message: RescheduleJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  return convergeJob(message.key, message.scheduleName, false, deps);
}

/** `job.cancel`: the schedule the record calls for (none, unless a new job took the key), converged. */
export function dispatchCancelJob(message: CancelJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  return convergeJob(message.key, message.scheduleName, false, deps);
}
