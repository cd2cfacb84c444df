/**
 * The local pool: a sweep's pending trials on `workers` training threads of this process (one per
 * core by default), each thread reading the one copy of the data the sweep prepared. Each slot of
 * the pool starts a thread and trains the feed's trials on it, one after another, until the feed
 * is empty; `done` hears of each trial once, in finishing order.
 *
 * A thread that dies mid-trial (killed, out of memory) is a failure of the host: the trial is tried
 * again on a fresh thread, from its last checkpoint, up to the sweep's retries (spec.ts), then
 * fails with the reason; a fresh thread takes the feed on either way. Any
 * error in this thread's handling (a full disk under results.json, say) or a thread that cannot
 * start stops every thread and rejects, instead of escaping an event handler as an uncaught
 * exception. Aborted (Ctrl-C, SIGTERM, `sweep cancel`), the running trials stop after their
 * current step, each with its last checkpoint, and no more start.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { KeptRungStore, MemoryRungStore, type RungStore } from './rungs.js';
import { rungBasisOf } from './scheduler.js';
import { reportsAsTrialsEnd } from './trial_reports.js';
import type { RunnerContext, TrialRunner } from './runner.js';
import {
  epochsOf,
  folderPlanFor,
  hostLost,
  prepareFolder,
  resultOf,
  retriesUsedUp,
  type TrialOutcome,
  startTrainingThread,
  stopAfterStep,
  ThreadGone,
  trainOnThread,
  type TrainingThread,
  type TrialPlan,
} from './trial.js';
import type { RunData } from '../train/run.js';
import { metricOf, retriesOf } from './spec.js';

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
  /** The scheduler's rungs, in memory and kept in the sweep folder (rungs.ts): the pool is their only writer. */
  store: RungStore;
  threads: Set<TrainingThread>;
  /** Aborted: no trial starts any more. */
  cancelled: boolean;
  /** The error that stopped the pool, if one did. */
  failure: Error | null;
}

async function runLocalPool(ctx: RunnerContext): Promise<void> {
  if (!ctx.runData) throw new Error('the local pool trains on the data the sweep prepared, and was given none');
  // The kept rungs, refused when of another metric, mode or scheduler (rungs.ts); none without a scheduler.
  const store = ctx.spec.scheduler ? new KeptRungStore(ctx.sweepDir, rungBasisOf(metricOf(ctx.spec), ctx.spec.scheduler)) : new MemoryRungStore();
  const pool: Pool = { ctx, runData: ctx.runData, store, threads: new Set(), cancelled: false, failure: null };
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

/** A slot's thread: replaced when it dies. */
interface Slot {
  t: TrainingThread | null;
}

/** One slot: a thread, and the feed's trials on it until none is left (a thread that dies is replaced). */
async function runSlot(pool: Pool): Promise<void> {
  const slot: Slot = { t: null };
  try {
    while (!pool.cancelled && !pool.failure) {
      await liveThread(pool, slot);
      const plan = pool.cancelled || pool.failure ? null : pool.ctx.feed.next();
      if (!plan) break;
      const out = await trainAttempts(pool, slot, plan);
      if (pool.failure) break;
      pool.ctx.done(resultOf(plan.trial, plan.rel, out, false));
      if (slot.t?.gone && pool.ctx.feed.left() === 0) break;
    }
  } catch (e) {
    failPool(pool, e);
  } finally {
    if (slot.t) {
      pool.threads.delete(slot.t);
      void slot.t.thread.terminate();
    }
  }
}

/** The slot's thread, a fresh one in place of one that died. */
async function liveThread(pool: Pool, slot: Slot): Promise<TrainingThread> {
  if (slot.t?.gone) pool.threads.delete(slot.t);
  if (!slot.t || slot.t.gone) slot.t = await readyThread(pool);
  return slot.t;
}

/**
 * Train `plan`'s trial; a failure of the host (its thread died: killed, out of memory) is retried
 * on a fresh thread, from the trial's last checkpoint, up to the sweep's retries; the trial's own
 * failure (divergence, a bad config) is final at once. Out of retries, it fails with the reason
 * and the number of attempts.
 */
async function trainAttempts(pool: Pool, slot: Slot, plan: TrialPlan): Promise<TrialOutcome> {
  const retries = retriesOf(pool.ctx.spec);
  for (let attempt = 1; ; attempt++) {
    poolHooks.attempt?.(plan.trial.index, attempt);
    const out = await trainPlan(pool, slot.t!, plan);
    if (out.status !== 'failed' || !hostLost(out) || pool.cancelled || pool.failure) return out;
    if (attempt > retries) return retriesUsedUp(out, attempt, retries);
    await liveThread(pool, slot);
    const again = folderPlanFor(pool.ctx.sweepDir, plan.rel, plan.trial.config);
    if ('outcome' in again) return again.outcome; // it had finished after all (the thread died after its summary)
    plan = { ...plan, resume: again.resume ? (plan.resume ?? plan.trial.config) : null, clear: !again.resume };
  }
}

/** For tests: hear of each attempt at a trial, and of each epoch it reports with a way to end its thread as an OOM kill would. */
export const poolHooks: { attempt?(index: number, attempt: number): void; epoch?(index: number, epoch: number, kill: () => void): void } = {};

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
  const metric = metricOf(ctx.spec);
  const sched = { scheduler: ctx.spec.scheduler, store: pool.store, trialId: plan.rel, epochs: epochsOf(plan.trial.config, pool.runData.data.train.n), metric };
  return trainOnThread(
    t,
    {
      index,
      dir,
      config: plan.resume ?? plan.trial.config,
      resume: plan.resume !== null,
      scheduled: sched.scheduler !== undefined,
      metric,
      clear: plan.clear,
      report: reportsAsTrialsEnd(ctx.spec.trialReports),
    },
    {
      sched,
      epoch: (e) => {
        ctx.running(index, { host: null, epoch: e.epoch });
        poolHooks.epoch?.(index, e.epoch, () => void t.thread.terminate());
      },
      schedulerFailed: (e) => failPool(pool, e),
    },
  );
}
