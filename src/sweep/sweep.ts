/**
 * Hyperparameter sweeps on every core. The data is loaded and preprocessed once, into
 * SharedArrayBuffers; worker threads (one per core by default) train the trials, each into an
 * ordinary run folder under <runsDir>/sweep-<name>/trials/. The main thread prints a table row
 * per finished trial (as cs231n does), keeps results.json and results.csv current after every
 * trial, and at the end evaluates the best trial (by val accuracy) on the test split, once.
 *
 * Trial folders are named by a hash of the trial's result-relevant config (trials/trial-<hash>),
 * not by its place in the list, so editing a sweep's grid never points a folder at another config.
 *
 * Resuming: a trial is finished when a folder under trials/ holds a summary.json (written
 * atomically, last) for the same config. Running the sweep again reuses those wherever they are;
 * a killed sweep loses only the trials in flight, which carry on from their last.ckpt. A finished
 * trial is never deleted: one the edited sweep no longer holds stays in trials/ and is named in
 * the output. Only a trial's own unfinished folder without a checkpoint is ever cleared.
 *
 * One sweep folder, one sweep: sweep.lock (pid and host) keeps a second copy out.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../linalg/worker_threads.js';
import { type Config, ConfigError, NOT_RESULT_KEYS, scheduleOf } from '../config/config.js';
import { checkAgainstData } from '../data/fits.js';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import { modelFromCheckpoint } from '../models/index.js';
import { writeFileAtomic, writeJsonAtomic, RunIoError, ioErrorMessage } from '../runs/atomic.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { accuracy } from '../models/evaluate.js';
import type { SweepResults, TrialResult } from '../runs/results.js';
import type { Summary } from '../runs/summary.js';
import { loadRunData, peakRssMB, type RunData } from '../train/run.js';
import { DECISION, newCells, STOP_CELL, type FromWorker, type StoppedInfo, type ToWorker } from './protocol.js';
import { decide, describeScheduler, MemoryRungStore, type RungStore, type SchedulerSpec } from './scheduler.js';
import { buildSweepReport } from '../report/sweep_report.js';
import { acquireSweepLock, readSweepLock, type LockInfo } from '../runs/lock.js';
import { dropRunFolder } from '../runs/owner.js';
import { runFile, SWEEP_FILES, sweepDirOf, sweepFile, trialRel } from '../runs/layout.js';
import { isObj } from '../config/keys.js';
import { readJsonOrNull } from '../runs/read.js';
import { type SweepSpec, type Trial, baseConfig, describeParams, expandTrials, readSweepFile, sweptKeys, trialCount } from './spec.js';
import { recordedTrials, tpeFeed } from './tpe_sweep.js';

export interface SweepOptions {
  file: string;
  /** Command-line overrides of the base config (data location, backend, runs folder). */
  flags: Partial<Config>;
  workers?: number;
  out?: (line: string) => void;
  /** After each trial (and once before the first): trials done of all, run here of to run, the best val accuracy so far (the CLI's sweep bar). */
  onProgress?: (p: { done: number; total: number; toRun: number; ran: number; bestVal: number | null }) => void;
  /** Who trains the pending trials: the worker threads of this machine (the default), or a queue (queue.ts). */
  runner?: TrialRunner;
  /**
   * Aborted (Ctrl-C, SIGTERM, `sweep cancel`): the local pool stops its running trials after their
   * current step, each with its last checkpoint, and starts no more; a queue coordinator stops
   * following (its jobs stay queued). runSweep then rejects with a SweepStoppedError.
   */
  signal?: AbortSignal;
}

/** A sweep stopped before its end: what is left, for the message that says how to go on. */
export class SweepStoppedError extends Error {
  constructor(
    readonly sweep: string,
    /** Trials not finished (never run, running, or stopped mid-way). */
    readonly left: number,
    readonly total: number,
  ) {
    super(`sweep ${sweep} stopped: ${left} of ${total} trials are not finished`);
  }
}

