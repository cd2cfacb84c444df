/**
 * Which trials of a sweep get their full run report (report.html, its PNG figures and
 * predictions.json). A tiny trial trains in tens of milliseconds and its report takes hundreds,
 * so by default ("best") no trial builds its report as it ends: the sweep builds the reports of
 * its BEST_REPORTS best trials once every trial is recorded, and `train report <trial folder>`
 * builds any other's on demand (trial_report_build.ts builds them). Every trial still writes its config, metrics, summary, log and
 * checkpoints as it ends, so the sweep's own report, results and resume are the same either way.
 *
 *   "trialReports": "best"   the best BEST_REPORTS trials' reports, at the end (the default)
 *   "trialReports": "all"    every trial's report, built as it ends (on its training thread)
 *   "trialReports": "none"   no trial's report; `train report` builds one when asked
 */
import { ConfigError } from '../config/config.js';
import type { TrialResult } from '../runs/results.js';
import { DEFAULT_METRIC, type Metric, score } from './metric.js';

export const TRIAL_REPORTS = ['best', 'all', 'none'] as const;
export type TrialReports = (typeof TRIAL_REPORTS)[number];

/** A sweep file without "trialReports": the best trials' reports, at the end. */
export const DEFAULT_TRIAL_REPORTS: TrialReports = 'best';
/** How many of the best trials (by val accuracy) a "best" sweep builds the reports of. */
export const BEST_REPORTS = 3;

/** The sweep file's "trialReports". */
export function parseTrialReports(v: unknown, origin: string): TrialReports {
  if (typeof v === 'string' && (TRIAL_REPORTS as readonly string[]).includes(v)) return v as TrialReports;
  throw new ConfigError(
    `${origin}: trialReports = ${JSON.stringify(v)} is not allowed: use "best" (the ${BEST_REPORTS} best trials' reports, at the end), "all" (every trial's, as it ends) or "none" (train report <trial folder> builds one)`,
  );
}

/** Whether a trial builds its own report as it ends, on its training thread. */
export const reportsAsTrialsEnd = (mode: TrialReports | undefined): boolean => (mode ?? DEFAULT_TRIAL_REPORTS) === 'all';

/** The trials whose reports a sweep builds at its end: the best BEST_REPORTS finished ones by the sweep's metric ("best"), else none. */
export function trialsToReport(mode: TrialReports | undefined, trials: TrialResult[], m: Metric = DEFAULT_METRIC): TrialResult[] {
  if ((mode ?? DEFAULT_TRIAL_REPORTS) !== 'best') return [];
  const valueOf = (r: TrialResult): number | null => (typeof r.value === 'number' ? r.value : m.name === 'valAcc' ? r.valAcc : null);
  const ok = trials.filter((r) => r.status === 'ok' && valueOf(r) !== null);
  return ok.sort((a, b) => score(m, valueOf(b)!) - score(m, valueOf(a)!) || a.index - b.index).slice(0, BEST_REPORTS);
}
