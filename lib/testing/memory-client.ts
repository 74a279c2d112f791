/**
 * A real `DynamoDBDocumentClient` whose calls never leave the process: a client middleware answers them
 * before anything is marshalled or sent. Commits (TransactWriteItems) are recorded; reads find nothing.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';

/** An in-memory client and what was committed through it. */
export interface MemoryClient {
  readonly client: DynamoDBDocumentClient;
  /** The input of every TransactWriteItems sent, in order. */
  readonly transactions: readonly TransactWriteCommandInput[];
}

const TRANSACT = new Set(['TransactWriteCommand', 'TransactWriteItemsCommand']);
const READS = new Set(['GetCommand', 'GetItemCommand']);

/** Creates a {@link MemoryClient}. Any call but a commit or a `GetItem` (no item) throws, naming the command. */
export function createMemoryClient(): MemoryClient {
  const transactions: TransactWriteCommandInput[] = [];
  const raw = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const command = String(context.commandName);
      if (TRANSACT.has(command)) {
        transactions.push(structuredClone(args.input as TransactWriteCommandInput));
        return { output: { $metadata: {} } as never, response: {} };
      }
      if (READS.has(command)) return { output: { $metadata: {} } as never, response: {} };
      throw new Error(
        `${command} is not supported by the in-memory client of lambda-unit-of-work/testing (it records commits only): stub your reads`,
      );
    },
    { step: 'initialize', name: `memory-client-${randomUUID()}`, priority: 'high' },
  );
  return { client, transactions };
}
