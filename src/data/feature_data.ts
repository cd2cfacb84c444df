/**
 * Image features as a model's input (features.ipynb): the features of every image of a dataset,
 * computed once per dataset and parameter set and cached beside the dataset, then split like the
 * pixels and normalised as the notebook does:
 *
 *   rows = (features − train mean) / train std   (population std, over the train split; a
 *          column whose std is 0 is divided by 1), then a bias column of ones for the linear model
 *
 * The cache file is <dataset folder>/.features-<kind>-<hueBins>.bin; it holds the dataset's
 * sha256 (of all its pixels and labels) and the parameters in its header and is recomputed when
 * either differs; it is written atomically, and a folder that cannot be written only costs the
 * cache (a warning). Layout: "TSNNFEAT" (8 bytes), a uint32 LE header length, the JSON header
 * padded with spaces to a multiple of 8 bytes from the file start, then the float64 LE features
 * of the train records and then of the test records, row-major.
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { type Allocator, PLAIN, SHARED } from '../linalg/alloc.js';
import type { Rng } from '../linalg/rng.js';
import { writeFileAtomic } from '../runs/atomic.js';
import type { RawDataset } from './datasets.js';
import { readRegularFile } from './files.js';
import { type FeatureParams, checkFeatureShape, featureDim } from './features.js';
import { computeFeatures } from './features_parallel.js';
import { type CheckpointData, checkpointRows, type FeaturePreprocess, takeRows, type PreparedData, type Rows, type SplitSizes } from './split.js';

export const FEATURE_KINDS = ['none', 'hog+hue'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

/** Bumped whenever the features' definition or the cache layout changes. */
const CACHE_VERSION = 1;
const MAGIC = 'TSNNFEAT';

export interface DatasetFeatures {
  train: Float64Array;
  test: Float64Array;
  dim: number;
  /** The cache file (null if none could be written), and whether it was read rather than computed. */
  file: string | null;
  fromCache: boolean;
}

/** sha256 of a dataset's pixels and labels, train then test. */
export function datasetChecksum(raw: RawDataset): string {
  const h = crypto.createHash('sha256');
  for (const s of [raw.train, raw.test]) {
    h.update(s.x);
    h.update(s.y);
  }
  return h.digest('hex');
}

export function featureCacheFile(raw: RawDataset, kind: FeatureKind, p: FeatureParams): string {
  return path.join(raw.source, `.features-${kind}-${p.hueBins}.bin`);
}

interface CacheHeader {
  version: number;
  kind: string;
  hueBins: number;
  checksum: string;
  nTrain: number;
  nTest: number;
  dim: number;
}

function readCache(file: string, want: CacheHeader): DatasetFeatures | null {
  let buf: Buffer;
  try {
    // The safe reader: a cache is a regular file of its header (under 64 KiB) and the features it holds.
    buf = readRegularFile(file, 12 + (1 << 16) + (want.nTrain + want.nTest) * want.dim * 8, 'a feature cache');
  } catch {
    return null;
  }
  if (buf.length < 12 || buf.subarray(0, 8).toString('latin1') !== MAGIC) return null;
  const hlen = buf.readUInt32LE(8);
  let head: unknown;
  try {
    head = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8'));
  } catch {
    return null;
  }
  const keys = Object.keys(want) as (keyof CacheHeader)[];
  if (typeof head !== 'object' || head === null || keys.some((k) => (head as Record<string, unknown>)[k] !== want[k])) return null;
  const off = 12 + hlen;
  const nums = (want.nTrain + want.nTest) * want.dim;
  if (off % 8 !== 0 || buf.length !== off + nums * 8) return null;
  const all = new Float64Array(nums);
  new Uint8Array(all.buffer).set(buf.subarray(off));
  return { train: all.subarray(0, want.nTrain * want.dim), test: all.subarray(want.nTrain * want.dim), dim: want.dim, file, fromCache: true };
}

function writeCache(file: string, head: CacheHeader, train: Float64Array, test: Float64Array): void {
  let json = JSON.stringify(head);
  json += ' '.repeat((8 - ((12 + json.length) % 8)) % 8);
  const pre = Buffer.alloc(12);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(json.length, 8);
  const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileAtomic(file, Buffer.concat([pre, Buffer.from(json, 'latin1'), bytes(train), bytes(test)]));
}

/**
 * The features of every train and test record of `raw`, from the cache when it matches, else
 * computed (on every core) and cached. `warn` hears about a cache that could not be written.
 */
export async function datasetFeatures(raw: RawDataset, kind: FeaturePreprocess['kind'], p: FeatureParams, warn: (line: string) => void = () => {}): Promise<DatasetFeatures> {
  try {
    checkFeatureShape(raw.imageShape);
  } catch (e) {
    throw new ConfigError(`features = ${kind}: ${(e as Error).message}; ${raw.name} has ${raw.imageShape.join('×')} images`);
  }
  const dim = featureDim(raw.imageShape, p);
  const head: CacheHeader = { version: CACHE_VERSION, kind, hueBins: p.hueBins, checksum: datasetChecksum(raw), nTrain: raw.train.n, nTest: raw.test.n, dim };
  const file = featureCacheFile(raw, kind, p);
  const cached = readCache(file, head);
  if (cached) return cached;
  const train = await computeFeatures(raw.train.x, raw.train.n, raw.imageShape, p);
  const test = await computeFeatures(raw.test.x, raw.test.n, raw.imageShape, p);
  try {
    writeCache(file, head, train, test);
    return { train, test, dim, file, fromCache: false };
  } catch (e) {
    warn(`could not cache the features in ${file} (${(e as Error).message}); they will be computed again next time`);
    return { train, test, dim, file: null, fromCache: false };
  }
}

