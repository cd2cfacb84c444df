/** Messages between the sweep's main thread and its workers. */
import type { Config } from '../config/config.js';
import type { Summary } from '../runs/summary.js';
import type { Metric } from './metric.js';

export interface ToWorker {
  index: number;
  dir: string;
  config: Config;
  /** Carry on from the trial folder's last.ckpt (a trial killed mid-way). */
  resume: boolean;
  /**
   * An early-stopping scheduler runs: after every epoch the worker posts an 'epoch' message and
   * waits (Atomics.wait on the decision cell it was started with) until the main thread writes
   * GO or STOP there, so a trial stops at the same epoch however long the decision took.
   */
  scheduled?: boolean;
  /** The sweep's metric (metric.ts): what the 'epoch' messages' history holds for the scheduler; absent: val accuracy. */
  metric?: Metric;
  /** What the trial holds its folder for (a queue job's id; runs/owner.ts): a live holder of the same claim is superseded. */
  claim?: string;
  /** Empty the trial's folder once it holds it (its own folder, unfinished and without a checkpoint). */
  clear?: boolean;
  /** Build the trial's run report once it ends (a sweep with "trialReports": "all"; trial_reports.ts). */
  report?: boolean;
}

/**
 * A training thread's cells, CELLS Int32s over one SharedArrayBuffer (newCells()). [0] is the
 * scheduler's word: 0 pending, then GO or STOP (DECISION). [STOP_CELL], once set, stops the trial
 * after its current step, as SIGTERM stops a run (last.ckpt written, resumable): the sweep was
 * cancelled or its process signalled, or a queue worker lost the trial's job.
 */
export const DECISION = { pending: 0, go: 1, stop: 2 } as const;
export const CELLS = 2;
export const STOP_CELL = 1;
export const newCells = (): Int32Array => new Int32Array(new SharedArrayBuffer(4 * CELLS));

/** What a trial stopped early by the scheduler reports: its best so far and the epoch it stopped after. */
export interface StoppedInfo {
  lastEpoch: number;
  bestValAcc: number | null;
  bestTrainAcc: number | null;
  bestEpoch: number | null;
  reason: string;
  seconds: number;
}

export type FromWorker =
  | { type: 'ready'; engine: string; numTrain: number }
  /** valHistory: the sweep metric's value for each epoch so far (val accuracy by default), for a scheduled trial; [] otherwise. */
  | { type: 'epoch'; index: number; epoch: number; valAcc: number; valHistory: number[] }
  | { type: 'done'; index: number; summary: Summary }
  | { type: 'stopped'; index: number; stopped: StoppedInfo }
  | { type: 'failed'; index: number; diverged: boolean; reason: string };
