// Jest loads global setup outside its ESM transform, so the TypeScript launcher is loaded through tsx.
import { tsImport } from 'tsx/esm/api';

/** One DynamoDB Local per jest run; workers inherit its endpoint through the environment. */
export default async function globalSetup() {
  const { startDynamoDBLocal } = await tsImport('../../lib/local/dynamodb-local.ts', import.meta.url);
  const ddb = await startDynamoDBLocal();
  process.env.DYNAMODB_ENDPOINT = ddb.endpoint;
  globalThis.__DDB_LOCAL__ = ddb;
}