/** Per-column mean (float32, as a checkpoint stores it) and population std of rows [0, n). */
export function featureStats(f: Float64Array, n: number, dim: number): { mean: Float32Array; std: number[] } {
  const acc = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) acc[j] += f[i * dim + j];
  const mean = new Float32Array(dim);
  for (let j = 0; j < dim; j++) mean[j] = acc[j] / n;
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) {
      const d = f[i * dim + j] - mean[j];
      sq[j] += d * d;
    }
  }
  const std = Array.from(sq, (s) => Math.sqrt(s / n) || 1);
  return { mean, std };
}

/** Rows [start, start+count) of features `f`, normalised ((f − mean)/std) as float32, a 1 appended if `bias`; in `alloc`'s memory. */
export function featureRows(f: Float64Array, labels: Uint8Array, start: number, count: number, mean: Float32Array, std: readonly number[], bias: boolean, alloc: Allocator = PLAIN): Rows {
  const d = mean.length;
  const dim = d + (bias ? 1 : 0);
  if ((start + count) * d > f.length) throw new Error(`featureRows: rows ${start}..${start + count} are past the ${f.length / d} there are`);
  const X = alloc.float(Float32Array, count * dim);
  const y = alloc.int32(count);
  for (let i = 0; i < count; i++) {
    const from = (start + i) * d;
    for (let j = 0; j < d; j++) X[i * dim + j] = (f[from + j] - mean[j]) / std[j];
    if (bias) X[i * dim + d] = 1;
    y[i] = labels[start + i];
  }
  return { X: { rows: count, cols: dim, data: X }, y, n: count };
}

/**
 * prepareData for feature rows: the same split, dev rows and memory, but the rows are the
 * normalised features; `mean` is the features' train mean and `preprocess.features` records the
 * kind, the hue bins and the std, so a checkpoint's rows can be rebuilt (featureCheckpointRows).
 */
export async function prepareFeatureData(
  raw: RawDataset,
  split: SplitSizes,
  feat: { kind: FeaturePreprocess['kind']; hueBins: number },
  pre: { bias: boolean; scale: number },
  rng: Rng,
  opts: { shared?: boolean; alloc?: Allocator; warn?: (line: string) => void } = {},
): Promise<{ data: PreparedData; features: DatasetFeatures }> {
  const fs_ = await datasetFeatures(raw, feat.kind, { hueBins: feat.hueBins }, opts.warn);
  const { mean, std } = featureStats(fs_.train, split.numTrain, fs_.dim);
  const sh = opts.shared ? SHARED : (opts.alloc ?? PLAIN);
  const train = featureRows(fs_.train, raw.train.y, 0, split.numTrain, mean, std, pre.bias, sh);
  const val = featureRows(fs_.train, raw.train.y, split.numTrain, split.numVal, mean, std, pre.bias, sh);
  const test = featureRows(fs_.test, raw.test.y, 0, split.numTest, mean, std, pre.bias, sh);
  const dev = takeRows(train, rng.choice(split.numTrain, split.numDev));
  const preprocess = { bias: pre.bias, scale: pre.scale, features: { kind: feat.kind, hueBins: feat.hueBins, std } };
  const data = { dataset: raw.name, train, val, test, dev, mean, preprocess, dim: fs_.dim + (pre.bias ? 1 : 0), classes: raw.classes, imageShape: raw.imageShape };
  return { data, features: fs_ };
}

/** The rows of split `which` of a features run, rebuilt from its checkpoint's preprocessing and mean. */
export async function featureCheckpointRows(
  raw: RawDataset,
  which: 'train' | 'val' | 'test',
  pre: { bias: boolean; features: FeaturePreprocess },
  split: { numTrain: number; numVal: number; numTest: number },
  mean: Float32Array,
  alloc: Allocator = PLAIN,
): Promise<Rows> {
  const f = await datasetFeatures(raw, pre.features.kind, { hueBins: pre.features.hueBins });
  if (f.dim !== mean.length) throw new ConfigError(`the checkpoint was trained on ${mean.length} features a row, but these images give ${f.dim}`);
  const { numTrain, numVal, numTest } = split;
  if (which === 'test') return featureRows(f.test, raw.test.y, 0, numTest, mean, pre.features.std, pre.bias, alloc);
  return featureRows(f.train, raw.train.y, which === 'train' ? 0 : numTrain, which === 'train' ? numTrain : numVal, mean, pre.features.std, pre.bias, alloc);
}

/**
 * checkpointRows for any run: the pixel rows, or for a features run (its preprocessing has
 * `features`) the feature rows, rebuilt with the checkpoint's mean and std.
 */
export async function rowsOfCheckpoint(raw: RawDataset, which: 'train' | 'val' | 'test', h: CheckpointData, mean: Float32Array, origin: string, alloc: Allocator = PLAIN): Promise<Rows> {
  const f = h.preprocess.features;
  if (!f) return checkpointRows(raw, which, h, mean, origin, alloc);
  return featureCheckpointRows(raw, which, { bias: h.preprocess.bias, features: f }, h.split, mean, alloc);
}
