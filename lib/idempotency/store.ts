import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IdempotencyRecord } from './record.js';

/** The one read of the idempotency utility: a consistent GetItem of the record (`undefined` when there is none). */
export async function readIdempotencyRecord(
  client: DynamoDBDocumentClient,
  table: string,
  key: { pk: string; sk: string },
): Promise<Partial<IdempotencyRecord> | undefined> {
  const { Item } = await client.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
  return Item as Partial<IdempotencyRecord> | undefined;
}
