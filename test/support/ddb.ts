import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_CONFIG } from '../../lib/local/dynamodb-local.js';
import { OUTBOX_SCHEMA, OUTBOX_TABLE_DEFINITION } from '../../lib/outbox/schema.js';

/** Clients on the jest run's DynamoDB Local (started by test/setup/global-setup.ts). */
export function localClients(): { raw: DynamoDBClient; doc: DynamoDBDocumentClient } {
  const endpoint = process.env.DYNAMODB_ENDPOINT;
  if (!endpoint)
    throw new Error('DYNAMODB_ENDPOINT is not set: run the tests through jest (globalSetup starts DynamoDB Local)');
  const raw = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
  return { raw, doc: DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } }) };
}

/** Creates a business table with a string partition key (and optional sort key), uniquely named. */
export async function createBusinessTable(
  raw: DynamoDBClient,
  prefix: string,
  keys: readonly string[] = ['pk'],
): Promise<string> {
  const name = `${prefix}-${randomUUID()}`;
  const KeySchema: KeySchemaElement[] = keys.map((k, i) => ({ AttributeName: k, KeyType: i === 0 ? 'HASH' : 'RANGE' }));
  await raw.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema,
      AttributeDefinitions: keys.map((k) => ({ AttributeName: k, AttributeType: 'S' })),
    }),
  );
  return name;
}

/** Creates an outbox/jobs table with the library's key schema and TTL, uniquely named. */
export async function createTestOutboxTable(raw: DynamoDBClient, prefix = 'outbox'): Promise<string> {
  const name = `${prefix}-${randomUUID()}`;
  const idx = OUTBOX_SCHEMA.jobStatusIndex;
  await raw.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: OUTBOX_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: OUTBOX_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: OUTBOX_TABLE_DEFINITION.attributes.map((a) => ({
        AttributeName: a.name,
        AttributeType: a.type,
      })),
      GlobalSecondaryIndexes: [
        {
          IndexName: idx.name,
          KeySchema: [
            { AttributeName: idx.partitionKey, KeyType: 'HASH' },
            { AttributeName: idx.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: OUTBOX_TABLE_DEFINITION.jobStatusIndexProjection },
        },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: OUTBOX_TABLE_DEFINITION.streamViewType },
    }),
  );
  await raw.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: OUTBOX_SCHEMA.ttlAttribute },
    }),
  );
  return name;
}

/** Every item of a table (small test tables only). */
export async function scanAll(doc: DynamoDBDocumentClient, table: string): Promise<Record<string, unknown>[]> {
  const out = await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return out.Items ?? [];
}

/** One item by key, consistent read. */
export async function getItem(
  doc: DynamoDBDocumentClient,
  table: string,
  key: Record<string, unknown>,
): Promise<Record<string, unknown> | undefined> {
  return (await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
}

/** A Lambda context good enough for middy handlers in tests. */
export function lambdaContext(requestId: string = randomUUID()): any {
  return {
    awsRequestId: requestId,
    functionName: 'test-fn',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-fn',
    memoryLimitInMB: '128',
    logGroupName: '/aws/lambda/test-fn',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30000,
    done() {},
    fail() {},
    succeed() {},
  };
}

/** Records the input of every TransactWriteItems a client sends (a real client: the calls still go out). */
export function recordTransactions(client: DynamoDBDocumentClient | DynamoDBClient): { inputs: any[] } {
  const record = { inputs: [] as any[] };
  (client.middlewareStack as any).add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName === 'TransactWriteItemsCommand' || context.commandName === 'TransactWriteCommand')
        record.inputs.push(args.input);
      return next(args);
    },
    { step: 'initialize', name: `record-${randomUUID()}` },
  );
  return record;
}
