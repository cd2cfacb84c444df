/**
 * The layout of run folders and sweep folders: the one place that knows their file names.
 * Everything else asks for a file by its role (runFile(dir, 'summary'), sweepFile(dir, 'results')).
 *
 * Run folders: <runsDir>/<YYYYMMDD-HHMMSS>-<name>/ holding
 *   config.json     the resolved config
 *   metrics.jsonl   one JSON object a line: {"type":"iter",…} per iteration, {"type":"epoch",…} per epoch
 *   summary.json    final and best accuracies, seconds, engine, examples per second
 *   train.log       the pino log (JSON lines)
 *   best.ckpt       parameters with the best val accuracy (format in checkpoint.ts)
 *   last.ckpt       the parameters and everything a resume needs, in one file
 *   run.lease       while a process trains the run: which one (owner.ts); one writer at a time
 *   export/         written by `train export` only: model.onnx, model.safetensors, npy/<name>.npy
 * A knn run (train/knn_fit.ts) has no SGD, so no metrics.jsonl and no checkpoints: it writes
 * config.json, train.log, summary.json, cv.json (the cross-validation) and distances.png.
 * config.json, summary.json and the checkpoints are written atomically. metrics.jsonl and
 * train.log are append-only logs: a killed run may leave a partial last line, which readers skip
 * and a resume cuts. A resume cuts metrics.jsonl back to last.ckpt's step (it does those steps
 * again, identically) and keeps every line of train.log. Its report (report/run_report.ts) adds
 * report.html, the PNG figures and predictions.json (the test split's labels and predictions
 * and the example images the report shows, so the report can be rebuilt without the dataset).
 *
 * Sweep folders: <runsDir>/sweep-<name>/ holding
 *   sweep.json      the sweep file and each trial's config and folder
 *   results.json    one row per trial and the best trial (results.csv: the same table)
 *   sweep.lock      held while a sweep runs in the folder (lock.ts)
 *   rungs.json      an early-stopping sweep's rungs, kept for a resumed or widened sweep (sweep/rungs.ts)
 *   trials/         one run folder per trial, trials/trial-<hash of the trial's config>
 *   report.html     the sweep report, with its PNG figures
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ioErrorMessage, RunIoError } from './errors.js';

const REPORT = 'report.html';

/** The files of a run folder, by role. */
export const RUN_FILES = {
  config: 'config.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  log: 'train.log',
  best: 'best.ckpt',
  last: 'last.ckpt',
  report: REPORT,
  /** knn runs: the cross-validation (accuracy per k and fold) and the test × train distance image. */
  knnCv: 'cv.json',
  distances: 'distances.png',
  /** `train export`: the folder the exported model goes to (EXPORT_FILES inside it). */
  export: 'export',
  /** What the report draws from the test split (report/test_predictions.ts), so `train report` needs no dataset. */
  testPredictions: 'predictions.json',
  /** A sweep trial stopped early by the scheduler: its last epoch and the reason (sweep/worker.ts). */
  stopped: 'stopped.json',
  /** Who writes the folder now (owner.ts): held while a run trains, gone when it ends. */
  lease: 'run.lease',
} as const;

/** The files `train export` writes in a run's export/ folder, by format (npy: a folder of one .npy per array). */
export const EXPORT_FILES = {
  onnx: 'model.onnx',
  safetensors: 'model.safetensors',
  npy: 'npy',
} as const;

/** Where `train export` writes format `f` of run folder `dir` by default: <dir>/export/<file>. */
export function exportFile(dir: string, f: keyof typeof EXPORT_FILES): string {
  return path.join(dir, RUN_FILES.export, EXPORT_FILES[f]);
}

/** The files of a sweep folder, by role. */
export const SWEEP_FILES = {
  spec: 'sweep.json',
  results: 'results.json',
  resultsCsv: 'results.csv',
  lock: 'sweep.lock',
  /** A TPE sweep's suggestions so far, in order (sweep/tpe_sweep.ts). */
  tpe: 'tpe.json',
  /** An early-stopping sweep's rungs: each trial's score at each rung, in order, and what the scores are (sweep/rungs.ts). */
  rungs: 'rungs.json',
  /** The folder of the trials' run folders. */
  trials: 'trials',
  report: REPORT,
} as const;

/** The runs folder's own page: every run and sweep in it (report/runs_index.ts, `train runs`). */
export const RUNS_INDEX = 'index.html';

/** The path of run folder `dir`'s file `f`. */
export function runFile(dir: string, f: keyof typeof RUN_FILES): string {
  return path.join(dir, RUN_FILES[f]);
}

/** The path of sweep folder `dir`'s file `f`. */
export function sweepFile(dir: string, f: keyof typeof SWEEP_FILES): string {
  return path.join(dir, SWEEP_FILES[f]);
}

/** The folder of sweep `name`. */
export function sweepDirOf(runsDir: string, name: string): string {
  return path.join(runsDir, `sweep-${name}`);
}

/** A trial's run folder relative to its sweep folder: trials/trial-<hash>, then -2, -3… for the k-th of that name. */
export function trialRel(hash: string, k = 1): string {
  return path.join(SWEEP_FILES.trials, `trial-${hash}${k > 1 ? `-${k}` : ''}`);
}

/** Create a fresh run folder; never reuses an existing one. */
export function createRunDir(runsDir: string, name: string, now = new Date()): string {
  const p2 = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p2(now.getMonth() + 1)}${p2(now.getDate())}-${p2(now.getHours())}${p2(now.getMinutes())}${p2(now.getSeconds())}`;
  try {
    fs.mkdirSync(runsDir, { recursive: true });
  } catch (e) {
    throw new RunIoError(ioErrorMessage('create the runs folder', runsDir, e));
  }
  for (let k = 1; ; k++) {
    const dir = path.join(runsDir, `${stamp}-${name}${k > 1 ? `-${k}` : ''}`);
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new RunIoError(ioErrorMessage('create the run folder', dir, e));
    }
  }
}
