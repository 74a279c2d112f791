import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EscapedWriteError } from '../errors.js';
import { commitScope } from './commit.js';
import { activeUnitOfWork } from './context.js';

const WRITE_COMMANDS = new Set([
  'PutItemCommand', 'PutCommand',
  'UpdateItemCommand', 'UpdateCommand',
  'DeleteItemCommand', 'DeleteCommand',
  'BatchWriteItemCommand', 'BatchWriteCommand',
  'TransactWriteItemsCommand', 'TransactWriteCommand',
]);
const STATEMENT_COMMANDS = new Set(['ExecuteStatementCommand', 'BatchExecuteStatementCommand', 'ExecuteTransactionCommand']);
const GUARD_NAME = 'lambdaUnitOfWorkEscapeGuard';

function isWriteStatement(input: Record<string, unknown>): boolean {
  const statements: unknown[] = [input.Statement, ...((input.Statements as { Statement?: unknown }[] | undefined) ?? []).map((s) => s.Statement), ...((input.TransactStatements as { Statement?: unknown }[] | undefined) ?? []).map((s) => s.Statement)];
  return statements.some((s) => typeof s === 'string' && !/^\s*select\b/i.test(s));
}

/**
 * Instruments a DynamoDB client (in place, and returns it) so that a direct write sent while a unit of work
 * is active in the same async context throws {@link EscapedWriteError} instead of escaping the transaction.
 * Reads pass; so do writes outside any unit of work and the library's own commit. Idempotent.
 *
 * @example
 * ```ts
 * const ddb = guardClient(DynamoDBDocumentClient.from(new DynamoDBClient({})));
 * // inside a wrapped handler: ddb.send(new PutCommand(...)) throws EscapedWriteError
 * ```
 */
export function guardClient<T extends DynamoDBClient | DynamoDBDocumentClient>(client: T): T {
  const stack = client.middlewareStack as unknown as { identify(): string[]; add(mw: unknown, opts: unknown): void };
  if (stack.identify().some((entry) => entry.startsWith(GUARD_NAME))) return client;
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
      const name = context.commandName ?? '';
      const writes = WRITE_COMMANDS.has(name) || (STATEMENT_COMMANDS.has(name) && isWriteStatement(args.input));
      if (writes && commitScope.getStore() !== true && activeUnitOfWork()) {
        throw new EscapedWriteError(name, typeof args.input.TableName === 'string' ? args.input.TableName : undefined);
      }
      return next(args);
    },
    { step: 'initialize', name: GUARD_NAME, priority: 'high' },
  );
  return client;
}
