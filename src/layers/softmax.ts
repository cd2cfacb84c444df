/**
 * Softmax as a layer of its own, row by row: scores x (N,C) → probabilities p (N,C).
 * (Training uses the fused softmaxLoss in softmax_loss.ts; this layer is the unfused piece, for
 * composing, checking and teaching.)
 *
 *   forward (one row)                         backward (one row, upstream gradient g = dL/dp)
 *   m   = max_k x_k                           J_jk = ∂p_j/∂x_k = p_j·(1{j = k} − p_k)
 *   p_j = e^{x_j − m} / Σ_k e^{x_k − m}       J = diag(p) − p pᵀ          (C×C, symmetric)
 *                                             dx = Jᵀ·g = p ⊙ (g − (g·p))  i.e. dx_k = p_k (g_k − Σ_j g_j p_j)
 *
 * The backward pass is this Jacobian–vector product, O(C) per row: the N×C×C Jacobian is never
 * built. `softmaxJacobian` builds one C×C J, for checks and teaching only.
 *
 * Composed with cross-entropy (g_j = −1{j = y}/(N·p_y)):  g·p = −1/N, so
 *   dx_k = p_k (−1{k = y}/(N·p_y) + 1/N) = (p_k − 1{k = y}) / N,  the fused softmaxLoss gradient.
 */
import { type FloatArray, type Mat, checkShape } from '../linalg/mat.js';

/** What forward saves for backward: the probabilities (the Jacobian needs only p). */
export interface SoftmaxCache<T extends FloatArray = FloatArray> {
  /** p (N,C), the forward output. */
  p: Mat<T>;
}

/**
 * Row-wise softmax, max-shifted so that no exponent is positive.
 * x (N,C) → out (N,C), each row ≥ 0 and summing to 1
 */
export function softmaxForward<T extends FloatArray>(x: Mat<T>): { out: Mat<T>; cache: SoftmaxCache<T> } {
  checkShape('softmaxForward', 'x', x, -1, -1);
  const N = x.rows;
  const C = x.cols;
  if (C === 0 && N > 0) throw new Error(`softmaxForward: x is (${N},0); need at least one class`);
  const s = x.data;
  const Ctor = s.constructor as new (n: number) => T;
  const p = new Ctor(N * C);
  const e = new Float64Array(C); // e^{x_j − m}, in float64 whatever the array type
  for (let i = 0; i < N; i++) {
    const row = i * C;
    let m = s[row];
    for (let j = 1; j < C; j++) if (s[row + j] > m) m = s[row + j];
    let sum = 0;
    for (let j = 0; j < C; j++) {
      e[j] = Math.exp(s[row + j] - m);
      sum += e[j];
    }
    for (let j = 0; j < C; j++) p[row + j] = e[j] / sum;
  }
  const out: Mat<T> = { rows: N, cols: C, data: p };
  return { out, cache: { p: out } };
}

/**
 * dx = Jᵀ·dout per row, with J = diag(p) − p pᵀ:  dx = p ⊙ (dout − Σ_j dout_j p_j).
 * dout (N,C) → dx (N,C)
 */
export function softmaxBackward<T extends FloatArray>(dout: Mat<T>, cache: SoftmaxCache<T>): Mat<T> {
  const { p } = cache;
  checkShape('softmaxBackward', 'dout', dout, p.rows, p.cols);
  if (dout.data.constructor !== p.data.constructor) {
    throw new Error(`softmaxBackward: dout is ${dout.data.constructor.name} but the cached p is ${p.data.constructor.name}`);
  }
  const N = p.rows;
  const C = p.cols;
  const g = dout.data;
  const pd = p.data;
  const Ctor = pd.constructor as new (n: number) => T;
  const dx = new Ctor(N * C);
  for (let i = 0; i < N; i++) {
    const row = i * C;
    let gp = 0; // Σ_j dout_j p_j, in float64
    for (let j = 0; j < C; j++) gp += g[row + j] * pd[row + j];
    for (let j = 0; j < C; j++) dx[row + j] = pd[row + j] * (g[row + j] - gp);
  }
  return { rows: N, cols: C, data: dx };
}

/**
 * The full Jacobian of softmax at one probability vector p (C): J = diag(p) − p pᵀ, (C,C).
 * For checking and teaching only; softmaxBackward never builds it.
 * p (C) → J (C,C), J[j,k] = ∂p_j/∂x_k
 */
export function softmaxJacobian<T extends FloatArray>(p: T): Mat<T> {
  const C = p.length;
  const Ctor = p.constructor as new (n: number) => T;
  const J = new Ctor(C * C);
  for (let j = 0; j < C; j++) {
    for (let k = 0; k < C; k++) J[j * C + k] = (j === k ? p[j] : 0) - p[j] * p[k];
  }
  return { rows: C, cols: C, data: J };
}
