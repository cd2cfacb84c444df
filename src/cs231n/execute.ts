/**
 * The experiments, in process: each seed of each experiment of the chosen notebooks, one after
 * another, with a progress line each (notebook/experiment, seed k/N, what was done, elapsed).
 * Ctrl-C stops the run in flight after its step (its last.ckpt kept) or the sweep in flight
 * (its finished trials kept); the same command then carries on where it stopped.
 */
import type { Config } from '../config/config.js';
import type { EngineSelection } from '../linalg/engine.js';
import { buildRunReport } from '../report/run_report.js';
import { writeDistanceImage } from '../report/knn_report.js';
import { runSweep, SweepStoppedError } from '../sweep/sweep.js';
import { fitKnn } from '../train/knn_fit.js';
import { loadRunData, runTraining, startRun, type RunUi, type StartedRun } from '../train/run.js';
import { DivergedError, InterruptedError } from '../train/trainer.js';
import { configFileOf, flagsOf, freshFolder, knnFinished, runConfigOf, runFolderState, seedDir, seedsOf, sweepFinished, type RunPlan } from './run.js';
import type { Experiment, Notebook } from './types.js';

/** What the command was stopped by (Ctrl-C, SIGTERM): runs ask `stopped` after every step, sweeps listen to `signal`. */
export interface Stop {
  stopped: boolean;
  signal: AbortSignal;
}

/** Thrown when a stop signal ended an experiment part-way: everything finished is kept. */
export class StoppedError extends Error {
  constructor(readonly where: string) {
    super(`stopped during ${where}`);
  }
}

/** What an experiment's seed came to. */
export type SeedOutcome = 'reused' | 'trained' | 'resumed' | 'diverged';

/** One seed of one experiment, as the loop runs it. */
export interface Job {
  nb: Notebook;
  exp: Experiment;
  seed: number;
  /** Its place among the experiment's seeds (1-based) and their number. */
  k: number;
  n: number;
}

/** A run's console: silent but for warnings (the progress line says what it did). */
function quietUi(warn: (line: string) => void): RunUi {
  return { info: () => {}, warn, startTraining: () => {}, iteration: () => {}, epoch: () => {}, endTraining: () => {} };
}

/** An SGD run's seed: reuse a finished folder, resume an interrupted one, else train afresh; then its report. */
async function sgdSeed(cfg: Config, dir: string, engine: EngineSelection, stop: Stop, warn: (l: string) => void): Promise<SeedOutcome> {
  const state = runFolderState(dir, cfg);
  if (state === 'finished') return 'reused';
  if (state === 'fresh') freshFolder(dir);
  const run: StartedRun =
    state === 'resume' ? await startRun(cfg, engine, { resumeDir: dir }) : { cfg, runData: await loadRunData(cfg, { alloc: engine.engine.alloc, warn }), dir, engine, t0: performance.now() };
  let outcome: SeedOutcome = state === 'resume' ? 'resumed' : 'trained';
  try {
    await runTraining(run, quietUi(warn), { shouldStop: () => stop.stopped });
  } catch (err) {
    if (err instanceof InterruptedError) throw new StoppedError(dir);
    if (!(err instanceof DivergedError)) throw err;
    outcome = 'diverged';
  }
  await buildRunReport(dir, run.runData.data.test, { warn });
  return outcome;
}

/** A kNN run's seed: reuse a finished folder, else fit it afresh (there is no checkpoint), with its distance image and report. */
async function knnSeed(cfg: Config, dir: string, engine: EngineSelection, plan: RunPlan, warn: (l: string) => void): Promise<SeedOutcome> {
  if (knnFinished(dir, cfg)) return 'reused';
  freshFolder(dir);
  const { test, distances } = await fitKnn(cfg, engine, { info: () => {}, warn }, { dir, loopRows: plan.knnLoopRows });
  await writeDistanceImage(dir, distances);
  await buildRunReport(dir, test, { warn });
  return 'trained';
}

/** A sweep's seed: reuse a finished sweep folder as it is, else run the sweep (which reuses its finished trials). */
async function sweepSeed(job: Job, dir: string, plan: RunPlan, stop: Stop): Promise<SeedOutcome> {
  const file = configFileOf(job.exp);
  const flags = flagsOf(job.exp, job.seed, plan);
  if (sweepFinished(dir, file, flags)) return 'reused';
  try {
    await runSweep({ file, flags, dir, out: () => {}, signal: stop.signal, ...(plan.workers ? { workers: plan.workers } : {}) });
  } catch (err) {
    if (err instanceof SweepStoppedError && stop.stopped) throw new StoppedError(dir);
    throw err;
  }
  return 'trained';
}

/** One seed of one experiment into its folder. */
export async function runJob(job: Job, plan: RunPlan, engine: EngineSelection, stop: Stop, warn: (l: string) => void): Promise<SeedOutcome> {
  const dir = seedDir(plan.out, job.nb, job.exp, job.seed);
  if (job.exp.sweep) return sweepSeed(job, dir, plan, stop);
  const cfg = runConfigOf(job.exp, job.seed, plan);
  return cfg.model === 'knn' ? knnSeed(cfg, dir, engine, plan, warn) : sgdSeed(cfg, dir, engine, stop, warn);
}

/** Every seed of every experiment of `nbs` the plan asks for, in the notebooks' order. */
export function jobsOf(nbs: readonly Notebook[], plan: RunPlan): Job[] {
  return nbs.flatMap((nb) =>
    nb.experiments
      .filter((exp) => plan.tuning || !exp.tuning)
      .flatMap((exp) => {
        const seeds = seedsOf(exp, plan);
        return seeds.map((seed, i) => ({ nb, exp, seed, k: i + 1, n: seeds.length }));
      }),
  );
}

/** m:ss */
export function clock(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

const SAID: Record<SeedOutcome, string> = { reused: 'finished earlier, reused', trained: 'done', resumed: 'resumed and done', diverged: 'diverged (its report shows where)' };

/** The progress line of a finished job. */
export function progressLine(job: Job, outcome: SeedOutcome, seconds: number, elapsed: number): string {
  const took = outcome === 'reused' ? '' : ` in ${seconds.toFixed(1)} s`;
  return `${job.nb.id}/${job.exp.id}  seed ${job.k}/${job.n} (seed ${job.seed})  ${SAID[outcome]}${took}  [elapsed ${clock(elapsed)}]`;
}

/** Run `jobs` in order, a progress line after each; `t0`: when the command started (performance.now()), for the elapsed time. Returns what each came to. */
export async function runJobs(jobs: Job[], plan: RunPlan, engine: EngineSelection, stop: Stop, io: { line: (l: string) => void; warn: (l: string) => void }, t0: number): Promise<SeedOutcome[]> {
  const outcomes: SeedOutcome[] = [];
  for (const job of jobs) {
    const t = performance.now();
    const outcome = await runJob(job, plan, engine, stop, io.warn);
    const now = performance.now();
    io.line(progressLine(job, outcome, (now - t) / 1000, (now - t0) / 1000));
    outcomes.push(outcome);
  }
  return outcomes;
}
