import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { OUTBOX_SCHEMA, OUTBOX_TABLE_DEFINITION } from '../lib/outbox/schema.js';

type Definition = typeof OUTBOX_TABLE_DEFINITION;

// Each value of the shared definition maps to its CDK enum; TypeScript fails here if the definition gains a value.
const ATTRIBUTE_TYPES: Record<Definition['attributes'][number]['type'], dynamodb.AttributeType> = {
  S: dynamodb.AttributeType.STRING,
};
const BILLING_MODES: Record<Definition['billingMode'], dynamodb.BillingMode> = {
  PAY_PER_REQUEST: dynamodb.BillingMode.PAY_PER_REQUEST,
};
const STREAM_VIEW_TYPES: Record<Definition['streamViewType'], dynamodb.StreamViewType> = {
  NEW_IMAGE: dynamodb.StreamViewType.NEW_IMAGE,
};
const PROJECTIONS: Record<Definition['jobStatusIndexProjection'], dynamodb.ProjectionType> = {
  KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
};

/** The attribute of `name` as declared in `OUTBOX_TABLE_DEFINITION`. */
function attribute(name: string): dynamodb.Attribute {
  const found = OUTBOX_TABLE_DEFINITION.attributes.find((a) => a.name === name);
  if (!found) throw new Error(`OUTBOX_TABLE_DEFINITION declares no attribute "${name}"`);
  return { name: found.name, type: ATTRIBUTE_TYPES[found.type] };
}

/**
 * Creates the outbox/jobs table exactly as `OUTBOX_TABLE_DEFINITION` says (the same definition
 * `createOutboxTable` applies locally), plus what only the cloud has: point-in-time recovery and
 * encryption with the AWS managed key.
 */
export function createOutboxTable(scope: Construct, id: string, removalPolicy: RemovalPolicy): dynamodb.Table {
  const table = new dynamodb.Table(scope, id, {
    partitionKey: attribute(OUTBOX_SCHEMA.partitionKey),
    sortKey: attribute(OUTBOX_SCHEMA.sortKey),
    billingMode: BILLING_MODES[OUTBOX_TABLE_DEFINITION.billingMode],
    stream: STREAM_VIEW_TYPES[OUTBOX_TABLE_DEFINITION.streamViewType],
    timeToLiveAttribute: OUTBOX_TABLE_DEFINITION.ttlAttribute,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    removalPolicy,
  });
  table.addGlobalSecondaryIndex({
    indexName: OUTBOX_SCHEMA.jobStatusIndex.name,
    partitionKey: attribute(OUTBOX_SCHEMA.jobStatusIndex.partitionKey),
    sortKey: attribute(OUTBOX_SCHEMA.jobStatusIndex.sortKey),
    projectionType: PROJECTIONS[OUTBOX_TABLE_DEFINITION.jobStatusIndexProjection],
  });
  return table;
}
