import type { Context } from 'aws-lambda';
import type { MiddlewareObj, Request } from '@middy/core';
import { commitUnitOfWork } from '../unit-of-work/commit.js';
import { enterUnitOfWork } from '../unit-of-work/context.js';
import { resolveOutboxTable, resolveSettings, validateOptions, type UnitOfWorkOptions } from '../unit-of-work/settings.js';
import { UnitOfWork, type LoggerLike } from '../unit-of-work/unit-of-work.js';

/** The Lambda context as the handler sees it behind `unitOfWork()`: `context.uow` is its unit of work. */
export type UnitOfWorkContext = Context & { uow: UnitOfWork };

/** Options of the {@link unitOfWork} middleware. */
export type UnitOfWorkMiddlewareOptions = UnitOfWorkOptions;

const COMPONENT = 'unitOfWork(options)';

/**
 * Middy middleware that gives every invocation a unit of work on `context.uow` (and as the ambient one,
 * see `currentUnitOfWork()`). The handler only buffers; after it returns, the middleware commits
 * everything in one TransactWriteItems (writes, job records and outbox items), then runs the `onCommitted`
 * callbacks. If the handler throws, everything is discarded and the handler's error propagates untouched.
 *
 * Options are validated here, when the middleware is created.
 *
 * @example
 * ```ts
 * export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, UnitOfWorkContext>()
 *   .use(httpErrorHandler())
 *   .use(unitOfWork({ outboxTable: process.env.OUTBOX_TABLE!, source: 'orders' }))
 *   .handler(async (event, { uow }) => {
 *     uow.put({ TableName: 'orders', Item: order, ConditionExpression: 'attribute_not_exists(pk)', label: 'create order' });
 *     uow.publish({ type: 'OrderPlaced', data: { orderId: order.id } });
 *     uow.schedule({ job: 'expire-unpaid-order', payload: { orderId: order.id }, delay: 900, key: `expire-${order.id}` });
 *     return { statusCode: 201 };
 *   });
 * ```
 */
export function unitOfWork(options: UnitOfWorkMiddlewareOptions = {}): MiddlewareObj<unknown, unknown, Error, UnitOfWorkContext> {
  const validated = validateOptions(options, COMPONENT);
  resolveOutboxTable(validated, COMPONENT); // fail at creation, not at the first invocation
  let logger: LoggerLike | undefined = validated.logger;
  const uowOf = new WeakMap<object, UnitOfWork>();

  const before = (request: Request<unknown, unknown, Error, UnitOfWorkContext>): void => {
    const context = request.context as Partial<UnitOfWorkContext>;
    const uow = new UnitOfWork(resolveSettings(validated, COMPONENT, { correlationId: context.awsRequestId, logger }));
    uowOf.set(request, uow);
    (request.context as UnitOfWorkContext).uow = uow;
    // Synchronous on purpose: the ambient store must be set in middy's own async context so the handler inherits it.
    enterUnitOfWork(uow);
  };

  const after = async (request: Request<unknown, unknown, Error, UnitOfWorkContext>): Promise<void> => {
    const uow = uowOf.get(request);
    if (!uow || uow.state !== 'open') return;
    if (!logger) logger = await loadLogger();
    await commitUnitOfWork(uow);
  };

  const onError = (request: Request<unknown, unknown, Error, UnitOfWorkContext>): void => {
    uowOf.get(request)?.discard();
    // Returning nothing leaves request.error as it is: the handler's error propagates untouched.
  };

  return { before, after, onError };
}

async function loadLogger(): Promise<LoggerLike> {
  const { loadDefaultLogger } = await import('../unit-of-work/settings.js');
  return loadDefaultLogger();
}
