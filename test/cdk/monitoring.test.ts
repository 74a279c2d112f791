import { describe, expect, it } from '@jest/globals';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { libraryMetric } from '../../cdk/monitoring.js';
import { TransactionalOutbox, type TransactionalOutboxProps } from '../../cdk/index.js';
import {
  JOB_RUN_OUTCOMES,
  METRIC_DIMENSIONS,
  METRICS,
  METRICS_DEFAULTS,
  METRICS_ENV,
} from '../../lib/metrics/names.js';
import { ENV, OUTBOX_SCHEMA } from '../../lib/outbox/schema.js';
import { environmentOf, FIXTURE_ENTRY, logicalId, ref, testApp, testRunner } from './helpers.js';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** Synthesizes the construct with `props`; returns the template's resources and the construct. */
function synth(props: Partial<TransactionalOutboxProps> = {}, stackId = 'Monitored') {
  const stack = new Stack(testApp(), stackId);
  const runner = testRunner(stack);
  const outbox = new TransactionalOutbox(stack, 'Outbox', {
    jobRunner: runner,
    dispatcherEntry: FIXTURE_ENTRY,
    ...props,
  });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Resources;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  return { stack, runner, outbox, template, resources, ofType };
}

/**
 * The dashboard body with every token resolved to a readable placeholder: `Fn::Join` parts joined, `Ref`
 * as `<Ref:id>`, `Fn::GetAtt` as `<GetAtt:id.attr>`, then parsed.
 */
function dashboardBody(resources: Resources): { widgets: { properties: Record<string, any> }[] } {
  const [, dashboard] = Object.entries(resources).find(([, r]) => r.Type === 'AWS::CloudWatch::Dashboard')!;
  const render = (v: any): string => {
    if (typeof v === 'string') return v;
    if (v['Fn::Join']) return (v['Fn::Join'][1] as any[]).map(render).join(v['Fn::Join'][0]);
    if (v.Ref) return `<Ref:${v.Ref}>`;
    if (v['Fn::GetAtt']) return `<GetAtt:${v['Fn::GetAtt'].join('.')}>`;
    throw new Error(`unexpected token ${JSON.stringify(v)}`);
  };
  return JSON.parse(render(dashboard.Properties.DashboardBody));
}

/** Every metric line of the dashboard as `namespace name dim=value,…` (dimensions sorted by name). */
function plotted(resources: Resources): string[] {
  const lines: string[] = [];
  for (const widget of dashboardBody(resources).widgets) {
    for (const metric of (widget.properties.metrics ?? []) as unknown[][]) {
      const [namespace, name, ...rest] = metric.filter((part) => typeof part === 'string') as string[];
      const dims: string[] = [];
      for (let i = 0; i + 1 < rest.length; i += 2) dims.push(`${rest[i]}=${rest[i + 1]}`);
      lines.push(`${namespace} ${name} ${dims.sort().join(',')}`);
    }
  }
  return lines;
}

