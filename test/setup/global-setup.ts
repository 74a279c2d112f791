import { startDynamoDBLocal } from '../../lib/local/dynamodb-local.js';

/** One DynamoDB Local per jest run; workers inherit its endpoint through the environment. */
export default async function globalSetup(): Promise<void> {
  const ddb = await startDynamoDBLocal();
  process.env.DYNAMODB_ENDPOINT = ddb.endpoint;
  (globalThis as { __DDB_LOCAL__?: { stop(): Promise<void> } }).__DDB_LOCAL__ = ddb;
}
