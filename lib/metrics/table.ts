import { METRICS } from './names.js';

/** The Markdown table of every metric (name, unit, dimensions, meaning) that docs/operate.md carries. */
export function metricsTable(): string {
  const rows = Object.values(METRICS).map(
    (m) => `| \`${m.name}\` | ${m.unit} | ${m.dimensions.map((d) => `\`${d}\``).join(', ')} | ${m.description} |`,
  );
  return ['| Metric | Unit | Dimensions | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
