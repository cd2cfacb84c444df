/**
 * predictions.json: everything a run's report draws from the test split, written into the
 * run folder by whoever builds the report with the data at hand (the run itself, a sweep trial,
 * the library's train), so that `train report` rebuilds the same page from the folder alone,
 * where the dataset is gone.
 *
 *   checkpoint  best.ckpt's epoch, step and the sha256 of its parameters: whose predictions these are
 *   imageShape  [height, width, channels] of the example images
 *   labels      the true class of each test record (n)
 *   predicted   the class best.ckpt gives each (n)
 *   examples    the images the report shows, each {index, label, predicted, pixels: base64 HWC bytes}:
 *               'misclassified', the first 16 test records it gets wrong (the preprocessed row
 *               turned back into pixels); 'byPredictedClass' (a features run), per class up to 8
 *               test images wrongly put in it (their raw pixels, as features.ipynb shows them)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { z } from 'zod';
import { loadDataset, type RawDataset } from '../data/datasets.js';
import { DataError } from '../data/errors.js';
import type { Rows } from '../data/split.js';
import { predictClasses, rowsView } from '../models/evaluate.js';
import { modelFromCheckpoint } from '../models/index.js';
import { writeFileAtomic } from '../runs/atomic.js';
import { type Checkpoint, loadCheckpoint } from '../runs/checkpoint.js';
import { RUN_FILES, runFile } from '../runs/layout.js';
import { readJsonObject } from '../runs/read.js';
import { pixelsOfRow } from './images.js';

/** Misclassified test images kept (a pixel run). */
const MISCLASSIFIED = 16;
/** Mistakes kept per predicted class (a features run). */
const PER_CLASS = 8;

export type ExampleKind = 'misclassified' | 'byPredictedClass';

export interface Example {
  index: number;
  label: number;
  predicted: number;
  /** HWC bytes, imageShape's product of them. */
  pixels: Uint8Array;
}

export interface TestPredictions {
  checkpoint: { epoch: number; iteration: number; sha256: string };
  imageShape: [number, number, number];
  labels: number[];
  predicted: number[];
  examples: { kind: ExampleKind; items: Example[] };
}

/** Whose predictions: best.ckpt's epoch, step and the hash of its parameters. */
function checkpointId(ck: Checkpoint): TestPredictions['checkpoint'] {
  const p = ck.params;
  return {
    epoch: ck.header.epoch,
    iteration: ck.header.iteration,
    sha256: createHash('sha256')
      .update(Buffer.from(p.buffer, p.byteOffset, p.byteLength))
      .digest('hex'),
  };
}

/**
 * Predict `test` (the preprocessed test rows, (n, D)) with best.ckpt `ck`, pick the examples the
 * report shows, and write predictions.json into run folder `dir`. A features run's
 * examples are raw pixels, from `raw` (its dataset); without it, it has none.
 */
export function recordTestPredictions(dir: string, ck: Checkpoint, ckFile: string, test: Rows, raw?: RawDataset): TestPredictions {
  const h = ck.header;
  const C = h.classes.length;
  const pred = predictClasses(modelFromCheckpoint(ck), test.X);
  for (let i = 0; i < test.n; i++) {
    if (test.y[i] >= C) throw new DataError(`${ckFile}: its ${C} classes do not cover the test labels (label ${test.y[i]}); was it trained on another dataset?`);
  }
  const ex = (index: number, pixels: Uint8Array): Example => ({ index, label: test.y[index], predicted: pred[index], pixels });
  let examples: TestPredictions['examples'];
  if (h.preprocess.features) {
    const items: Example[] = [];
    const px = raw ? raw.dim : 0;
    for (let c = 0; c < C && raw; c++) {
      for (let i = 0, k = 0; i < test.n && k < PER_CLASS; i++) if (pred[i] === c && test.y[i] !== c) [items[items.length], k] = [ex(i, raw.test.x.slice(i * px, (i + 1) * px)), k + 1];
    }
    examples = { kind: 'byPredictedClass', items };
  } else {
    const items: Example[] = [];
    for (let i = 0; i < test.n && items.length < MISCLASSIFIED; i++) if (pred[i] !== test.y[i]) items.push(ex(i, pixelsOfRow(rowsView(test.X, i, 1).data, ck.mean, h.preprocess.scale)));
    examples = { kind: 'misclassified', items };
  }
  const out: TestPredictions = { checkpoint: checkpointId(ck), imageShape: h.imageShape, labels: Array.from(test.y.subarray(0, test.n)), predicted: Array.from(pred), examples };
  const json = { ...out, examples: { kind: examples.kind, items: examples.items.map((e) => ({ ...e, pixels: Buffer.from(e.pixels).toString('base64') })) } };
  writeFileAtomic(runFile(dir, 'testPredictions'), JSON.stringify(json) + '\n');
  return out;
}

