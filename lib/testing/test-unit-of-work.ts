/**
 * `createTestUnitOfWork()` and `runHandler()`: the real UnitOfWork (same buffering, validation and transaction
 * building) committing into memory, and a view of what it holds for assertions.
 */
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import type { CloudEvent, JobScheduleSpec } from '../outbox/messages.js';
import { commitUnitOfWork, type CommitResult } from '../unit-of-work/commit.js';
import {
  clientOverride,
  resolveSettings,
  validateUnitOfWorkOptions,
  type UnitOfWorkOptions,
} from '../unit-of-work/settings.js';
import type { WriteKind } from '../unit-of-work/types.js';
import { UnitOfWork, type LoggerLike, type UnitOfWorkState } from '../unit-of-work/unit-of-work.js';
import { createMemoryClient } from './memory-client.js';

/** One buffered write (`put`/`update`/`delete`/`conditionCheck`) as a test sees it. */
export interface RecordedOperation {
  readonly kind: WriteKind;
  readonly table: string;
  readonly label: string;
  /** The item key, when known (a Put's key is known once the table's key names are: `tableKeys`). */
  readonly key?: Record<string, unknown>;
  /** The item of a Put. */
  readonly item?: Record<string, unknown>;
  /** The operation's parameters as they go into TransactWriteItems. */
  readonly params: Record<string, unknown>;
}

/** One scheduled job. */
export interface RecordedJob {
  readonly job: string;
  readonly key: string;
  readonly payload: unknown;
  readonly schedule: JobScheduleSpec;
  readonly maxAttempts: number;
}

/** A cancellation or reschedule. */
export interface RecordedJobChange {
  readonly kind: 'cancel' | 'reschedule';
  readonly key: string;
  readonly schedule?: JobScheduleSpec;
}

/**
 * What a unit of work holds: what it committed (state `committed`) or would commit (state `open`); nothing
 * once it is discarded or its commit failed.
 */
export interface UnitOfWorkRecording {
  /** `undefined` when the handler returned before `unitOfWork()` opened one (`runHandler`). */
  readonly uow: UnitOfWork | undefined;
  readonly state: UnitOfWorkState | 'not opened';
  readonly committed: boolean;
  readonly operations: readonly RecordedOperation[];
  readonly events: readonly CloudEvent[];
  readonly jobs: readonly RecordedJob[];
  readonly jobChanges: readonly RecordedJobChange[];
  /** Every TransactWriteItems input committed in memory. */
  readonly transactions: readonly TransactWriteCommandInput[];
}

/** {@link UnitOfWorkRecording} of any unit of work (`transactions` is empty unless it committed in memory). */
export function recordingOf(
  uow: UnitOfWork,
  transactions: readonly TransactWriteCommandInput[] = [],
): UnitOfWorkRecording {
  const holds = uow.state === 'open' || uow.state === 'committing' || uow.state === 'committed';
  const { writes, messages } = holds ? uow.contents() : { writes: [], messages: [] };
  return {
    uow,
    state: uow.state,
    committed: uow.state === 'committed',
    operations: writes
      .filter((w) => w.role === 'write')
      .map((w) => ({
        kind: w.kind,
        table: w.ref.table,
        label: w.ref.label,
        params: w.params,
        ...(w.ref.key ? { key: w.ref.key } : {}),
        ...(w.kind === 'Put' ? { item: w.params.Item as Record<string, unknown> } : {}),
      })),
    events: messages.flatMap((m) => (m.kind === 'event' ? [m.event] : [])),
    jobs: messages.flatMap((m) =>
      m.kind === 'job.schedule'
        ? [
            {
              job: m.job.name,
              key: m.job.key,
              payload: m.job.payload,
              schedule: m.schedule,
              maxAttempts: m.maxAttempts,
            },
          ]
        : [],
    ),
    jobChanges: messages.flatMap((m): RecordedJobChange[] =>
      m.kind === 'job.cancel'
        ? [{ kind: 'cancel', key: m.key }]
        : m.kind === 'job.reschedule'
          ? [{ kind: 'reschedule', key: m.key, schedule: m.schedule }]
          : [],
    ),
    transactions,
  };
}

/** Options of {@link createTestUnitOfWork}: the unit-of-work options (no client: it commits in memory). */
export interface TestUnitOfWorkOptions extends Omit<UnitOfWorkOptions, 'client'> {
  /** Recorded on events and jobs. */
  readonly correlationId?: string;
}

