/**
 * One trial of a sweep, wherever it trains: its folder's state, its result, and its run on a
 * training thread (sweep/worker.ts). The local pool (pool.ts) and a queue worker process
 * (queue_worker.ts) both train through trainOnThread, and both read a trial's folder through
 * readTrialFolder, so a trial is finished, resumed or cleared by one rule wherever it runs.
 *
 *   folder      trials/trial-<hash of the result-relevant config>: config.json, summary.json
 *               (written atomically, last), last.ckpt, stopped.json (the scheduler's stop)
 *   outcome     what a trial ended with: ok (its summary), stopped, diverged or failed
 *   result      the outcome as results.json lists it (TrialResult), with the trial's params
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { type Config, NOT_RESULT_KEYS, scheduleOf, withAliases } from '../config/config.js';
import { isObj } from '../config/keys.js';
import { startWorker } from '../linalg/worker_threads.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import { RunIoError, ioErrorMessage } from '../runs/errors.js';
import { runFile, SWEEP_FILES, sweepFile, trialRel } from '../runs/layout.js';
import { dropRunFolder } from '../runs/owner.js';
import { readJsonOrNull } from '../runs/read.js';
import type { TrialResult } from '../runs/results.js';
import type { Summary } from '../runs/summary.js';
import type { BackendChoice } from '../linalg/engine.js';
import type { RunData } from '../train/run.js';
import { DECISION, newCells, STOP_CELL, type FromWorker, type StoppedInfo, type ToWorker } from './protocol.js';
import { decide, type RungStore, type SchedulerSpec } from './scheduler.js';
import type { Metric } from './metric.js';
import type { Trial } from './spec.js';

// ---------------------------------------------------------------------------------------------
// Which config a folder holds

/** The config a trial's numbers depend on: all but the table's notResult keys (NOT_RESULT_KEYS). */
export function resultKey(cfg: Config): string {
  const c: Record<string, unknown> = { ...cfg };
  for (const k of NOT_RESULT_KEYS) delete c[k];
  return JSON.stringify(c, Object.keys(c).sort());
}

/** A short hash of the result-relevant config: the trial's folder name. */
export function configHash(cfg: Config): string {
  return createHash('sha256').update(resultKey(cfg)).digest('hex').slice(0, 12);
}

// ---------------------------------------------------------------------------------------------
// The folder's state

/** A folder under trials/ as an earlier invocation (or another worker) left it. */
export interface TrialFolder {
  /** Relative to the sweep folder: trials/<name>. */
  rel: string;
  /** resultKey of its config.json; null when there is none or it does not parse. */
  key: string | null;
  config: Config | null;
  /** Its summary.json, when it parses. */
  summary: Summary | null;
  /** summary.json exists (parsing or not): the folder is never cleared by a sweep. */
  hasSummary: boolean;
  hasCheckpoint: boolean;
  /** Its stopped.json: the scheduler stopped the trial early, for good. */
  stopped: StoppedInfo | null;
}

/** Read folder `rel` of the sweep in `sweepDir` (it need not exist). */
export function readTrialFolder(sweepDir: string, rel: string): TrialFolder {
  const dir = path.join(sweepDir, rel);
  const raw = readJsonOrNull(runFile(dir, 'config'));
  // A trial trained before the linear model's rename says model softmax: the same config.
  const config = isObj(raw) ? withAliases(raw as unknown as Config) : null;
  const summary = readJsonOrNull(runFile(dir, 'summary')) as Summary | null;
  const stopped = readJsonOrNull(runFile(dir, 'stopped')) as StoppedInfo | null;
  return {
    rel,
    key: config ? resultKey(config) : null,
    config,
    summary: summary !== null && typeof summary === 'object' ? summary : null,
    hasSummary: fs.existsSync(runFile(dir, 'summary')),
    hasCheckpoint: fs.existsSync(runFile(dir, 'last')),
    stopped: isObj(stopped) && Number.isInteger(stopped.lastEpoch) ? stopped : null,
  };
}

/** Every folder under the sweep's trials/, by rel, in name order. */
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
    out.set(rel, readTrialFolder(sweepDir, rel));
  }
  return out;
}

