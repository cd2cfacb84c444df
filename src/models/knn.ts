/**
 * The k-nearest-neighbour classifier of cs231n's knn.ipynb (k_nearest_neighbor.py): "training"
 * stores the training rows as they are (raw pixels, no mean subtracted); a test row gets the
 * majority label of its k nearest training rows in L2 distance, ties between labels going to the
 * smaller label (the notebook's np.argmax(np.bincount(...))), ties between equal distances to the
 * earlier training row (a stable argsort).
 *
 * The distances come in the notebook's three forms, side by side and checked equal in the tests:
 *   distancesTwoLoops  d[i,j] = sqrt(Σ_k (x[i,k] − t[j,k])²), a loop over i and over j
 *   distancesOneLoop   the same, one loop over i, the row's differences to all of t at once
 *   distancesNoLoops   sqrt(‖x‖² + ‖t‖² − 2·x·tᵀ): one product through the matmul seam
 * The no-loop form is the one used. The loop forms sum in float64 (JavaScript numbers), so on
 * pixel rows (whole numbers) they are exact; the no-loop form's product is as exact as the
 * engine's float32 matmul (test/knn.test.ts derives the bound and checks it).
 *
 * Prediction works in chunks of test rows (`chunk` × N distances at a time), so 1,000 test rows
 * against 49,000 training rows never hold a 1,000 × 49,000 matrix, let alone 10,000 × 49,000.
 */
import { type Allocator, PLAIN } from '../linalg/alloc.js';
import { type FloatArray, type FloatArrayCtor, type Mat, checkShape, shapeStr } from '../linalg/mat.js';
import { matmul } from '../linalg/matmul.js';
import { distancesFromDots, rowSquaredNorms } from '../linalg/rows.js';
import type { Labels } from './model.js';

/** What kNN "training" keeps: the rows (not a copy), their labels and their squared norms. */
export interface KnnModel<T extends FloatArray = FloatArray> {
  X: Mat<T>;
  y: Labels;
  /** ‖X[j]‖², float64, for the no-loop distances. */
  norms: Float64Array;
  numClasses: number;
}

/** Distances of at most this many numbers are held at once by knnPredict (64 MB of float32). */
export const DEFAULT_CHUNK_NUMBERS = 1 << 24;

/**
 * Store the training rows. X (N,D), y (N) → model
 */
export function knnTrain<T extends FloatArray>(X: Mat<T>, y: Labels, numClasses: number): KnnModel<T> {
  checkShape('knnTrain', 'X', X, -1, -1);
  if (y.length !== X.rows) throw new Error(`knnTrain: X has ${X.rows} rows but y has ${y.length} labels`);
  if (!(Number.isInteger(numClasses) && numClasses >= 1)) throw new Error(`knnTrain: numClasses must be a positive integer, got ${numClasses}`);
  for (let i = 0; i < y.length; i++) if (!(y[i] >= 0 && y[i] < numClasses)) throw new Error(`knnTrain: label y[${i}] = ${y[i]} is not in [0, ${numClasses})`);
  const norms = new Float64Array(X.rows);
  rowSquaredNorms(X, norms);
  return { X, y, norms, numClasses };
}

function checkPair(where: string, X: Mat, T: Mat): void {
  checkShape(where, 'X', X, -1, T.cols);
  checkShape(where, 'train', T, -1, X.cols);
  if (X.data.constructor !== T.data.constructor) throw new Error(`${where}: X is ${X.data.constructor.name} but train is ${T.data.constructor.name}`);
}

/** A (rows, cols) matrix of the array type of `like`, in `alloc`'s memory (the engine's, so its matmul reads and writes it in place). */
function newLike<T extends FloatArray>(like: T, rows: number, cols: number, alloc: Allocator = PLAIN): Mat<T> {
  return { rows, cols, data: alloc.float(like.constructor as FloatArrayCtor, rows * cols) as T };
}

/**
 * Two loops, over test rows i and training rows j: d[i,j] = sqrt(Σ_k (X[i,k] − T[j,k])²).
 * X (M,D), T (N,D) → d (M,N)
 */
export function distancesTwoLoops<T extends FloatArray>(X: Mat<T>, train: Mat<T>): Mat<T> {
  checkPair('distancesTwoLoops', X, train);
  const { rows: M, cols: D } = X;
  const N = train.rows;
  const out = newLike(X.data, M, N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < D; k++) {
        const diff = X.data[i * D + k] - train.data[j * D + k];
        s += diff * diff;
      }
      out.data[i * N + j] = Math.sqrt(s);
    }
  }
  return out;
}

/**
 * One loop, over test rows i: the squared differences of X[i] to every training row, summed
 * per row (numpy: np.sqrt(np.sum((self.X_train - X[i]) ** 2, axis=1))). The difference rows are
 * made one training row at a time, so no (N,D) temporary is held.
 * X (M,D), T (N,D) → d (M,N)
 */
