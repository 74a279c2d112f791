import { METRIC_DESCRIPTIONS } from './descriptions.js';
import { METRICS } from './names.js';

/** The Markdown table of every metric (name, unit, dimensions, meaning) that docs/operate.md carries. */
export function metricsTable(): string {
  const rows = (Object.keys(METRICS) as (keyof typeof METRICS)[]).map((key) => {
    const m = METRICS[key];
    const dimensions = m.dimensions.map((d) => `\`${d}\``).join(', ');
    return `| \`${m.name}\` | ${m.unit} | ${dimensions} | ${METRIC_DESCRIPTIONS[key]} |`;
  });
  return ['| Metric | Unit | Dimensions | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