/** The outcome a finished folder holds (ok, diverged, or stopped for good by the scheduler); null when it is not finished. */
export function finishedOutcome(f: TrialFolder): TrialOutcome | null {
  const s = f.summary;
  if (!s || f.key === null) return null;
  if (s.status === 'ok' && typeof s.bestValAcc === 'number' && typeof s.seconds?.total === 'number') return { status: 'ok', summary: s };
  if (s.status === 'diverged') return { status: 'diverged', reason: typeof s.error === 'string' ? s.error : 'diverged' };
  if (s.status === 'interrupted' && f.stopped) return { status: 'stopped', stopped: f.stopped };
  return null;
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
    finishedByKey.set(f.key, [...(finishedByKey.get(f.key) ?? []), f]);
  }
  const used = new Set<string>();
  const plans = trials.map((trial) => planOne(trial, folders, finishedByKey.get(resultKey(trial.config)) ?? [], used));
  const notInSweep = [...folders.values()].filter((f) => f.hasSummary && !used.has(f.rel)).map((f) => f.rel);
  return { plans, notInSweep };
}

/** A folder that holds a finished trial's summary (its outcome may still not parse: finishedOutcome). */
function isFinishedFolder(f: TrialFolder): boolean {
  const st = f.summary?.status;
  return st === 'ok' || st === 'diverged' || (st === 'interrupted' && f.stopped !== null);
}

/** One trial's plan: a finished folder of its config (taken from `finished`), else its own folder, marked `used`. */
function planOne(trial: Trial, folders: Map<string, TrialFolder>, finished: TrialFolder[], used: Set<string>): TrialPlan {
  while (finished.length > 0) {
    const f = finished.shift()!;
    const out = finishedOutcome(f);
    if (!out) continue;
    used.add(f.rel);
    return { trial, rel: f.rel, finished: resultOf(trial, f.rel, out, true), resume: null, clear: false };
  }
  const key = resultKey(trial.config);
  const hash = configHash(trial.config);
  for (let k = 1; ; k++) {
    const rel = trialRel(hash, k);
    if (used.has(rel)) continue;
    const f = folders.get(rel);
    if (f && f.hasCheckpoint && f.key === key) return take(used, { trial, rel, finished: null, resume: f.config, clear: false });
    if (f && (f.hasSummary || f.hasCheckpoint)) continue; // someone else's results or checkpoint: never cleared, never reused
    return take(used, { trial, rel, finished: null, resume: null, clear: f !== undefined });
  }
}

function take(used: Set<string>, p: TrialPlan): TrialPlan {
  used.add(p.rel);
  return p;
}

/**
 * What a queue worker does with the folder its job names (the coordinator planned it, but
 * another worker may have been there since): a finished trial of this config returns what is
 * there; this config's last.ckpt is resumed; another config's results or checkpoint are left
 * alone (the trial fails with that reason); anything else is cleared and started afresh.
 */
