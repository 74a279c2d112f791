import { DispatchError } from '../errors.js';
import type { CancelJobMessage, JobEnvelope, JobScheduleSpec, RescheduleJobMessage, ScheduleJobMessage } from '../outbox/messages.js';
import type { DispatchStats } from './calls.js';
import type { DispatcherConfig } from './config.js';
import { onExistingSchedule, skipCancel, skipReschedule, skipSchedule } from './decide.js';
import type { JobRecordReader } from './job-records.js';
import { jobOfScheduleInput, jobScheduleRequest } from './map.js';
import type { ScheduleStore } from './scheduler.js';

/** What the dispatcher did with one job message. */
export interface JobOutcome {
  readonly action: 'created' | 'updated' | 'already-present' | 'replaced' | 'deleted' | 'already-gone' | 'skipped';
  readonly scheduleName: string;
  /** Why a message was skipped. */
  readonly reason?: string;
}

/** What the job message handlers need. */
export interface JobDispatchDeps {
  readonly store: ScheduleStore;
  readonly records: JobRecordReader;
  readonly config: DispatcherConfig;
  /** The outbox/jobs table holding the job records. */
  readonly table: string;
  readonly stats: DispatchStats;
}

const MAX_ROUNDS = 3;

/**
 * Makes the schedule of `job` exist with this version. `updateFirst` (reschedules) tries UpdateSchedule
 * and creates when the schedule is gone; otherwise CreateSchedule, and on `ConflictException` the
 * existing schedule is read: ours (same job id, this version or later) means done, anything else is
 * replaced with UpdateSchedule.
 */
async function ensureSchedule(job: JobEnvelope, spec: JobScheduleSpec, deps: JobDispatchDeps, updateFirst: boolean): Promise<JobOutcome> {
  const request = jobScheduleRequest(job, spec, deps.config);
  const group = deps.config.scheduleGroup;
  let tryUpdate = updateFirst;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (tryUpdate) {
      if ((await deps.store.update(request)) === 'updated') {
        deps.stats.schedulesUpdated++;
        return { action: round === 0 ? 'updated' : 'replaced', scheduleName: job.scheduleName };
      }
      tryUpdate = false;
      continue; // gone (a one-time schedule deletes itself after it ran): create it
    }
    if ((await deps.store.create(request)) === 'created') {
      deps.stats.schedulesCreated++;
      return { action: 'created', scheduleName: job.scheduleName };
    }
    const existing = await deps.store.get(job.scheduleName, group);
    if (!existing) continue; // deleted in between: create again
    if (onExistingSchedule(jobOfScheduleInput(existing.Target?.Input), job) === 'done') {
      deps.stats.schedulesAlreadyPresent++;
      return { action: 'already-present', scheduleName: job.scheduleName };
    }
    tryUpdate = true;
  }
  throw new DispatchError(`schedule ${job.scheduleName}`, `the schedule kept changing under the dispatcher for ${MAX_ROUNDS} rounds`);
}

function skipped(deps: JobDispatchDeps, scheduleName: string, reason: string): JobOutcome {
  deps.stats.jobsSkipped++;
  return { action: 'skipped', scheduleName, reason };
}

/** `job.schedule`: create the schedule of a newly committed job, unless its record says it no longer applies. */
export async function dispatchScheduleJob(message: ScheduleJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  const record = await deps.records.read(deps.table, message.job.key);
  const reason = skipSchedule(record, message);
  if (reason) return skipped(deps, message.job.scheduleName, reason);
  return ensureSchedule(message.job, message.schedule, deps, false);
}

/** `job.reschedule`: move the schedule to the new time and version (UpdateSchedule, or create it when gone). */
export async function dispatchRescheduleJob(message: RescheduleJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  const record = await deps.records.read(deps.table, message.key);
  const reason = skipReschedule(record, message);
  if (reason || !record) return skipped(deps, message.scheduleName, reason ?? 'no job record');
  let payload: unknown;
  try {
    payload = JSON.parse(record.payload);
  } catch (error) {
    throw new DispatchError(`reschedule ${message.key}`, 'the job record payload is not JSON', { cause: error });
  }
  const job: JobEnvelope = {
    jobId: record.jobId,
    key: record.jobKey,
    name: record.jobName,
    version: message.version,
    payload,
    scheduleName: message.scheduleName,
  };
  return ensureSchedule(job, message.schedule, deps, true);
}

/** `job.cancel`: delete the schedule; a schedule that is already gone is success. */
export async function dispatchCancelJob(message: CancelJobMessage, deps: JobDispatchDeps): Promise<JobOutcome> {
  const record = await deps.records.read(deps.table, message.key);
  const reason = skipCancel(record, message);
  if (reason) return skipped(deps, message.scheduleName, reason);
  if ((await deps.store.delete(message.scheduleName, deps.config.scheduleGroup)) === 'deleted') {
    deps.stats.schedulesDeleted++;
    return { action: 'deleted', scheduleName: message.scheduleName };
  }
  deps.stats.schedulesAlreadyGone++;
  return { action: 'already-gone', scheduleName: message.scheduleName };
}
