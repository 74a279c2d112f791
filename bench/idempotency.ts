/**
 * Idempotency overhead on DynamoDB Local, three handlers interleaved in one run, each doing the same work
 * (1 conditional put + 1 event + 1 job in one unit of work):
 * - plain:       `unitOfWork()` without idempotency;
 * - option:      `unitOfWork({ idempotency })`: 1 consistent GetItem + the record in the same TransactWriteItems;
 * - powertools:  `makeHandlerIdempotent()` of `@aws-lambda-powertools/idempotency` (DynamoDB persistence layer, its
 *                own table with an `id` partition key) around the same `unitOfWork()` handler: a conditional PutItem
 *                (IN_PROGRESS) before, an UpdateItem (COMPLETED) after, separate from the handler's transaction.
 * First calls use a new key each time (the handler runs); duplicate calls repeat a key that already completed.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { makeHandlerIdempotent } from '@aws-lambda-powertools/idempotency/middleware';
import middy from '@middy/core';
import { unitOfWork, type UnitOfWorkContext } from '../lib/index.js';
import { LOCAL_AWS_CONFIG } from '../lib/local/dynamodb-local.js';
import { createBusinessTable, createTestOutboxTable } from '../test/support/ddb.js';
import { fmt, median, timeMs } from './stats.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Figures of {@link runIdempotencyBench} (milliseconds, medians). */
export interface IdempotencyBenchResult {
  readonly iterations: number;
  readonly firstCall: { plainMs: number; optionMs: number; powertoolsMs: number };
  /** Added to the plain handler's median: option and Powertools. */
  readonly overhead: { optionMs: number; powertoolsMs: number; ratio: number };
  readonly duplicate: { optionMs: number; powertoolsMs: number; ratio: number };
}

interface BenchEvent {
  readonly headers: { readonly 'idempotency-key': string };
  readonly orderId: string;
}

async function createPowertoolsTable(raw: DynamoDBClient): Promise<string> {
  const name = `bench-powertools-idempotency-${randomUUID()}`;
  await raw.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    }),
  );
  await raw.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiration' },
    }),
  );
  return name;
}

/**
 * Measures first-call (and duplicate-call) latency of the three handlers, interleaved with a rotating
 * order, on the DynamoDB Local at `endpoint`; prints medians and ratios and returns them.
 */
