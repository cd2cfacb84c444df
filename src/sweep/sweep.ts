/**
 * Hyperparameter sweeps on every core. The data is loaded and preprocessed once, into
 * SharedArrayBuffers; worker threads (one per core by default) train the trials, each into an
 * ordinary run folder under <runsDir>/sweep-<name>/trials/. The main thread prints a table row
 * per finished trial (as cs231n does), keeps results.json and results.csv current after every
 * trial, and at the end evaluates the best trial (by val accuracy) on the test split, once.
 *
 * Resuming: a trial is finished when its folder holds a summary.json (written atomically, last)
 * for the same config. Running the sweep again skips those; a killed sweep loses only the trials
 * that were in flight, whose folders are cleared and rerun.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startWorker } from '../linalg/worker_threads.js';
import { type Config, checkAgainstData } from '../config/config.js';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import { modelFromCheckpoint } from '../models/index.js';
import { writeFileAtomic, writeJsonAtomic, RunIoError, ioErrorMessage } from '../train/atomic.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { accuracy } from '../train/evaluate.js';
import { loadRunData, peakRssMB, type RunData, type Summary } from '../train/run.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { buildSweepReport } from '../report/sweep_report.js';
import { type SweepSpec, type Trial, describeParams, expandTrials, readSweepFile } from './spec.js';

export interface TrialResult {
  index: number;
  /** Run folder, relative to the sweep folder. */
  dir: string;
  status: 'ok' | 'diverged' | 'failed';
  reason: string | null;
  params: Partial<Config>;
  /** Train and val accuracy of the trial's best parameters. */
  trainAcc: number | null;
  valAcc: number | null;
  bestEpoch: number | null;
  seconds: number | null;
  /** Finished by an earlier invocation of the same sweep. */
  resumed: boolean;
}

export interface SweepResults {
  name: string;
  sweepFile: string;
  folder: string;
  trials: TrialResult[];
  best: { index: number; dir: string; params: Partial<Config>; trainAcc: number; valAcc: number; testAcc: number | null } | null;
  workers: number;
  seconds: number;
  /** Wall time spent training this invocation's trials (data loading and test evaluation excluded). */
  trialSeconds: number;
  /** Trials this invocation trained (the rest were finished earlier). */
  trialsRun: number;
  /** Peak resident memory of the whole process (all threads), MB. */
  peakRssMB: number;
}

export interface SweepOptions {
  file: string;
  /** Command-line overrides of the base config (data location, backend, runs folder). */
  flags: Partial<Config>;
  workers?: number;
  out?: (line: string) => void;
}

/** Keys that do not change a trial's numbers, ignored when deciding whether a trial is finished. */
const NOT_RESULT_KEYS: (keyof Config)[] = ['name', 'runsDir', 'dataDir', 'logEvery'];

