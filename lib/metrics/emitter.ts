import { ConfigurationError } from '../errors.js';
import * as metricNames from './names.js';
import { METRIC_DIMENSIONS, METRICS_DEFAULTS, METRICS_ENV, type MetricDefinition } from './names.js';

/** The `metrics` option of `unitOfWork()`, `outboxDispatcher()` and `jobRunner()`. */
export type MetricsOption = { readonly namespace?: string; readonly service?: string } | false;

/** Resolved metrics settings (metrics are on). */
export interface MetricsSettings {
  readonly namespace: string;
  readonly service: string;
}

/**
 * Resolves the `metrics` option over the environment ({@link METRICS_ENV}): `undefined` (metrics off) unless
 * the option is an object or `UOW_METRICS=on`; `false` turns them off whatever the environment says.
 */
export function resolveMetrics(
  option: unknown,
  component: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): MetricsSettings | undefined {
  if (option === false) return undefined;
  if (option !== undefined && (typeof option !== 'object' || option === null))
    throw new ConfigurationError(component, '"metrics" must be { namespace?, service? } or false');
  const o = (option ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => k !== 'namespace' && k !== 'service');
  if (unknown.length)
    throw new ConfigurationError(
      component,
      `unknown "metrics" option(s) ${unknown.join(', ')} (known: namespace, service)`,
    );
  for (const k of ['namespace', 'service'] as const)
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === ''))
      throw new ConfigurationError(component, `"metrics.${k}" must be a non-empty string`);
  if (option === undefined && env[METRICS_ENV.enabled] !== 'on') return undefined;
  return {
    namespace: (o.namespace as string | undefined) ?? env[METRICS_ENV.namespace] ?? METRICS_DEFAULTS.namespace,
    service:
      (o.service as string | undefined) ??
      env[METRICS_ENV.service] ??
      env.AWS_LAMBDA_FUNCTION_NAME ??
      'lambda-unit-of-work',
  };
}

/** One invocation's data points, published as EMF on {@link MetricsBatch.flush}. */
export interface MetricsBatch {
  /** Adds one data point of `metric` (with an `outcome` value when the metric declares that dimension). */
  add(metric: MetricDefinition, value: number, outcome?: string): void;
  /** Writes the EMF lines (loads Powertools Metrics on first use); never throws, logs a warning instead. */
  flush(logger?: { warn(message: string, extra?: unknown): void }): Promise<void>;
}

/** A variable specifier, so that bundlers leave Powertools Metrics out of a bundle whose metrics are off. */
const POWERTOOLS_METRICS = '@aws-lambda-powertools/metrics';

/** A batch of data points for one invocation (nothing is loaded until a flush with data points). */
export function createMetricsBatch(settings: MetricsSettings): MetricsBatch {
  const points: { metric: MetricDefinition; value: number; outcome?: string }[] = [];
  return {
    add(metric, value, outcome) {
      points.push({ metric, value, ...(outcome !== undefined ? { outcome } : {}) });
    },
    async flush(logger) {
      if (points.length === 0) return;
      const batch = points.splice(0);
      try {
        const { Metrics } = (await import(POWERTOOLS_METRICS)) as typeof import('@aws-lambda-powertools/metrics');
        const metrics = new Metrics({ namespace: settings.namespace, serviceName: settings.service });
        for (const { metric, value, outcome } of batch) {
          if (!metric.dimensions.includes(METRIC_DIMENSIONS.outcome)) {
            metrics.addMetric(metric.name, metric.unit as never, value);
            continue;
          }
          const single = metrics.singleMetric();
          single.addDimension(METRIC_DIMENSIONS.outcome, outcome ?? 'unknown');
          single.addMetric(metric.name, metric.unit as never, value); // a single metric publishes at once
        }
        metrics.publishStoredMetrics();
      } catch (error) {
        logger?.warn('library metrics could not be written; the invocation result stands', { error });
      }
    },
  };
}

/** What a commit reports to {@link recordCommit}; a figure left out (not known) adds no data point. */
export interface CommitFigures {
  readonly actions?: number;
  readonly attempts?: number;
  readonly events?: number;
  readonly jobs?: number;
}

/** Adds the commit metrics of one unit of work: committed or failed, with its actions, events, jobs and attempts. */
export function recordCommit(batch: MetricsBatch, figures: CommitFigures, failed: boolean): void {
  const { METRICS } = metricNames;
  const add = (metric: MetricDefinition, value: number | undefined) => {
    if (value !== undefined) batch.add(metric, value);
  };
  batch.add(failed ? METRICS.commitsFailed : METRICS.commitsCommitted, 1);
  add(METRICS.commitAttempts, figures.attempts);
  add(METRICS.commitConflictsRetried, figures.attempts === undefined ? undefined : Math.max(0, figures.attempts - 1));
  if (failed) return;
  add(METRICS.commitActions, figures.actions);
  add(METRICS.commitEvents, figures.events);
  add(METRICS.commitJobs, figures.jobs);
}
