/**
 * Typed event catalogs: `defineEvents({ OrderPlaced: schema, … })` types `publish` by event type, validates
 * the data where it is published, and parses consumed events (EventBridge event, SQS body or CloudEvent) back
 * into typed, validated events.
 */
import { InvalidOperationError, SchemaValidationError, type SchemaIssue } from '../errors.js';
import type { CloudEvent } from '../outbox/messages.js';
import type { UnitOfWork } from '../unit-of-work/unit-of-work.js';
import type { PublishInput } from '../unit-of-work/types.js';
import {
  isStandardSchema,
  validateAsync,
  validateSync,
  type SchemaInput,
  type SchemaOutput,
  type StandardSchemaV1,
} from './standard-schema.js';

/** Event type → Standard Schema of its data. */
export type EventSchemas = { readonly [type: string]: StandardSchemaV1 };

/** What `publish` takes besides type and data (the rest of `uow.publish`'s input). */
export type TypedPublishOptions = Omit<PublishInput, 'type' | 'data'>;

/** The event of type `K` of a catalog, as a consumer sees it: a CloudEvent whose data is the schema's output. */
export type CatalogEvent<TSchemas extends EventSchemas, K extends keyof TSchemas & string = keyof TSchemas & string> = {
  [T in K]: CloudEvent<SchemaOutput<TSchemas[T]>> & { readonly type: T };
}[K];

/** Any event of a catalog (a union discriminated on `type`): `EventOf<typeof orderEvents>`. */
export type EventOf<C> = C extends EventCatalog<infer S> ? CatalogEvent<S> : never;

/** What {@link defineEvents} returns. */
export interface EventCatalog<TSchemas extends EventSchemas> {
  /** The schemas, as given. */
  readonly schemas: TSchemas;
  /** The event types of the catalog. */
  readonly types: readonly (keyof TSchemas & string)[];
  /**
   * Validates `data` against the type's schema (synchronously; an async schema is refused, see
   * {@link publishAsync}) and buffers the schema's output with `uow.publish`. Returns the event id.
   * @throws SchemaValidationError naming `publish(<type>)` and every failing path.
   */
  publish<K extends keyof TSchemas & string>(
    uow: UnitOfWork,
    type: K,
    data: SchemaInput<TSchemas[K]>,
    options?: TypedPublishOptions,
  ): string;
  /** {@link publish} for schemas that validate asynchronously. Buffer it before the handler returns (await it). */
  publishAsync<K extends keyof TSchemas & string>(
    uow: UnitOfWork,
    type: K,
    data: SchemaInput<TSchemas[K]>,
    options?: TypedPublishOptions,
  ): Promise<string>;
  /**
   * Parses a consumed event into the typed event, validating its data: an EventBridge event (`detail` is our
   * CloudEvent), its JSON (an SQS body behind an EventBridge rule), or the CloudEvent itself.
   * @throws SchemaValidationError naming `parse(<type>)` for a bad envelope, an unknown type or bad data.
   */
  parse(event: unknown): Promise<CatalogEvent<TSchemas>>;
}

/** The CloudEvent inside an EventBridge event, its JSON, or a CloudEvent as it is; checks the envelope. */
export function toCloudEvent(event: unknown, operation = 'parse(event)'): CloudEvent {
  let value = event;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new SchemaValidationError(operation, 'the event', [{ path: '', message: 'not JSON' }]);
    }
  }
  const record = value as Record<string, unknown> | null;
  if (record && typeof record === 'object' && 'detail' in record && 'detail-type' in record) value = record.detail;
  const cloud = value as Record<string, unknown> | null;
  const issues: SchemaIssue[] = [];
  if (!cloud || typeof cloud !== 'object')
    issues.push({ path: '', message: 'expected an EventBridge event or a CloudEvent object' });
  else {
    if (cloud.specversion !== '1.0') issues.push({ path: 'specversion', message: 'expected "1.0"' });
    for (const name of ['id', 'type', 'source'] as const)
      if (typeof cloud[name] !== 'string' || cloud[name] === '')
        issues.push({ path: name, message: 'expected a non-empty string' });
  }
  if (issues.length) throw new SchemaValidationError(operation, 'the CloudEvent envelope', issues);
  return cloud as unknown as CloudEvent;
}

/**
 * Declares the events a service publishes, one Standard Schema (zod, valibot, arktype, …) per event type.
 * Validation happens at the call: `publish` throws before anything is buffered.
 *
 * @example
 * ```ts
 * export const orderEvents = defineEvents({
 *   OrderPlaced: z.object({ orderId: z.string(), customerId: z.string(), total: z.number() }),
 *   OrderPaid: v.object({ orderId: v.string(), total: v.number() }),
 * });
 * orderEvents.publish(uow, 'OrderPlaced', { orderId, customerId, total }, { subject: orderId });
 * const event = await orderEvents.parse(sqsRecord.body); // EventOf<typeof orderEvents>
 * ```
 */
export function defineEvents<const TSchemas extends EventSchemas>(schemas: TSchemas): EventCatalog<TSchemas> {
  if (typeof schemas !== 'object' || schemas === null)
    throw new InvalidOperationError('defineEvents()', 'expects an object of event type → schema');
  const bad = Object.entries(schemas)
    .filter(([, s]) => !isStandardSchema(s))
    .map(([t]) => `"${t}"`);
  if (bad.length)
    throw new InvalidOperationError(
      'defineEvents()',
      `the schema of ${bad.join(', ')} is not a Standard Schema v1 validator (zod, valibot, arktype, …)`,
    );
  const types = Object.keys(schemas) as (keyof TSchemas & string)[];
  const schemaOf = (type: string, operation: string): StandardSchemaV1 => {
    if (!Object.hasOwn(schemas, type))
      throw new InvalidOperationError(
        operation,
        `unknown event type (this catalog has ${types.map((t) => `"${t}"`).join(', ')})`,
      );
    return schemas[type]!;
  };
  return {
    schemas,
    types,
    publish(uow, type, data, options = {}) {
      const operation = `publish(${type})`;
      const value = validateSync(schemaOf(type, operation), data, operation, 'the event data');
      return uow.publish({ ...options, type, data: value });
    },
    async publishAsync(uow, type, data, options = {}) {
      const operation = `publish(${type})`;
      const value = await validateAsync(schemaOf(type, operation), data, operation, 'the event data');
      return uow.publish({ ...options, type, data: value });
    },
    async parse(event) {
      const cloud = toCloudEvent(event);
      const operation = `parse(${cloud.type})`;
      if (!Object.hasOwn(schemas, cloud.type))
        throw new SchemaValidationError(operation, 'the event', [
          { path: 'type', message: `not an event type of this catalog (${types.join(', ')})` },
        ]);
      const data = await validateAsync(schemas[cloud.type]!, cloud.data, operation, 'the event data');
      return { ...cloud, data } as CatalogEvent<TSchemas>;
    },
  };
}
