/**
 * Hyperparameter sweeps on every core. The data is loaded and preprocessed once, into
 * SharedArrayBuffers; worker threads (one per core by default) train the trials, each into an
 * ordinary run folder under <runsDir>/sweep-<name>/trials/. The main thread prints a table row
 * per finished trial (as cs231n does), keeps results.json and results.csv current after every
 * trial, and at the end evaluates the best trial (by val accuracy) on the test split, once.
 * A sweep on a queue (queue.ts) trains nothing here: its workers prepare their own data, and the
 * coordinator reads only the test split, for the best trial's test accuracy.
 *
 * Trial folders are named by a hash of the trial's result-relevant config (trials/trial-<hash>),
 * not by its place in the list, so editing a sweep's grid never points a folder at another config.
 *
 * Resuming: a trial is finished when a folder under trials/ holds a summary.json (written
 * atomically, last) for the same config (trial.ts). Running the sweep again reuses those wherever
 * they are; a killed sweep loses only the trials in flight, which carry on from their last.ckpt. A
 * finished trial is never deleted: one the edited sweep no longer holds stays in trials/ and is
 * named in the output. Only a trial's own unfinished folder without a checkpoint is ever cleared.
 *
 * One sweep folder, one sweep: sweep.lock (pid and host) keeps a second copy out.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Config } from '../config/config.js';
import { checkAgainstData } from '../data/fits.js';
import type { Rows } from '../data/split.js';
import { initEngine } from '../linalg/engine.js';
import { modelFromCheckpoint } from '../models/index.js';
import { writeFileAtomic, writeJsonAtomic } from '../runs/atomic.js';
import { RunIoError, ioErrorMessage } from '../runs/errors.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { accuracy } from '../models/evaluate.js';
import type { SweepResults, TrialResult } from '../runs/results.js';
import { loadRunData, type RunData } from '../train/run.js';
import { peakRssMB } from '../train/summaries.js';
import { describeScheduler, rungBasisOf } from './scheduler.js';
import { DEFAULT_METRIC, describeMetric, type Metric, METRICS, score, trialValue } from './metric.js';
import { buildSweepReport } from '../report/sweep_report.js';
import { acquireSweepLock, readSweepLock } from '../runs/lock.js';
import { runFile, SWEEP_FILES, sweepDirOf, sweepFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import { type SweepSpec, type Trial, baseConfig, describeParams, expandTrials, metricOf, readSweepFile, sweptKeys, trialCount } from './spec.js';
import { readKeptRungs } from './rungs.js';
import { recordedTrials, tpeFeed } from './tpe_sweep.js';
import { localRunner } from './pool.js';
import { listFeed, type TrialFeed, type TrialRunner } from './runner.js';
import { planTrials, scanTrialFolders, type TrialPlan } from './trial.js';
import { trialsToReport } from './trial_reports.js';
import { buildTrialReports, testRowsOf } from './trial_report_build.js';

export type { RunnerContext, TrialFeed, TrialRunner } from './runner.js';

export interface SweepOptions {
  file: string;
  /** Command-line overrides of the base config (data location, backend, runs folder). */
  flags: Partial<Config>;
  /** The sweep folder (default <runsDir>/sweep-<name>): `train cs231n` puts each seed's in <out>/<notebook>/<experiment>/seed-<s>. */
  dir?: string;
  workers?: number;
  out?: (line: string) => void;
  /** After each trial (and once before the first): trials done of all, run here of to run, the best value of the sweep's metric so far (the CLI's sweep bar). */
  onProgress?: (p: SweepProgress) => void;
  /** Who trains the pending trials: the worker threads of this machine (the default), or a queue (queue.ts). */
  runner?: TrialRunner;
  /**
   * Aborted (Ctrl-C, SIGTERM, `sweep cancel`): the local pool stops its running trials after their
   * current step, each with its last checkpoint, and starts no more; a queue coordinator stops
   * following (its jobs stay queued). runSweep then rejects with a SweepStoppedError.
   */
  signal?: AbortSignal;
}

