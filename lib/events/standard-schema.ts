/**
 * The Standard Schema v1 interface (https://standardschema.dev), owned here as types so that no validator
 * library is a dependency: zod, valibot and arktype schemas all satisfy it.
 */
import { InvalidOperationError, SchemaValidationError, type SchemaIssue } from '../errors.js';

/** A Standard Schema v1 validator (zod, valibot, arktype, …). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaProps<Input, Output>;
}

/** The `~standard` property of a {@link StandardSchemaV1}. */
export interface StandardSchemaProps<Input = unknown, Output = Input> {
  readonly version: 1;
  readonly vendor: string;
  readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/** What `~standard.validate` returns: a value, or issues. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** One issue of a failed Standard Schema validation. */
export interface StandardIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/** The input type of a schema (what a caller passes). */
export type SchemaInput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['input'];
/** The output type of a schema (what validation returns). */
export type SchemaOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

/** Whether `value` looks like a Standard Schema v1 validator. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  const props = (value as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.['~standard'];
  return typeof props === 'object' && props !== null && props.version === 1 && typeof props.validate === 'function';
}

/** `items[0].quantity` from a Standard Schema issue path. */
export function formatIssuePath(path: StandardIssue['path']): string {
  let out = '';
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function toIssues(issues: ReadonlyArray<StandardIssue>): SchemaIssue[] {
  return issues.map((i) => ({ path: formatIssuePath(i.path), message: i.message }));
}

function settle<O>(result: StandardResult<O>, operation: string, what: string): O {
  if (result.issues) throw new SchemaValidationError(operation, what, toIssues(result.issues));
  return result.value;
}

/**
 * Validates synchronously and returns the schema's output. A schema whose `validate` returns a promise is
 * refused with an `InvalidOperationError` naming the operation (use {@link validateAsync} where you can await).
 *
 * @throws SchemaValidationError naming `operation` and every failing path.
 */
export function validateSync<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  operation: string,
  what: string,
): SchemaOutput<S> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) {
    result.catch(() => undefined); // not awaited: keep an async failure from becoming an unhandled rejection
    throw new InvalidOperationError(
      operation,
      `the schema of ${what} validates asynchronously; this call validates synchronously only (use the async variant)`,
    );
  }
  return settle(result, operation, what) as SchemaOutput<S>;
}

/** Validates with a sync or async schema and returns the schema's output. @throws SchemaValidationError */
export async function validateAsync<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
  operation: string,
  what: string,
): Promise<SchemaOutput<S>> {
  return settle(await schema['~standard'].validate(value), operation, what) as SchemaOutput<S>;
}
