import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import validator from '@middy/validator';
import { transpileSchema } from '@middy/validator/transpile';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { unitOfWork, type UnitOfWorkContext } from '../../../lib/index.js';
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
    .use(httpErrorHandler({
      logger: (error: unknown) => {
        const status = (error as { statusCode?: number })?.statusCode ?? 500;
        if (status >= 500) logger.error('request failed', { error });
        else logger.info('request rejected', { statusCode: status, message: (error as Error)?.message });
      },
    }));
  if (options.bodySchema) {
    stack.use(validationDetails());
    stack.use(httpJsonBodyParser({ disableContentTypeError: false }));
    stack.use(validator({ eventSchema: transpileSchema({ type: 'object', required: ['body'], properties: { body: options.bodySchema } }) }));
  }
  return stack
    .use(unitOfWork({ outboxTable, client: ordersClient(), source: 'orders', readOnly: options.readOnly ?? false, logger }))
    .handler(handler as never);
}

/**
 * Puts what is wrong into the message of `@middy/validator`'s 400 ("Event object failed validation"), so the
 * caller reads e.g. `body/items/0/quantity must be >= 1`. Runs before the error handler renders it.
 */
function validationDetails() {
  return {
    onError: (request: { error?: unknown }): void => {
      const error = request.error as { statusCode?: number; message: string; cause?: { data?: { instancePath?: string; message?: string }[] } } | undefined;
      const details = error?.statusCode === 400 ? error.cause?.data : undefined;
      if (!Array.isArray(details) || details.length === 0) return;
      error!.message = `Invalid request: ${details.map((d) => `${(d.instancePath ?? '').replace(/^\//, '') || 'event'} ${d.message ?? 'is invalid'}`).join('; ')}`;
    },
  };
}

/** A JSON response. */
export function json(statusCode: number, body: unknown): APIGatewayProxyResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}
