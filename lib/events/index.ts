export {
  defineEvents,
  toCloudEvent,
  type CatalogEvent,
  type EventCatalog,
  type EventOf,
  type EventSchemas,
  type TypedPublishOptions,
} from './catalog.js';
export {
  isStandardSchema,
  validateAsync,
  validateSync,
  type SchemaInput,
  type SchemaOutput,
  type StandardIssue,
  type StandardResult,
  type StandardSchemaProps,
  type StandardSchemaV1,
} from './standard-schema.js';
