/** Predictions and accuracy over a whole split, in chunks so scores never hold more than `chunk` rows. */
import { argmaxRows, type Mat } from '../linalg/mat.js';
import type { Workspace } from './buffers.js';
import type { Labels, Model } from './model.js';

export interface LabeledRows {
  X: Mat<Float32Array>;
  y: Labels;
}

/** Rows [start, start+count) of X as a view (no copy): (count, D). */
export function rowsView<T extends Float32Array | Float64Array>(X: Mat<T>, start: number, count: number): Mat<T> {
  return { rows: count, cols: X.cols, data: X.data.subarray(start * X.cols, (start + count) * X.cols) as T };
}

/** X (N,D) → predicted class per row (N); the scores in `ws` when given (the trainer's workspace). */
export function predictClasses(model: Model<Float32Array>, X: Mat<Float32Array>, ws?: Workspace<Float32Array>, chunk = 1000): Int32Array {
  const out = new Int32Array(X.rows);
  for (let s = 0; s < X.rows; s += chunk) {
    const n = Math.min(chunk, X.rows - s);
    out.set(argmaxRows(model.loss(rowsView(X, s, n), undefined, ws)), s);
  }
  return out;
}

/** Fraction of rows whose predicted class equals the label. */
export function accuracy(model: Model<Float32Array>, rows: LabeledRows, ws?: Workspace<Float32Array>, chunk = 1000): number {
  if (rows.X.rows === 0) return NaN;
  const pred = predictClasses(model, rows.X, ws, chunk);
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === rows.y[i]) correct++;
  return correct / pred.length;
}
