/**
 * The linear multiclass SVM's loss and gradient, twice: with explicit loops (cs231n
 * `svm_loss_naive`) and vectorized (cs231n `svm_loss_vectorized`), so the two can be compared
 * and timed side by side. W (D,C), X (N,D), labels y (N), L2 strength reg.
 *
 *   forward, one example i                        backward, the same example
 *   s_j = Σ_d x_i[d]·W[d,j]      (s = x_i·W)
 *   m_j = s_j − s_{y_i} + 1,  j ≠ y_i             m_j > 0:  ∂L_i/∂W[:,j] += x_i,  ∂L_i/∂W[:,y_i] −= x_i
 *   L_i = Σ_{j≠y_i} max(0, m_j)
 *
 *   loss = (1/N) Σ_i L_i + reg·ΣW²                dW = (1/N) Σ_i ∂L_i/∂W + 2·reg·W
 *
 * Vectorized, the same numbers a whole batch at a time:
 *   S = X·W (N,C)     dS = svm_loss's dscores (see svm_loss.ts)     dW = Xᵀ·dS + 2·reg·W
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import { matmul } from '../linalg/matmul.js';
import { addL2 } from './l2.js';
import type { LabelArray } from './softmax_loss.js';
import { checkInputs } from './softmax_naive.js';
import { svmLoss } from './svm_loss.js';

/**
 * Loss and gradient with explicit loops over examples i and classes j (no matrix product).
 * Sums are accumulated in float64 whatever the array type; dW has the array type of W.
 * W (D,C), X (N,D), y (N) → loss (scalar), dW (D,C)
 */
export function svmLossNaive<T extends FloatArray>(W: Mat<T>, X: Mat<T>, y: LabelArray, reg: number): { loss: number; dW: Mat<T> } {
  checkInputs('svmLossNaive', W, X, y);
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
    const yi = y[i];
    for (let j = 0; j < C; j++) {
      if (j === yi) continue;
      const margin = s[j] - s[yi] + 1; // Δ = 1
      if (margin > 0) {
        loss += margin;
        // dW[:,j] += x_i, dW[:,y_i] −= x_i
        for (let d = 0; d < D; d++) {
          grad[d * C + j] += x[xi + d];
          grad[d * C + yi] -= x[xi + d];
        }
      }
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
 * The same loss and gradient from the vectorized pieces: S = X·W, svmLoss, dW = Xᵀ·dS, addL2.
 * W (D,C), X (N,D), y (N) → loss (scalar), dW (D,C)
 */
export function svmLossVectorized<T extends FloatArray>(W: Mat<T>, X: Mat<T>, y: LabelArray, reg: number): { loss: number; dW: Mat<T> } {
  checkInputs('svmLossVectorized', W, X, y);
  const scores = matmul(X, W); //                             (N,D)·(D,C) = (N,C)
  const { loss, dscores } = svmLoss(scores, y); //            dS: +1/N per active margin, −count/N at y_i
  const dW = matmul(X, dscores, undefined, { transA: true }); // (D,N)·(N,C) = (D,C)
  const regLoss = addL2(W, reg, dW); //                         dW += 2·reg·W
  return { loss: loss + regLoss, dW };
}
