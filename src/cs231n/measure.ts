/**
 * What the targets measure, read from an experiment's folder (one seed's run or sweep folder), and
 * the statistics over the seeds: mean ± sd, min and max. A target is met on the mean.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runFile, sweepFile } from '../runs/layout.js';
import { readJsonOrNull, readMetrics, readSweepResults } from '../runs/read.js';
import type { Summary, KnnSummary } from '../runs/summary.js';
import type { TrialResult } from '../runs/results.js';
import type { Measure, Target } from './types.js';

/** A finished run folder's summary, or null (not run, unfinished, unreadable). */
function summaryOf(folder: string): Summary | KnnSummary | null {
  const s = readJsonOrNull(runFile(folder, 'summary')) as (Summary | KnnSummary) | null;
  return s && s.status === 'ok' ? s : null;
}

/** A number field of a finished run's summary.json: bestValAcc, testAcc, testAccBestK… */
export function summaryField(field: 'bestValAcc' | 'bestTrainAcc' | 'testAcc' | 'testAccBestK'): Measure {
  return (folder) => {
    const v = (summaryOf(folder) as Record<string, unknown> | null)?.[field];
    return typeof v === 'number' ? v : null;
  };
}

/** The highest train accuracy of any epoch in a run folder's metrics.jsonl. */
function maxTrainAcc(runDir: string): number | null {
  const file = runFile(runDir, 'metrics');
  if (!fs.existsSync(file)) return null;
  const acc = readMetrics(file)
    .filter((r) => r.type === 'epoch')
    .map((r) => r.trainAcc as number);
  return acc.length ? Math.max(...acc) : null;
}

/** A finished sweep's trial that `pick` chooses (by its params), or null. */
function trialOf(folder: string, pick: (params: Record<string, unknown>) => boolean): TrialResult | null {
  const file = sweepFile(folder, 'results');
  if (!fs.existsSync(file)) return null;
  return readSweepResults(file).trials.find((t) => t.status === 'ok' && pick(t.params as Record<string, unknown>)) ?? null;
}

/** The highest train accuracy of any epoch of the sweep trial `pick` chooses (the overfitting checks). */
export function trialMaxTrainAcc(pick: (params: Record<string, unknown>) => boolean): Measure {
  return (folder) => {
    const t = trialOf(folder, pick);
    return t ? maxTrainAcc(path.join(folder, t.dir)) : null;
  };
}

/** The best val accuracy of a finished sweep's best trial. */
export const sweepBestVal: Measure = (folder) => {
  const file = sweepFile(folder, 'results');
  return fs.existsSync(file) ? (readSweepResults(file).best?.valAcc ?? null) : null;
};

export interface Stats {
  mean: number;
  /** The sample standard deviation (n − 1); 0 for one value. */
  sd: number;
  min: number;
  max: number;
  n: number;
}

/** Mean, sample sd, min and max of `values` (at least one). */
export function statsOf(values: number[]): Stats {
  const n = values.length;
  if (n === 0) throw new Error('statsOf: no values');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), n };
}

/** Whether `x` meets `op value` (for '≈': within `tolerance`). */
export function meets(x: number, op: Target['op'], value: number, tolerance = 0): boolean {
  if (op === '>') return x > value;
  if (op === '>=') return x >= value;
  if (op === '<=') return x <= value;
  return Math.abs(x - value) <= tolerance;
}

/** A target's result over the seeds: each seed's value (null: missing), the stats of those present, met on the mean. */
export interface TargetResult {
  target: Target;
  values: (number | null)[];
  stats: Stats | null;
  /** Met on the mean; null when no seed has a value. */
  met: boolean | null;
}

/** Measure `target` on its experiment's folders (one per seed). */
export function judge(target: Target, folders: string[]): TargetResult {
  const values = folders.map((f) => target.measure(f));
  const present = values.filter((v): v is number => v !== null);
  const stats = present.length ? statsOf(present) : null;
  const copy = target.onThisCopy;
  const met = stats === null ? null : copy ? meets(stats.mean, '≈', copy.value, copy.tolerance) : meets(stats.mean, target.op, target.value, target.tolerance);
  return { target, values, stats, met };
}
