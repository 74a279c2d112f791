import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  UpdateScheduleCommand,
  type CreateScheduleCommandInput,
  type GetScheduleCommandOutput,
  type SchedulerClient,
} from '@aws-sdk/client-scheduler';
import type { Caller } from './calls.js';

/** The four Scheduler calls the dispatcher makes, with the "already there / already gone" answers mapped. */
export interface ScheduleStore {
  /** `'exists'` when a schedule with the name is already there (`ConflictException`). */
  create(input: CreateScheduleCommandInput): Promise<'created' | 'exists'>;
  /** `'missing'` when there is no schedule with the name (`ResourceNotFoundException`). */
  update(input: CreateScheduleCommandInput): Promise<'updated' | 'missing'>;
  /** `undefined` when there is no schedule with the name. */
  get(name: string, groupName: string): Promise<GetScheduleCommandOutput | undefined>;
  /** `'missing'` when the schedule was already gone. */
  delete(name: string, groupName: string): Promise<'deleted' | 'missing'>;
}

const isNamed = (error: unknown, name: string): boolean => (error as { name?: string } | null)?.name === name;

/**
 * A {@link ScheduleStore} on an EventBridge Scheduler client; every call goes through the caller. A call that
 * fails for good (not an answer mapped above) counts in `stats.callsFailed`.
 */
export function createScheduleStore(client: SchedulerClient, caller: Caller): ScheduleStore {
  const failed = (error: unknown): never => {
    caller.stats.callsFailed++;
    throw error;
  };
  return {
    async create(input) {
      try {
        await caller.call(() => client.send(new CreateScheduleCommand(input)));
        return 'created';
      } catch (error) {
        if (isNamed(error, 'ConflictException')) return 'exists';
        return failed(error);
      }
    },
    async update(input) {
      try {
        await caller.call(() => client.send(new UpdateScheduleCommand(input)));
        return 'updated';
      } catch (error) {
        if (isNamed(error, 'ResourceNotFoundException')) return 'missing';
        return failed(error);
      }
    },
    async get(name, groupName) {
      try {
        return await caller.call(() => client.send(new GetScheduleCommand({ Name: name, GroupName: groupName })));
      } catch (error) {
        if (isNamed(error, 'ResourceNotFoundException')) return undefined;
        return failed(error);
      }
    },
    async delete(name, groupName) {
      try {
        await caller.call(() => client.send(new DeleteScheduleCommand({ Name: name, GroupName: groupName })));
        return 'deleted';
      } catch (error) {
        if (isNamed(error, 'ResourceNotFoundException')) return 'missing';
        return failed(error);
      }
    },
  };
}