function resultKey(cfg: Config): string {
  const c: Record<string, unknown> = { ...cfg };
  for (const k of NOT_RESULT_KEYS) delete c[k];
  return JSON.stringify(c, Object.keys(c).sort());
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The result of a trial an earlier invocation finished, or null if it must run. */
function finishedResult(sweepDir: string, rel: string, trial: Trial): TrialResult | null {
  const dir = path.join(sweepDir, rel);
  const summary = readJson<Summary>(path.join(dir, 'summary.json'));
  const cfg = readJson<Config>(path.join(dir, 'config.json'));
  if (!summary || !cfg || resultKey(cfg) !== resultKey(trial.config)) return null;
  if (summary.status === 'ok') return okResult(trial, rel, summary, true);
  if (summary.status === 'diverged') return failedResult(trial, rel, 'diverged', summary.error ?? 'diverged', true);
  return null;
}

function okResult(trial: Trial, rel: string, s: Summary, resumed: boolean): TrialResult {
  return {
    index: trial.index,
    dir: rel,
    status: 'ok',
    reason: null,
    params: trial.params,
    trainAcc: s.bestTrainAcc,
    valAcc: s.bestValAcc,
    bestEpoch: s.bestEpoch,
    seconds: s.seconds.total,
    resumed,
  };
}

function failedResult(trial: Trial, rel: string, status: 'diverged' | 'failed', reason: string, resumed: boolean): TrialResult {
  return { index: trial.index, dir: rel, status, reason, params: trial.params, trainAcc: null, valAcc: null, bestEpoch: null, seconds: null, resumed };
}

/** cs231n's row: "lr 1.000000e-06 reg 1.000000e+03 train accuracy: 0.401 val accuracy: 0.381". */
export function trialRow(r: TrialResult, total: number): string {
  const head = `trial ${String(r.index).padStart(String(total).length)}/${total}  ${describeParams(r.params)}`;
  if (r.status !== 'ok') return `${head} ${r.status.toUpperCase()}: ${r.reason}${r.resumed ? '  (earlier run)' : ''}`;
  const t = r.resumed ? '  (earlier run)' : r.seconds !== null ? `  (${r.seconds.toFixed(1)} s)` : '';
  return `${head} train accuracy: ${r.trainAcc!.toFixed(3)} val accuracy: ${r.valAcc!.toFixed(3)}${t}`;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function resultsCsv(results: SweepResults, keys: string[]): string {
  const head = ['trial', 'status', ...keys, 'train_acc', 'val_acc', 'best_epoch', 'seconds', 'dir', 'reason'];
  const rows = results.trials.map((r) =>
    [r.index, r.status, ...keys.map((k) => (r.params as Record<string, unknown>)[k]), r.trainAcc, r.valAcc, r.bestEpoch, r.seconds, r.dir, r.reason].map(csvCell).join(','),
  );
  return [head.join(','), ...rows].join('\n') + '\n';
}

export async function runSweep(opts: SweepOptions): Promise<SweepResults> {
  const t0 = performance.now();
  const out = opts.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const spec: SweepSpec = readSweepFile(opts.file);
  const trials = expandTrials(spec, opts.flags);
  const base = trials[0].config;
  const sweepDir = path.join(base.runsDir, `sweep-${spec.name}`);
  try {
    fs.mkdirSync(path.join(sweepDir, 'trials'), { recursive: true });
  } catch (e) {
    throw new RunIoError(ioErrorMessage('create the sweep folder', sweepDir, e));
  }
  const rel = (t: Trial) => path.join('trials', `trial-${String(t.index).padStart(3, '0')}`);
  writeJsonAtomic(path.join(sweepDir, 'sweep.json'), { spec, trials: trials.map((t) => ({ index: t.index, dir: rel(t), params: t.params, config: t.config })) });

  const keys = [...new Set(trials.flatMap((t) => Object.keys(t.params)))];
  const results: SweepResults = {
    name: spec.name,
    sweepFile: path.resolve(opts.file),
    folder: sweepDir,
    trials: [],
    best: null,
    workers: 0,
    seconds: 0,
    trialSeconds: 0,
    trialsRun: 0,
    peakRssMB: 0,
  };
  const byIndex = new Map<number, TrialResult>();
  const save = () => {
    results.trials = [...byIndex.values()].sort((a, b) => a.index - b.index);
    results.seconds = Math.round((performance.now() - t0) / 10) / 100;
    results.peakRssMB = peakRssMB();
    writeJsonAtomic(path.join(sweepDir, 'results.json'), results);
    writeFileAtomic(path.join(sweepDir, 'results.csv'), resultsCsv(results, keys));
  };

  // Trials finished by an earlier invocation are kept as they are.
  const pending: Trial[] = [];
  for (const t of trials) {
    const r = finishedResult(sweepDir, rel(t), t);
    if (r) byIndex.set(t.index, r);
    else pending.push(t);
  }
  const workers = Math.max(1, Math.min(opts.workers ?? os.availableParallelism(), pending.length || 1));
  results.workers = workers;
  out(`sweep ${spec.name}: ${trials.length} trials (${spec.grid ? `grid over ${keys.join(', ')}` : `random search over ${keys.join(', ')}`}), folder ${sweepDir}`);
  if (byIndex.size > 0) out(`${byIndex.size} finished earlier and are kept; ${pending.length} to run`);
  for (const r of [...byIndex.values()].sort((a, b) => a.index - b.index)) out(trialRow(r, trials.length));

  // The data, once, in shared memory. Every trial's batch size is checked against it first.
  const runData: RunData = await loadRunData(base, { shared: true });
  for (const t of trials) checkAgainstData(t.config, runData.data.train.n);
  const d = runData.data;
  out(`data: ${base.dataset} from ${runData.source} (train ${d.train.n}, val ${d.val.n}, test ${d.test.n}; ${d.dim} numbers a row), ${runData.loadSeconds.toFixed(1)} s, shared by ${workers} worker${workers > 1 ? 's' : ''}`);
  save();

  const tTrials = performance.now();
  if (pending.length > 0) await runPending(pending, workers, sweepDir, rel, runData, base.backend, (r) => {
    byIndex.set(r.index, r);
    results.trialsRun++;
    results.trialSeconds = Math.round(performance.now() - tTrials) / 1000;
    save();
    out(trialRow(r, trials.length));
  });

  // The best trial by val accuracy, and its test accuracy, evaluated once.
  const ok = results.trials.filter((r) => r.status === 'ok' && r.valAcc !== null);
  if (ok.length > 0) {
    const best = ok.reduce((a, b) => (b.valAcc! > a.valAcc! ? b : a));
    await initEngine(base.backend);
    const ck = loadCheckpoint(path.join(sweepDir, best.dir, 'best.ckpt'));
    const model = modelFromCheckpoint(ck);
    const testAcc = accuracy(model, d.test);
    results.best = { index: best.index, dir: best.dir, params: best.params, trainAcc: best.trainAcc!, valAcc: best.valAcc!, testAcc };
    save();
    out(`best validation accuracy achieved: ${best.valAcc!.toFixed(3)} (trial ${best.index}: ${describeParams(best.params)})`);
    out(`test accuracy of the best trial: ${testAcc.toFixed(3)} (${d.test.n} records)`);
  } else {
    save();
    out('no trial finished: see the reasons above');
  }
  out(`report: ${await buildSweepReport(sweepDir)}`);
  const failed = results.trials.filter((r) => r.status !== 'ok').length;
  out(`${results.trials.length - failed} trials ok, ${failed} failed; ${results.seconds.toFixed(1)} s; results in ${path.join(sweepDir, 'results.csv')} and results.json`);
  return results;
}

/** Run `pending` on `n` worker threads; `done` is called once per trial, in finishing order. */
function runPending(
  pending: Trial[],
  n: number,
  sweepDir: string,
  rel: (t: Trial) => string,
  runData: RunData,
  backend: BackendChoice,
  done: (r: TrialResult) => void,
): Promise<void> {
  const queue = [...pending];
  const byIndex = new Map(pending.map((t) => [t.index, t]));
  let remaining = pending.length;
  return new Promise((resolve, reject) => {
    const start = () => {
      const w = startWorker(import.meta.url, 'worker', { runData, backend, threads: Math.max(1, Math.floor(os.availableParallelism() / n)) });
      let current: Trial | null = null;
      let ready = false;
      const next = () => {
        current = queue.shift() ?? null;
        if (!current) {
          void w.terminate();
          return;
        }
        const dir = path.join(sweepDir, rel(current));
        // A trial killed after a checkpoint carries on from it, as `train --resume` does; anything
        // else a killed attempt left is cleared and the trial starts afresh.
        const cfg = readJson<Config>(path.join(dir, 'config.json'));
        const resume = cfg !== null && resultKey(cfg) === resultKey(current.config) && fs.existsSync(path.join(dir, 'last.ckpt'));
        if (!resume) {
          fs.rmSync(dir, { recursive: true, force: true });
          fs.mkdirSync(dir, { recursive: true });
        }
        w.postMessage({ index: current.index, dir, config: resume ? cfg : current.config, resume } satisfies ToWorker);
      };
      const finish = (r: TrialResult) => {
        current = null;
        done(r);
        if (--remaining === 0) resolve();
      };
      w.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          ready = true;
          return next();
        }
        const t = byIndex.get(msg.index)!;
        if (msg.type === 'done') finish(okResult(t, rel(t), msg.summary, false));
        else finish(failedResult(t, rel(t), msg.diverged ? 'diverged' : 'failed', msg.reason, false));
        next();
      });
      w.on('error', (err) => {
        // A worker that cannot start (no engine, say) would fail the same way again: stop.
        if (!ready) return reject(new Error(`a sweep worker failed to start: ${err.message}`));
        // The worker died (out of memory, a crash): its trial fails, a fresh worker takes over.
        if (current) {
          const t = current;
          finish(failedResult(t, rel(t), 'failed', `worker crashed: ${err.message}`, false));
        }
        if (queue.length > 0) start();
      });
    };
    for (let i = 0; i < n; i++) start();
  });
}