export async function runIdempotencyBench(endpoint: string, iterations = 200): Promise<IdempotencyBenchResult> {
  const raw = new DynamoDBClient({ endpoint, ...LOCAL_AWS_CONFIG });
  const doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const [orders, outbox, powertoolsTable] = await Promise.all([
    createBusinessTable(raw, 'bench-idem-orders'),
    createTestOutboxTable(raw, 'bench-idem-outbox'),
    createPowertoolsTable(raw),
  ]);

  const work = async (event: BenchEvent, { uow }: UnitOfWorkContext) => {
    uow.put({
      TableName: orders,
      Item: { pk: event.orderId, status: 'PLACED' },
      ConditionExpression: 'attribute_not_exists(pk)',
      label: 'create order',
    });
    const eventId = uow.publish({ type: 'OrderPlaced', data: { orderId: event.orderId } });
    uow.schedule({
      job: 'expire-unpaid-order',
      payload: { orderId: event.orderId },
      delay: 900,
      key: `expire-${event.orderId}`,
    });
    return { statusCode: 201, body: JSON.stringify({ orderId: event.orderId, eventId }) };
  };
  const uowOptions = { outboxTable: outbox, client: doc, source: 'bench', logger: silent };
  const key = (event: BenchEvent) => event.headers['idempotency-key'];

  const handlers = {
    plain: middy<BenchEvent, unknown, Error, UnitOfWorkContext>().use(unitOfWork(uowOptions)).handler(work),
    option: middy<BenchEvent, unknown, Error, UnitOfWorkContext>()
      .use(
        unitOfWork({ ...uowOptions, idempotency: { key, payload: (e: BenchEvent) => e.orderId, expiresAfter: 3600 } }),
      )
      .handler(work),
    powertools: middy<BenchEvent, unknown, Error, UnitOfWorkContext>()
      .use(
        makeHandlerIdempotent({
          persistenceStore: new DynamoDBPersistenceLayer({ tableName: powertoolsTable, awsSdkV3Client: raw }),
          config: new IdempotencyConfig({
            eventKeyJmesPath: 'headers."idempotency-key"',
            payloadValidationJmesPath: 'orderId',
            expiresAfterSeconds: 3600,
          }),
        }),
      )
      .use(unitOfWork(uowOptions))
      .handler(work),
  } as const;
  type Name = keyof typeof handlers;
  const names = Object.keys(handlers) as Name[];
  const context = (): UnitOfWorkContext =>
    ({
      awsRequestId: randomUUID(),
      functionName: 'bench',
      getRemainingTimeInMillis: () => 30000,
    }) as unknown as UnitOfWorkContext;
  const newEvent = (): BenchEvent => ({ headers: { 'idempotency-key': randomUUID() }, orderId: randomUUID() });

  const first: Record<Name, number[]> = { plain: [], option: [], powertools: [] };
  const duplicate: Record<Name, number[]> = { plain: [], option: [], powertools: [] };
  const done: Record<Name, BenchEvent[]> = { plain: [], option: [], powertools: [] };
  for (let i = 0; i < 20; i++) for (const n of names) await handlers[n](newEvent(), context());
  for (let i = 0; i < iterations; i++) {
    const order = names.map((_, j) => names[(i + j) % names.length]!);
    for (const n of order) {
      const event = newEvent();
      first[n].push(await timeMs(() => handlers[n](event, context())));
      done[n].push(event);
    }
  }
  for (let i = 0; i < iterations; i++) {
    for (const n of names.filter((x) => x !== 'plain').map((_, j, a) => a[(i + j) % a.length]!)) {
      const event = done[n][i]!;
      duplicate[n].push(await timeMs(() => handlers[n]({ ...event }, context())));
    }
  }
  raw.destroy();

  const m = (xs: number[]): number => median(xs);
  const result: IdempotencyBenchResult = {
    iterations,
    firstCall: { plainMs: m(first.plain), optionMs: m(first.option), powertoolsMs: m(first.powertools) },
    overhead: {
      optionMs: m(first.option) - m(first.plain),
      powertoolsMs: m(first.powertools) - m(first.plain),
      ratio: (m(first.option) - m(first.plain)) / (m(first.powertools) - m(first.plain)),
    },
    duplicate: {
      optionMs: m(duplicate.option),
      powertoolsMs: m(duplicate.powertools),
      ratio: m(duplicate.option) / m(duplicate.powertools),
    },
  };
  const f = result.firstCall;
  console.log(
    '\n## Idempotency: 1 conditional put + 1 event + 1 job, first calls (new key) and duplicates (completed key)',
  );
  console.log(
    `first call (DynamoDB Local, median of ${iterations} interleaved): plain ${fmt(f.plainMs)} ms, idempotency option ${fmt(f.optionMs)} ms, Powertools middleware ${fmt(f.powertoolsMs)} ms`,
  );
  console.log(
    `  vs plain: option ${fmt(f.optionMs / f.plainMs, 3)}x (+${fmt(result.overhead.optionMs)} ms), Powertools ${fmt(f.powertoolsMs / f.plainMs, 3)}x (+${fmt(result.overhead.powertoolsMs)} ms)`,
  );
  console.log(
    `  option / Powertools: ${fmt(f.optionMs / f.powertoolsMs, 3)} total, ${fmt(result.overhead.ratio, 3)} of the added latency (goal < 1)`,
  );
  console.log(
    `duplicate call (median of ${iterations}): option ${fmt(result.duplicate.optionMs)} ms, Powertools ${fmt(result.duplicate.powertoolsMs)} ms, ratio ${fmt(result.duplicate.ratio, 3)}`,
  );
  return result;
}
