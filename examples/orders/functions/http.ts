import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import validator from '@middy/validator';
import { transpileSchema } from '@middy/validator/transpile';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { ConditionFailedError, unitOfWork, type UnitOfWorkContext } from '../../../lib/index.js';
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
    .use(
      httpErrorHandler({
        logger: (error: unknown) => {
          const status = (error as { statusCode?: number })?.statusCode ?? 500;
          if (status >= 500) logger.error('request failed', { error });
          else logger.info('request rejected', { statusCode: status, message: (error as Error)?.message });
        },
        fallbackMessage: INTERNAL_ERROR_BODY,
      }),
    )
    .use(jsonErrorBodies());
  if (options.bodySchema) {
    stack.use(validationDetails());
    stack.use(httpJsonBodyParser({ disableContentTypeError: false }));
    // No type coercion: "2" is not a quantity.
    const eventSchema = transpileSchema(
      { type: 'object', required: ['body'], properties: { body: options.bodySchema } },
      { coerceTypes: false },
    );
    stack.use(validator({ eventSchema }));
  }
  return stack
    .use(
      unitOfWork({
        outboxTable,
        client: ordersClient(),
        source: 'orders',
        readOnly: options.readOnly ?? false,
        logger,
      }),
    )
    .handler(handler as never);
}

/** The body of every 5xx: nothing about the cause (it is logged). */
const INTERNAL_ERROR_BODY = JSON.stringify({ message: 'Internal server error' });

/**
 * Every error body is JSON, `{ "message": … }`: a 4xx says what is wrong with the request; a failed condition
 * says the order changed meanwhile (its own message names the table and key, which callers must not see);
 * a 5xx says nothing more than {@link INTERNAL_ERROR_BODY}. Runs before `@middy/http-error-handler` renders it.
 */
function jsonErrorBodies() {
  return {
    onError: (request: { error?: unknown }): void => {
      const error = request.error as { statusCode?: number; expose?: boolean; message: string } | undefined;
      if (!error || typeof error !== 'object' || !error.statusCode || error.statusCode >= 500) return;
      if (error.expose === false) return;
      const message =
        error instanceof ConditionFailedError ? 'the order changed meanwhile; nothing was written' : error.message;
      error.message = JSON.stringify({ message });
    },
  };
}

/**
 * Puts what is wrong into the message of `@middy/validator`'s 400 ("Event object failed validation"), so the
 * caller reads e.g. `body/items/0/quantity must be >= 1`. Runs before the error handler renders it.
 */
function validationDetails() {
  return {
    onError: (request: { error?: unknown }): void => {
      const error = request.error as
        | { statusCode?: number; message: string; cause?: { data?: { instancePath?: string; message?: string }[] } }
        | undefined;
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
