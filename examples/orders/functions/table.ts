/**
 * The orders table, defined once for the CDK stack (cdk/example) and the local runtime (`npm start`).
 * Pure data: no SDK, no CDK import.
 */
export const ORDERS_TABLE_DEFINITION = {
  partitionKey: { name: 'pk', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
} as const;
