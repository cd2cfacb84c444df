/** Predictions and accuracy over a whole split, in chunks so scores never hold more than `chunk` rows. */
import { argmaxRows, type Mat } from '../linalg/mat.js';
import { softmaxLoss } from '../layers/softmax_loss.js';
import { svmLoss } from '../layers/svm_loss.js';
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

/**
 * Accuracy and the mean data loss (the model's own loss, softmax or SVM, on test-mode scores,
 * without the L2 term) over a whole split, from one forward pass per chunk. The accuracy is the
 * one accuracy() gives: the same scores, the same argmax.
 */
export function evaluate(model: Model<Float32Array>, rows: LabeledRows, ws?: Workspace<Float32Array>, chunk = 1000): { accuracy: number; loss: number } {
  const N = rows.X.rows;
  if (N === 0) return { accuracy: NaN, loss: NaN };
  const dataLoss = model.spec.loss === 'svm' ? svmLoss : softmaxLoss;
  let correct = 0;
  let loss = 0; // Σ over chunks of (chunk's mean loss × its rows)
  for (let s = 0; s < N; s += chunk) {
    const n = Math.min(chunk, N - s);
    const scores = model.loss(rowsView(rows.X, s, n), undefined, ws);
    const y = rows.y.subarray(s, s + n);
    const pred = argmaxRows(scores);
    for (let i = 0; i < n; i++) if (pred[i] === y[i]) correct++;
    loss += dataLoss(scores, y).loss * n;
  }
  return { accuracy: correct / N, loss: loss / N };
}