export function folderPlanFor(sweepDir: string, rel: string, cfg: Config): { outcome: TrialOutcome } | { resume: boolean } {
  const f = readTrialFolder(sweepDir, rel);
  const same = f.key === resultKey(cfg);
  const done = same ? finishedOutcome(f) : null;
  if (done) return { outcome: done };
  if ((f.summary || f.hasCheckpoint) && !same) return { outcome: { status: 'failed', reason: `${path.join(sweepDir, rel)} holds another config's results; it is left as it is` } };
  return { resume: same && f.hasCheckpoint };
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

/** Record that the scheduler stopped the trial in `dir` for good (the thread has written last.ckpt and the summary). */
export function writeStopped(dir: string, s: StoppedInfo): void {
  writeJsonAtomic(runFile(dir, 'stopped'), s);
}

// ---------------------------------------------------------------------------------------------
// Outcomes and results

/** How a trial ended, as its training thread (or its finished folder) tells it. */
export type TrialOutcome =
  | { status: 'ok'; summary: Summary }
  | { status: 'stopped'; stopped: StoppedInfo }
  /** hostLost: the host failed the trial (its training thread died: killed, out of memory), not the trial itself; such a failure is retried (retriesOf). */
  | { status: 'diverged' | 'failed'; reason: string; hostLost?: boolean; attempts?: number };

/** Whether `out` is a failure of the host (a thread or worker lost), which the sweep's retries cover; a trial's own failure never is. */
export const hostLost = (out: TrialOutcome): boolean => out.status === 'failed' && out.hostLost === true;

/** `out`, a host failure on the last of `attempts` attempts, failed for good: the reason says how many and why. */
export function retriesUsedUp(out: TrialOutcome & { status: 'failed' | 'diverged' }, attempts: number, retries: number): TrialOutcome {
  return { status: 'failed', reason: `${out.reason} (attempt ${attempts} of ${retries + 1}: its retries, ${retries}, are used up)`, hostLost: true, attempts };
}

/** A trial's row of results.json from its outcome; `resumed`: finished by an earlier invocation. */
export function resultOf(trial: Trial, rel: string, out: TrialOutcome, resumed: boolean): TrialResult {
  if (out.status === 'ok') return okResult(trial, rel, out.summary, resumed);
  if (out.status === 'stopped') return stoppedResult(trial, rel, out.stopped, resumed);
  const r = failedResult(trial, rel, out.status, out.reason, resumed);
  return out.attempts !== undefined ? { ...r, attempts: out.attempts } : r;
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

export function failedResult(trial: Trial, rel: string, status: 'diverged' | 'failed', reason: string, resumed: boolean): TrialResult {
  return { index: trial.index, dir: rel, status, reason, params: trial.params, trainAcc: null, valAcc: null, bestEpoch: null, seconds: null, resumed };
}

// ---------------------------------------------------------------------------------------------
// The training thread

/** The number of epochs trial config `cfg` runs on `numTrain` rows (a fractional last one counts). */
export function epochsOf(cfg: Config, numTrain: number): number {
  const { perEpoch, steps } = scheduleOf(cfg, numTrain);
  return Math.ceil(steps / perEpoch);
}

/** What a training thread is started with (sweep/worker.ts): the data prepared (local pool) or the config to prepare it by (queue worker). */
export type ThreadData = ({ runData: RunData } | { dataConfig: Config }) & { backend: BackendChoice; threads: number };

/** A thread running sweep/worker.ts: it prepares its engine and data once, then trains one trial per message. */
export interface TrainingThread {
  thread: Worker;
  /** Its cells: the scheduler's word and the stop flag (protocol.ts). */
  cell: Int32Array;
  /** Resolves once the engine and data are ready; rejects (ThreadGone) if the thread ends first. */
  ready: Promise<void>;
  /** Rows of its training split, once ready. */
  numTrain: number;
  /** Why the thread cannot prepare the data or start the engine on this host, once its error said so. */
  unfit: string | null;
  gone: boolean;
  /** Set while a trial runs: where the thread's messages go, and what to do if it dies. */
  onMessage: ((m: FromWorker) => void) | null;
  onGone: ((why: string) => void) | null;
}

/** A training thread ended: `exitCode` null when an error ended it (its message says why). */
export class ThreadGone extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/** Start a training thread; its messages go to the trial it runs (trainOnThread). */
export function startTrainingThread(data: ThreadData): TrainingThread {
  const cell = newCells();
  const thread = startWorker(import.meta.url, 'worker', { ...data, decision: cell.buffer });
  const t: TrainingThread = { thread, cell, ready: Promise.resolve(), numTrain: 0, unfit: null, gone: false, onMessage: null, onGone: null };
  let crash: Error | null = null;
  t.ready = new Promise<void>((resolve, reject) => {
    thread.on('message', (m: FromWorker) => {
      if (m.type !== 'ready') return t.onMessage?.(m);
      t.numTrain = m.numTrain;
      resolve();
    });
    thread.on('error', (e: Error & { aboutHost?: boolean }) => {
      crash = e; // 'exit' follows
      if (e.aboutHost) t.unfit = e.message; // a missing dataset or engine (sweep/worker.ts prepare): this host's fault
    });
    thread.on('exit', (code: number) => {
      t.gone = true;
      const why = crash ? crash.message : `the training thread exited with code ${code}`;
      reject(new ThreadGone(why, crash ? null : code));
      t.onGone?.(why);
    });
  });
  t.ready.catch(() => {});
  return t;
}

/** The early-stopping side of a trial: the scheduler (none: every trial runs to its end), where its rungs live, and the trial's name there. */
export interface Scheduling {
  scheduler: SchedulerSpec | undefined;
  store: RungStore;
  /** The trial's id at the rungs: its folder, relative to the sweep folder. */
  trialId: string;
  /** Epochs the trial runs (epochsOf). */
  epochs: number;
  /** The sweep's metric: the 'epoch' messages' history holds its values; absent: val accuracy. */
  metric?: Metric;
}

/** Who follows a trial on its thread. */
export interface TrialWatch {
  sched: Scheduling;
  /** After every epoch, before the scheduler is asked. */
  epoch(e: { epoch: number; valAcc: number }): void;
  /** The scheduler's store failed; the trial goes on (early stopping saves time, it never costs a trial). */
  schedulerFailed(e: unknown): void;
}

/**
 * Train `msg`'s trial on thread `t` and follow it to its end: after every epoch the watcher hears
 * of it and the scheduler's word is written to the thread's decision cell; a stop is recorded in
 * the folder's stopped.json. A thread that dies mid-trial fails the trial, and its lease on the
 * folder is dropped. Resolves with the trial's outcome; rejects only when recording it here fails
 * (stopped.json cannot be written).
 */
export function trainOnThread(t: TrainingThread, msg: ToWorker, w: TrialWatch): Promise<TrialOutcome> {
  if (t.gone) return Promise.resolve({ status: 'failed', reason: 'worker crashed: the training thread had ended before the trial was given to it', hostLost: true });
  return new Promise<TrialOutcome>((resolve, reject) => {
    let stopReason: string | null = null;
    const end = (out: TrialOutcome | Error) => {
      t.onMessage = null;
      t.onGone = null;
      if (out instanceof Error) reject(out);
      else resolve(out);
    };
    t.onGone = (why) => {
      dropRunFolder(msg.dir); // the dead thread's lease
      end({ status: 'failed', reason: `worker crashed: ${why}`, hostLost: true });
    };
    t.onMessage = (m) => {
      if (m.type === 'epoch') {
        w.epoch(m);
        void answerEpoch(w.sched, t.cell, m).then((r) => (stopReason = r), w.schedulerFailed);
      } else if (m.type === 'stopped') {
        const stopped = { ...m.stopped, reason: stopReason ?? 'stopped by the scheduler' };
        try {
          writeStopped(msg.dir, stopped);
          end({ status: 'stopped', stopped });
        } catch (e) {
          end(e instanceof Error ? e : new Error(String(e)));
        }
      } else if (m.type === 'done') end({ status: 'ok', summary: m.summary });
      else if (m.type === 'failed') end({ status: m.diverged ? 'diverged' : 'failed', reason: m.reason });
    };
    Atomics.store(t.cell, 0, DECISION.pending);
    Atomics.store(t.cell, STOP_CELL, 0);
    t.thread.postMessage(msg);
  });
}

/**
 * The scheduler's answer to a trial's 'epoch' message, written into the thread's decision cell.
 * Resolves with the reason when it said stop. The answer is written even when the store fails
 * (the trial goes on), and the failure rejects.
 */
export async function answerEpoch(s: Scheduling, cell: Int32Array, msg: Extract<FromWorker, { type: 'epoch' }>): Promise<string | null> {
  let reason: string | null = null;
  try {
    if (s.scheduler) {
      const d = await decide(s.scheduler, s.store, s.trialId, msg.epoch, s.epochs, msg.valHistory, s.metric);
      if (d.stop) reason = d.reason;
    }
  } finally {
    Atomics.store(cell, 0, reason !== null ? DECISION.stop : DECISION.go);
    Atomics.notify(cell, 0);
  }
  return reason;
}

/** Ask the trial running on `t` to stop after its current step (resumable from its last checkpoint). */
export function stopAfterStep(t: TrainingThread): void {
  Atomics.store(t.cell, STOP_CELL, 1);
}
