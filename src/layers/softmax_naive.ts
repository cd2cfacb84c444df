/**
 * The linear softmax classifier's loss and gradient, twice: with explicit loops (cs231n
 * `softmax_loss_naive`) and vectorized (cs231n `softmax_loss_vectorized`), so the two can be
 * compared and timed side by side. W (D,C), X (N,D), labels y (N), L2 strength reg.
 *
 *   forward, one example i                      backward, the same example
 *   s_j  = Σ_d x_i[d]·W[d,j]     (s = x_i·W)     ∂L_i/∂s_j = p_j − 1{j = y_i}
 *   m    = max_j s_j
 *   p_j  = e^{s_j − m} / Σ_k e^{s_k − m}         ∂L_i/∂W[:,j] = (p_j − 1{j = y_i})·x_i   (s_j = x_i·W[:,j])
 *   L_i  = −ln p_{y_i}
 *
 *   loss = (1/N) Σ_i L_i + reg·ΣW²               dW = (1/N) Σ_i ∂L_i/∂W + 2·reg·W
 *
 * Vectorized, the same numbers a whole batch at a time:
 *   S = X·W (N,C)     P = softmax rows of S     dS = (P − onehot(y))/N     dW = Xᵀ·dS + 2·reg·W
 *
 * Subtracting the row max m changes no p_j (it cancels between numerator and denominator) but
 * keeps every exponent ≤ 0, so e^{…} never overflows (see softmax_loss.ts).
 */
import { type FloatArray, type Mat, checkShape, shapeStr } from '../linalg/mat.js';
import { matmul } from '../linalg/matmul.js';
import { addL2 } from './l2.js';
import { type LabelArray, checkLabels, softmaxLoss } from './softmax_loss.js';

/** Throw unless W (D,C), X (N,D) and y (N) fit together and share one array type (the SVM's naive/vectorized pair uses it too). */
export function checkInputs(where: string, W: Mat, X: Mat, y: LabelArray): void {
  checkShape(where, 'W', W, -1, -1);
  checkShape(where, 'X', X, -1, W.rows);
  if (X.data.constructor !== W.data.constructor) {
    throw new Error(`${where}: X is ${X.data.constructor.name} but W is ${W.data.constructor.name}`);
  }
  checkLabels(where, y, X.rows, W.cols, `X is ${shapeStr(X)}`);
  if (X.rows === 0 || W.cols === 0) throw new Error(`${where}: X is ${shapeStr(X)} and W is ${shapeStr(W)}; need at least one example and one class`);
}

/**
 * Loss and gradient with explicit loops over examples i and classes j (no matrix product).
 * Sums are accumulated in float64 whatever the array type; dW has the array type of W.
 * W (D,C), X (N,D), y (N) → loss (scalar), dW (D,C)
 */
export function softmaxLossNaive<T extends FloatArray>(W: Mat<T>, X: Mat<T>, y: LabelArray, reg: number): { loss: number; dW: Mat<T> } {
  checkInputs('softmaxLossNaive', W, X, y);
  const N = X.rows;
  const D = X.cols;
  const C = W.cols;
  const w = W.data;
  const x = X.data;
  const grad = new Float64Array(D * C); // Σ_i ∂L_i/∂W, row-major like W
  const s = new Float64Array(C); //       scores of example i
  let loss = 0;

  for (let i = 0; i < N; i++) {
    const xi = i * D;
    // s_j = x_i·W[:,j]
    for (let j = 0; j < C; j++) {
      let sj = 0;
      for (let d = 0; d < D; d++) sj += x[xi + d] * w[d * C + j];
      s[j] = sj;
    }
    // shift by the max, then p_j = e^{s_j} / Σ_k e^{s_k}
    let m = s[0];
    for (let j = 1; j < C; j++) if (s[j] > m) m = s[j];
    const yi = y[i];
    const syShifted = s[yi] - m;
    let sumExp = 0;
    for (let j = 0; j < C; j++) {
      s[j] = Math.exp(s[j] - m); // s now holds e^{s_j − m}
      sumExp += s[j];
    }
    loss -= syShifted - Math.log(sumExp); // −ln p_{y_i}, as log-sum-exp (finite even if p_{y_i} underflows)
    // dW[:,j] += (p_j − 1{j = y_i})·x_i
    for (let j = 0; j < C; j++) {
      const coef = s[j] / sumExp - (j === yi ? 1 : 0);
      for (let d = 0; d < D; d++) grad[d * C + j] += coef * x[xi + d];
    }
  }

  // average over N, add reg·ΣW² and its gradient 2·reg·W
  let sumSq = 0;
  for (let k = 0; k < w.length; k++) sumSq += w[k] * w[k];
  const Ctor = w.constructor as new (n: number) => T;
  const dW = new Ctor(D * C);
  for (let k = 0; k < grad.length; k++) dW[k] = grad[k] / N + 2 * reg * w[k];
  return { loss: loss / N + reg * sumSq, dW: { rows: D, cols: C, data: dW } };
}

/**
 * The same loss and gradient from the vectorized pieces: S = X·W, softmaxLoss, dW = Xᵀ·dS, addL2.
 * W (D,C), X (N,D), y (N) → loss (scalar), dW (D,C)
 */
export function softmaxLossVectorized<T extends FloatArray>(W: Mat<T>, X: Mat<T>, y: LabelArray, reg: number): { loss: number; dW: Mat<T> } {
  checkInputs('softmaxLossVectorized', W, X, y);
  const scores = matmul(X, W); //                             (N,D)·(D,C) = (N,C)
  const { loss, dscores } = softmaxLoss(scores, y); //        dS = (P − onehot(y))/N
  const dW = matmul(X, dscores, undefined, { transA: true }); // (D,N)·(N,C) = (D,C)
  const regLoss = addL2(W, reg, dW); //                         dW += 2·reg·W
  return { loss: loss + regLoss, dW };
}