describe('TransactionalOutbox: dashboard', () => {
  const { outbox, resources, runner, ofType } = synth({ eventSource: 'orders' });
  const lines = plotted(resources);
  const service = `${METRIC_DIMENSIONS.service}=orders`;
  const ns = METRICS_DEFAULTS.namespace;

  it('plots dispatch lag, partial batch failures, DEAD jobs, expired leases and every job outcome from lib/metrics/names.ts', () => {
    for (const m of [
      METRICS.dispatchLagMs,
      METRICS.partialBatchFailures,
      METRICS.jobsDead,
      METRICS.jobLeasesExpired,
      METRICS.callsThrottled,
    ]) {
      expect(lines).toContain(`${ns} ${m.name} ${service}`);
    }
    for (const outcome of JOB_RUN_OUTCOMES)
      expect(lines).toContain(`${ns} ${METRICS.jobRuns.name} ${METRIC_DIMENSIONS.outcome}=${outcome},${service}`);
  });

  it('uses the native metrics where AWS has them: iterator age, Lambda throttles, DLQ depths, DynamoDB write throttles', () => {
    const dispatcher = `FunctionName=<Ref:${logicalId(outbox.dispatcher)}>`;
    expect(lines).toContain(`AWS/Lambda IteratorAge ${dispatcher}`);
    expect(lines).toContain(`AWS/Lambda Throttles ${dispatcher}`);
    expect(lines).toContain(`AWS/Lambda Throttles FunctionName=<Ref:${logicalId(runner)}>`);
    for (const queue of [outbox.streamDeadLetterQueue, outbox.jobDeadLetterQueue]) {
      expect(lines).toContain(
        `AWS/SQS ApproximateNumberOfMessagesVisible QueueName=<GetAtt:${logicalId(queue)}.QueueName>`,
      );
    }
    const table = `TableName=<Ref:${logicalId(outbox.table)}>`;
    expect(lines).toContain(`AWS/DynamoDB WriteThrottleEvents ${table}`);
    expect(lines).toContain(
      `AWS/DynamoDB WriteThrottleEvents GlobalSecondaryIndexName=${OUTBOX_SCHEMA.jobStatusIndex.name},${table}`,
    );
  });

  it('shows the state of every alarm of the construct', () => {
    const alarmWidget = dashboardBody(resources).widgets.find((w) => w.properties.alarms)!;
    expect(alarmWidget.properties.alarms).toHaveLength(outbox.alarms.length);
    expect(ofType('AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(outbox.dashboard).toBeDefined();
  });
});

describe('TransactionalOutbox: metrics settings', () => {
  it('sends its namespace and service to the functions and reads the same ones in alarms and dashboard', () => {
    const { outbox, resources, runner, ofType, template } = synth(
      { metricsNamespace: 'Shop/Orders', metricsService: 'checkout' },
      'Named',
    );
    const env = {
      [METRICS_ENV.enabled]: 'on',
      [METRICS_ENV.namespace]: 'Shop/Orders',
      [METRICS_ENV.service]: 'checkout',
    };
    expect(environmentOf(template, logicalId(outbox.dispatcher))).toMatchObject(env);
    expect(environmentOf(template, logicalId(runner))).toMatchObject(env);
    const custom = ofType('AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .filter((a) => a.Namespace === 'Shop/Orders');
    expect(custom.map((a) => a.MetricName).sort()).toEqual(
      [METRICS.jobLeasesExpired.name, METRICS.jobsDead.name, METRICS.partialBatchFailures.name].sort(),
    );
    for (const a of custom) expect(a.Dimensions).toEqual([{ Name: METRIC_DIMENSIONS.service, Value: 'checkout' }]);
    expect(
      plotted(resources)
        .filter((l) => l.startsWith('Shop/Orders '))
        .every((l) => l.includes('service=checkout')),
    ).toBe(true);
  });

  it('defaults the service dimension to the construct id without an eventSource, and sets nothing with metrics off', () => {
    const on = synth({}, 'DefaultService');
    expect(environmentOf(on.template, logicalId(on.outbox.dispatcher))[METRICS_ENV.service]).toBe('Outbox');
    const off = synth({ metrics: false, dashboard: false }, 'Quiet');
    const env = environmentOf(off.template, logicalId(off.outbox.dispatcher));
    expect(Object.keys(env).filter((k) => k.startsWith('UOW_METRICS'))).toEqual([]);
    expect(off.ofType('AWS::CloudWatch::Dashboard')).toHaveLength(0);
    expect(off.outbox.dashboard).toBeUndefined();
  });

  it('refuses a metric with dimensions other than its definition lists (it would be another metric)', () => {
    const settings = { namespace: 'N', service: 's' };
    expect(() => libraryMetric(settings, METRICS.jobRuns, { statistic: 'Sum' })).toThrow(
      'metric JobRuns has dimensions outcome,service, not service',
    );
    expect(() =>
      libraryMetric(settings, METRICS.jobsDead, { statistic: 'Sum', dimensions: { outcome: 'dead' } }),
    ).toThrow('metric JobsDead has dimensions service, not outcome,service');
  });
});

describe('TransactionalOutbox: indexed job statuses', () => {
  it('tells the runner and the writers which statuses the job-status index holds (NONE for none)', () => {
    const some = synth({ jobIndexStatuses: ['RUNNING', 'DEAD', 'DEAD'] }, 'SomeStatuses');
    expect(environmentOf(some.template, logicalId(some.runner))[ENV.jobIndexStatuses]).toBe('RUNNING,DEAD');
    const none = synth({ jobIndexStatuses: [] }, 'NoStatuses');
    expect(environmentOf(none.template, logicalId(none.runner))[ENV.jobIndexStatuses]).toBe('NONE');
  });
});

describe('TransactionalOutbox: X-Ray tracing', () => {
  const xrayPolicies = (resources: Resources) =>
    Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes('xray:PutTraceSegments'),
    );

  it('is active on the dispatcher and the job runner by default, each with its own X-Ray policy', () => {
    const { outbox, runner, resources } = synth({}, 'Traced');
    expect(resources[logicalId(outbox.dispatcher)]!.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    expect(resources[logicalId(runner)]!.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    const roles = xrayPolicies(resources)
      .map((p) => JSON.stringify(p.Properties.Roles))
      .sort();
    expect(roles).toEqual([JSON.stringify([ref(outbox.dispatcher.role!)]), JSON.stringify([ref(runner.role!)])].sort());
  });

  it('is off with tracing: false, and leaves a runner with its own tracing setting alone', () => {
    const off = synth({ tracing: false }, 'Untraced');
    expect(off.resources[logicalId(off.outbox.dispatcher)]!.Properties.TracingConfig).toBeUndefined();
    expect(off.resources[logicalId(off.runner)]!.Properties.TracingConfig).toBeUndefined();
    expect(xrayPolicies(off.resources)).toHaveLength(0);

    const stack = new Stack(testApp(), 'OwnTracing');
    const runner = testRunner(stack);
    (runner.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: 'PassThrough' };
    new TransactionalOutbox(stack, 'Outbox', { jobRunner: runner, dispatcherEntry: FIXTURE_ENTRY });
    const resources = Template.fromStack(stack).toJSON().Resources as Resources;
    expect(resources[logicalId(runner)]!.Properties.TracingConfig).toEqual({ Mode: 'PassThrough' });
    expect(xrayPolicies(resources)).toHaveLength(1);
  });
});
