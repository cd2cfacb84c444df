/**
 * Multiclass SVM (hinge) loss with margin Δ = 1, cs231n `svm_loss`.
 *
 *   forward                                          backward
 *   m[i,j] = max(0, s[i,j] − s[i,y_i] + 1), j ≠ y_i   dscores[i,j]   = [m[i,j] > 0] / N,   j ≠ y_i
 *   loss   = (1/N) Σ_i Σ_{j≠y_i} m[i,j]              dscores[i,y_i] = −(#{j ≠ y_i : m[i,j] > 0}) / N
 *
 * The hinge has a kink where s[i,j] − s[i,y_i] + 1 = 0; there the gradient taken is the one of
 * the flat side (margin > 0 is false), as cs231n does. A numeric gradient check must stay away
 * from those points (cs231n grad_check_sparse: coordinates whose margins are not within h of 0).
 *
 * One example (C scores s, one label y) is the batch N = 1. Same API as softmaxLoss, so a model
 * takes either.
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import { type LabelArray, checkLossInputs } from './softmax_loss.js';

/**
 * Mean hinge loss of `scores` against labels `y`, and its gradient.
 * `into` (N,C), when given, receives dscores (a training loop's buffer; no allocation).
 * scores (N,C), y (N) → loss (scalar), dscores (N,C)
 */
export function svmLoss<T extends FloatArray>(scores: Mat<T>, y: LabelArray, into?: Mat<T>): { loss: number; dscores: Mat<T> } {
  const where = 'svmLoss';
  const dscores = checkLossInputs(where, scores, y, into);
  const N = scores.rows;
  const C = scores.cols;
  const s = scores.data;
  const inv = 1 / N;
  let loss = 0; // float64 accumulator
  for (let i = 0; i < N; i++) {
    const row = i * C;
    const yi = y[i];
    const sy = s[row + yi];
    let active = 0; // classes with a positive margin
    for (let j = 0; j < C; j++) {
      if (j === yi) continue;
      const m = s[row + j] - sy + 1; // Δ = 1
      if (m > 0) {
        loss += m;
        dscores[row + j] = inv;
        active++;
      } else {
        dscores[row + j] = 0;
      }
    }
    dscores[row + yi] = -active * inv;
  }
  return { loss: loss / N, dscores: into ?? { rows: N, cols: C, data: dscores } };
}

/**
 * The smallest |s[i,j] − s[i,y_i] + 1| over j ≠ y_i: how far the scores are from a kink of the
 * hinge. A centred difference that moves a score by less than this sees a smooth function.
 * scores (N,C), y (N) → distance (scalar; Infinity when C = 1)
 */
export function svmKinkDistance(scores: Mat, y: LabelArray): number {
  const C = scores.cols;
  let d = Infinity;
  for (let i = 0; i < scores.rows; i++) {
    const sy = scores.data[i * C + y[i]];
    for (let j = 0; j < C; j++) if (j !== y[i]) d = Math.min(d, Math.abs(scores.data[i * C + j] - sy + 1));
  }
  return d;
}
