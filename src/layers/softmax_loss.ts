/**
 * Softmax cross-entropy loss, cs231n `softmax_loss`.
 *
 *   P[i,j] = exp(s[i,j]) / Σ_k exp(s[i,k])
 *   loss   = −(1/N) Σ_i ln P[i, y_i]
 *   dscores[i,j] = (P[i,j] − [j = y_i]) / N
 *
 * Stable form: with m_i = max_k s[i,k] (subtracting it changes nothing mathematically),
 *   ln P[i,y] = (s[i,y] − m_i) − ln Σ_k exp(s[i,k] − m_i)          (log-sum-exp)
 * Every exponent is ≤ 0, so exp never overflows, and the sum is ≥ 1, so its log is finite:
 * a tiny probability gives a large finite loss term instead of ln 0 = −Infinity.
 */
import { type FloatArray, type Mat, checkShape } from '../linalg/mat.js';

/** Class labels, one per row (the same as models' `Labels`; layers do not import models). */
export type LabelArray = Int32Array | Uint8Array;

/**
 * Mean cross-entropy of the softmax of `scores` against labels `y`, and its gradient.
 * scores (N,C), y (N) → loss (scalar), dscores (N,C)
 */
export function softmaxLoss<T extends FloatArray>(scores: Mat<T>, y: LabelArray): { loss: number; dscores: Mat<T> } {
  checkShape('softmaxLoss', 'scores', scores, -1, -1);
  const N = scores.rows;
  const C = scores.cols;
  if (y.length !== N) {
    throw new Error(`softmaxLoss: scores is (${N},${C}) but y has ${y.length} labels; expected one label per row (${N})`);
  }
  if (N === 0 || C === 0) throw new Error(`softmaxLoss: scores is (${N},${C}); need at least one row and one class`);
  for (let i = 0; i < N; i++) {
    const label = y[i];
    if (!Number.isInteger(label) || label < 0 || label >= C) {
      throw new Error(`softmaxLoss: label y[${i}] = ${label} is not a class index in [0, ${C})`);
    }
  }

  const s = scores.data;
  const Ctor = s.constructor as new (n: number) => T;
  const dscores = new Ctor(N * C);
  let loss = 0; // float64 accumulator
  for (let i = 0; i < N; i++) {
    const row = i * C;
    let m = s[row];
    for (let j = 1; j < C; j++) if (s[row + j] > m) m = s[row + j];
    let sumExp = 0;
    for (let j = 0; j < C; j++) sumExp += Math.exp(s[row + j] - m);
    const logSumExp = Math.log(sumExp);
    loss -= s[row + y[i]] - m - logSumExp; // −ln P[i, y_i]
    for (let j = 0; j < C; j++) dscores[row + j] = Math.exp(s[row + j] - m) / sumExp / N; // P[i,j] / N
    dscores[row + y[i]] -= 1 / N;
  }
  return { loss: loss / N, dscores: { rows: N, cols: C, data: dscores } };
}