/** What a runner is handed: the trials to train and where to tell what happened. */
export interface RunnerContext {
  spec: SweepSpec;
  sweepDir: string;
  trials: Trial[];
  /** Every trial's plan, the finished ones too. */
  plans: TrialPlan[];
  pending: TrialPlan[];
  runData: RunData;
  base: Config;
  workers: number;
  /** The pending trials one at a time, as workers free up (a TPE sweep suggests each when asked). */
  feed: TrialFeed;
  /** Once per trial, in finishing order. */
  done(r: TrialResult): void;
  /** A trial started, reported an epoch (host, epoch), or (null) is no longer in flight. */
  running(index: number, info: { host: string | null; epoch: number | null } | null): void;
  /** SweepOptions.signal. */
  signal?: AbortSignal;
}

/** Hands out a sweep's pending trials one at a time. */
export interface TrialFeed {
  /** The next trial to train, or null when there is none left. */
  next(): TrialPlan | null;
  /** How many are still to be handed out. */
  left(): number;
}

/** The feed of trials known in advance (grid, random, list). */
export function listFeed(pending: TrialPlan[]): TrialFeed {
  const queue = [...pending];
  return { next: () => queue.shift() ?? null, left: () => queue.length };
}

/** Trains a sweep's pending trials: the local pool of worker threads, or the queue (queue.ts). */
export interface TrialRunner {
  /** "local", or the queue's URL without its password: results.json's queue field. */
  name: string;
  /** For the data line: "shared by 2 workers". */
  describe(workers: number): string;
  run(ctx: RunnerContext): Promise<void>;
  /**
   * Whether the sweep's lock holder `held`, on another host, is gone: a queue coordinator's
   * heartbeat in Redis has expired. Without it, only a holder on this host can be found gone.
   */
  holderGone?(spec: SweepSpec, sweepDir: string, held: LockInfo): Promise<boolean>;
}

export function resultKey(cfg: Config): string {
  const c: Record<string, unknown> = { ...cfg };
  for (const k of NOT_RESULT_KEYS) delete c[k];
  return JSON.stringify(c, Object.keys(c).sort());
}

/** A short hash of the result-relevant config: the trial's folder name. */
export function configHash(cfg: Config): string {
  return createHash('sha256').update(resultKey(cfg)).digest('hex').slice(0, 12);
}

/** A folder under trials/ as an earlier invocation left it. */
interface TrialFolder {
  /** Relative to the sweep folder: trials/<name>. */
  rel: string;
  /** resultKey of its config.json; null when there is none or it does not parse. */
  key: string | null;
  config: Config | null;
  /** Its summary.json, when it parses. */
  summary: Summary | null;
  /** summary.json exists (parsing or not): the folder is never cleared. */
  hasSummary: boolean;
  hasCheckpoint: boolean;
  /** Its stopped.json: the scheduler stopped the trial early, for good. */
  stopped: StoppedInfo | null;
}

export function scanTrialFolders(sweepDir: string): Map<string, TrialFolder> {
  const out = new Map<string, TrialFolder>();
  let names: fs.Dirent[];
  try {
    names = fs.readdirSync(sweepFile(sweepDir, 'trials'), { withFileTypes: true });
  } catch (e) {
    throw new RunIoError(ioErrorMessage('list the trial folders in', sweepFile(sweepDir, 'trials'), e));
  }
  for (const d of names.filter((n) => n.isDirectory()).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = path.join(SWEEP_FILES.trials, d.name);
    const dir = path.join(sweepDir, rel);
    const config = readJsonOrNull(runFile(dir, 'config')) as Config | null;
    const ok = isObj(config);
    const summary = readJsonOrNull(runFile(dir, 'summary')) as Summary | null;
    const stopped = readJsonOrNull(runFile(dir, 'stopped')) as StoppedInfo | null;
    out.set(rel, {
      rel,
      key: ok ? resultKey(config) : null,
      config: ok ? config : null,
      summary: summary !== null && typeof summary === 'object' ? summary : null,
      hasSummary: fs.existsSync(runFile(dir, 'summary')),
      hasCheckpoint: fs.existsSync(runFile(dir, 'last')),
      stopped: isObj(stopped) && Number.isInteger(stopped.lastEpoch) ? stopped : null,
    });
  }
  return out;
}

