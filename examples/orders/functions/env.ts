import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { guardClient } from '../../../lib/index.js';

/** Settings of the example orders service, from the environment the stack (or `npm start`) sets. */
export function ordersConfig(): { ordersTable: string; outboxTable: string; expiryDelaySeconds: number } {
  const ordersTable = process.env.ORDERS_TABLE;
  const outboxTable = process.env.UOW_OUTBOX_TABLE;
  const missing = [!ordersTable && 'ORDERS_TABLE', !outboxTable && 'UOW_OUTBOX_TABLE'].filter(Boolean);
  if (missing.length) throw new Error(`orders service: missing environment variable(s) ${missing.join(', ')}`);
  const expiryDelaySeconds = Number(process.env.ORDER_EXPIRY_SECONDS ?? 900);
  if (!Number.isFinite(expiryDelaySeconds) || expiryDelaySeconds < 0)
    throw new Error('orders service: ORDER_EXPIRY_SECONDS must be a number of seconds');
  return { ordersTable: ordersTable!, outboxTable: outboxTable!, expiryDelaySeconds };
}

let client: DynamoDBDocumentClient | undefined;

/**
 * The service's DynamoDB client, created once per process and guarded: a direct write inside a unit of work
 * throws instead of escaping the transaction. `DYNAMODB_ENDPOINT` points it at DynamoDB Local.
 */
export function ordersClient(): DynamoDBDocumentClient {
  client ??= guardClient(
    DynamoDBDocumentClient.from(
      new DynamoDBClient(process.env.DYNAMODB_ENDPOINT ? { endpoint: process.env.DYNAMODB_ENDPOINT } : {}),
      {
        marshallOptions: { removeUndefinedValues: true },
      },
    ),
  );
  return client;
}

/** An order as stored in the orders table. */
export interface Order {
  readonly pk: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly items: readonly { sku: string; quantity: number; unitPrice: number }[];
  readonly total: number;
  readonly status: 'PENDING' | 'PAID' | 'EXPIRED';
  readonly version: number;
  readonly createdAt: string;
  /** When the expiry job is due, unless the order is paid first. */
  readonly expiresAt: string;
  readonly paidAt?: string;
  readonly expiredAt?: string;
}

/** Job key of an order's expiry: one per order, so cancelling it needs nothing but the order id. */
export const expiryJobKey = (orderId: string): string => `expire-${orderId}`;
