import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { OUTBOX_SCHEMA } from '../lib/outbox/schema.js';

/**
 * What a commit needs on a business table. TransactWriteItems has no IAM action of its own: each of its
 * actions is authorized as the matching item action (Put → PutItem, Update → UpdateItem, Delete →
 * DeleteItem, ConditionCheck → ConditionCheckItem), per "Using IAM with DynamoDB transactions".
 */
export const COMMIT_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
] as const;

/**
 * What a commit needs on the outbox table: outbox items and new job records are Puts, cancel and
 * reschedule are Updates of a job record, and a duplicate job key is caught by a condition; `GetItem` is the
 * one consistent read of the `idempotency` option (its records live in the outbox table). Never a Delete:
 * outbox items, job records and idempotency records leave only through TTL.
 */
export const OUTBOX_COMMIT_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:GetItem',
] as const;

/**
 * What a job runner needs on the table: read and claim its job record, commit its unit of work, list jobs by
 * status (`BatchGetItem` reads the records the keys-only job-status index points to).
 */
export const JOB_RUNNER_ITEM_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:Query',
] as const;

/**
 * KMS actions for a table encrypted with a customer managed key (the same sets aws-cdk-lib grants for
 * read/write data). A table with the AWS managed or an AWS owned key needs none.
 */
const CUSTOMER_KEY_ACTIONS = [
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:Encrypt',
  'kms:ReEncrypt*',
  'kms:GenerateDataKey*',
];

/** The ARN of the job-status index of the outbox table (exact name: no `index/*`). */
export function jobStatusIndexArn(table: dynamodb.ITable): string {
  return `${table.tableArn}/index/${OUTBOX_SCHEMA.jobStatusIndex.name}`;
}

function grantCustomerKey(grantee: iam.IGrantable, table: dynamodb.ITable): void {
  table.encryptionKey?.grant(grantee, ...CUSTOMER_KEY_ACTIONS);
}

/** Grants a commit's item actions on the business tables and the outbox table (table ARNs only, no index). */
export function grantCommit(
  grantee: iam.IGrantable,
  outboxTable: dynamodb.ITable,
  tables: readonly dynamodb.ITable[],
): iam.Grant {
  const business = tables.filter((t) => t !== outboxTable);
  let grant = iam.Grant.addToPrincipal({
    grantee,
    actions: [...OUTBOX_COMMIT_ACTIONS],
    resourceArns: [outboxTable.tableArn],
  });
  if (business.length > 0) {
    grant = grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: [...COMMIT_ACTIONS],
        resourceArns: business.map((t) => t.tableArn),
      }),
    );
  }
  for (const table of [outboxTable, ...business]) grantCustomerKey(grantee, table);
  return grant;
}

/** Grants a job runner its item actions on the outbox table and `Query` on the job-status index by its exact name. */
export function grantJobRunnerTable(grantee: iam.IGrantable, table: dynamodb.ITable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: [...JOB_RUNNER_ITEM_ACTIONS],
    resourceArns: [table.tableArn],
  }).combine(
    iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:Query'], resourceArns: [jobStatusIndexArn(table)] }),
  );
  grantCustomerKey(grantee, table);
  return grant;
}

/** Grants the dispatcher `GetItem` and `BatchGetItem` on the outbox table: it reads the job records of a batch (their status and version) before acting on job messages. */
export function grantDispatcherTable(grantee: iam.IGrantable, table: dynamodb.ITable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
    resourceArns: [table.tableArn],
  });
  grantCustomerKey(grantee, table);
  return grant;
}
