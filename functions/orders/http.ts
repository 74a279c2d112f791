import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import validator from '@middy/validator';
import { transpileSchema } from '@middy/validator/transpile';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { unitOfWork, type UnitOfWorkContext } from '../../lib/index.js';
import { ordersClient, ordersConfig } from './env.js';

/** The service's structured logger. */
export const logger = new Logger({ serviceName: 'orders' });

/** An HTTP handler of the orders service, with its unit of work on `context.uow`. */
export type OrdersHandler<TBody> = (
  event: Omit<APIGatewayProxyEventV2, 'body'> & { body: TBody },
  context: UnitOfWorkContext,
) => Promise<APIGatewayProxyResultV2>;

/** Options of {@link httpHandler}. */
export interface HttpHandlerOptions {
  /** JSON schema of the parsed body: a 400 names what is wrong. */
  readonly bodySchema?: Record<string, unknown>;
  /** Queries use a read-only unit of work. @default false */
  readonly readOnly?: boolean;
}

/**
 * Composes an orders-service handler the way a user would: Powertools Logger context, a clear 4xx/5xx from
 * `@middy/http-error-handler` (ConditionFailedError → 409), JSON body parsing and validation, and the unit
 * of work, which commits after the handler returns. Order matters: error handler first, unit of work last.
 */
export function httpHandler<TBody>(handler: OrdersHandler<TBody>, options: HttpHandlerOptions = {}) {
  const { outboxTable } = ordersConfig();
  const stack = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, UnitOfWorkContext>()
    .use(injectLambdaContext(logger))
    .use(httpErrorHandler({ logger: (error: unknown) => logger.warn('request failed', { error }) }));
  if (options.bodySchema) {
    stack.use(httpJsonBodyParser({ disableContentTypeError: false }));
    stack.use(validator({ eventSchema: transpileSchema({ type: 'object', required: ['body'], properties: { body: options.bodySchema } }) }));
  }
  return stack
    .use(unitOfWork({ outboxTable, client: ordersClient(), source: 'orders', readOnly: options.readOnly ?? false, logger }))
    .handler(handler as never);
}

/** A JSON response. */
export function json(statusCode: number, body: unknown): APIGatewayProxyResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
