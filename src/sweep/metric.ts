/**
 * What a sweep optimises: the sweep file's "metric" and "mode" (spec.ts). Every figure an epoch
 * row of metrics.jsonl records can be the metric; each has its natural mode, which "mode" may
 * override. Selection (the best trial), ASHA, the median rule and TPE all see a `score`, which is
 * always maximised: the value itself for mode max, its negation for mode min. This file is the
 * one place that knows the metrics, how to read each, and the sign.
 *
 *   valAcc     val accuracy of the epoch                          max (the default metric)
 *   valLoss    data loss on the val split (no L2 term)            min
 *   trainAcc   train accuracy (on the fixed training subsample)   max
 *   trainLoss  mean of the epoch's minibatch losses (with L2)     min
 *
 * A trial's value is the best of its epochs' values in the mode (Ray Tune's scope "all"); for
 * valAcc that is the summary's bestValAcc, as the sweep has always used.
 */
import * as fs from 'node:fs';
import { ConfigError } from '../config/config.js';
import { readJsonl } from '../runs/jsonl.js';
import { runFile } from '../runs/layout.js';
import type { SweepResults, TrialResult } from '../runs/results.js';

export type Mode = 'max' | 'min';

/** The metrics, each with its natural mode and its name in words (for the log and reasons). */
export const METRICS = {
  valAcc: { mode: 'max', label: 'val accuracy', short: 'val', axis: 'val acc' },
  valLoss: { mode: 'min', label: 'val loss', short: 'val loss', axis: 'val loss' },
  trainAcc: { mode: 'max', label: 'train accuracy', short: 'train', axis: 'train acc' },
  trainLoss: { mode: 'min', label: 'train loss', short: 'train loss', axis: 'train loss' },
} as const satisfies Record<string, { mode: Mode; label: string; short: string; axis: string }>;

export type MetricName = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];
export const MODES: readonly Mode[] = ['max', 'min'];

/** A sweep's metric and the direction that is better. */
export interface Metric {
  name: MetricName;
  mode: Mode;
}

/** Val accuracy, maximised: a sweep file without "metric". */
export const DEFAULT_METRIC: Metric = { name: 'valAcc', mode: 'max' };

/** The sweep file's "metric" and "mode" checked; each refusal is one line naming what is allowed. */
export function parseMetric(metric: unknown, mode: unknown, origin: string): Metric {
  if (metric !== undefined && !(typeof metric === 'string' && metric in METRICS)) {
    throw new ConfigError(`${origin}: metric = ${JSON.stringify(metric)} is not one a run records; use one of ${METRIC_NAMES.join(', ')}`);
  }
  const name = (metric ?? DEFAULT_METRIC.name) as MetricName;
  if (mode !== undefined && !MODES.includes(mode as Mode)) {
    throw new ConfigError(`${origin}: mode = ${JSON.stringify(mode)} is not allowed; use "max" or "min" (${name}'s default is ${METRICS[name].mode})`);
  }
  return { name, mode: (mode as Mode | undefined) ?? METRICS[name].mode };
}

/** The score of `value`: larger is better whatever the mode; NaN (nothing measured) stays NaN. */
export function score(m: Metric, value: number): number {
  return m.mode === 'max' ? value : -value;
}

/** The metric's value in an epoch row of metrics.jsonl (or an epoch event); NaN when the row lacks it (older runs). */
export function ofEpochRow(m: Metric, row: Record<string, unknown>): number {
  const v = row[m.name];
  return typeof v === 'number' ? v : NaN;
}

/** The best of `values` in the metric's mode, NaNs left out; null when none is a number. */
export function bestOf(m: Metric, values: number[]): number | null {
  const xs = values.filter((v) => Number.isFinite(v));
  if (xs.length === 0) return null;
  return m.mode === 'max' ? Math.max(...xs) : Math.min(...xs);
}

/** The epoch rows of the run folder `dir` (none when it has no metrics.jsonl). */
export function epochRows(dir: string): Record<string, unknown>[] {
  const f = runFile(dir, 'metrics');
  if (!fs.existsSync(f)) return [];
  return (readJsonl(f) as Record<string, unknown>[]).filter((r) => r?.type === 'epoch');
}

/**
 * A trial's value of the metric, from its folder `dir`: the best over its epochs. Val accuracy is
 * the summary's bestValAcc (`valAcc`, given by the caller), read without opening metrics.jsonl.
 */
export function trialValue(m: Metric, dir: string, valAcc: number | null): number | null {
  if (m.name === 'valAcc' && m.mode === 'max' && valAcc !== null) return valAcc;
  return bestOf(
    m,
    epochRows(dir).map((r) => ofEpochRow(m, r)),
  );
}

/** "val loss (min)", for the header and the report. */
export function describeMetric(m: Metric): string {
  return `${METRICS[m.name].label} (${m.mode})`;
}

/** "val loss 0.4321": a value as reasons and rows show it. */
export function showValue(m: Metric, value: number): string {
  return `${METRICS[m.name].short} ${value.toFixed(4)}`;
}

/** "best val loss (min) 0.3412": the sweep bar's field, "–" before a trial has a value. */
export function showBest(m: Metric, value: number | null): string {
  return `best ${METRICS[m.name].axis} (${m.mode}) ${value === null ? '–' : value.toFixed(4)}`;
}

/** A results.json's metric; one written before sweeps had a metric (no `metric`) was by val accuracy, max. */
export function metricOfResults(r: Pick<SweepResults, 'metric'>): Metric {
  return r.metric ? { name: r.metric.name as MetricName, mode: r.metric.mode } : DEFAULT_METRIC;
}

/**
 * A results.json trial's value of the metric: its `value`; in results written before trials had
 * one (val accuracy, max, the only metric then), its val accuracy. Null when it has none.
 */
export function resultValue(m: Metric, t: Pick<TrialResult, 'value' | 'valAcc'>): number | null {
  if (typeof t.value === 'number') return t.value;
  return m.name === DEFAULT_METRIC.name && m.mode === DEFAULT_METRIC.mode ? t.valAcc : null;
}

/** Whether `value` is within `tol` of `target` or better, in the metric's mode. */
export function within(m: Metric, value: number, target: number, tol: number): boolean {
  return score(m, value) >= score(m, target) - tol - 1e-12;
}