/** Where a sweep is: trials done (earlier ones included) of all, run by this invocation of those it runs, and its metric's best value so far (null before a trial has one). */
export interface SweepProgress {
  done: number;
  total: number;
  toRun: number;
  ran: number;
  metric: Metric;
  best: number | null;
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

/** One invocation of a sweep, as its steps share it. */
interface SweepRun {
  spec: SweepSpec;
  opts: SweepOptions;
  out: (line: string) => void;
  t0: number;
  sweepDir: string;
  /** Every trial, in order (a TPE sweep's grow as it runs). */
  trials: Trial[];
  /** The config the data is prepared by: the first trial's (or the base, for a TPE sweep not yet begun). */
  base: Config;
  total: number;
  /** Each trial's folder, relative to the sweep folder, by index: sweep.json lists them. */
  relOf: Map<number, string>;
  /** The swept keys: results.csv's columns. */
  keys: string[];
  results: SweepResults;
  /** The results so far, by trial index. */
  byIndex: Map<number, TrialResult>;
  /** The seconds of the earlier invocations (results.json's segments). */
  earlier: number[];
  /** The trials in flight: where, and the last epoch they reported. */
  inFlight: Map<number, { host: string | null; epoch: number | null }>;
  /** The live report: when it was last built, whether a build is under way, and how long the last one took (ms). */
  report: { last: number; busy: boolean; cost: number };
  /** When the trials began, for results.trialSeconds. */
  tTrials: number;
}

/** cs231n's row: "lr 1.000000e-06 reg 1.000000e+03 train accuracy: 0.401 val accuracy: 0.381". */
export function trialRow(r: TrialResult, total: number, m: Metric = DEFAULT_METRIC): string {
  const row = trialRowOf(r, total);
  // Another metric than val accuracy: its value closes the row.
  return m.name === 'valAcc' || r.value === undefined || r.value === null ? row : `${row}  ${METRICS[m.name].label}: ${r.value.toFixed(4)}`;
}

function trialRowOf(r: TrialResult, total: number): string {
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
  // Another metric than val accuracy gets a column of its own, named by it (val_loss).
  const metric = results.metric && results.metric.name !== 'valAcc' ? [results.metric.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] : [];
  const head = ['trial', 'status', ...keys, 'train_acc', 'val_acc', ...metric, 'best_epoch', 'seconds', 'dir', 'reason', ...(epochs ? ['last_epoch'] : [])];
  const rows = results.trials.map((r) =>
    [
      r.index,
      r.status,
      ...keys.map((k) => (r.params as Record<string, unknown>)[k]),
      r.trainAcc,
      r.valAcc,
      ...(metric.length ? [r.value] : []),
      r.bestEpoch,
      r.seconds,
      r.dir,
      r.reason,
      ...(epochs ? [r.lastEpoch] : []),
    ]
      .map(csvCell)
      .join(','),
  );
  return [head.join(','), ...rows].join('\n') + '\n';
}

export async function runSweep(opts: SweepOptions): Promise<SweepResults> {
  const t0 = performance.now();
  const out = opts.out ?? ((s: string) => process.stdout.write(s + '\n'));
  const spec: SweepSpec = readSweepFile(opts.file);
  const trials = expandTrials(spec, opts.flags); // a TPE sweep's come as it runs (tpe_sweep.ts)
  const base = baseConfig(spec, opts.flags);
  const sweepDir = opts.dir ?? sweepDirOf(base.runsDir, spec.name);
  // This thread's engine, chosen once: the best trial's test evaluation runs on it (the trials on their own threads' engines).
  await initEngine((trials[0]?.config ?? base).backend);
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

/** The sweep, its lock held: plan the trials, prepare the data, train, and evaluate the best trial on the test split. */
async function sweepLocked(spec: SweepSpec, trials: Trial[], sweepDir: string, opts: SweepOptions, out: (line: string) => void, t0: number): Promise<SweepResults> {
  // Rungs kept by another metric, mode or scheduler are refused before anything is written (rungs.ts).
  if (spec.scheduler) readKeptRungs(sweepDir, rungBasisOf(metricOf(spec), spec.scheduler));
  if (spec.tpe) trials.push(...recordedTrials(spec, sweepDir, opts.flags));
  const { plans, notInSweep } = planTrials(trials, scanTrialFolders(sweepDir));
  const s = openSweep(spec, trials, sweepDir, opts, out, t0, plans, notInSweep);
  writeSpec(s);
  // Trials finished by an earlier invocation are kept as they are.
  for (const p of plans) if (p.finished) s.byIndex.set(p.trial.index, valued(s, p.finished));
  const pending = plans.filter((p) => !p.finished);
  const runner = opts.runner ?? localRunner;
  const toRun = s.total - s.byIndex.size;
  const workers = runner.trainsHere ? Math.max(1, Math.min(opts.workers ?? os.availableParallelism(), toRun || 1)) : 0;
  s.results.workers = workers;
  printHeader(s, toRun, notInSweep);
  const runData = await prepareTrialData(s, runner);
  const feed = feedOf(s, plans, pending, runData);
  out(dataLine(s.base, runData, runner.describe(workers)));
  setLive(s);
  save(s);
  liveReport(s, true);
  s.tTrials = performance.now();
  progress(s, toRun);
  // A queue is asked even with nothing to run: it clears the jobs of trials found finished.
  if (toRun > 0 || opts.runner)
    await runner.run({
      spec,
      sweepDir,
      trials,
      plans,
      pending,
      runData,
      base: s.base,
      workers,
      feed,
      done: (r) => trialDone(s, r, toRun),
      running: (i, info) => trialRunning(s, i, info),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  if (opts.signal?.aborted) return stopSweep(s);
  delete s.results.live;
  await reportIdle(s);
  await recordBest(s, runData);
  await reportBestTrials(s, runData);
  out(`report: ${await buildSweepReport(sweepDir)}`);
  out(endLine(s));
  return s.results;
}

/** The sweep's state before any trial: results.json's fields, nothing recorded yet. */
function openSweep(spec: SweepSpec, trials: Trial[], sweepDir: string, opts: SweepOptions, out: (line: string) => void, t0: number, plans: TrialPlan[], notInSweep: string[]): SweepRun {
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
    metric: { ...metricOf(spec) },
    ...(spec.scheduler ? { scheduler: describeScheduler(spec.scheduler) } : {}),
    ...(opts.runner ? { queue: opts.runner.name } : {}),
  };
  const base = trials[0]?.config ?? baseConfig(spec, opts.flags);
  const relOf = new Map(plans.map((p) => [p.trial.index, p.rel]));
  const earlier = earlierSegments(sweepDir); // before this invocation's results.json replaces them
  return {
    spec,
    opts,
    out,
    t0,
    sweepDir,
    trials,
    base,
    total: trialCount(spec),
    relOf,
    keys: sweptKeys(spec),
    results,
    byIndex: new Map(),
    earlier,
    inFlight: new Map(),
    report: { last: 0, busy: false, cost: 0 },
    tTrials: 0,
  };
}

/** sweep.json: the spec and every trial with its folder. */
function writeSpec(s: SweepRun): void {
  writeJsonAtomic(sweepFile(s.sweepDir, 'spec'), { spec: s.spec, trials: s.trials.map((t) => ({ index: t.index, dir: s.relOf.get(t.index)!, params: t.params, config: t.config })) });
}

/** What the sweep is, what an earlier invocation finished, and the finished trials no longer in it. */
function printHeader(s: SweepRun, toRun: number, notInSweep: string[]): void {
  const { spec, out } = s;
  out(`sweep ${spec.name}: ${s.total} trials (${spec.grid ? 'grid' : spec.list ? 'list' : spec.tpe ? 'TPE' : 'random search'} over ${s.keys.join(', ')}), folder ${s.sweepDir}`);
  if (spec.metric) out(`metric: ${describeMetric(spec.metric)}`);
  if (spec.scheduler) out(`early stopping: ${describeScheduler(spec.scheduler)}`);
  if (s.byIndex.size > 0) out(`${s.byIndex.size} finished earlier and are kept; ${toRun} to run`);
  if (notInSweep.length > 0) {
    const names = notInSweep.map((r) => path.basename(r));
    const shown = names.length > 6 ? `${names.slice(0, 6).join(', ')} and ${names.length - 6} more` : names.join(', ');
    out(
      `${notInSweep.length} finished trial${notInSweep.length > 1 ? 's are' : ' is'} not in the sweep any more and kept in ${sweepFile(s.sweepDir, 'trials')} (${shown}); ${SWEEP_FILES.results} lists them under notInSweep`,
    );
  }
  for (const r of [...s.byIndex.values()].sort((a, b) => a.index - b.index)) out(trialRow(r, s.total, metricOf(spec)));
}

/**
 * The data the trials train on, prepared once in shared memory, with every trial's batch size and
 * sizes checked against it first. A runner that trains elsewhere gets none: its workers prepare
 * their own data (from their own --data-dir) and check each trial against it, so here a trial is
 * checked against what its config alone says (its batch size against its numTrain).
 */
async function prepareTrialData(s: SweepRun, runner: TrialRunner): Promise<RunData | null> {
  const runData = runner.trainsHere ? await loadRunData(s.base, { shared: true }) : null;
  for (const t of s.trials) checkTrial(t.config, runData);
  return runData;
}

/** Refuse trial config `c` when it does not fit the data (or, with none here, its own numTrain). */
function checkTrial(c: Config, runData: RunData | null): void {
  if (runData) checkAgainstData(c, runData.data.train.n, { dim: runData.data.dim, classes: runData.data.classes.length });
  else if (typeof c.numTrain === 'number') checkAgainstData(c, c.numTrain);
}

/** The pending trials one at a time: those known in advance, or a TPE sweep's suggestions. */
function feedOf(s: SweepRun, plans: TrialPlan[], pending: TrialPlan[], runData: RunData | null): TrialFeed {
  if (!s.spec.tpe) return listFeed(pending);
  const added = (p: TrialPlan) => (s.relOf.set(p.trial.index, p.rel), writeSpec(s));
  return tpeFeed({ spec: s.spec, sweepDir: s.sweepDir, flags: s.opts.flags, trials: s.trials, plans, pending, finished: s.byIndex, check: (c) => checkTrial(c, runData), added });
}

/** "data: mnist from … (train 1000, val 200, test 300; 785 numbers a row), 0.3 s, shared by 2 workers". */
function dataLine(base: Config, runData: RunData | null, where: string): string {
  if (!runData) return `data: ${base.dataset}, prepared by each worker from its own data (train ${base.numTrain}, val ${base.numVal}), ${where}`;
  const d = runData.data;
  return `data: ${base.dataset} from ${runData.source} (train ${d.train.n}, val ${d.val.n}, test ${d.test.n}; ${d.dim} numbers a row), ${runData.loadSeconds.toFixed(1)} s, ${where}`;
}

/**
 * results.json and results.csv as they stand. While trials run (`sync` false) they are written
 * without fsync, whole for any reader but not forced to disk: they are rebuilt from the trial
 * folders by the next invocation, and a tiny trial would otherwise wait on two fsyncs of them.
 */
function save(s: SweepRun, sync = true): void {
  const { results } = s;
  results.trials = [...s.byIndex.values()].sort((a, b) => a.index - b.index);
  const now = Math.round((performance.now() - s.t0) / 10) / 100;
  results.seconds = Math.round((s.earlier.reduce((a, b) => a + b, 0) + now) * 100) / 100;
  if (s.earlier.length) results.segments = [...s.earlier, now];
  results.peakRssMB = peakRssMB();
  writeJsonAtomic(sweepFile(s.sweepDir, 'results'), results, { sync });
  writeFileAtomic(sweepFile(s.sweepDir, 'resultsCsv'), resultsCsv(results, s.keys), '--runs-dir', { sync });
}

/** results.json's `live`: the trials in flight and those waiting. */
function setLive(s: SweepRun): void {
  s.results.live = {
    running: [...s.inFlight.entries()].sort((a, b) => a[0] - b[0]).map(([index, r]) => ({ index, ...r })),
    queued: s.trials.filter((t) => !s.byIndex.has(t.index) && !s.inFlight.has(t.index)).map((t) => t.index),
  };
}

/**
 * The live report (it reloads itself while results.json has `live`), rebuilt as results arrive:
 * at most every 2 s, and at most a tenth of the time (its charts and the trials' curves cost more
 * as the sweep grows, on the thread that hands out the trials). It starts after the current
 * event, so the pool hands out the next trial first.
 */
function liveReport(s: SweepRun, force = false): void {
  const since = performance.now() - s.report.last;
  if (s.report.busy || (!force && since < Math.max(2000, 10 * s.report.cost))) return;
  s.report.busy = true;
  s.report.last = performance.now();
  save(s, false);
  new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => buildSweepReport(s.sweepDir))
    .catch(() => {
      /* a live picture only: the final report is the one that counts */
    })
    .finally(() => {
      s.report.busy = false;
      s.report.cost = performance.now() - s.report.last;
    });
}

/** Until the live report being built (if any) is written. */
async function reportIdle(s: SweepRun): Promise<void> {
  while (s.report.busy) await new Promise((r) => setTimeout(r, 20));
}

/** The CLI's sweep bar: trials done of all, run here of to run, the metric's best so far (the best trial's, as the sweep picks it). */
function progress(s: SweepRun, toRun: number): void {
  const metric = metricOf(s.spec);
  const best = bestTrial([...s.byIndex.values()], metric);
  s.opts.onProgress?.({ done: s.byIndex.size, total: s.total, toRun, ran: s.results.trialsRun, metric, best: best ? best.value! : null });
}

/** A trial ended: its row, results.json and the report. */
function trialDone(s: SweepRun, done: TrialResult, toRun: number): void {
  const r = valued(s, done);
  s.byIndex.set(r.index, r);
  s.inFlight.delete(r.index);
  s.results.trialsRun++;
  s.results.trialSeconds = Math.round(performance.now() - s.tTrials) / 1000;
  s.out(trialRow(r, s.total, metricOf(s.spec)));
  setLive(s);
  save(s, false);
  liveReport(s);
  progress(s, toRun);
}

/** A trial started, reported an epoch, or (null) is no longer in flight. */
function trialRunning(s: SweepRun, index: number, info: { host: string | null; epoch: number | null } | null): void {
  if (info) s.inFlight.set(index, info);
  else s.inFlight.delete(index);
  setLive(s);
  liveReport(s);
}

/** Aborted: what is recorded stays, and the sweep rejects with what is left. */
async function stopSweep(s: SweepRun): Promise<never> {
  await reportIdle(s);
  save(s);
  const left = s.trials.filter((t) => !s.byIndex.has(t.index) || s.byIndex.get(t.index)!.status === 'failed').length;
  throw new SweepStoppedError(s.spec.name, left, s.trials.length);
}

/** `r` with its value of the sweep's metric (metric.ts), read from its folder; none for a trial that did not train to a result. */
function valued(s: SweepRun, r: TrialResult): TrialResult {
  const trained = r.status === 'ok' || r.status === 'stopped';
  return { ...r, value: trained ? trialValue(metricOf(s.spec), path.join(s.sweepDir, r.dir), r.valAcc) : null };
}

/** The finished trial with the best score of the sweep's metric (the first of equals); null when none finished. */
export function bestTrial(trials: TrialResult[], m: Metric): TrialResult | null {
  const ok = trials.filter((r) => r.status === 'ok' && r.valAcc !== null && typeof r.value === 'number');
  return ok.length === 0 ? null : ok.reduce((a, b) => (score(m, b.value!) > score(m, a.value!) ? b : a));
}

/** The best trial by the sweep's metric, and its test accuracy, evaluated once. */
async function recordBest(s: SweepRun, runData: RunData | null): Promise<void> {
  const m = metricOf(s.spec);
  const best = bestTrial(s.results.trials, m);
  if (!best) {
    save(s);
    s.out('no trial finished: see the reasons above');
    return;
  }
  const ck = loadCheckpoint(runFile(path.join(s.sweepDir, best.dir), 'best'));
  const test = runData ? runData.data.test : await testRowsOf(ck, runFile(path.join(s.sweepDir, best.dir), 'best'), s.base);
  const testAcc = accuracy(modelFromCheckpoint(ck), test);
  s.results.best = { index: best.index, dir: best.dir, params: best.params, trainAcc: best.trainAcc!, valAcc: best.valAcc!, testAcc, value: best.value! };
  save(s);
  const achieved = m.name === 'valAcc' ? `validation accuracy achieved: ${best.valAcc!.toFixed(3)}` : `${METRICS[m.name].label} (${m.mode}) achieved: ${best.value!.toFixed(4)}`;
  s.out(`best ${achieved} (trial ${best.index}: ${describeParams(best.params)})`);
  s.out(`test accuracy of the best trial: ${testAcc.toFixed(3)} (${test.n} records)`);
}

/** The run reports the sweep file's trialReports leaves to the end (trial_reports.ts): its best few trials', on the same test rows as the best trial's test accuracy. */
async function reportBestTrials(s: SweepRun, runData: RunData | null): Promise<void> {
  const testOf = async (ckFile: string): Promise<Rows> => (runData ? runData.data.test : testRowsOf(loadCheckpoint(ckFile), ckFile, s.base));
  const built = await buildTrialReports(s.sweepDir, trialsToReport(s.spec.trialReports, s.results.trials, metricOf(s.spec)), testOf, s.out);
  if (built.length > 0) s.out(`run reports of the ${built.length} best trial${built.length > 1 ? 's' : ''} built; train report <trial folder> builds any other's`);
}

/** "4 trials ok, 1 stopped early, 0 failed; 12.3 s; results in …". */
function endLine(s: SweepRun): string {
  const { results } = s;
  const stopped = results.trials.filter((r) => r.status === 'stopped').length;
  const failed = results.trials.filter((r) => r.status !== 'ok' && r.status !== 'stopped').length;
  const ok = results.trials.length - failed - stopped;
  return `${ok} trials ok, ${s.spec.scheduler ? `${stopped} stopped early, ` : ''}${failed} failed; ${results.seconds.toFixed(1)} s; results in ${sweepFile(s.sweepDir, 'resultsCsv')} and ${SWEEP_FILES.results}`;
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
  const sweepDir = sweepDirOf(baseConfig(spec, flags).runsDir, spec.name);
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
