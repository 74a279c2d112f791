import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { OrdersServiceStack } from '../../examples/orders/cdk/orders-service-stack.js';
import { TransactionalOutbox } from '../../cdk/index.js';
import { FIXTURE_ENTRY, testContext, testRunner } from './helpers.js';

const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/**
 * An app checked by AwsSolutionsChecks, as examples/orders/cdk/app.ts sets it up, writing to a temporary directory. With
 * `cfnValidation`, CDK's built-in CloudFormation template validation runs too, strictly (warnings fail);
 * it costs seconds, so only the example stack pays for it.
 */
function nagApp({ cfnValidation = false } = {}): App {
  const outdir = mkdtempSync(join(tmpdir(), 'uow-nag-'));
  outdirs.push(outdir);
  const context = { ...testContext(), ...(cfnValidation ? { '@aws-cdk/core:strictCfnValidateErrors': true } : {}) };
  const app = new App({ context, outdir, builtinCloudFormationValidation: cfnValidation });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Synthesizes the app; returns every unacknowledged finding as `rule construct-path` (empty when clean). */
function violations(app: App): string[] {
  try {
    app.synth();
    return [];
  } catch (error) {
    const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
    };
    const found = report.pluginReports.flatMap((p) =>
      p.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)),
    );
    if (found.length === 0) throw error;
    return found.sort();
  }
}

/** Every acknowledgment under `root`: `{ path, id, reason }`. */
function acknowledgments(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id, reason })),
        ),
    );
}

function constructStack(app: App): { stack: Stack; outbox: TransactionalOutbox } {
  const stack = new Stack(app, 'OutboxOnly');
  const outbox = new TransactionalOutbox(stack, 'Outbox', {
    jobRunner: testRunner(stack),
    dispatcherEntry: FIXTURE_ENTRY,
  });
  return { stack, outbox };
}

describe('cdk-nag AwsSolutionsChecks', () => {
  it('finds nothing in the example stack: no unacknowledged cdk-nag finding, no CloudFormation validation warning; every acknowledgment has a reason', () => {
    const app = nagApp({ cfnValidation: true });
    const stack = new OrdersServiceStack(app, 'OrdersService', { entryFor: () => FIXTURE_ENTRY });
    expect(violations(app)).toEqual([]);
    const acks = acknowledgments(stack);
    expect(acks.map((a) => a.id.replace(/^\w+::/, '').replace(/\[.*\]$/, '[…]')).sort()).toEqual(
      [
        ...Array(3).fill('AwsSolutions-APIG4'),
        ...Array(6).fill('AwsSolutions-L1'),
        ...Array(3).fill('AwsSolutions-SQS3'),
        // ListStreams and the schedules of the group; X-Ray on the dispatcher and on the job runner.
        ...Array(4).fill('AwsSolutions-IAM5[…]'),
      ].sort(),
    );
    for (const ack of acks) expect(ack.reason.length).toBeGreaterThan(40);
  });

  it('finds nothing unacknowledged in a stack with the construct alone', () => {
    const app = nagApp();
    constructStack(app);
    expect(violations(app)).toEqual([]);
  });

  it("finds nothing unacknowledged with timerTransport 'sqs' (timer queue, its DLQ, the queue runner's mapping)", () => {
    const app = nagApp();
    const stack = new Stack(app, 'OutboxTimers');
    new TransactionalOutbox(stack, 'Outbox', {
      jobRunner: testRunner(stack),
      dispatcherEntry: FIXTURE_ENTRY,
      timerTransport: 'sqs',
      jobQueueRunner: testRunner(stack, 'QueueRunner'),
    });
    expect(violations(app)).toEqual([]);
  });

  it("finds nothing unacknowledged in the example stack with timerTransport 'sqs' (its JobQueueRunner on the timer queue)", () => {
    const app = nagApp();
    const stack = new OrdersServiceStack(app, 'OrdersTimers', { entryFor: () => FIXTURE_ENTRY, timerTransport: 'sqs' });
    expect(violations(app)).toEqual([]);
    expect(stack.outbox.timerQueue).toBeDefined();
    expect(stack.jobQueueRunner).toBeDefined();
  });

  it('accepts exactly the wildcards AWS requires: a further "*" on the dispatcher role is reported', () => {
    const app = nagApp();
    const { outbox } = constructStack(app);
    outbox.dispatcher.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] }));
    outbox.dispatcher.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:CreateSchedule'],
        resources: ['arn:aws:scheduler:*:*:schedule/*'],
      }),
    );
    expect(violations(app)).toEqual(
      [
        'AwsSolutions-IAM5[Resource::*] OutboxOnly/Outbox/DispatcherRole/Role/DefaultPolicy/Resource',
        'AwsSolutions-IAM5[Resource::arn:aws:scheduler:*:*:schedule/*] OutboxOnly/Outbox/DispatcherRole/Role/DefaultPolicy/Resource',
      ].sort(),
    );
  });

  it('is really validating the template: an invalid CloudFormation property is reported', () => {
    const app = nagApp({ cfnValidation: true });
    const stack = new Stack(app, 'Invalid');
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
    (table.node.defaultChild as dynamodb.CfnTable).addPropertyOverride('BillingMode', 'FREE_OF_CHARGE');
    // W3030: a value outside the property's allowed values (a warning, which strict mode makes fail).
    expect(violations(app)).toEqual(['W3030 Invalid/Table/Resource']);
  });

  it('is really checking: a queue without encryption in transit or a dead-letter queue is reported', () => {
    const app = nagApp();
    new sqs.Queue(new Stack(app, 'Bad'), 'Queue');
    expect(violations(app)).toEqual(['AwsSolutions-SQS3 Bad/Queue/Resource', 'AwsSolutions-SQS4 Bad/Queue/Resource']);
  });
});
