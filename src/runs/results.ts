/** A sweep folder's results.json (results.csv is the same table): one row per trial, and the best trial. */
import type { Config } from '../config/config.js';

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
  /** Finished trial folders (relative to the sweep folder) that this sweep no longer holds; kept. */
  notInSweep: string[];
}
