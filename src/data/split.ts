/**
 * The cs231n split and preprocessing, from raw bytes to the Float32 rows the models train on.
 *
 *   train  the first numTrain training records
 *   val    the numVal training records after them
 *   test   the first numTest test records
 *   dev    numDev rows drawn at random (without replacement) from train, for quick checks
 *
 * Every row becomes (pixels − mean image)·scale, where the mean image is taken over the train
 * split only; the linear model gets a bias column of ones appended (the bias trick), so a CIFAR
 * row has 3,072 + 1 = 3,073 numbers and an MNIST row 784 + 1 = 785.
 */
import { type Count, ConfigError } from '../config/config.js';
import { type Allocator, PLAIN, SHARED } from '../linalg/alloc.js';
import type { Mat } from '../linalg/mat.js';
import type { Rng } from '../linalg/rng.js';
import type { RawDataset } from './datasets.js';

export interface SplitSpec {
  numTrain: Count;
  numVal: number;
  numTest: Count;
  numDev: number;
}

export interface SplitSizes {
  numTrain: number;
  numVal: number;
  numTest: number;
  numDev: number;
}

export interface Preprocess {
  /** Append a column of ones (the bias trick, for the linear model). */
  bias: boolean;
  /** Multiply (pixel − mean) by this. */
  scale: number;
  /** Set when the rows are image features, not pixels (data/feature_data.ts); `scale` is then unused. */
  features?: FeaturePreprocess;
}

/** What a features run's rows are made of: rows are (features − mean)/std. */
export interface FeaturePreprocess {
  kind: 'hog+hue';
  hueBins: number;
  /** Per-column train std (population; 0 replaced by 1). */
  std: number[];
}

/** Rows of pixels (or other numbers) and their labels, as preprocessing reads them: a dataset's split, or rows given in memory (train/memory_data.ts). */
export interface PixelRows {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  n: number;
}

export interface Rows {
  X: Mat<Float32Array>;
  y: Int32Array;
  n: number;
}

export interface PreparedData {
  dataset: string;
  train: Rows;
  val: Rows;
  test: Rows;
  dev: Rows;
  /** Mean image of the train split, in raw pixel units (length = pixels per image); of a features run, the features' train mean. */
  mean: Float32Array;
  preprocess: Preprocess;
  /** Numbers per row, bias column included. */
  dim: number;
  classes: string[];
  imageShape: [number, number, number];
}

/** Turn "all" into numbers and refuse splits the data cannot hold. */
export function resolveSplit(raw: RawDataset, spec: SplitSpec): SplitSizes {
  const numVal = spec.numVal;
  if (numVal >= raw.train.n) {
    throw new ConfigError(`numVal = ${numVal} leaves no training records: ${raw.name} has ${raw.train.n} training records in all`);
  }
  const numTrain = spec.numTrain === 'all' ? raw.train.n - numVal : spec.numTrain;
  if (numTrain + numVal > raw.train.n) {
    throw new ConfigError(
      `numTrain + numVal = ${numTrain} + ${numVal} = ${numTrain + numVal}, but ${raw.name} has only ${raw.train.n} training records: ` +
        `lower --num-train or --num-val (--num-train all takes all but the validation records)`,
    );
  }
  const numTest = spec.numTest === 'all' ? raw.test.n : spec.numTest;
  if (numTest > raw.test.n) throw new ConfigError(`numTest = ${numTest}, but ${raw.name} has only ${raw.test.n} test records: use --num-test ≤ ${raw.test.n} or all`);
  if (spec.numDev > numTrain) throw new ConfigError(`numDev = ${spec.numDev} is more than the ${numTrain} training records: use --num-dev ≤ ${numTrain}`);
  return { numTrain, numVal, numTest, numDev: spec.numDev };
}

/** Mean image of rows [0, n) of `src`, accumulated in float64. */
export function meanImage(src: PixelRows, n: number, pixels: number): Float32Array {
  const acc = new Float64Array(pixels);
  for (let i = 0; i < n; i++) {
    const off = i * pixels;
    for (let j = 0; j < pixels; j++) acc[j] += src.x[off + j];
  }
  const mean = new Float32Array(pixels);
  for (let j = 0; j < pixels; j++) mean[j] = acc[j] / n;
  return mean;
}

