import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { jobRecordKey, type JobRecord } from '../jobs/record.js';
import type { Caller } from './calls.js';

/** Reads job records (strongly consistent) from the outbox/jobs table. */
export interface JobRecordReader {
  read(table: string, jobKey: string): Promise<JobRecord | undefined>;
}

/** A {@link JobRecordReader} on a DynamoDB client; reads go through the caller (limiter and retries). */
export function createJobRecordReader(client: DynamoDBClient, caller: Caller): JobRecordReader {
  return {
    async read(table, jobKey) {
      const result = await caller.call(() =>
        client.send(new GetItemCommand({ TableName: table, Key: marshall(jobRecordKey(jobKey)), ConsistentRead: true })),
      );
      return result.Item ? (unmarshall(result.Item) as JobRecord) : undefined;
    },
  };
}
