/**
 * The trained model of a run, for predict and export: a run folder (its best.ckpt) or a .ckpt
 * file, read and checked by runs/checkpoint.ts. A kNN run has no checkpoint (it keeps no trained
 * weights, only the training rows it votes with), and says so; a run folder without best.ckpt
 * (stopped before its first epoch ended) names what it does have.
 */
import * as fs from 'node:fs';
import { ConfigError } from '../config/config.js';
import { keyKinds } from '../config/keys.js';
import { MAX_BYTES, readRegularText } from '../io/files.js';
import { type Checkpoint, CheckpointError, loadCheckpoint } from '../runs/checkpoint.js';
import { RUN_FILES, runFile } from '../runs/layout.js';

/** The run argument of eval, predict and export (the CLI's positional and the library's first argument). */
export const RUN_ARG = keyKinds().str({ nonEmpty: true, doc: `run folder (uses its ${RUN_FILES.best}) or .ckpt file` });

export interface TrainedRun {
  /** The checkpoint file read. */
  file: string;
  ck: Checkpoint;
}

/** What `what` (predict, export) needs that a kNN run lacks, in one sentence. */
function knnRefusal(run: string, what: string): string {
  return `${run} is a knn run: it keeps no trained weights (kNN votes with the stored training rows at prediction time), so there is nothing to ${what}. Give a softmax, svm or mlp run`;
}

/** The checkpoint of run folder or .ckpt file `run`; `what` names the command in errors. */
export function loadTrainedRun(run: string, what: string): TrainedRun {
  let st: fs.Stats;
  try {
    st = fs.statSync(run);
  } catch {
    throw new CheckpointError(`${run}: no such run folder or .ckpt file. Give a run folder (runs/<time>-<name>) or a .ckpt file written by 'train'`);
  }
  if (!st.isDirectory()) return { file: run, ck: loadCheckpoint(run) };
  const file = runFile(run, 'best');
  if (fs.existsSync(file)) return { file, ck: loadCheckpoint(file) };
  const cfgFile = runFile(run, 'config');
  let model: unknown;
  try {
    model = (JSON.parse(readRegularText(cfgFile, MAX_BYTES.config, 'a JSON file')) as { model?: unknown }).model;
  } catch {
    model = undefined;
  }
  if (model === 'knn') throw new ConfigError(knnRefusal(run, what));
  const hasLast = fs.existsSync(runFile(run, 'last'));
  throw new CheckpointError(
    `${run} holds no ${RUN_FILES.best}` +
      (fs.existsSync(cfgFile)
        ? ` (the run ended before its first epoch did${hasLast ? `; resume it with: npx train --resume ${run}, or give ${runFile(run, 'last')}` : ''})`
        : `, nor a ${RUN_FILES.config}: it is not a run folder. Give runs/<time>-<name> or a .ckpt file`),
  );
}
