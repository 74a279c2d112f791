import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EscapedWriteError } from '../errors.js';
import { commitScope } from './commit.js';
import { ambientUnitOfWork } from './context.js';

const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'PutCommand',
  'UpdateItemCommand',
  'UpdateCommand',
  'DeleteItemCommand',
  'DeleteCommand',
  'BatchWriteItemCommand',
  'BatchWriteCommand',
  'TransactWriteItemsCommand',
  'TransactWriteCommand',
]);
const STATEMENT_COMMANDS = new Set([
  'ExecuteStatementCommand',
  'BatchExecuteStatementCommand',
  'ExecuteTransactionCommand',
]);
const GUARD_NAME = 'lambdaUnitOfWorkEscapeGuard';

interface Stack {
  identify(): string[];
  add(mw: unknown, opts: unknown): void;
}
/** Middleware stacks that already hold the guard (a document client shares its client's stack). */
const guardedStacks = new WeakSet<object>();

function isWriteStatement(input: Record<string, unknown>): boolean {
  const statements: unknown[] = [
    input.Statement,
    ...((input.Statements as { Statement?: unknown }[] | undefined) ?? []).map((s) => s.Statement),
    ...((input.TransactStatements as { Statement?: unknown }[] | undefined) ?? []).map((s) => s.Statement),
  ];
  return statements.some((s) => typeof s === 'string' && !/^\s*select\b/i.test(s));
}

/**
 * True when a direct write now would escape a unit of work: one is ambient here and not committed (open,
 * committing, discarded or failed: a failed invocation must not write either), and this is not the
 * library's own commit. After the commit (`onCommitted` callbacks) direct writes pass.
 */
function escapes(): boolean {
  if (commitScope.getStore() === true) return false;
  const uow = ambientUnitOfWork();
  return uow !== undefined && uow.state !== 'committed';
}

function addGuard(stack: Stack): void {
  if (guardedStacks.has(stack)) return;
  guardedStacks.add(stack);
  if (stack.identify().some((entry) => entry.startsWith(GUARD_NAME))) return;
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        const name = context.commandName ?? '';
        const writes = WRITE_COMMANDS.has(name) || (STATEMENT_COMMANDS.has(name) && isWriteStatement(args.input));
        if (writes && escapes())
          throw new EscapedWriteError(
            name,
            typeof args.input.TableName === 'string' ? args.input.TableName : undefined,
          );
        return next(args);
      },
    { step: 'initialize', name: GUARD_NAME, priority: 'high' },
  );
}

/**
 * Instruments a DynamoDB client (in place, and returns it) so that a direct write sent while a unit of work
 * is ambient and not committed in the same async context throws {@link EscapedWriteError} instead of
 * escaping the transaction. Reads pass; so do writes outside any unit of work, writes after its commit
 * (`onCommitted`) and the library's own commit. Idempotent.
 *
 * @example
 * ```ts
 * const ddb = guardClient(DynamoDBDocumentClient.from(new DynamoDBClient({})));
 * // inside a wrapped handler: ddb.send(new PutCommand(...)) throws EscapedWriteError
 * ```
 */
export function guardClient<T extends DynamoDBClient | DynamoDBDocumentClient>(client: T): T {
  addGuard(client.middlewareStack as unknown as Stack);
  return client;
}

let allGuarded = false;

/**
 * Strict mode: guards every `DynamoDBClient` and `DynamoDBDocumentClient` of the process, including ones a
 * nested service creates itself, as {@link guardClient} does. It wraps `send` on the two client classes'
 * prototypes (once; idempotent): the first `send` of each client adds the guard middleware to its stack, so
 * every later call costs one WeakSet lookup more. Clients of another copy of `@aws-sdk/client-dynamodb`
 * (bundled separately) are not reached: pass those to `guardClient`. `unitOfWork({ guard: 'process' })` calls it.
 */
export function guardAllClients(): void {
  if (allGuarded) return;
  allGuarded = true;
  for (const proto of [DynamoDBClient.prototype, DynamoDBDocumentClient.prototype] as {
    send: (...args: unknown[]) => unknown;
    middlewareStack?: Stack;
  }[]) {
    const send = proto.send;
    Object.defineProperty(proto, 'send', {
      configurable: true,
      writable: true,
      value: function guardedSend(this: { middlewareStack: Stack }, ...args: unknown[]): unknown {
        if (!guardedStacks.has(this.middlewareStack)) addGuard(this.middlewareStack);
        return send.apply(this, args);
      },
    });
  }
}
