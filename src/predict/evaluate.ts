/**
 * A checkpoint's accuracy, as `train eval <run>` and the library's evaluate() measure it: reload
 * the checkpoint, rebuild the split exactly as training did (same records, the training mean
 * image stored in the checkpoint, the same scale and bias column) and score it.
 */
import * as fs from 'node:fs';
import { configKey } from '../config/config.js';
import { keyKinds } from '../config/keys.js';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import { loadDataset } from '../data/datasets.js';
import { rowsOfCheckpoint } from '../data/feature_data.js';
import { modelFromCheckpoint } from '../models/index.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { runFile } from '../runs/layout.js';
import { accuracy } from '../models/evaluate.js';

const { oneOf } = keyKinds();

/** eval's options, for `train eval`'s flags and the library's evaluate(): one table. */
export const EVAL_OPTIONS = {
  split: oneOf(['train', 'val', 'test', 'all'], { default: 'test', doc: 'which split to score' }),
  dataDir: configKey('dataDir', 'dataset location, if not where training read it'),
  backend: configKey('backend'),
};

export interface EvalArgs {
  run: string;
  split: string;
  dataDir?: string;
  backend: string;
}

/** Resolve a run folder to its best.ckpt; a file path is used as it is. */
export function checkpointPath(run: string): string {
  return fs.existsSync(run) && fs.statSync(run).isDirectory() ? runFile(run, 'best') : run;
}

/** Accuracy of a checkpoint on each requested split, keyed by split name. */
export async function evaluateCheckpoint(args: EvalArgs): Promise<{ file: string; accuracies: Record<string, { acc: number; n: number }> }> {
  const file = checkpointPath(args.run);
  const ck = loadCheckpoint(file);
  const h = ck.header;
  const { engine } = await initEngine(args.backend as BackendChoice);
  const dataDir = args.dataDir ?? (typeof h.config.dataDir === 'string' && h.config.dataDir ? h.config.dataDir : undefined);
  const raw = await loadDataset(h.dataset, dataDir);
  const model = modelFromCheckpoint(ck);
  const names = args.split === 'all' ? ['train', 'val', 'test'] : [args.split];
  const accuracies: Record<string, { acc: number; n: number }> = {};
  for (const name of names) {
    const rows = await rowsOfCheckpoint(raw, name as 'train' | 'val' | 'test', h, ck.mean, file, engine.alloc);
    accuracies[name] = { acc: accuracy(model, rows), n: rows.n };
  }
  return { file, accuracies };
}
