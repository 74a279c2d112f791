import { describe, it, expect } from '@jest/globals';
import { startDynamoDBLocal } from '../../lib/local/dynamodb-local.js';

describe('startDynamoDBLocal', () => {
  it('without java on the PATH, fails with one line saying what to install (and starts nothing)', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const error = await startDynamoDBLocal().catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe(
        'DynamoDB Local needs Java 17 or later on the PATH: install it (Debian: `apt-get install openjdk-17-jre-headless`) and try again.',
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('is the one the jest run started: it answers on loopback', async () => {
    expect(process.env.DYNAMODB_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(process.env.DYNAMODB_ENDPOINT!, {
      method: 'POST',
      headers: {
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        'content-type': 'application/x-amz-json-1.0',
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x',
      },
      body: '{}',
    });
    expect(response.status).toBe(200);
  });
});
