/**
 * Running a notebook's experiments: each experiment's committed config, per seed, into
 * <out>/<notebook>/<experiment>/seed-<s>/, an ordinary run folder (runs: train/run.ts's
 * runTraining; kNN: fitKnn) or sweep folder (runSweep), so `train report`, `train runs` and
 * `train compare` read it as any other. A finished folder is reused as it is; an interrupted
 * run carries on from its last.ckpt, an interrupted sweep from its finished trials; a folder
 * holding another config's results is refused, never overwritten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, readConfigFile, resolveConfig } from '../config/config.js';
import type { EngineSelection } from '../linalg/engine.js';
import { runFile, sweepFile } from '../runs/layout.js';
import { readJsonOrNull, readSweepResults, readSweepTrials } from '../runs/read.js';
import { baseConfig, expandTrials, readSweepFile } from '../sweep/spec.js';
import { readTrialFolder, resultKey } from '../sweep/trial.js';
import type { Experiment, Notebook } from './types.js';

/** The committed configs: configs/ in the checkout (two folders up from src/cs231n and dist/cs231n). */
export const CONFIGS_DIR = fileURLToPath(new URL('../../configs/', import.meta.url));

/** What the command was asked for, as every experiment uses it. */
export interface RunPlan {
  out: string;
  seeds: number[];
  quick: boolean;
  /** Time knn.ipynb's loop forms on this many test rows (0: skip them). */
  knnLoopRows: number;
  /** Also run the tuning sweeps behind the committed configs. */
  tuning: boolean;
  /** --data-dir, --backend: passed to every config. */
  flags: Partial<Config>;
  workers?: number;
}

/** The folder of one seed of an experiment. */
export function seedDir(out: string, nb: Notebook, exp: Experiment, seed: number): string {
  return path.join(out, nb.id, exp.id, `seed-${seed}`);
}

/** The config file of an experiment, checked to exist. */
export function configFileOf(exp: Experiment): string {
  const file = path.join(CONFIGS_DIR, exp.config);
  if (!fs.existsSync(file)) throw new ConfigError(`the experiment ${exp.id} needs ${file}, which is not there: check out the committed configs/`);
  return file;
}

/** The experiment's own config (a sweep's base), before seeds and --quick. */
function ownConfig(exp: Experiment): Config {
  const file = configFileOf(exp);
  return exp.sweep ? baseConfig(readSweepFile(file)) : resolveConfig(readConfigFile(file), {});
}

/** The seeds an experiment runs on: the command's, or its config's own seed when it is not seeded. */
export function seedsOf(exp: Experiment, plan: Pick<RunPlan, 'seeds'>): number[] {
  return exp.seeded ? plan.seeds : [ownConfig(exp).seed];
}

/** --quick: a smoke run, a few steps on few rows (the overfitting runs keep their 50 images). */
export function quickOverrides(cfg: Config): Partial<Config> {
  const upTo = (n: Config['numTest'], most: number) => (n === 'all' ? most : Math.min(n, most));
  const q: Partial<Config> = { numTrain: upTo(cfg.numTrain, 1000), numVal: Math.min(cfg.numVal, 200), numTest: upTo(cfg.numTest, 200), numDev: Math.min(cfg.numDev, 50) };
  if (cfg.model === 'knn') return q;
  if (cfg.iterations > 0) q.iterations = Math.min(cfg.iterations, 20);
  else q.epochs = Math.min(cfg.epochs, 2);
  return q;
}

/** The flags every config of `exp` at `seed` is resolved with: its overrides, --quick's, the seed, the command's. */
export function flagsOf(exp: Experiment, seed: number, plan: RunPlan): Partial<Config> {
  const quick = plan.quick ? quickOverrides(resolveConfig(ownConfig(exp) as Partial<Config>, (exp.overrides ?? {}) as Partial<Config>)) : {};
  return { ...(exp.overrides as Partial<Config>), ...quick, seed, ...plan.flags };
}

/** A run experiment's config at `seed`. */
export function runConfigOf(exp: Experiment, seed: number, plan: RunPlan): Config {
  return resolveConfig(readConfigFile(configFileOf(exp)), flagsOf(exp, seed, plan));
}

/** What a run folder holds for `cfg`: finished (reuse it), a checkpoint to resume, or nothing (start afresh). */
export type FolderState = 'finished' | 'resume' | 'fresh';

/** The state of run folder `dir` for `cfg`; a folder holding another config's results is refused in one line. */
export function runFolderState(dir: string, cfg: Config): FolderState {
  if (!fs.existsSync(dir)) return 'fresh';
  const f = readTrialFolder(path.dirname(dir), path.basename(dir));
  if (f.key === null && !f.hasSummary && !f.hasCheckpoint) return 'fresh';
  if (f.key !== resultKey(cfg)) throw new ConfigError(`${dir} holds a run of another config than this command's: remove that folder, or give another --out`);
  const status = f.summary?.status as string | undefined;
  if (status === 'ok' || status === 'diverged') return 'finished';
  return f.hasCheckpoint ? 'resume' : 'fresh';
}

/** Whether sweep folder `dir` finished every trial of `file` with `flags` (then it is reused without loading any data). */
export function sweepFinished(dir: string, file: string, flags: Partial<Config>): boolean {
  const results = readJsonOrNull(sweepFile(dir, 'results'));
  if (results === null || fs.existsSync(sweepFile(dir, 'lock'))) return false;
  const r = readSweepResults(sweepFile(dir, 'results'));
  if (r.live || r.trials.length === 0 || r.trials.some((t) => t.status !== 'ok' && t.status !== 'diverged')) return false;
  const want = expandTrials(readSweepFile(file), flags).map((t) => resultKey(t.config));
  const have = new Set(readSweepTrials(sweepFile(dir, 'spec')).map((t) => resultKey(t.config)));
  return want.length === r.trials.length && want.every((k) => have.has(k));
}

/** Whether the folder of a finished kNN run (no checkpoint: any other state is started afresh) holds `cfg`'s summary. */
export function knnFinished(dir: string, cfg: Config): boolean {
  return runFolderState(dir, cfg) === 'finished' && fs.existsSync(runFile(dir, 'knnCv')) === cfg.cvFolds > 0;
}

/** Empty `dir` (an unfinished folder of this config, with nothing to resume) and make it. */
export function freshFolder(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

export type { EngineSelection };
