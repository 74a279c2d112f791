/** The dispatcher's configuration (lib/dispatch/config.ts). */
import { describe, expect, it } from '@jest/globals';
import { ConfigurationError } from '../../lib/errors.js';
import { resolveDispatcherConfig, tableNameFromStreamArn } from '../../lib/dispatch/config.js';
import { outboxDispatcher } from '../../lib/dispatch/dispatcher.js';

describe('configuration', () => {
  it('names every missing setting with its environment variable', () => {
    const error = (() => {
      try {
        resolveDispatcherConfig({}, {});
      } catch (e) {
        return e as ConfigurationError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('UOW_JOB_RUNNER_ARN');
    expect(error.message).toContain('UOW_SCHEDULER_ROLE_ARN');
    expect(error.missing).toHaveLength(2);
  });

  it('reads the environment, applies defaults, and checks values', () => {
    const c = resolveDispatcherConfig(
      {},
      {
        UOW_JOB_RUNNER_ARN: 'arn:aws:lambda:x:1:function:r',
        UOW_SCHEDULER_ROLE_ARN: 'arn:aws:iam::1:role/r',
        UOW_EVENT_BUS_NAME: 'orders',
        UOW_SCHEDULE_GROUP: 'jobs',
        UOW_DISPATCH_CONCURRENCY: '4',
        UOW_SCHEDULE_MAX_RETRY_ATTEMPTS: '10',
        UOW_OUTBOX_TABLE: 'outbox',
      },
    );
    expect(c).toMatchObject({
      eventBusName: 'orders',
      scheduleGroup: 'jobs',
      concurrency: 4,
      outboxTable: 'outbox',
      scheduleRetryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 86400 },
    });
    expect(() => resolveDispatcherConfig({ ...c, concurrency: 0 }, {})).toThrow(
      /concurrency .*UOW_DISPATCH_CONCURRENCY/,
    );
    expect(() => resolveDispatcherConfig({ ...c, scheduleGroup: 'bad group' }, {})).toThrow(/scheduleGroup/);
    expect(() => resolveDispatcherConfig({ ...c, scheduleRetryPolicy: { maximumEventAgeInSeconds: 10 } }, {})).toThrow(
      /60-86400/,
    );
  });

  it('rejects unknown options at creation', () => {
    expect(() =>
      outboxDispatcher({ jobRunnerArn: 'arn:a', schedulerRoleArn: 'arn:b', env: {}, eventBus: 'x' } as never),
    ).toThrow(/unknown option "eventBus"/);
  });

  it('the Lambda entry point builds its handler from the environment at cold start', async () => {
    const names = ['UOW_JOB_RUNNER_ARN', 'UOW_SCHEDULER_ROLE_ARN', 'UOW_EVENT_BUS_NAME', 'UOW_SCHEDULE_GROUP'] as const;
    const saved = names.map((k) => [k, process.env[k]] as const);
    Object.assign(process.env, {
      UOW_JOB_RUNNER_ARN: 'arn:aws:lambda:us-east-1:111122223333:function:runner',
      UOW_SCHEDULER_ROLE_ARN: 'arn:aws:iam::111122223333:role/sched',
      UOW_EVENT_BUS_NAME: 'orders',
      UOW_SCHEDULE_GROUP: 'orders-jobs',
    });
    try {
      const { handler } = await import('../../functions/outbox-dispatcher.js');
      expect(handler.config).toMatchObject({
        eventBusName: 'orders',
        scheduleGroup: 'orders-jobs',
        jobRunnerArn: 'arn:aws:lambda:us-east-1:111122223333:function:runner',
        concurrency: 16,
      });
    } finally {
      for (const [k, v] of saved)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  });

  it('finds the table name in a stream ARN', () => {
    expect(tableNameFromStreamArn('arn:aws:dynamodb:us-east-1:123:table/outbox-1/stream/2026-11-22T00:00:00.000')).toBe(
      'outbox-1',
    );
    expect(tableNameFromStreamArn(undefined)).toBeUndefined();
  });
});
