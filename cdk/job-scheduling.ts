import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TRANSACTIONAL_OUTBOX_DEFAULTS } from './props.js';
import { createDeadLetterQueue } from './resources.js';

/** The resources that let the dispatcher schedule jobs on a runner. */
export interface JobScheduling {
  /** Every job schedule lives in this group; deleting the group deletes its schedules. */
  readonly group: scheduler.ScheduleGroup;
  /** The role EventBridge Scheduler assumes to invoke the runner: `lambda:InvokeFunction` on it, `sqs:SendMessage` to the DLQ. */
  readonly role: iam.Role;
  /** Receives what Scheduler could not deliver and the runner's failed asynchronous invocations. */
  readonly deadLetterQueue: sqs.Queue;
}

/** Creates the schedule group, the scheduler execution role and the job dead-letter queue of a runner. */
export function createJobScheduling(
  scope: Construct,
  runner: lambda.IFunction,
  options: { readonly removalPolicy: RemovalPolicy; readonly configureAsyncInvoke: boolean },
): JobScheduling {
  const group = new scheduler.ScheduleGroup(scope, 'Schedules', { removalPolicy: options.removalPolicy });
  const deadLetterQueue = createDeadLetterQueue(
    scope,
    'JobDeadLetterQueue',
    'job schedules that could not invoke the runner',
  );
  const role = new iam.Role(scope, 'SchedulerRole', {
    description: 'Assumed by EventBridge Scheduler for the job schedules of one group: invokes the job runner only',
    // Confused-deputy protection: only schedules of this account and this group may use the role.
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: { 'aws:SourceAccount': Stack.of(scope).account, 'aws:SourceArn': group.scheduleGroupArn },
      },
    }),
  });
  // The runner's exact ARN: no `:*` qualifier wildcard (schedules target the unqualified function).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [runner.functionArn] }),
  );
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [deadLetterQueue.queueArn] }),
  );

  if (options.configureAsyncInvoke) {
    // Scheduler invokes Lambda asynchronously: an invocation that still fails after Lambda's own retries
    // lands in the same queue instead of being dropped.
    runner.configureAsyncInvoke({
      onFailure: new SqsDestination(deadLetterQueue),
      retryAttempts: TRANSACTIONAL_OUTBOX_DEFAULTS.jobRunnerAsyncRetryAttempts,
      maxEventAge: Duration.seconds(TRANSACTIONAL_OUTBOX_DEFAULTS.jobRunnerAsyncMaxEventAgeSeconds),
    });
  }
  return { group, role, deadLetterQueue };
}

/** The ARN pattern of every schedule in `group`: schedule names are only known at run time (one per job key). */
export function schedulesInGroupArn(scope: Construct, group: scheduler.IScheduleGroup): string {
  return Stack.of(scope).formatArn({
    service: 'scheduler',
    resource: 'schedule',
    resourceName: `${group.scheduleGroupName}/*`,
  });
}
