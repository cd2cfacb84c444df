/**
 * `train eval <run>`: reload a checkpoint, rebuild the split exactly as training did (same
 * records, the training mean image stored in the checkpoint, the same scale and bias column)
 * and print the accuracy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import { loadDataset } from '../data/datasets.js';
import { preprocessRows } from '../data/split.js';
import { modelFromParams } from '../models/index.js';
import type { Model } from '../models/model.js';
import { viewsOf } from '../models/params.js';
import { loadCheckpoint } from '../train/checkpoint.js';
import { accuracy } from '../train/evaluate.js';

export interface EvalArgs {
  run: string;
  split: string;
  dataDir?: string;
  backend: string;
}

/** Resolve a run folder to its best.ckpt; a file path is used as it is. */
export function checkpointPath(run: string): string {
  return fs.existsSync(run) && fs.statSync(run).isDirectory() ? path.join(run, 'best.ckpt') : run;
}

/** Accuracy of a checkpoint on each requested split, keyed by split name. */
export async function evaluateCheckpoint(args: EvalArgs): Promise<{ file: string; accuracies: Record<string, { acc: number; n: number }> }> {
  const file = checkpointPath(args.run);
  const ck = loadCheckpoint(file);
  const h = ck.header;
  await initEngine(args.backend as BackendChoice);
  const dataDir = args.dataDir ?? (typeof h.config.dataDir === 'string' && h.config.dataDir ? h.config.dataDir : undefined);
  const raw = await loadDataset(h.dataset, dataDir);
  if (raw.dim !== h.meanLength) {
    throw new ConfigError(`${file} was trained on rows of ${h.meanLength} pixels, but ${raw.source} has ${raw.dim}`);
  }
  const flat = ck.params;
  const model = modelFromParams(h.model, { specs: h.params, flat, views: viewsOf(h.params, flat) }, 0) as Model<Float32Array>;
  const dim = h.meanLength + (h.preprocess.bias ? 1 : 0);
  const { numTrain, numVal, numTest } = h.split;
  const ranges: Record<string, () => ReturnType<typeof preprocessRows>> = {
    train: () => preprocessRows(raw.train, 0, numTrain, ck.mean, h.preprocess, dim),
    val: () => preprocessRows(raw.train, numTrain, numVal, ck.mean, h.preprocess, dim),
    test: () => preprocessRows(raw.test, 0, numTest, ck.mean, h.preprocess, dim),
  };
  const names = args.split === 'all' ? ['train', 'val', 'test'] : [args.split];
  const accuracies: Record<string, { acc: number; n: number }> = {};
  for (const name of names) {
    const rows = ranges[name]();
    accuracies[name] = { acc: accuracy(model, rows), n: rows.n };
  }
  return { file, accuracies };
}

export async function evalCommand(args: EvalArgs): Promise<void> {
  const { file, accuracies } = await evaluateCheckpoint(args);
  process.stdout.write(`checkpoint: ${file}\n`);
  for (const [name, { acc, n }] of Object.entries(accuracies)) {
    process.stdout.write(`${name} accuracy: ${acc.toFixed(4)} (${n} records)\n`);
  }
}