/** Rows [start, start+count) of `src`, preprocessed: (pixels − mean)·scale, then a 1 if `pre.bias`; in `alloc`'s memory. */
export function preprocessRows(src: PixelRows, start: number, count: number, mean: Float32Array, pre: Preprocess, dim: number, alloc: Allocator = PLAIN): Rows {
  const pixels = mean.length;
  if (dim !== pixels + (pre.bias ? 1 : 0)) throw new Error(`preprocessRows: dim ${dim} does not match ${pixels} pixels${pre.bias ? ' + bias' : ''}`);
  if (start + count > src.n) throw new Error(`preprocessRows: rows ${start}..${start + count} are past the ${src.n} records`);
  // Shared for a sweep's workers; otherwise in the memory the engine wants (its allocator).
  const X = alloc.float(Float32Array, count * dim);
  const y = alloc.int32(count);
  const s = pre.scale;
  for (let i = 0; i < count; i++) {
    const from = (start + i) * pixels;
    const to = i * dim;
    for (let j = 0; j < pixels; j++) X[to + j] = (src.x[from + j] - mean[j]) * s;
    if (pre.bias) X[to + pixels] = 1;
    y[i] = src.y[start + i];
  }
  return { X: { rows: count, cols: dim, data: X }, y, n: count };
}

/**
 * Split, subtract the train mean image, scale, add the bias column, and draw the dev rows.
 * With `shared`, the train/val/test rows live in SharedArrayBuffers, so a sweep's worker threads
 * all read the one copy; otherwise they are in `alloc`'s memory (the engine's: engine.alloc).
 */
export function prepareData(raw: RawDataset, split: SplitSizes, pre: Preprocess, rng: Rng, opts: { shared?: boolean; alloc?: Allocator } = {}): PreparedData {
  const pixels = raw.dim;
  const dim = pixels + (pre.bias ? 1 : 0);
  const sh = opts.shared ? SHARED : (opts.alloc ?? PLAIN);
  const mean = meanImage(raw.train, split.numTrain, pixels);
  const train = preprocessRows(raw.train, 0, split.numTrain, mean, pre, dim, sh);
  const val = preprocessRows(raw.train, split.numTrain, split.numVal, mean, pre, dim, sh);
  const test = preprocessRows(raw.test, 0, split.numTest, mean, pre, dim, sh);
  const dev = takeRows(train, rng.choice(split.numTrain, split.numDev));
  return { dataset: raw.name, train, val, test, dev, mean, preprocess: { ...pre }, dim, classes: raw.classes, imageShape: raw.imageShape };
}

/** Copies of rows `idx` of `src`, in that order. */
export function takeRows(src: Rows, idx: Int32Array): Rows {
  const D = src.X.cols;
  const X = new Float32Array(idx.length * D);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    X.set(src.X.data.subarray(idx[i] * D, (idx[i] + 1) * D), i * D);
    y[i] = src.y[idx[i]];
  }
  return { X: { rows: idx.length, cols: D, data: X }, y, n: idx.length };
}

/** What a checkpoint says of its data: the mean image's length, the preprocessing and the split counts. */
export interface CheckpointData {
  meanLength: number;
  preprocess: Preprocess;
  split: { numTrain: number; numVal: number; numTest: number };
}

/**
 * Split `which` of a raw dataset, preprocessed exactly as the run that saved a checkpoint did
 * (its split counts, its training mean image, its scale and bias column). `origin` names the
 * checkpoint in the error when the dataset's images are not the size it was trained on.
 */
export function checkpointRows(raw: RawDataset, which: 'train' | 'val' | 'test', h: CheckpointData, mean: Float32Array, origin: string, alloc: Allocator = PLAIN): Rows {
  if (raw.dim !== h.meanLength) throw new ConfigError(`${origin} was trained on rows of ${h.meanLength} pixels, but ${raw.source} has ${raw.dim}`);
  const dim = h.meanLength + (h.preprocess.bias ? 1 : 0);
  const { numTrain, numVal, numTest } = h.split;
  // The split the run used must be there: a smaller copy of the data cannot rebuild it.
  const need = which === 'test' ? numTest : which === 'val' ? numTrain + numVal : numTrain;
  const have = which === 'test' ? raw.test.n : raw.train.n;
  if (need > have) {
    const rows = which === 'test' ? `its first ${numTest} test records` : which === 'val' ? `training records ${numTrain + 1}–${numTrain + numVal}` : `its first ${numTrain} training records`;
    throw new ConfigError(
      `${origin} was trained on a split whose ${which} part is ${rows}, but ${raw.source} has only ${have} ${which === 'test' ? 'test' : 'training'} records: ` +
        'pass --data-dir to the data the run was trained on',
    );
  }
  if (which === 'train') return preprocessRows(raw.train, 0, numTrain, mean, h.preprocess, dim, alloc);
  if (which === 'val') return preprocessRows(raw.train, numTrain, numVal, mean, h.preprocess, dim, alloc);
  return preprocessRows(raw.test, 0, numTest, mean, h.preprocess, dim, alloc);
}
