/** Synthesis helpers of the monitoring tests: the construct's template, its dashboard body and plotted metrics. */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TransactionalOutbox, type TransactionalOutboxProps } from '../../cdk/index.js';
import { FIXTURE_ENTRY, testApp, testRunner } from './helpers.js';

/** The template's resources by logical id. */
export type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

/** Synthesizes the construct with `props`; returns the template's resources and the construct. */
export function synth(props: Partial<TransactionalOutboxProps> = {}, stackId = 'Monitored') {
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
export function dashboardBody(resources: Resources): { widgets: { properties: Record<string, any> }[] } {
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
export function plotted(resources: Resources): string[] {
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