export function distancesOneLoop<T extends FloatArray>(X: Mat<T>, train: Mat<T>): Mat<T> {
  checkPair('distancesOneLoop', X, train);
  const { rows: M, cols: D } = X;
  const N = train.rows;
  const out = newLike(X.data, M, N);
  const sums = new Float64Array(N);
  const t = train.data;
  for (let i = 0; i < M; i++) {
    const x = X.data.subarray(i * D, (i + 1) * D);
    sums.fill(0);
    for (let j = 0, off = 0; j < N; j++, off += D) {
      let s = 0;
      for (let k = 0; k < D; k++) {
        const diff = t[off + k] - x[k];
        s += diff * diff;
      }
      sums[j] = s;
    }
    for (let j = 0; j < N; j++) out.data[i * N + j] = Math.sqrt(sums[j]);
  }
  return out;
}

/**
 * No loops: d = sqrt(max(‖x‖² + ‖t‖² − 2·X·Tᵀ, 0)), the product through the matmul seam
 * (transB, no transposed copy), the norms and the sum in float64. `trainNorms` are ‖T[j]‖²
 * (computed when left out); `out` receives the distances (allocated when left out).
 * X (M,D), T (N,D), trainNorms (N) → d (M,N)
 */
export function distancesNoLoops<T extends FloatArray>(X: Mat<T>, train: Mat<T>, trainNorms?: Float64Array, out?: Mat<T>): Mat<T> {
  checkPair('distancesNoLoops', X, train);
  let yy = trainNorms;
  if (!yy) {
    yy = new Float64Array(train.rows);
    rowSquaredNorms(train, yy);
  } else if (yy.length !== train.rows) {
    throw new Error(`distancesNoLoops: trainNorms has ${yy.length} entries, train ${shapeStr(train)} has ${train.rows} rows`);
  }
  const xx = new Float64Array(X.rows);
  rowSquaredNorms(X, xx);
  const d = matmul(X, train, out, { transB: true });
  distancesFromDots(d, xx, yy);
  return d;
}

/**
 * The k nearest training rows of each row of `dists`, nearest first; equal distances keep the
 * training order (np.argsort(kind="stable")). k is capped at the number of training rows.
 * dists (M,N) → nearest (M·k), row i's neighbours at [i·k, (i+1)·k)
 */
export function nearestNeighbours(dists: Mat, k: number): { nearest: Int32Array; k: number } {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`nearestNeighbours: k must be a positive integer, got ${k}`);
  const N = dists.cols;
  const kk = Math.min(k, N);
  const nearest = new Int32Array(dists.rows * kk);
  const bestD = new Float64Array(kk);
  const bestI = new Int32Array(kk);
  for (let i = 0; i < dists.rows; i++) {
    const row = i * N;
    let n = 0;
    for (let j = 0; j < N; j++) {
      const d = dists.data[row + j];
      if (n === kk && !(d < bestD[kk - 1])) continue; // a tie with the k-th loses to it: it came first
      let p = n < kk ? n++ : kk - 1;
      while (p > 0 && bestD[p - 1] > d) {
        bestD[p] = bestD[p - 1];
        bestI[p] = bestI[p - 1];
        p--;
      }
      bestD[p] = d;
      bestI[p] = j;
    }
    nearest.set(bestI, i * kk);
  }
  return { nearest, k: kk };
}

/**
 * The majority label among the first k of each row's nearest neighbours, ties to the smaller
 * label (np.argmax(np.bincount(labels, minlength=C))).
 * nearest (M·stride) with stride ≥ k, ytrain (N) → labels (M)
 */
export function voteLabels(nearest: Int32Array, stride: number, k: number, ytrain: Labels, numClasses: number): Int32Array {
  if (!(Number.isInteger(k) && k >= 1 && k <= stride)) throw new Error(`voteLabels: k = ${k} must be in [1, ${stride}] (the neighbours kept per row)`);
  const M = nearest.length / stride;
  const out = new Int32Array(M);
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < M; i++) {
    counts.fill(0);
    for (let q = 0; q < k; q++) counts[ytrain[nearest[i * stride + q]]]++;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (counts[c] > counts[best]) best = c;
    out[i] = best;
  }
  return out;
}

/** Test rows per chunk: as many as keep chunk × N distances within DEFAULT_CHUNK_NUMBERS (at least 1). */
export function chunkRows(numTrain: number, numbers = DEFAULT_CHUNK_NUMBERS): number {
  return Math.max(1, Math.floor(numbers / Math.max(1, numTrain)));
}

/**
 * Predictions for each k in `ks`, from one pass of no-loop distances over X in chunks of
 * `chunk` test rows (the distances of one chunk at a time, (chunk, N), in `alloc`'s memory).
 * X (M,D) → one Int32Array (M) per k
 */