/** A real unit of work that commits into memory; its getters show what it holds now. */
export interface TestUnitOfWork extends UnitOfWorkRecording {
  /** The unit of work: pass it to the code under test. */
  readonly uow: UnitOfWork;
  /** Commits in memory exactly as the middleware would (the transaction is built and checked, callbacks run). */
  commit(): Promise<CommitResult>;
}

/** The recording of a handler that returned before its unit of work was opened (a validator's 400, …). */
const NOT_OPENED = {
  uow: undefined,
  state: 'not opened',
  committed: false,
  operations: [],
  events: [],
  jobs: [],
  jobChanges: [],
  transactions: [],
} as const;

const silent: LoggerLike = { debug() {}, info() {}, warn() {}, error() {} };
const COMPONENT = 'createTestUnitOfWork(options)';

function liveRecording<T extends object>(
  target: T,
  uow: () => UnitOfWork | undefined,
  transactions: readonly TransactWriteCommandInput[],
): T & UnitOfWorkRecording {
  for (const name of [
    'uow',
    'state',
    'committed',
    'operations',
    'events',
    'jobs',
    'jobChanges',
    'transactions',
  ] as const)
    Object.defineProperty(target, name, {
      enumerable: true,
      get: () => {
        const u = uow();
        return u ? recordingOf(u, transactions)[name] : NOT_OPENED[name];
      },
    });
  return target as T & UnitOfWorkRecording;
}

/**
 * A unit of work for unit tests, without DynamoDB: the real class, so every operation is buffered and
 * validated as in production; `commit()` builds the real TransactWriteItems and records it in memory.
 *
 * @example
 * ```ts
 * const t = createTestUnitOfWork({ source: 'orders' });
 * await placeOrder(t.uow, input);
 * await t.commit();
 * expect(t).toHavePublished('OrderPlaced', { orderId: expect.any(String) });
 * ```
 */
export function createTestUnitOfWork(options: TestUnitOfWorkOptions = {}): TestUnitOfWork {
  const { correlationId, ...rest } = options;
  const memory = createMemoryClient();
  const validated = validateUnitOfWorkOptions(
    { outboxTable: 'test-outbox', source: 'test', logger: silent, ...rest },
    COMPONENT,
  );
  const uow = new UnitOfWork(resolveSettings({ ...validated, client: memory.client }, COMPONENT, { correlationId }));
  return liveRecording({ commit: () => commitUnitOfWork(uow) }, () => uow, memory.transactions) as TestUnitOfWork;
}

/** What {@link runHandler} returns: the handler's result or error, and its unit of work's recording. */
export type HandlerRun<TResult> = UnitOfWorkRecording & { readonly result?: TResult; readonly error?: unknown };

/**
 * Runs a Middy handler wrapped by `unitOfWork()` (any client it was built with) with every unit of work it
 * opens committing in memory. Resolves with the result, or with `error` when the handler failed.
 *
 * @example
 * ```ts
 * const run = await runHandler(handler, { body: JSON.stringify(order) });
 * expect(run).toHaveCommitted();
 * expect(run).toHaveWritten('orders');
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: a Middy handler's context type is its own (UnitOfWorkContext, …)
export async function runHandler<TEvent, TResult>(
  handler: (event: TEvent, context: any, ...rest: any[]) => Promise<TResult>,
  event: TEvent,
  options: { readonly context?: Partial<Context> } = {},
): Promise<HandlerRun<TResult>> {
  const memory = createMemoryClient();
  const context = { ...testLambdaContext(), ...options.context } as Context & { uow?: UnitOfWork };
  const outcome: { result?: TResult; error?: unknown } = {};
  await clientOverride.run(memory.client, async () => {
    try {
      outcome.result = await handler(event, context);
    } catch (error) {
      outcome.error = error;
    }
  });
  return liveRecording(outcome, () => context.uow, memory.transactions) as HandlerRun<TResult>;
}

/** A Lambda context for tests. */
export function testLambdaContext(requestId = 'test-request'): Context {
  return {
    awsRequestId: requestId,
    functionName: 'test-function',
    functionVersion: '$LATEST',
    memoryLimitInMB: '128',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test-function',
    logGroupName: '/aws/lambda/test-function',
    logStreamName: 'test',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done() {},
    fail() {},
    succeed() {},
  };
}
