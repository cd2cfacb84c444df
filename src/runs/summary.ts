/** A run folder's summary.json: how the run ended, its accuracies, its times and its engine. */
import type { ModelSpec } from '../models/model.js';
import { writeJsonAtomic } from './atomic.js';
import { runFile } from './layout.js';
import type { RunSeconds } from './segments.js';

export interface Summary {
  status: 'ok' | 'diverged' | 'interrupted';
  error?: string;
  name: string;
  dataset: string;
  model: ModelSpec;
  engine: string;
  engineDetail: string;
  iterations: number;
  epochs: number;
  initialLoss: number;
  expectedInitialLoss: number;
  finalLoss: number | null;
  finalTrainAcc: number | null;
  finalValAcc: number | null;
  bestValAcc: number | null;
  /** Train accuracy of the best parameters (measured in the same epoch as bestValAcc). */
  bestTrainAcc: number | null;
  bestEpoch: number | null;
  testAcc: number | null;
  /** Set when the run's patience stopped it: after epoch `epoch` (step `it`), `patience` epochs past its best. */
  stoppedEarly?: { epoch: number; it: number; patience: number };
  /** Summed over the run's segments (a resumed run lists them: runs/segments.ts). */
  seconds: RunSeconds;
  /** Of this segment's steps (a resume that had none left to take: null). */
  examplesPerSecond: number | null;
  /** Peak resident memory of the process when the run ended, in MB (a sweep's trials share one process). */
  peakRssMB?: number;
  checkpoint: string | null;
}

/** A knn run's summary.json: no SGD fields (iterations, losses, epochs, checkpoints), since there are none. */
export interface KnnSummary {
  status: 'ok';
  name: string;
  dataset: string;
  model: { kind: 'knn'; k: number; inputDim: number; numClasses: number; numTrain: number };
  engine: string;
  engineDetail: string;
  /** Test accuracy with cfg.k. */
  testAcc: number;
  /** Test accuracy with the cross-validation's best k (null without cross-validation). */
  testAccBestK: number | null;
  cv: { folds: number; bestK: number; bestMeanAcc: number } | null;
  /**
   * The notebook's timing of the three forms, on `rows` test × `cols` training rows; the loop
   * forms (and the differences) on the first `loopRows` test rows when present (0: the loop forms
   * were not timed, their fields null).
   */
  distances: {
    rows: number;
    cols: number;
    loopRows?: number;
    twoLoopsSeconds: number | null;
    oneLoopSeconds: number | null;
    noLoopsSeconds: number;
    oneLoopDifference: number | null;
    noLoopsDifference: number | null;
    noLoopsMaxAbsDifference: number | null;
  };
  seconds: { load: number; train: number; crossValidation: number; test: number; total: number };
  peakRssMB: number;
  checkpoint: null;
}

/** What a run is, known before it trains: the fields every summary has, however the run ends. */
export type RunFacts = Pick<Summary, 'name' | 'dataset' | 'model' | 'engine' | 'engineDetail' | 'iterations' | 'epochs' | 'initialLoss' | 'expectedInitialLoss'>;

/** How a run ended: the status and whatever was measured; a result left out is null in the summary. */
export type RunEnd = Pick<Summary, 'status' | 'seconds' | 'checkpoint'> & Partial<Omit<Summary, keyof RunFacts | 'status' | 'seconds' | 'checkpoint'>>;

/** The summary of a run (fields in the order summary.json has always had them). */
export function makeSummary(facts: RunFacts, end: RunEnd): Summary {
  return {
    ...facts,
    status: end.status,
    ...(end.error !== undefined ? { error: end.error } : {}),
    finalLoss: end.finalLoss ?? null,
    finalTrainAcc: end.finalTrainAcc ?? null,
    finalValAcc: end.finalValAcc ?? null,
    bestValAcc: end.bestValAcc ?? null,
    bestTrainAcc: end.bestTrainAcc ?? null,
    bestEpoch: end.bestEpoch ?? null,
    testAcc: end.testAcc ?? null,
    ...(end.stoppedEarly !== undefined ? { stoppedEarly: end.stoppedEarly } : {}),
    seconds: end.seconds,
    examplesPerSecond: end.examplesPerSecond ?? null,
    ...(end.peakRssMB !== undefined ? { peakRssMB: end.peakRssMB } : {}),
    checkpoint: end.checkpoint,
  };
}

/** Write run folder `dir`'s summary.json, atomically: a sweep takes a folder that has one as finished. */
export function writeSummary(dir: string, summary: Summary): void {
  writeJsonAtomic(runFile(dir, 'summary'), summary);
}