export function knnPredictMany<T extends FloatArray>(model: KnnModel<T>, X: Mat<T>, ks: readonly number[], chunk = chunkRows(model.X.rows), alloc: Allocator = PLAIN): Int32Array[] {
  if (ks.length === 0) throw new Error('knnPredictMany: no k given');
  for (const k of ks) if (!(Number.isInteger(k) && k >= 1 && k <= model.X.rows)) throw new Error(`knnPredictMany: k = ${k} must be a whole number in [1, ${model.X.rows}] (the training rows)`);
  if (!(Number.isInteger(chunk) && chunk >= 1)) throw new Error(`knnPredictMany: chunk must be a positive integer, got ${chunk}`);
  const kMax = Math.max(...ks);
  const M = X.rows;
  const D = X.cols;
  const N = model.X.rows;
  const preds = ks.map(() => new Int32Array(M));
  const buf = newLike(X.data, Math.min(chunk, M), N, alloc);
  for (let s = 0; s < M; s += chunk) {
    const n = Math.min(chunk, M - s);
    const part = { rows: n, cols: D, data: X.data.subarray(s * D, (s + n) * D) as T };
    const d: Mat<T> = { rows: n, cols: N, data: buf.data.subarray(0, n * N) as T };
    distancesNoLoops(part, model.X, model.norms, d);
    const { nearest } = nearestNeighbours(d, kMax);
    ks.forEach((k, q) => preds[q].set(voteLabels(nearest, kMax, k, model.y, model.numClasses), s));
  }
  return preds;
}

/** The majority label of the k nearest training rows of each row of X. X (M,D) → labels (M) */
export function knnPredict<T extends FloatArray>(model: KnnModel<T>, X: Mat<T>, k: number, chunk?: number): Int32Array {
  return knnPredictMany(model, X, [k], chunk)[0];
}

/** Fraction of predictions equal to the labels. */
export function accuracyOf(pred: Int32Array, y: Labels): number {
  let c = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) c++;
  return pred.length ? c / pred.length : NaN;
}

/** Fold boundaries of n rows in `folds` parts, as np.array_split: the first n mod folds parts get one row more. */
export function foldBounds(n: number, folds: number): number[] {
  if (!(Number.isInteger(folds) && folds >= 2 && folds <= n)) throw new Error(`foldBounds: folds must be a whole number in [2, ${n}], got ${folds}`);
  const base = Math.floor(n / folds);
  const extra = n % folds;
  const b = [0];
  for (let f = 0; f < folds; f++) b.push(b[f] + base + (f < extra ? 1 : 0));
  return b;
}

export interface CrossValidation {
  ks: number[];
  /** accuracy[q][f]: k = ks[q], validated on fold f. */
  accuracy: number[][];
  /** Mean over folds, per k. */
  mean: number[];
  /** Population standard deviation over folds, per k (np.std), for the error bars. */
  std: number[];
  /** The k of the highest mean accuracy (the first such k, as max() in the peer). */
  bestK: number;
}

/**
 * The notebook's cross-validation: the training rows split in `folds` consecutive folds
 * (np.array_split); each fold in turn is validated against a kNN that stores the other folds,
 * for every k in `ks` (one distance pass per fold serves them all).
 * X (N,D), y (N)
 */
export function crossValidate<T extends FloatArray>(X: Mat<T>, y: Labels, numClasses: number, folds: number, ks: readonly number[], chunk?: number, alloc: Allocator = PLAIN): CrossValidation {
  const N = X.rows;
  const D = X.cols;
  const b = foldBounds(N, folds);
  const accuracy = ks.map(() => new Array<number>(folds).fill(0));
  // The other folds' rows, gathered into one buffer (the largest "rest" is made once, in alloc's memory).
  const restBuf = newLike(X.data, N - (b[folds] - b[folds - 1]), D, alloc);
  for (let f = 0; f < folds; f++) {
    const lo = b[f];
    const hi = b[f + 1];
    const rest = { rows: N - (hi - lo), cols: D, data: restBuf.data.subarray(0, (N - (hi - lo)) * D) as T };
    rest.data.set(X.data.subarray(0, lo * D), 0);
    rest.data.set(X.data.subarray(hi * D), lo * D);
    const yRest = new Int32Array(N - (hi - lo));
    yRest.set(y.subarray(0, lo), 0);
    yRest.set(y.subarray(hi), lo);
    const model = knnTrain(rest, yRest, numClasses);
    const val = { rows: hi - lo, cols: D, data: X.data.subarray(lo * D, hi * D) as T };
    const preds = knnPredictMany(model, val, ks, chunk ?? chunkRows(rest.rows), alloc);
    preds.forEach((p, q) => (accuracy[q][f] = accuracyOf(p, y.subarray(lo, hi))));
  }
  const mean = accuracy.map((a) => a.reduce((s, v) => s + v, 0) / a.length);
  const std = accuracy.map((a, q) => Math.sqrt(a.reduce((s, v) => s + (v - mean[q]) ** 2, 0) / a.length));
  let best = 0;
  for (let q = 1; q < ks.length; q++) if (mean[q] > mean[best]) best = q;
  return { ks: [...ks], accuracy, mean, std, bestK: ks[best] };
}