/**
 * recordTestPredictions for run folder `dir`'s best.ckpt, for a run whose report is not built now
 * (the library's train without `report`); a run without best.ckpt has nothing to record.
 */
export async function recordRunPredictions(dir: string, test: Rows, dataDir: string): Promise<void> {
  const ckFile = runFile(dir, 'best');
  if (!fs.existsSync(ckFile)) return;
  const ck = loadCheckpoint(ckFile);
  const raw = ck.header.preprocess.features ? await loadDataset(ck.header.dataset, dataDir || undefined) : undefined;
  recordTestPredictions(dir, ck, ckFile, test, raw);
}

const int = z.number().int().min(0);
const FILE_SCHEMA = z.object({
  checkpoint: z.object({ epoch: int, iteration: int, sha256: z.string() }),
  imageShape: z.tuple([int, int, int]),
  labels: z.array(int),
  predicted: z.array(int),
  examples: z.object({ kind: z.enum(['misclassified', 'byPredictedClass']), items: z.array(z.object({ index: int, label: int, predicted: int, pixels: z.string() })) }),
});

/**
 * Run folder `dir`'s test predictions, if they are best.ckpt `ck`'s; otherwise why not, in words
 * (the file is missing, damaged, or of another best.ckpt).
 */
export function readTestPredictions(dir: string, ck: Checkpoint): { ok: TestPredictions } | { missing: string } {
  const file = runFile(dir, 'testPredictions');
  if (!fs.existsSync(file)) return { missing: `${dir} has no ${RUN_FILES.testPredictions} (the run was made before reports kept their test predictions)` };
  let f: z.infer<typeof FILE_SCHEMA>;
  try {
    const r = FILE_SCHEMA.safeParse(readJsonObject(file));
    if (!r.success) return { missing: `${file} is damaged (${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message})` };
    f = r.data;
  } catch (e) {
    return { missing: (e as Error).message };
  }
  const id = checkpointId(ck);
  if (f.checkpoint.sha256 !== id.sha256)
    return { missing: `${file} holds the predictions of another best.ckpt (epoch ${f.checkpoint.epoch}, step ${f.checkpoint.iteration}; this one is of epoch ${id.epoch}, step ${id.iteration})` };
  const C = ck.header.classes.length;
  const size = f.imageShape[0] * f.imageShape[1] * f.imageShape[2];
  const items = f.examples.items.map((e) => ({ ...e, pixels: new Uint8Array(Buffer.from(e.pixels, 'base64')) }));
  const bad = f.labels.length !== f.predicted.length || [...f.labels, ...f.predicted].some((c) => c >= C) || items.some((e) => e.pixels.length !== size || e.index >= f.labels.length);
  if (bad) return { missing: `${file} is damaged (its labels, predictions or images do not fit best.ckpt's ${C} classes and ${f.imageShape.join('×')} images)` };
  return { ok: { ...f, imageShape: f.imageShape as [number, number, number], examples: { kind: f.examples.kind, items } } };
}
