/**
 * What the plot builders read from an experiment's folders: a run folder's curves, or a sweep
 * folder's trials (each with its config, result and run folder), every file through runs/ (its
 * layout and its checked readers), so a malformed file is refused naming the file and field.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../../config/config.js';
import { DataError } from '../../data/errors.js';
import { relativeHref } from '../../report/html.js';
import { readCurves, type RunCurves } from '../../report/overlay.js';
import { sweepFile } from '../../runs/layout.js';
import { readSweepResults, readSweepTrials } from '../../runs/read.js';
import type { TrialResult } from '../../runs/results.js';

/** A sweep folder holds results.json; a run folder does not. */
export function isSweep(folder: string): boolean {
  return fs.existsSync(sweepFile(folder, 'results'));
}

/** One trial of a sweep: its result row, its resolved config and its run folder (null: outside the sweep folder, not read). */
export interface Trial {
  result: TrialResult;
  config: Config;
  dir: string | null;
}

/** The trials of sweep folder `folder` in index order, with their configs (sweep.json) and run folders (results.json). */
export function sweepTrials(folder: string): Trial[] {
  if (!isSweep(folder)) throw new DataError(`${folder} is not a sweep folder (it has no results.json): run the experiment's sweep into it first`);
  const results = readSweepResults(sweepFile(folder, 'results'));
  const configOf = new Map(readSweepTrials(sweepFile(folder, 'spec')).map((t) => [t.index, t.config]));
  return results.trials
    .filter((t) => configOf.has(t.index))
    .sort((a, b) => a.index - b.index)
    .map((t) => {
      const rel = t.dir.split(path.sep).join('/');
      return { result: t, config: configOf.get(t.index)!, dir: relativeHref(folder, rel) === null ? null : path.join(folder, rel) };
    });
}

/** A run folder of the experiment: `folder` itself, or a sweep folder's best trial (by val accuracy). */
export function runFolderOf(folder: string): string {
  if (!isSweep(folder)) return folder;
  const best = readSweepResults(sweepFile(folder, 'results')).best;
  const dir = best ? sweepTrials(folder).find((t) => t.result.index === best.index)?.dir : null;
  if (!dir) throw new DataError(`${sweepFile(folder, 'results')} names no best trial inside the sweep folder: rerun the sweep`);
  return dir;
}

const noCurves = (): RunCurves => ({ loss: [], trainAcc: [], valAcc: [] });

/** The curves of each trial of sweep folder `folder` (empty curves for a trial whose folder is not read). */
export function trialCurves(folder: string): { trial: Trial; curves: RunCurves }[] {
  return sweepTrials(folder).map((trial) => ({ trial, curves: trial.dir ? readCurves(trial.dir) : noCurves() }));
}

/** A trial of the first seed's sweep and the curves of the same trial (by index) in each seed's sweep, in seed order. */
export interface TrialOverSeeds {
  trial: Trial;
  curves: RunCurves[];
  /** The trial's result row in each seed's sweep (null: that sweep has no such trial). */
  results: (TrialResult | null)[];
}

/** The trials of the experiment's sweeps (one sweep folder per seed), matched by trial index. */
export function trialsOverSeeds(folders: string[]): TrialOverSeeds[] {
  const perSeed = folders.map((f) => new Map(trialCurves(f).map((t) => [t.trial.result.index, t])));
  const first = [...(perSeed[0]?.values() ?? [])];
  return first.map((t) => {
    const own = perSeed.map((m) => m.get(t.trial.result.index));
    return { trial: t.trial, curves: own.map((o) => o?.curves ?? noCurves()), results: own.map((o) => o?.trial.result ?? null) };
  });
}
