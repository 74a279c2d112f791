/**
 * The dashboard and the alarms cannot drift from what the code emits: every metric they read under the
 * library's namespace is declared in lib/metrics/names.ts, and every declared metric is emitted by the
 * library (a static check of the `add(METRICS.…)` calls in lib/). A metric the dashboard plots but
 * nothing emits would stay an empty graph, and an alarm on it would never fire.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { METRICS, METRICS_DEFAULTS } from '../../lib/metrics/names.js';
import { plotted, synth } from './monitoring-helpers.js';

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/**
 * The keys of {@link METRICS} that lib/ emits: the metric argument of every `add(…)` call (a batch's, or a
 * helper's that forwards to it), a
 * `cond ? METRICS.a : METRICS.b` choice included. The metric definitions themselves (lib/metrics/names.ts)
 * emit nothing.
 */
function emittedMetricKeys(dir = 'lib'): Set<string> {
  const call = /\badd\(\s*(?:[^,()?]*\?\s*)?METRICS\.(\w+)(?:\s*:\s*METRICS\.(\w+))?/g;
  const keys = new Set<string>();
  for (const file of sources(dir)) {
    if (file.endsWith(join('metrics', 'names.ts'))) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(call)) for (const key of m.slice(1)) if (key) keys.add(key);
  }
  return keys;
}

const nameOf = (key: string): string => (METRICS as Record<string, { name: string }>)[key]!.name;

describe('metrics: dashboard and alarms read only what is emitted', () => {
  const { resources, ofType } = synth({ eventSource: 'orders' }, 'Drift');
  const ns = METRICS_DEFAULTS.namespace;
  const dashboard = plotted(resources).map((line) => line.split(' ') as [string, string, string?]);
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties.Namespace, r.Properties.MetricName]);
  const read = [...dashboard, ...alarms] as [string, string][];
  const emitted = new Set([...emittedMetricKeys()].map(nameOf));
  const declared = new Set(Object.values(METRICS).map((m) => m.name));

  it('reads the library metrics under its namespace, others only from AWS namespaces', () => {
    expect(read.filter(([n]) => n === ns).length).toBeGreaterThan(0);
    expect(read.filter(([n]) => n !== ns && !n.startsWith('AWS/'))).toEqual([]);
  });

  it('every library metric the dashboard and the alarms read is declared and emitted', () => {
    const libraryMetrics = [...new Set(read.filter(([n]) => n === ns).map(([, name]) => name))];
    expect(libraryMetrics.filter((name) => !declared.has(name))).toEqual([]);
    expect(libraryMetrics.filter((name) => !emitted.has(name))).toEqual([]);
  });

  it('every declared metric is emitted somewhere in lib/', () => {
    expect([...declared].filter((name) => !emitted.has(name))).toEqual([]);
  });
});