/** A finished trial's result from its folder's summary, or null when the folder is not finished. */
function finishedResult(trial: Trial, f: TrialFolder): TrialResult | null {
  const s = f.summary;
  if (!s || f.key === null) return null;
  if (s.status === 'ok' && typeof s.bestValAcc === 'number' && typeof s.seconds?.total === 'number') return okResult(trial, f.rel, s, true);
  if (s.status === 'diverged') return failedResult(trial, f.rel, 'diverged', typeof s.error === 'string' ? s.error : 'diverged', true);
  if (s.status === 'interrupted' && f.stopped) return stoppedResult(trial, f.rel, f.stopped, true);
  return null;
}

/** A folder that holds a finished trial (ok, diverged, or stopped for good by the scheduler). */
function isFinishedFolder(f: TrialFolder): boolean {
  const st = f.summary?.status;
  return st === 'ok' || st === 'diverged' || (st === 'interrupted' && f.stopped !== null);
}

/** Where each trial runs, decided before anything is written. */
export interface TrialPlan {
  trial: Trial;
  rel: string;
  /** Finished earlier (in `rel`): nothing to run. */
  finished: TrialResult | null;
  /** `rel` holds this trial's last.ckpt: carry on from it, with the folder's own config. */
  resume: Config | null;
  /** `rel` is this trial's own folder, unfinished and without a checkpoint: it may be cleared. */
  clear: boolean;
}

/**
 * Match trials to folders. A finished folder serves the trial with its config, whatever its name
 * (so folders named by index, as older versions did, are reused too). Every other trial gets its
 * own folder trials/trial-<hash> (-2, -3… for a repeated config, or where a folder of that name
 * cannot be used): new, resumable from its checkpoint, or unfinished without one (cleared).
 */
export function planTrials(trials: Trial[], folders: Map<string, TrialFolder>): { plans: TrialPlan[]; notInSweep: string[] } {
  const finishedByKey = new Map<string, TrialFolder[]>();
  for (const f of folders.values()) {
    if (f.key === null || !isFinishedFolder(f)) continue;
    const list = finishedByKey.get(f.key) ?? [];
    list.push(f);
    finishedByKey.set(f.key, list);
  }
  const used = new Set<string>();
  const plans: TrialPlan[] = [];
  for (const trial of trials) {
    const key = resultKey(trial.config);
    const list = finishedByKey.get(key) ?? [];
    let done: TrialResult | null = null;
    while (!done && list.length > 0) {
      const f = list.shift()!;
      done = finishedResult(trial, f);
      if (done) used.add(f.rel);
    }
    if (done) {
      plans.push({ trial, rel: done.dir, finished: done, resume: null, clear: false });
      continue;
    }
    const hash = configHash(trial.config);
    for (let k = 1; ; k++) {
      const rel = trialRel(hash, k);
      if (used.has(rel)) continue;
      const f = folders.get(rel);
      if (f && f.key === key && f.hasCheckpoint) {
        plans.push({ trial, rel, finished: null, resume: f.config, clear: false });
      } else if (f && (f.hasSummary || f.hasCheckpoint)) {
        continue; // someone else's results or checkpoint: never cleared, never reused
      } else {
        plans.push({ trial, rel, finished: null, resume: null, clear: f !== undefined });
      }
      used.add(rel);
      break;
    }
  }
  const notInSweep = [...folders.values()].filter((f) => f.hasSummary && !used.has(f.rel)).map((f) => f.rel);
  return { plans, notInSweep };
}

export function okResult(trial: Trial, rel: string, s: Summary, resumed: boolean): TrialResult {
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
    lastEpoch: typeof s.epochs === 'number' ? s.epochs : null,
  };
}

export function stoppedResult(trial: Trial, rel: string, s: StoppedInfo, resumed: boolean): TrialResult {
  return {
    index: trial.index,
    dir: rel,
    status: 'stopped',
    reason: `after epoch ${s.lastEpoch}: ${s.reason}`,
    params: trial.params,
    trainAcc: s.bestTrainAcc,
    valAcc: s.bestValAcc,
    bestEpoch: s.bestEpoch,
    seconds: s.seconds,
    resumed,
    lastEpoch: s.lastEpoch,
  };
}

/** Record that the scheduler stopped the trial in `dir` for good (the worker has written last.ckpt and the summary). */
export function writeStopped(dir: string, s: StoppedInfo): void {
  writeJsonAtomic(runFile(dir, 'stopped'), s);
}

