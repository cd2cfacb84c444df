/**
 * The local pool: a sweep's pending trials on `workers` training threads of this process (one per
 * core by default), each thread reading the one copy of the data the sweep prepared. Each slot of
 * the pool starts a thread and trains the feed's trials on it, one after another, until the feed
 * is empty; `done` hears of each trial once, in finishing order.
 *
 * A thread that dies mid-trial fails that trial only, and a fresh thread takes the feed on. Any
 * error in this thread's handling (a full disk under results.json, say) or a thread that cannot
 * start stops every thread and rejects, instead of escaping an event handler as an uncaught
 * exception. Aborted (Ctrl-C, SIGTERM, `sweep cancel`), the running trials stop after their
 * current step, each with its last checkpoint, and no more start.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { MemoryRungStore, type RungStore } from './scheduler.js';
import { reportsAsTrialsEnd } from './trial_reports.js';
import type { RunnerContext, TrialRunner } from './runner.js';
import { epochsOf, prepareFolder, resultOf, startTrainingThread, stopAfterStep, ThreadGone, trainOnThread, type TrainingThread, type TrialPlan } from './trial.js';
import type { RunData } from '../train/run.js';

export const localRunner: TrialRunner = {
  name: 'local',
  trainsHere: true,
  describe: (workers) => `shared by ${workers} worker${workers > 1 ? 's' : ''}`,
  run: runLocalPool,
};

/** The pool as its slots share it. */
interface Pool {
  ctx: RunnerContext;
  runData: RunData;
  /** The scheduler's rungs, in memory: the pool is their only writer. */
  store: RungStore;
  threads: Set<TrainingThread>;
  /** Aborted: no trial starts any more. */
  cancelled: boolean;
  /** The error that stopped the pool, if one did. */
  failure: Error | null;
}

async function runLocalPool(ctx: RunnerContext): Promise<void> {
  if (!ctx.runData) throw new Error('the local pool trains on the data the sweep prepared, and was given none');
  const pool: Pool = { ctx, runData: ctx.runData, store: new MemoryRungStore(), threads: new Set(), cancelled: false, failure: null };
  if (ctx.signal?.aborted) return;
  const cancel = () => cancelPool(pool);
  ctx.signal?.addEventListener('abort', cancel, { once: true });
  try {
    await Promise.all(Array.from({ length: ctx.workers }, () => runSlot(pool)));
  } finally {
    ctx.signal?.removeEventListener('abort', cancel);
  }
  if (pool.failure) throw pool.failure;
}

/** Cancelled: the trials not started are dropped, the running ones stop after their step. */
function cancelPool(pool: Pool): void {
  pool.cancelled = true;
  for (const t of pool.threads) stopAfterStep(t);
}

/** Stop the pool on `err`: every thread ends, and runLocalPool rejects with it. */
function failPool(pool: Pool, err: unknown): void {
  if (pool.failure) return;
  pool.failure = err instanceof Error ? err : new Error(String(err));
  for (const t of pool.threads) void t.thread.terminate();
}

/** One slot: a thread, and the feed's trials on it until none is left (a thread that dies is replaced). */
async function runSlot(pool: Pool): Promise<void> {
  let t: TrainingThread | null = null;
  try {
    while (!pool.cancelled && !pool.failure) {
      if (t?.gone) pool.threads.delete(t);
      if (!t || t.gone) t = await readyThread(pool);
      const plan = pool.cancelled || pool.failure ? null : pool.ctx.feed.next();
      if (!plan) break;
      const out = await trainPlan(pool, t, plan);
      if (pool.failure) break;
      pool.ctx.done(resultOf(plan.trial, plan.rel, out, false));
      if (t.gone && pool.ctx.feed.left() === 0) break;
    }
  } catch (e) {
    failPool(pool, e);
  } finally {
    if (t) {
      pool.threads.delete(t);
      void t.thread.terminate();
    }
  }
}

/** A new thread, once its engine is up: the workers share the cores instead of each engine taking all of them. */
async function readyThread(pool: Pool): Promise<TrainingThread> {
  const threads = Math.max(1, Math.floor(os.availableParallelism() / pool.ctx.workers));
  const t = startTrainingThread({ runData: pool.runData, backend: pool.ctx.base.backend, threads });
  pool.threads.add(t);
  try {
    await t.ready;
  } catch (e) {
    // A thread that cannot start (no engine, say) would fail the same way again: stop.
    if (e instanceof ThreadGone && e.exitCode !== null) throw new Error(`a sweep worker stopped before it started (exit code ${e.exitCode})`);
    throw new Error(`a sweep worker failed to start: ${(e as Error).message}`);
  }
  return t;
}

/** Train `plan`'s trial on `t`. A trial killed after a checkpoint carries on from it, as `train --resume` does. */
function trainPlan(pool: Pool, t: TrainingThread, plan: TrialPlan) {
  const { ctx } = pool;
  const dir = path.join(ctx.sweepDir, plan.rel);
  prepareFolder(dir); // its own folder without a checkpoint starts afresh: cleared by the thread once it holds it
  const index = plan.trial.index;
  ctx.running(index, { host: null, epoch: null });
  const sched = { scheduler: ctx.spec.scheduler, store: pool.store, trialId: plan.rel, epochs: epochsOf(plan.trial.config, pool.runData.data.train.n) };
  return trainOnThread(
    t,
    {
      index,
      dir,
      config: plan.resume ?? plan.trial.config,
      resume: plan.resume !== null,
      scheduled: sched.scheduler !== undefined,
      clear: plan.clear,
      report: reportsAsTrialsEnd(ctx.spec.trialReports),
    },
    {
      sched,
      epoch: (e) => ctx.running(index, { host: null, epoch: e.epoch }),
      schedulerFailed: (e) => failPool(pool, e),
    },
  );
}
