import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App, type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { acknowledgeNode22Runtime, FunctionRole } from '../../cdk/resources.js';

/** Entry of every function in these tests: bundling is skipped, NodejsFunction only needs the file to exist. */
export const FIXTURE_ENTRY = fileURLToPath(new URL('./fixtures/handler.ts', import.meta.url));

const CDK_JSON = fileURLToPath(new URL('../../cdk.json', import.meta.url));

/** The context of cdk.json (feature flags included), so tests synthesize what `cdk synth` does; bundling skipped. */
export function testContext(): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as { context: Record<string, unknown> };
  return { ...context, 'aws:cdk:bundling-stacks': [] };
}

/**
 * A new app with the cdk.json context and bundling skipped. CDK's built-in CloudFormation validation (seconds
 * of WebAssembly per synthesis) is off here; test/cdk/nag.test.ts runs it, strictly, on the example stack.
 */
export function testApp(): App {
  return new App({ context: testContext(), builtinCloudFormationValidation: false });
}

/** A job runner like a user would write: its own role and log group, nodejs22.x (no cdk-nag finding). */
export function testRunner(stack: Stack, id = 'Runner'): lambda.Function {
  const { role, logGroup } = new FunctionRole(stack, `${id}Role`, { logRemovalPolicy: RemovalPolicy.DESTROY });
  const fn = new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
    timeout: Duration.seconds(30),
    role,
    logGroup,
  });
  acknowledgeNode22Runtime(fn);
  return fn;
}

/** The logical id of a construct's CloudFormation resource (its default child for L2 constructs). */
export function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).resolve(element.logicalId) as string;
}

/** `{ Ref: id }` as it appears in templates. */
export const ref = (construct: IConstruct) => ({ Ref: logicalId(construct) });
/** `{ 'Fn::GetAtt': [id, attr] }` as it appears in templates. */
export const getAtt = (construct: IConstruct, attribute = 'Arn') => ({
  'Fn::GetAtt': [logicalId(construct), attribute],
});

/** One allowed (action, resource) pair of a role, with the statement's condition. */
export interface Permission {
  readonly action: string;
  readonly resource: unknown;
  readonly condition?: unknown;
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/**
 * Every Allow (action, resource) pair of the policies attached to a role, flattened so that assertions do
 * not depend on how statements are merged (`@aws-cdk/aws-iam:minimizePolicies`).
 */
export function permissionsOf(template: Template, roleLogicalId: string): Permission[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const result: Permission[] = [];
  for (const policy of Object.values(policies)) {
    const roles = (policy.Properties.Roles ?? []) as unknown[];
    if (!roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleLogicalId }))) continue;
    for (const statement of policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asArray(statement.Action as string | string[])) {
        for (const resource of asArray(statement.Resource)) {
          result.push({ action, resource, ...(statement.Condition ? { condition: statement.Condition } : {}) });
        }
      }
    }
  }
  return result;
}

/** A role's permissions as `action → resources` (JSON strings, sorted), for exact comparisons. */
export function permissionMap(template: Template, roleLogicalId: string): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const p of permissionsOf(template, roleLogicalId)) (map[p.action] ??= []).push(JSON.stringify(p.resource));
  for (const key of Object.keys(map)) map[key]!.sort();
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
}

/** Builds the expected side of {@link permissionMap}: every action of each entry on its resources. */
export function expectedPermissions(
  entries: readonly [readonly string[], readonly unknown[]][],
): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const [actions, resources] of entries) {
    for (const action of actions) (map[action] ??= []).push(...resources.map((r) => JSON.stringify(r)));
  }
  for (const key of Object.keys(map)) map[key]!.sort();
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => a.localeCompare(b)));
}

/** The environment variables of a function resource. */
export function environmentOf(template: Template, functionLogicalId: string): Record<string, unknown> {
  const fn = template.toJSON().Resources[functionLogicalId];
  return (fn?.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
}
