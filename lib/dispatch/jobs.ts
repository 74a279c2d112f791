import { DispatchError } from '../errors.js';
import type { JobRecord } from '../jobs/record.js';
import type { CancelJobMessage, JobEnvelope, JobScheduleSpec, RescheduleJobMessage, ScheduleJobMessage } from '../outbox/messages.js';
import type { DispatchStats } from './calls.js';
import type { DispatcherConfig, DispatcherLogger } from './config.js';
import { describeJobRecord, desiredSchedule, onExistingSchedule, sameDesiredSchedule, skipCancel, skipReschedule, skipSchedule } from './decide.js';
import type { JobRecordReader } from './job-records.js';
import { jobOfScheduleInput, jobScheduleRequest } from './map.js';
import type { ScheduleStore } from './scheduler.js';

/** A Scheduler call the dispatcher made for a job, by its result. */
export type ScheduleAction = 'created' | 'updated' | 'already-present' | 'replaced' | 'deleted' | 'already-gone';

/** What the dispatcher did with one job message. */
export interface JobOutcome {
  readonly action: ScheduleAction | 'skipped';
  readonly scheduleName: string;
  /** Why a message was skipped. */
  readonly reason?: string;
  /**
   * The calls made after the message's own because the job record moved while it was in flight (a newer
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
  readonly logger?: Pick<DispatcherLogger, 'info'>;
}

/** `CreateSchedule`/`GetSchedule`/`UpdateSchedule` rounds of one {@link ensureSchedule} while the schedule changes under it. */
const MAX_ROUNDS = 3;

/**
 * Schedule calls of one job message, each followed by a consistent read of the job record, before the
 * message is reported failed (Lambda retries its record) because the record kept moving.
 */
export const MAX_CONVERGENCE_ROUNDS = 5;

/**
 * Makes the schedule of `job` exist with this version. `updateFirst` (reschedules) tries UpdateSchedule
 * and creates when the schedule is gone; otherwise CreateSchedule, and on `ConflictException` the
 * existing schedule is read: ours (same job id, this version or later) means done, anything else is
 * replaced with UpdateSchedule.
 */
async function ensureSchedule(job: JobEnvelope, spec: JobScheduleSpec, deps: JobDispatchDeps, updateFirst: boolean): Promise<ScheduleAction> {
  const request = jobScheduleRequest(job, spec, deps.config);
  const group = deps.config.scheduleGroup;
  let tryUpdate = updateFirst;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (tryUpdate) {
      if ((await deps.store.update(request)) === 'updated') {
        deps.stats.schedulesUpdated++;
        return round === 0 ? 'updated' : 'replaced';
      }
      tryUpdate = false;
      continue; // gone (a one-time schedule deletes itself after it ran): create it
    }
    if ((await deps.store.create(request)) === 'created') {
      deps.stats.schedulesCreated++;
      return 'created';
    }
    const existing = await deps.store.get(job.scheduleName, group);
    if (!existing) continue; // deleted in between: create again
    if (onExistingSchedule(jobOfScheduleInput(existing.Target?.Input), job) === 'done') {
      deps.stats.schedulesAlreadyPresent++;
      return 'already-present';
    }
    tryUpdate = true;
  }
  throw new DispatchError(`schedule ${job.scheduleName}`, `the schedule kept changing under the dispatcher for ${MAX_ROUNDS} rounds`);
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

/** The job envelope of a schedule made from the job record itself (its job id, version, name and payload). */
function envelopeOf(record: JobRecord, scheduleName: string, operation: string): JobEnvelope {
  let payload: unknown;
  try {
    payload = JSON.parse(record.payload);
  } catch (error) {
    throw new DispatchError(operation, 'the job record payload is not JSON', { cause: error });
  }
  return { jobId: record.jobId, key: record.jobKey, name: record.jobName, version: record.version, payload, scheduleName };
}

/** Makes the schedule what `record` calls for ({@link desiredSchedule}): the record's job, version and time, or none. */
async function applyRecord(record: JobRecord | undefined, scheduleName: string, deps: JobDispatchDeps, operation: string): Promise<ScheduleAction> {
  if (!record || !desiredSchedule(record).present) return removeSchedule(scheduleName, deps);
  if (!record.schedule) throw new DispatchError(operation, `the job record (${describeJobRecord(record)}) has no schedule`);
  return ensureSchedule(envelopeOf(record, scheduleName, operation), record.schedule, deps, true);
}

/**
 * After the message's own call (based on the job record `basis`), reads the record again (consistent):
 * if what it calls for changed meanwhile, applies its current state and reads again, until the record
 * read after the last call is the one that call was based on. A call that landed late (slow, retried
 * after throttling) therefore never leaves a stale schedule behind: whichever dispatcher makes the last
 * call also sees the newest record and converges to it.
 */
async function converge(key: string, scheduleName: string, basis: JobRecord | undefined, outcome: JobOutcome, deps: JobDispatchDeps): Promise<JobOutcome> {
  const operation = `schedule ${scheduleName}`;
  const reconciled: { action: ScheduleAction; record: string }[] = [];
  let based = basis;
  for (let round = 1; ; round++) {
    const current = await deps.records.read(deps.table, key);
    if (sameDesiredSchedule(desiredSchedule(based), desiredSchedule(current))) break;
    if (round >= MAX_CONVERGENCE_ROUNDS)
      throw new DispatchError(
        operation,
        `the job record kept changing while its schedule was being set (${MAX_CONVERGENCE_ROUNDS} rounds; last call for ${describeJobRecord(based)}, record now ${describeJobRecord(current)})`,
      );
    reconciled.push({ action: await applyRecord(current, scheduleName, deps, operation), record: describeJobRecord(current) });
    based = current;
  }
  if (reconciled.length === 0) return outcome;
  deps.stats.jobsReconciled++;
  deps.logger?.info('job schedule converged to a job record that moved during dispatch', {
    key,
    scheduleName,
    action: outcome.action,
    basedOn: describeJobRecord(basis),
    reconciled,
  });
  return { ...outcome, reconciled };
}

function skipped(deps: JobDispatchDeps, scheduleName: string, reason: string): JobOutcome {
  deps.stats.jobsSkipped++;
  return { action: 'skipped', scheduleName, reason };
}

/** `job.schedule`: create the schedule of a newly committed job, unless its record says it no longer applies. */
export async function dispatchScheduleJob(message: ScheduleJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  const { key, scheduleName } = message.job;
  const record = await deps.records.read(deps.table, key);
  const reason = skipSchedule(record, message);
  if (reason) return skipped(deps, scheduleName, reason);
  const action = await ensureSchedule(message.job, message.schedule, deps, false);
  return converge(key, scheduleName, record, { action, scheduleName }, deps);
}

/** `job.reschedule`: move the schedule to the new time and version (UpdateSchedule, or create it when gone). */
export async function dispatchRescheduleJob(message: RescheduleJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  const record = await deps.records.read(deps.table, message.key);
  const reason = skipReschedule(record, message);
  if (reason || !record) return skipped(deps, message.scheduleName, reason ?? 'no job record');
  const job = { ...envelopeOf(record, message.scheduleName, `reschedule ${message.key}`), version: message.version };
  const action = await ensureSchedule(job, message.schedule, deps, true);
  return converge(message.key, message.scheduleName, record, { action, scheduleName: message.scheduleName }, deps);
}

/** `job.cancel`: delete the schedule; a schedule that is already gone is success. */
export async function dispatchCancelJob(message: CancelJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  const record = await deps.records.read(deps.table, message.key);
  const reason = skipCancel(record, message);
  if (reason) return skipped(deps, message.scheduleName, reason);
  const action = await removeSchedule(message.scheduleName, deps);
  return converge(message.key, message.scheduleName, record, { action, scheduleName: message.scheduleName }, deps);
}
