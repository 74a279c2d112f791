import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Renders a resolved CloudFormation value the way cdk-nag names it in a finding id (`Fn::Join` joined,
 * `Ref` as `<Id>`, `Fn::GetAtt` as `<Id.Attr>`), so that an acknowledgment names the exact wildcard
 * resource it accepts. cdk-nag is a dev dependency: the construct cannot import its helper.
 */
export function flattenForNag(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  const node = value as Record<string, unknown>;
  if (Array.isArray(node['Fn::Join'])) {
    const [delimiter, items] = node['Fn::Join'] as [string, unknown[]];
    return items.map(flattenForNag).join(delimiter);
  }
  if (node['Fn::Sub'] !== undefined) return flattenForNag(node['Fn::Sub']);
  if (Array.isArray(node['Fn::GetAtt'])) {
    const [resource, attribute] = node['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenForNag(resource)}.${flattenForNag(attribute)}>`;
  }
  if (node['Fn::ImportValue'] !== undefined) return flattenForNag(node['Fn::ImportValue']);
  if (node.Ref !== undefined) return `<${flattenForNag(node.Ref)}>`;
  return JSON.stringify(value);
}

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for one wildcard resource of a policy on `scope`
 * (and its children), with the reason AWS requires the wildcard.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resourceArn: string, reason: string): void {
  const rendered = flattenForNag(Stack.of(scope).resolve(resourceArn));
  Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${rendered}]`, reason });
}