/** The number of epochs trial config `cfg` runs on `numTrain` rows (a fractional last one counts). */
export function epochsOf(cfg: Config, numTrain: number): number {
  const { perEpoch, steps } = scheduleOf(cfg, numTrain);
  return Math.ceil(steps / perEpoch);
}

export function failedResult(trial: Trial, rel: string, status: 'diverged' | 'failed', reason: string, resumed: boolean): TrialResult {
  return { index: trial.index, dir: rel, status, reason, params: trial.params, trainAcc: null, valAcc: null, bestEpoch: null, seconds: null, resumed };
}

/** cs231n's row: "lr 1.000000e-06 reg 1.000000e+03 train accuracy: 0.401 val accuracy: 0.381". */
export function trialRow(r: TrialResult, total: number): string {
  const head = `trial ${String(r.index).padStart(String(total).length)}/${total}  ${describeParams(r.params)}`;
  if (r.status === 'stopped') return `${head} STOPPED ${r.reason}; best val accuracy: ${r.valAcc === null ? 'n/a' : r.valAcc.toFixed(3)}${r.resumed ? '  (earlier run)' : ''}`;
  if (r.status !== 'ok') return `${head} ${r.status.toUpperCase()}: ${r.reason}${r.resumed ? '  (earlier run)' : ''}`;
  const t = r.resumed ? '  (earlier run)' : r.seconds !== null ? `  (${r.seconds.toFixed(1)} s)` : '';
  return `${head} train accuracy: ${r.trainAcc!.toFixed(3)} val accuracy: ${r.valAcc!.toFixed(3)}${t}`;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function resultsCsv(results: SweepResults, keys: string[]): string {
  // With early stopping, the epochs each trial trained (a stopped trial's last one) close the row.
  const epochs = results.scheduler !== undefined;
  const head = ['trial', 'status', ...keys, 'train_acc', 'val_acc', 'best_epoch', 'seconds', 'dir', 'reason', ...(epochs ? ['last_epoch'] : [])];
  const rows = results.trials.map((r) =>
    [r.index, r.status, ...keys.map((k) => (r.params as Record<string, unknown>)[k]), r.trainAcc, r.valAcc, r.bestEpoch, r.seconds, r.dir, r.reason, ...(epochs ? [r.lastEpoch] : [])].map(csvCell).join(','),
  );
  return [head.join(','), ...rows].join('\n') + '\n';
}

export async function runSweep(opts: SweepOptions): Promise<SweepResults> {
  const t0 = performance.now();
  const out = opts.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const spec: SweepSpec = readSweepFile(opts.file);
  const trials = expandTrials(spec, opts.flags); // a TPE sweep's come as it runs (tpe_sweep.ts)
  const sweepDir = sweepDirOf(baseConfig(spec, opts.flags).runsDir, spec.name);
  try {
    fs.mkdirSync(sweepFile(sweepDir, 'trials'), { recursive: true });
  } catch (e) {
    throw new RunIoError(ioErrorMessage('create the sweep folder', sweepDir, e));
  }
  // Before anything in the folder is read or written: a second copy of the sweep stops here.
  const held = readSweepLock(sweepDir);
  const gone = held && held.host !== os.hostname() && opts.runner?.holderGone && (await opts.runner.holderGone(spec, sweepDir, held)) ? held : undefined;
  const lock = acquireSweepLock(sweepDir, spec.name, out, gone);
  try {
    return await sweepLocked(spec, trials, sweepDir, opts, out, t0);
  } finally {
    lock.release();
  }
}

async function sweepLocked(spec: SweepSpec, trials: Trial[], sweepDir: string, opts: SweepOptions, out: (line: string) => void, t0: number): Promise<SweepResults> {
  if (spec.tpe) {
    if (opts.runner) throw new ConfigError(`${opts.file}: a "tpe" sweep runs on the local pool only for now; run it without --queue`);
    trials.push(...recordedTrials(spec, sweepDir, opts.flags));
  }
  const base = trials[0]?.config ?? baseConfig(spec, opts.flags);
  const total = trialCount(spec);
  const { plans, notInSweep } = planTrials(trials, scanTrialFolders(sweepDir));
  const relOf = new Map(plans.map((p) => [p.trial.index, p.rel]));
  const writeSpec = () => writeJsonAtomic(sweepFile(sweepDir, 'spec'), { spec, trials: trials.map((t) => ({ index: t.index, dir: relOf.get(t.index)!, params: t.params, config: t.config })) });
  writeSpec();

  const keys = sweptKeys(spec);
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
    notInSweep,
    ...(spec.scheduler ? { scheduler: describeScheduler(spec.scheduler) } : {}),
    ...(opts.runner ? { queue: opts.runner.name } : {}),
  };
  const byIndex = new Map<number, TrialResult>();
  const earlier = earlierSegments(sweepDir); // before this invocation's results.json replaces them
  const save = () => {
    results.trials = [...byIndex.values()].sort((a, b) => a.index - b.index);
    const now = Math.round((performance.now() - t0) / 10) / 100;
    results.seconds = Math.round((earlier.reduce((a, b) => a + b, 0) + now) * 100) / 100;
    if (earlier.length) results.segments = [...earlier, now];
    results.peakRssMB = peakRssMB();
    writeJsonAtomic(sweepFile(sweepDir, 'results'), results);
    writeFileAtomic(sweepFile(sweepDir, 'resultsCsv'), resultsCsv(results, keys));
  };
  // The live report: results.json's `live` lists the trials in flight and those waiting, and the
  // report (which reloads itself while `live` is there) is rebuilt at most every 2 s as results arrive.
  const inFlight = new Map<number, { host: string | null; epoch: number | null }>();
  const setLive = () => {
    results.live = {
      running: [...inFlight.entries()].sort((a, b) => a[0] - b[0]).map(([index, r]) => ({ index, ...r })),
      queued: trials.filter((t) => !byIndex.has(t.index) && !inFlight.has(t.index)).map((t) => t.index),
    };
  };
  let lastReport = 0;
  let reporting = false;
  const liveReport = (force = false) => {
    if (reporting || (!force && performance.now() - lastReport < 2000)) return;
    reporting = true;
    lastReport = performance.now();
    save();
    buildSweepReport(sweepDir)
      .catch(() => {
        /* a live picture only: the final report below is the one that counts */
      })
      .finally(() => {
        reporting = false;
      });
  };

  // Trials finished by an earlier invocation are kept as they are.
  const pending: TrialPlan[] = [];
  for (const p of plans) {
    if (p.finished) byIndex.set(p.trial.index, p.finished);
    else pending.push(p);
  }
  const runner = opts.runner ?? localRunner;
  const toRun = total - byIndex.size;
  const workers = opts.runner ? 0 : Math.max(1, Math.min(opts.workers ?? os.availableParallelism(), toRun || 1));
  results.workers = workers;
  out(`sweep ${spec.name}: ${total} trials (${spec.grid ? 'grid' : spec.list ? 'list' : spec.tpe ? 'TPE' : 'random search'} over ${keys.join(', ')}), folder ${sweepDir}`);
  if (spec.scheduler) out(`early stopping: ${describeScheduler(spec.scheduler)}`);
  if (byIndex.size > 0) out(`${byIndex.size} finished earlier and are kept; ${toRun} to run`);
  if (notInSweep.length > 0) {
    const names = notInSweep.map((r) => path.basename(r));
    const shown = names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more` : names.join(', ');
    out(`${notInSweep.length} finished trial${notInSweep.length > 1 ? 's are' : ' is'} not in the sweep any more and kept in ${sweepFile(sweepDir, 'trials')} (${shown}); ${SWEEP_FILES.results} lists them under notInSweep`);
  }
  for (const r of [...byIndex.values()].sort((a, b) => a.index - b.index)) out(trialRow(r, total));

  // The data, once, in shared memory. Every trial's batch size and sizes are checked against it first.
  const runData: RunData = await loadRunData(base, { shared: true });
  const check = (c: Config) => checkAgainstData(c, runData.data.train.n, { dim: runData.data.dim, classes: runData.data.classes.length });
  for (const t of trials) check(t.config);
  const added = (p: TrialPlan) => (relOf.set(p.trial.index, p.rel), writeSpec());
  const feed = spec.tpe ? tpeFeed({ spec, sweepDir, flags: opts.flags, trials, plans, pending, finished: byIndex, check, added }) : listFeed(pending);
  const d = runData.data;
  out(`data: ${base.dataset} from ${runData.source} (train ${d.train.n}, val ${d.val.n}, test ${d.test.n}; ${d.dim} numbers a row), ${runData.loadSeconds.toFixed(1)} s, ${runner.describe(workers)}`);
  setLive();
  save();
  liveReport(true);

  const tTrials = performance.now();
  const progress = () => {
    const vals = [...byIndex.values()].filter((r) => r.status === 'ok' && r.valAcc !== null).map((r) => r.valAcc!);
    opts.onProgress?.({ done: byIndex.size, total, toRun, ran: results.trialsRun, bestVal: vals.length ? Math.max(...vals) : null });
  };
  progress();
  // A queue is asked even with nothing to run: it clears the jobs of trials found finished.
  if (toRun > 0 || opts.runner) {
    await runner.run({
      spec,
      sweepDir,
      trials,
      plans,
      pending,
      runData,
      base,
      workers,
      feed,
      done: (r) => {
        byIndex.set(r.index, r);
        inFlight.delete(r.index);
        results.trialsRun++;
        results.trialSeconds = Math.round(performance.now() - tTrials) / 1000;
        out(trialRow(r, total));
        setLive();
        save();
        liveReport();
        progress();
      },
      running: (index, info) => {
        if (info) inFlight.set(index, info);
        else inFlight.delete(index);
        setLive();
        liveReport();
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }
  if (opts.signal?.aborted) {
    while (reporting) await new Promise((r) => setTimeout(r, 20));
    save();
    const left = trials.filter((t) => !byIndex.has(t.index) || byIndex.get(t.index)!.status === 'failed').length;
    throw new SweepStoppedError(spec.name, left, trials.length);
  }
  delete results.live;
  while (reporting) await new Promise((r) => setTimeout(r, 20));

  // The best trial by val accuracy, and its test accuracy, evaluated once.
  const okTrials = results.trials.filter((r) => r.status === 'ok' && r.valAcc !== null);
  if (okTrials.length > 0) {
    const best = okTrials.reduce((a, b) => (b.valAcc! > a.valAcc! ? b : a));
    await initEngine(base.backend);
    const ck = loadCheckpoint(runFile(path.join(sweepDir, best.dir), 'best'));
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
  const stopped = results.trials.filter((r) => r.status === 'stopped').length;
  const failed = results.trials.filter((r) => r.status !== 'ok' && r.status !== 'stopped').length;
  const ok = results.trials.length - failed - stopped;
  out(`${ok} trials ok, ${spec.scheduler ? `${stopped} stopped early, ` : ''}${failed} failed; ${results.seconds.toFixed(1)} s; results in ${sweepFile(sweepDir, 'resultsCsv')} and ${SWEEP_FILES.results}`);
  return results;
}

/** The seconds of the earlier invocations of the sweep in `sweepDir`, first to last, from its results.json (none: []). */
function earlierSegments(sweepDir: string): number[] {
  const prev = readJsonOrNull(sweepFile(sweepDir, 'results')) as Partial<SweepResults> | null;
  if (Array.isArray(prev?.segments) && prev.segments.every((x) => typeof x === 'number')) return prev.segments;
  return typeof prev?.seconds === 'number' ? [prev.seconds] : [];
}

/**
 * `sweep cancel F` of a local sweep: its process (the holder of sweep.lock, on this host) is sent
 * SIGTERM, which stops its running trials after their step, each with its last checkpoint, and
 * starts no more (the CLI's sweep stops as on Ctrl-C); returns once it has released the lock.
 */
export async function cancelLocalSweep(file: string, flags: Partial<Config>, out: (line: string) => void, waitMs = 120_000): Promise<void> {
  const spec = readSweepFile(file);
  const sweepDir = sweepDirOf(expandTrials(spec, flags)[0].config.runsDir, spec.name);
  const held = readSweepLock(sweepDir);
  if (!held) return out(`sweep ${spec.name} is not running in ${sweepDir}: nothing to cancel (a sweep on a queue: give --queue)`);
  if (held.host !== os.hostname()) throw new RunIoError(`sweep ${spec.name} runs on host ${held.host} (process ${held.pid}): cancel it there, or give --queue for a sweep on a queue`);
  try {
    process.kill(held.pid, 'SIGTERM');
  } catch {
    return out(`sweep ${spec.name}: its process ${held.pid} is no longer running; nothing to cancel`);
  }
  const t0 = Date.now();
  while (readSweepLock(sweepDir)?.pid === held.pid && Date.now() - t0 < waitMs) await new Promise((r) => setTimeout(r, 200));
  if (readSweepLock(sweepDir)?.pid === held.pid) throw new RunIoError(`sweep ${spec.name}: process ${held.pid} has not stopped within ${waitMs / 1000} s`);
  out(`sweep ${spec.name} cancelled: process ${held.pid} stopped its running trials, each keeping its last checkpoint; run it again to resume: train sweep --config ${file}`);
}

/**
 * Make a pending trial's folder (it may exist). Clearing a trial's own unfinished folder is the
 * training thread's, once it holds the folder (runs/owner.ts takeRunFolder's `clear`), so no two
 * writers ever clear one folder under each other.
 */
export function prepareFolder(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new RunIoError(ioErrorMessage('prepare the trial folder', dir, e));
  }
}

/**
 * Run `pending` on `n` worker threads; `done` is called once per trial, in finishing order.
 * Any error in the main thread's handling (a full disk under results.json, say) stops every
 * worker and rejects with a RunIoError, instead of escaping an event handler as an uncaught
 * exception. A worker that dies mid-trial (a crash, an exit) fails that trial only.
 */
const localRunner: TrialRunner = {
  name: 'local',
  describe: (workers) => `shared by ${workers} worker${workers > 1 ? 's' : ''}`,
  run: (ctx) => runPending(ctx.feed, ctx.workers, ctx.sweepDir, ctx.runData, ctx.base.backend, ctx.done, { scheduler: ctx.spec.scheduler, store: new MemoryRungStore(), running: ctx.running, ...(ctx.signal ? { signal: ctx.signal } : {}) }),
};

/** The early-stopping side of a pool: the scheduler, where its rungs live, and whom to tell of epochs. */
export interface Scheduling {
  scheduler?: SchedulerSpec;
  store: RungStore;
  running?: RunnerContext['running'];
  host?: string;
  /** Aborted: running trials stop after their step (resumable), no more start. */
  signal?: AbortSignal;
}

/**
 * The scheduler's answer to a trial's 'epoch' message, written into the worker's decision cell.
 * Resolves with the reason when it said stop. A store that fails (Redis gone for good) lets the
 * trial go on: early stopping saves time, it never costs a trial.
 */
export async function answerEpoch(s: Scheduling, cell: Int32Array, trialId: string, epochs: number, msg: Extract<FromWorker, { type: 'epoch' }>): Promise<string | null> {
  let reason: string | null = null;
  try {
    if (s.scheduler) {
      const d = await decide(s.scheduler, s.store, trialId, msg.epoch, epochs, msg.valHistory);
      if (d.stop) reason = d.reason;
    }
  } finally {
    Atomics.store(cell, 0, reason !== null ? DECISION.stop : DECISION.go);
    Atomics.notify(cell, 0);
  }
  return reason;
}

function runPending(
  feed: TrialFeed,
  n: number,
  sweepDir: string,
  runData: RunData,
  backend: BackendChoice,
  done: (r: TrialResult) => void,
  sched: Scheduling = { store: new MemoryRungStore() },
): Promise<void> {
  const byIndex = new Map<number, TrialPlan>();
  let remaining = feed.left();
  const live = new Set<Worker>();
  const cells = new Map<Worker, Int32Array>();
  let stopped = false;
  let cancelled = false;
  return new Promise((resolve, reject) => {
    // Cancelled: the trials not started are dropped, the running ones stop after their step.
    const cancel = () => {
      remaining -= feed.left();
      cancelled = true;
      for (const c of cells.values()) Atomics.store(c, STOP_CELL, 1);
      if (remaining === 0) resolve();
    };
    if (sched.signal?.aborted) return cancel();
    sched.signal?.addEventListener('abort', cancel, { once: true });
    const stop = (err: unknown) => {
      if (stopped) return;
      stopped = true;
      for (const w of live) void w.terminate();
      reject(err instanceof RunIoError || err instanceof Error ? err : new Error(String(err)));
    };
    /** An event handler whose errors end the sweep cleanly. */
    const guarded =
      <A extends unknown[]>(fn: (...args: A) => void) =>
      (...args: A) => {
        if (stopped) return;
        try {
          fn(...args);
        } catch (e) {
          stop(e);
        }
      };
    const start = () => {
      const cell = newCells();
      const w = startWorker(import.meta.url, 'worker', { runData, backend, threads: Math.max(1, Math.floor(os.availableParallelism() / n)), decision: cell.buffer });
      live.add(w);
      cells.set(w, cell);
      let current: TrialPlan | null = null;
      let stopReason: string | null = null;
      let ready = false;
      let crash: Error | null = null;
      const next = () => {
        current = cancelled ? null : feed.next();
        if (!current) {
          void w.terminate();
          return;
        }
        byIndex.set(current.trial.index, current);
        const dir = path.join(sweepDir, current.rel);
        // A trial killed after a checkpoint carries on from it, as `train --resume` does; its
        // own folder without one starts afresh (cleared by the thread once it holds the folder).
        prepareFolder(dir);
        const resume = current.resume !== null;
        stopReason = null;
        sched.running?.(current.trial.index, { host: sched.host ?? null, epoch: null });
        w.postMessage({ index: current.trial.index, dir, config: current.resume ?? current.trial.config, resume, scheduled: sched.scheduler !== undefined, clear: current.clear } satisfies ToWorker);
      };
      const finish = (r: TrialResult) => {
        current = null;
        done(r);
        if (--remaining === 0) resolve();
      };
      /** The worker is gone: its trial (if any) fails, and a fresh worker takes the queue on. */
      const lost = (why: string) => {
        live.delete(w);
        if (current) {
          const p = current;
          dropRunFolder(path.join(sweepDir, p.rel)); // the dead thread's lease
          finish(failedResult(p.trial, p.rel, 'failed', `worker crashed: ${why}`, false));
        }
        if (feed.left() > 0 && remaining > 0) start();
      };
      w.on(
        'message',
        guarded((msg: FromWorker) => {
          if (msg.type === 'ready') {
            ready = true;
            return next();
          }
          const p = byIndex.get(msg.index)!;
          if (msg.type === 'epoch') {
            sched.running?.(msg.index, { host: sched.host ?? null, epoch: msg.epoch });
            if (!sched.scheduler) return;
            void answerEpoch(sched, cell, p.rel, epochsOf(p.trial.config, runData.data.train.n), msg).then(
              (r) => (stopReason = r),
              guarded((e: unknown) => {
                throw e;
              }),
            );
            return;
          }
          if (msg.type === 'stopped') {
            const info = { ...msg.stopped, reason: stopReason ?? 'stopped by the scheduler' };
            writeStopped(path.join(sweepDir, p.rel), info);
            finish(stoppedResult(p.trial, p.rel, info, false));
            return next();
          }
          if (msg.type === 'done') finish(okResult(p.trial, p.rel, msg.summary, false));
          else finish(failedResult(p.trial, p.rel, msg.diverged ? 'diverged' : 'failed', msg.reason, false));
          next();
        }),
      );
      w.on(
        'error',
        guarded((err: Error) => {
          // A worker that cannot start (no engine, say) would fail the same way again: stop.
          if (!ready) throw new Error(`a sweep worker failed to start: ${err.message}`);
          crash = err; // 'exit' follows
        }),
      );
      w.on(
        'exit',
        guarded((code: number) => {
          if (!ready) throw new Error(`a sweep worker stopped before it started (exit code ${code})`);
          const p = current;
          if (p || crash) lost(crash ? crash.message : `the worker thread exited with code ${code} during trial ${p!.trial.index}`);
          else live.delete(w);
        }),
      );
    };
    try {
      for (let i = 0; i < n; i++) start();
    } catch (e) {
      stop(e);
    }
  });
}
