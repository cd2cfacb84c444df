/** A sweep folder's results.json (results.csv is the same table): one row per trial, and the best trial. */
import type { Config } from '../config/config.js';

export interface TrialResult {
  index: number;
  /** Run folder, relative to the sweep folder. */
  dir: string;
  /** stopped: ended early by the sweep's scheduler (ASHA, median rule), its folder and best checkpoint kept. */
  status: 'ok' | 'diverged' | 'failed' | 'stopped';
  reason: string | null;
  params: Partial<Config>;
  /** Train and val accuracy of the trial's best parameters. */
  trainAcc: number | null;
  valAcc: number | null;
  bestEpoch: number | null;
  seconds: number | null;
  /** Finished by an earlier invocation of the same sweep. */
  resumed: boolean;
  /** Epochs the trial trained (a stopped trial's last epoch); absent in older results. */
  lastEpoch?: number | null;
  /** The sweep metric's value for the trial, best over its epochs (sweep/metric.ts); null when it has none (failed, diverged). */
  value?: number | null;
  /** A trial failed for good after its host failed it on every attempt (the sweep's retries used up): how many attempts it had. */
  attempts?: number;
}

export interface SweepResults {
  name: string;
  sweepFile: string;
  folder: string;
  trials: TrialResult[];
  /** The best trial by the sweep's metric (`value`). */
  best: { index: number; dir: string; params: Partial<Config>; trainAcc: number; valAcc: number; testAcc: number | null; value?: number } | null;
  /** What the best trial, the schedulers and TPE optimise: a metric of the epoch rows and its mode (absent in older results: valAcc, max). */
  metric?: { name: string; mode: 'max' | 'min' };
  workers: number;
  /** Wall time of the sweep, summed over its invocations (a sweep run again carries on). */
  seconds: number;
  /** A sweep run more than once: each invocation's seconds, first to last (absent: one invocation). */
  segments?: number[];
  /** Wall time spent training this invocation's trials (data loading and test evaluation excluded). */
  trialSeconds: number;
  /** Trials this invocation trained (the rest were finished earlier). */
  trialsRun: number;
  /** Peak resident memory of the whole process (all threads), MB. */
  peakRssMB: number;
  /** Finished trial folders (relative to the sweep folder) that this sweep no longer holds; kept. */
  notInSweep: string[];
  /** Early stopping, as the sweep file gives it ("ASHA (η 3, grace 1 epochs)"); absent: none. */
  scheduler?: string;
  /** Where the trials ran: "local" or the queue's URL without its password. */
  queue?: string;
  /** While the sweep runs: the trials in flight (host, epoch) and those waiting; absent once it ended. */
  live?: { running: { index: number; host: string | null; epoch: number | null }[]; queued: number[] } | null;
}
