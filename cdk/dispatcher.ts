import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { OUTBOX_STREAM_FILTER_PATTERN, originRegionFilterPattern } from '../lib/outbox/schema.js';
import { type DispatcherFunctionOptions, type ResolvedOutboxProps, TRANSACTIONAL_OUTBOX_DEFAULTS } from './props.js';
import { acknowledgeWildcardResource } from './nag.js';
import { acknowledgeNode22Runtime, enableActiveTracing, FunctionRole } from './resources.js';

/**
 * The package's dispatcher entry, found relative to this file: `functions/outbox-dispatcher.ts` when
 * running from source (this repository, tsx, jest), `functions/outbox-dispatcher.js` from the built
 * package (`dist/cdk` → `dist/functions`). When neither exists the `.ts` path is returned and
 * NodejsFunction reports it.
 */
export function defaultDispatcherEntry(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = ['.ts', '.js'].map((ext) => resolve(here, '..', 'functions', `outbox-dispatcher${ext}`));
  return candidates.find((file) => existsSync(file)) ?? candidates[0]!;
}

/**
 * Bundling of the package's functions: one ESM file for Node 22 with everything inlined, AWS SDK included
 * (the versions the tests ran, not the runtime's), minified with names kept (class and function names stay
 * readable in logs and stack traces; error names are literal anyway), with a source map.
 */
export const FUNCTION_BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  mainFields: ['module', 'main'],
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner:
    "import { createRequire as __uowCreateRequire } from 'node:module'; const require = __uowCreateRequire(import.meta.url);",
  externalModules: [],
  minify: true,
  keepNames: true,
  sourceMap: true,
  sourcesContent: false,
};

/** Inputs of {@link createDispatcher}. */
export interface DispatcherOptions {
  readonly table: dynamodb.ITable;
  readonly entry: string;
  readonly functionProps?: DispatcherFunctionOptions;
  readonly environment: Record<string, string>;
  readonly settings: ResolvedOutboxProps;
  readonly deadLetterQueue: sqs.IQueue;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The outbox dispatcher: a NodejsFunction (nodejs22.x, ARM64) on the table's stream. Its event source only
 * passes outbox INSERTs (`OUTBOX_STREAM_FILTER_PATTERN`), reports partial batch failures, bisects a failing
 * batch, retries a bounded number of times within a bounded record age, then sends the batch's stream
 * coordinates to the dead-letter queue (the outbox items themselves stay in the table until their TTL).
 */
export function createDispatcher(scope: Construct, id: string, options: DispatcherOptions): nodejs.NodejsFunction {
  const { settings, functionProps = {} } = options;
  const { role, logGroup } = new FunctionRole(scope, `${id}Role`, {
    logRetention: settings.logRetention,
    logRemovalPolicy: options.logRemovalPolicy,
    description: 'Outbox dispatcher: reads the outbox stream, publishes events, creates job schedules',
  });
  const fn = new nodejs.NodejsFunction(scope, id, {
    description: 'Publishes committed outbox events to EventBridge and creates, updates and deletes job schedules',
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: TRANSACTIONAL_OUTBOX_DEFAULTS.dispatcherMemorySize,
    timeout: Duration.seconds(TRANSACTIONAL_OUTBOX_DEFAULTS.dispatcherTimeoutSeconds),
    handler: 'handler',
    ...functionProps,
    entry: options.entry,
    role,
    logGroup,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...options.environment, ...functionProps.environment },
    bundling: { ...FUNCTION_BUNDLING, ...functionProps.bundling },
  });
  if (fn.runtime.runtimeEquals(lambda.Runtime.NODEJS_22_X)) acknowledgeNode22Runtime(fn);
  if (settings.tracing && functionProps.tracing === undefined) enableActiveTracing(scope, `${id}Tracing`, fn);
  const streamArn = options.table.tableStreamArn!;
  // Stream records of this table only.
  options.table.grantStream(fn, 'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator');
  // Lambda's event source mapping also needs dynamodb:ListStreams, which supports no resource-level
  // permission (Resource must be "*"). It gets a policy of its own so that its acknowledgment cannot
  // hide another wildcard added to the role later.
  const listStreams = new iam.Policy(scope, `${id}ListStreams`, {
    statements: [new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] })],
    roles: [role],
  });
  acknowledgeWildcardResource(
    listStreams,
    '*',
    'dynamodb:ListStreams, needed by the DynamoDB event source mapping, supports no resource-level permissions.',
  );
  const mapping = new lambda.EventSourceMapping(scope, `${id}StreamMapping`, {
    target: fn,
    eventSourceArn: streamArn,
    // TRIM_HORIZON: records committed before the mapping existed are still dispatched.
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    // A global table's replica dispatches only what its own region committed.
    filters: [
      lambda.FilterCriteria.filter(
        (settings.globalTable
          ? originRegionFilterPattern(Stack.of(scope).region)
          : OUTBOX_STREAM_FILTER_PATTERN) as unknown as Record<string, unknown>,
      ),
    ],
    reportBatchItemFailures: true,
    bisectBatchOnError: true,
    retryAttempts: settings.retryAttempts,
    maxRecordAge: settings.maxRecordAge,
    batchSize: settings.batchSize,
    maxBatchingWindow: settings.maxBatchingWindow,
    parallelizationFactor: settings.parallelizationFactor,
    onFailure: new SqsDlq(options.deadLetterQueue),
  });
  // Lambda checks the role's stream permissions when it creates the mapping.
  mapping.node.addDependency(listStreams, role);
  return fn;
}
