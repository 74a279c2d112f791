/**
 * Matching of EventBridge-style content patterns, as used by EventBridge rules and by Lambda event
 * filtering (`FilterCriteria`) — the subset the local runtime needs: exact values, `prefix`, `suffix`,
 * `equals-ignore-case`, `exists`, `anything-but` and `numeric`.
 */

/** A pattern: keys the event must have, with allowed values (arrays) or nested patterns (objects). */
export type EventPattern = { readonly [key: string]: unknown };

function matchValue(matcher: unknown, value: unknown, present: boolean): boolean {
  if (matcher === null || typeof matcher !== 'object') return present && value === matcher;
  const m = matcher as Record<string, unknown>;
  if ('exists' in m) return m.exists === present;
  if (!present) return false;
  if ('prefix' in m) return typeof value === 'string' && typeof m.prefix === 'string' && value.startsWith(m.prefix);
  if ('suffix' in m) return typeof value === 'string' && typeof m.suffix === 'string' && value.endsWith(m.suffix);
  if ('equals-ignore-case' in m)
    return (
      typeof value === 'string' &&
      typeof m['equals-ignore-case'] === 'string' &&
      value.toLowerCase() === m['equals-ignore-case'].toLowerCase()
    );
  if ('anything-but' in m) {
    const but = m['anything-but'];
    if (Array.isArray(but)) return !but.includes(value);
    if (but !== null && typeof but === 'object') return !matchValue(but, value, present);
    return value !== but;
  }
  if ('numeric' in m && Array.isArray(m.numeric)) {
    const n =
      typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    if (Number.isNaN(n)) return false;
    const ops = m.numeric as unknown[];
    for (let i = 0; i < ops.length; i += 2) {
      const bound = Number(ops[i + 1]);
      const ok = { '=': n === bound, '<': n < bound, '<=': n <= bound, '>': n > bound, '>=': n >= bound }[
        String(ops[i])
      ];
      if (!ok) return false;
    }
    return true;
  }
  return false;
}

/** Whether `event` matches `pattern` (every key of the pattern matches; arrays in the event match on any element). */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  const obj = event !== null && typeof event === 'object' ? (event as Record<string, unknown>) : {};
  return Object.entries(pattern).every(([key, rule]) => {
    const present = Object.prototype.hasOwnProperty.call(obj, key) && obj[key] !== undefined;
    const value = obj[key];
    if (Array.isArray(rule)) {
      const values = Array.isArray(value) ? value : [value];
      return rule.some((matcher) =>
        matcher !== null && typeof matcher === 'object' && 'exists' in (matcher as object)
          ? matchValue(matcher, value, present)
          : values.some((v) => matchValue(matcher, v, present)),
      );
    }
    if (rule !== null && typeof rule === 'object') return present && matchesPattern(rule as EventPattern, value);
    return present && value === rule;
  });
}

/** Whether `event` matches at least one of `patterns` (Lambda's filter criteria semantics); no patterns match everything. */
export function matchesAnyPattern(patterns: readonly EventPattern[], event: unknown): boolean {
  return patterns.length === 0 || patterns.some((p) => matchesPattern(p, event));
}
