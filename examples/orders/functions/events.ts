/**
 * The events of the orders service, typed and validated where they are published (`orderEvents.publish`) and
 * where they are consumed (`orderEvents.parse`). A pure module: schemas only.
 */
import { z } from 'zod';
import { defineEvents, type EventOf } from '../../../lib/index.js';

/** Every event the orders service publishes, with the schema of its data. */
export const orderEvents = defineEvents({
  OrderPlaced: z.object({ orderId: z.string().min(1), customerId: z.string().min(1), total: z.number().nonnegative() }),
  OrderPaid: z.object({
    orderId: z.string().min(1),
    customerId: z.string().min(1),
    total: z.number().nonnegative(),
    paymentReference: z.string().min(1),
  }),
  OrderExpired: z.object({ orderId: z.string().min(1), expiredBy: z.string() }),
});

/** Any event of the orders service, discriminated on `type`. */
export type OrderEvent = EventOf<typeof orderEvents>;
