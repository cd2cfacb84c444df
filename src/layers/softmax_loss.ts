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
 * a tiny probability gives a large finite loss term instead of ln 0 = −Infinity. The sum is
 * 1 + rest (the max term is e^0), and ln(1 + rest) is taken as log1p(rest), so a loss near 0 keeps
 * its digits too.
 *
 * One example (C scores s, one label y) is the batch N = 1:  loss = −ln p_y,  ds = p − onehot(y).
 */
import { type FloatArray, type Mat, checkShape } from '../linalg/mat.js';
import { float64Scratch } from '../linalg/rows.js';

/** Class labels, one per row (the same as models' `Labels`; layers do not import models). */
export type LabelArray = Int32Array | Uint8Array;

/**
 * Throw unless `y` holds exactly `n` labels, each a class index in [0, c). Messages name both
 * shapes, or the index and the bad value. `what` describes the scores, e.g. "scores is (2,3)".
 */
export function checkLabels(where: string, y: LabelArray, n: number, c: number, what: string): void {
  if (y.length !== n) {
    throw new Error(`${where}: ${what} but y has ${y.length} labels (one label per row of ${n} is needed)`);
  }
  for (let i = 0; i < n; i++) {
    if (y[i] < 0 || y[i] >= c) {
      throw new Error(`${where}: label y[${i}] = ${y[i]} is not a class index in [0, ${c}): out of range for ${c} classes`);
    }
  }
}

/**
 * Mean cross-entropy of the softmax of `scores` against labels `y`, and its gradient.
 * `into` (N,C), when given, receives dscores (a training loop's buffer; no allocation).
 * scores (N,C), y (N) → loss (scalar), dscores (N,C)
 */
export function softmaxLoss<T extends FloatArray>(scores: Mat<T>, y: LabelArray, into?: Mat<T>): { loss: number; dscores: Mat<T> } {
  const where = 'softmaxLoss';
  const dscores = checkLossInputs(where, scores, y, into);
  const N = scores.rows;
  const C = scores.cols;
  const s = scores.data;
  const e = float64Scratch(C); // e^{s_j − m} of the row, in float64, each computed once
  let loss = 0; // float64 accumulator
  for (let i = 0; i < N; i++) {
    const row = i * C;
    const yi = y[i];
    let jMax = 0;
    for (let j = 1; j < C; j++) if (s[row + j] > s[row + jMax]) jMax = j;
    const m = s[row + jMax];
    // Σ_k e^{s_k − m} = 1 + rest (the max term is e^0 = 1); log1p(rest) keeps a loss near 0
    // (a confident, correct row) accurate to the last digits, where ln(1 + rest) would round.
    let rest = 0;
    for (let j = 0; j < C; j++) {
      if (j === jMax) {
        e[j] = 1; // e^0, exactly
      } else {
        e[j] = Math.exp(s[row + j] - m);
        rest += e[j];
      }
    }
    const sumExp = 1 + rest;
    const logSumExp = Math.log1p(rest);
    loss -= s[row + yi] - m - logSumExp; // −ln P[i, y_i]
    for (let j = 0; j < C; j++) dscores[row + j] = e[j] / sumExp / N; // P[i,j] / N
    dscores[row + yi] -= 1 / N;
  }
  return { loss: loss / N, dscores: into ?? { rows: N, cols: C, data: dscores } };
}

/**
 * The checks every data loss makes of (scores, y, into), and the buffer its dscores go to:
 * `into`'s array when given (it must be a separate array of scores' type and shape), else a new one.
 */
export function checkLossInputs<T extends FloatArray>(where: string, scores: Mat<T>, y: LabelArray, into?: Mat<T>): T {
  checkShape(where, 'scores', scores, -1, -1);
  const N = scores.rows;
  const C = scores.cols;
  checkLabels(where, y, N, C, `scores is (${N},${C})`);
  if (N === 0 || C === 0) throw new Error(`${where}: scores is (${N},${C}); need at least one row and one class`);
  const Ctor = scores.data.constructor as new (n: number) => T;
  if (into && (into.rows !== N || into.cols !== C || into.data.length !== N * C || into.data.constructor !== Ctor || into.data === scores.data)) {
    throw new Error(`${where}: into must be a separate ${Ctor.name} (${N},${C}) for dscores, got ${into.data.constructor.name} (${into.rows},${into.cols})`);
  }
  return into?.data ?? new Ctor(N * C);
}
