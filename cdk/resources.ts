import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TRANSACTIONAL_OUTBOX_DEFAULTS } from './props.js';

/**
 * A dead-letter queue: encrypted (SSE-SQS), TLS only, 14 days of retention. It has no dead-letter queue of
 * its own, which cdk-nag's AwsSolutions-SQS3 flags; the acknowledgment carries the reason.
 */
export function createDeadLetterQueue(scope: Construct, id: string, purpose: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(TRANSACTIONAL_OUTBOX_DEFAULTS.deadLetterRetentionDays),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is itself a dead-letter queue (${purpose}); its messages are inspected and redriven by an operator, never consumed by a function.`,
  });
  return queue;
}

/** Options of {@link FunctionRole}. */
export interface FunctionRoleProps {
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Removal policy of the log group. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default - none */
  readonly description?: string;
}

/**
 * An execution role and a log group for one Lambda function, so that the function may write its own logs
 * and nothing else: no `AWSLambdaBasicExecutionRole` managed policy (whose `logs:*` statements cover every
 * log group of the account) and no `logs:CreateLogGroup`, because the group is created here with its retention.
 *
 * @example
 * const { role, logGroup } = new FunctionRole(this, 'PlaceOrderRole');
 * new NodejsFunction(this, 'PlaceOrder', { entry, role, logGroup });
 */
export class FunctionRole extends Construct {
  /** The execution role (`lambda.amazonaws.com`), allowed to write to {@link FunctionRole.logGroup} only. */
  readonly role: iam.Role;
  /** The function's log group. */
  readonly logGroup: logs.LogGroup;
  constructor(scope: Construct, id: string, props: FunctionRoleProps = {}) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? TRANSACTIONAL_OUTBOX_DEFAULTS.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(this.role);
  }
}

/**
 * Acknowledges cdk-nag's AwsSolutions-L1 ("not the latest runtime") on a function pinned to nodejs22.x: the
 * library is built and tested on Node.js 22, the runtime it is documented for.
 */
export function acknowledgeNode22Runtime(fn: Construct): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-L1',
    reason:
      'Pinned to nodejs22.x, the Node.js version this code is built and tested on (a supported Lambda runtime); move with the project, not ahead of it.',
  });
}

/**
 * Turns on X-Ray active tracing on a function of this app unless it already has a tracing setting, and
 * gives its role the two X-Ray actions in a policy of its own: they support no resource-level permission
 * (Resource must be "*"), and a separate policy keeps that acknowledgment from hiding another wildcard
 * added to the role later. Returns whether tracing was turned on here.
 */
export function enableActiveTracing(scope: Construct, id: string, fn: lambda.IFunction): boolean {
  const cfn = fn.node.defaultChild;
  if (!(cfn instanceof lambda.CfnFunction) || cfn.tracingConfig !== undefined || !fn.role) return false;
  cfn.tracingConfig = { mode: lambda.Tracing.ACTIVE };
  const policy = new iam.Policy(scope, id, {
    statements: [
      new iam.PolicyStatement({ actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], resources: ['*'] }),
    ],
  });
  fn.role.attachInlinePolicy(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'xray:PutTraceSegments and xray:PutTelemetryRecords (X-Ray active tracing) support no resource-level permissions.',
  });
  return true;
}
