import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { OUTBOX_SCHEMA, OUTBOX_TABLE_DEFINITION } from '../outbox/schema.js';

/** The table {@link createOutboxTable} made. */
export interface OutboxTable {
  readonly tableName: string;
  readonly tableArn: string;
  /** ARN of the table's stream (NEW_IMAGE): what the stream poller reads. */
  readonly streamArn: string;
}

/**
 * Creates the outbox/jobs table with the settings the CDK construct deploys, from the same
 * `OUTBOX_TABLE_DEFINITION`: `pk`/`sk` string keys, on-demand billing, a NEW_IMAGE stream, TTL on `ttl`,
 * and the sparse, sharded job-status index (`jobIndexPk` / `jobIndexSk`, keys only). Waits until it is ACTIVE.
 *
 * @example
 * ```ts
 * const client = new DynamoDBClient({ endpoint: ddb.endpoint, ...LOCAL_AWS_CONFIG });
 * const { streamArn } = await createOutboxTable(client, `outbox-${randomUUID()}`);
 * ```
 */
export async function createOutboxTable(client: DynamoDBClient, tableName: string): Promise<OutboxTable> {
  const index = OUTBOX_SCHEMA.jobStatusIndex;
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: OUTBOX_TABLE_DEFINITION.billingMode,
      AttributeDefinitions: OUTBOX_TABLE_DEFINITION.attributes.map((a) => ({
        AttributeName: a.name,
        AttributeType: a.type,
      })),
      KeySchema: [
        { AttributeName: OUTBOX_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: OUTBOX_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: OUTBOX_TABLE_DEFINITION.jobStatusIndexProjection },
        },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: OUTBOX_TABLE_DEFINITION.streamViewType },
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: OUTBOX_TABLE_DEFINITION.ttlAttribute },
    }),
  );
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  if (!Table?.LatestStreamArn || !Table.TableArn) throw new Error(`table ${tableName} has no stream after creation`);
  return { tableName, tableArn: Table.TableArn, streamArn: Table.LatestStreamArn };
}
