/**
 * What a sweep (sweep.ts) hands its pending trials to: a TrialRunner, either the local pool of
 * worker threads (pool.ts) or a queue coordinator (queue.ts). Both import this file and trial.ts;
 * neither imports sweep.ts, so `--queue` crosses sweep/ in one direction:
 * sweep.ts → runner.ts ← queue.ts → trial.ts.
 */
import type { Config } from '../config/config.js';
import type { LockInfo } from '../runs/lock.js';
import type { TrialResult } from '../runs/results.js';
import type { RunData } from '../train/run.js';
import type { SweepSpec, Trial } from './spec.js';
import type { TrialPlan } from './trial.js';

/** What a runner is handed: the trials to train and where to tell what happened. */
export interface RunnerContext {
  spec: SweepSpec;
  sweepDir: string;
  trials: Trial[];
  /** Every trial's plan, the finished ones too. */
  plans: TrialPlan[];
  pending: TrialPlan[];
  /** The data, prepared once in shared memory; null when the runner does not train here (trainsHere). */
  runData: RunData | null;
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
  /**
   * How many of those are decided already (trials known in advance; a TPE sweep's recorded ones),
   * so may be handed out at once; the rest are suggested one at a time, each as a worker frees up.
   */
  decided(): number;
}

/** The feed of trials known in advance (grid, random, list). */
export function listFeed(pending: TrialPlan[]): TrialFeed {
  const queue = [...pending];
  return { next: () => queue.shift() ?? null, left: () => queue.length, decided: () => queue.length };
}

/** Trains a sweep's pending trials: the local pool of worker threads, or the queue (queue.ts). */
export interface TrialRunner {
  /** "local", or the queue's URL without its password: results.json's queue field. */
  name: string;
  /**
   * The trials train in this process, on the data the sweep prepares here (the local pool). A
   * runner that trains elsewhere (a queue's workers prepare their own data) leaves it out, and the
   * sweep loads no data but what the best trial's test evaluation needs.
   */
  trainsHere?: boolean;
  /** For the data line: "shared by 2 workers". */
  describe(workers: number): string;
  run(ctx: RunnerContext): Promise<void>;
  /**
   * Whether the sweep's lock holder `held`, on another host, is gone: a queue coordinator's
   * heartbeat in Redis has expired. Without it, only a holder on this host can be found gone.
   */
  holderGone?(spec: SweepSpec, sweepDir: string, held: LockInfo): Promise<boolean>;
}
