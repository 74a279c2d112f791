import { ConfigurationError } from './errors.js';

/**
 * How one option of a factory is declared: its check, the wording of its problem, its default, its
 * environment variable and its one-line doc (the README/docs option tables are checked against these).
 */
export interface OptionSpec {
  /** What the option does, one line. */
  readonly doc: string;
  /** The default as the docs write it (e.g. `604800`), or `undefined` when there is none. */
  readonly default?: string;
  /** Environment variable the option falls back to. */
  readonly env?: string;
  /** An absent value is a `missing` problem. @default false */
  readonly required?: boolean;
  /** Whether a present (not `undefined`) value is acceptable. @default any value is */
  readonly valid?: (value: unknown) => boolean;
  /** Completes `"<option>" must …` when `valid` refuses a value, e.g. `be a table name`. */
  readonly rule?: string;
}

/** The declaration of every option of `T`: a missing or an extra key is a compile-time error. */
export type OptionSpecs<T> = { readonly [K in keyof Required<T>]-?: OptionSpec };

/**
 * Declares the options of `T` once. Call as `declareOptions<MyOptions>()({ key: { doc, rule, valid } })`:
 * the object literal must name every key of `T` and no other.
 */
export function declareOptions<T>(): <const S extends OptionSpecs<T>>(
  specs: S & Record<Exclude<keyof S, keyof T>, never>,
) => S {
  return (specs) => specs;
}

/** The declared option keys (derived, never kept by hand). */
export function optionKeys(specs: object): string[] {
  return Object.keys(specs);
}

/** The problems of some options, sorted by kind; every list is empty when they are valid. */
export interface OptionProblems {
  /** Required options that are absent, e.g. `"key" is required`. */
  readonly missing: string[];
  /** Options whose value breaks their rule, e.g. `"retentionSeconds" must be an integer of at least 60`. */
  readonly invalid: string[];
  /** Keys that are not declared (typos would otherwise be ignored). */
  readonly unknown: string[];
}

/** Where a group of options sits: `prefix` names nested ones (`idempotency.`), `allow` admits keys checked elsewhere. */
export interface OptionContext {
  readonly prefix?: string;
  readonly allow?: readonly string[];
}

/** Checks `input` (an object) against `specs` and names every problem; never throws. Pure. */
export function optionProblems(
  specs: Readonly<Record<string, OptionSpec>>,
  input: object,
  context: OptionContext = {},
): OptionProblems {
  const prefix = context.prefix ?? '';
  const values = input as Record<string, unknown>;
  const known = [...optionKeys(specs), ...(context.allow ?? [])];
  const extra = Object.keys(values).filter((k) => !known.includes(k));
  const group = prefix ? `${prefix.replace(/\.$/, '')} ` : '';
  const unknown = extra.length
    ? [
        `unknown ${group}option${extra.length > 1 ? 's' : ''} ${extra.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`,
      ]
    : [];
  const missing: string[] = [];
  const invalid: string[] = [];
  for (const [key, spec] of Object.entries(specs)) {
    const value = values[key];
    if (value === undefined) {
      if (spec.required) missing.push(`"${prefix}${key}" is required${spec.env ? ` (or set ${spec.env})` : ''}`);
    } else if (spec.valid && !spec.valid(value)) invalid.push(`"${prefix}${key}" must ${spec.rule ?? 'be valid'}`);
  }
  return { missing, invalid, unknown };
}

/** Whether some problems were found. */
export function hasProblems(problems: OptionProblems): boolean {
  return problems.missing.length + problems.invalid.length + problems.unknown.length > 0;
}

/**
 * Validates options against their declaration and throws one {@link ConfigurationError} naming every problem
 * (`missing`, `invalid`, `unknown` lists) prefixed with `component`. `undefined` counts as `{}`.
 */
export function validateOptions<T>(
  component: string,
  specs: Readonly<Record<string, OptionSpec>>,
  input: unknown,
  context?: OptionContext,
): T {
  const options = input === undefined ? {} : input;
  if (typeof options !== 'object' || options === null)
    throw new ConfigurationError(component, { invalid: ['options must be an object'] });
  const problems = optionProblems(specs, options, context);
  if (hasProblems(problems)) throw new ConfigurationError(component, problems);
  return options as T;
}

/** Validation rules shared by the declarations. */
export const is = {
  /** A DynamoDB table name (3 characters or more). */
  tableName: (v: unknown): boolean => typeof v === 'string' && v.length >= 3,
  /** A non-empty string. */
  nonEmptyString: (v: unknown): boolean => typeof v === 'string' && v !== '',
  /** A boolean. */
  boolean: (v: unknown): boolean => typeof v === 'boolean',
  /** A function. */
  function: (v: unknown): boolean => typeof v === 'function',
  /** An integer from `min` to `max` (inclusive). */
  integer:
    (min: number, max = Number.MAX_SAFE_INTEGER) =>
    (v: unknown): boolean =>
      Number.isInteger(v) && (v as number) >= min && (v as number) <= max,
  /** A finite number of at least `min`. */
  numberAtLeast:
    (min: number) =>
    (v: unknown): boolean =>
      typeof v === 'number' && Number.isFinite(v) && v >= min,
} as const;
