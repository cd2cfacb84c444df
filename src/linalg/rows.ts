/**
 * The row and elementwise passes the layers make over their (N,M) activations: the bias add, its
 * column sums, ReLU and its backward mask, and bias + ReLU fused. layers/ states the math and
 * calls these; the loops here are written for speed and each computes exactly the plain loop in
 * its doc comment, element by element (the same operations, sums in the same order), so
 * unrolling them changes no result. test/rows.test.ts checks each against its plain loop.
 *
 * ReLU is written without a branch: max(0, v) = (v + |v|)/2, exactly, and dout·[v > 0] with the
 * comparison as 0 or 1. The signs of a layer's inputs are as good as random, so a `v > 0 ? … : …`
 * branch is mispredicted about half the time. (A NaN input gives NaN, so a blow-up is not hidden; a masked negative
 * dout gives −0, which equals 0.)
 */
import type { FloatArray, Mat } from './mat.js';

let scratch64 = new Float64Array(0);

/**
 * A reused float64 work row of at least `n` numbers (its contents are left over from the last
 * user), so a pass that needs one row of float64 intermediates (column sums, a softmax row's
 * exponentials) allocates nothing per call. It is valid until the next call: a caller uses it
 * within one pass and calls nothing in that pass that asks for it too.
 */
export function float64Scratch(n: number): Float64Array {
  if (scratch64.length < n) scratch64 = new Float64Array(n);
  return scratch64;
}

/**
 * m[i,j] += v[j] for every row i, in place (the bias add of an affine layer).
 * m (N,M), v (M)
 */
export function addRowVector(m: Mat, v: FloatArray): void {
  const M = m.cols;
  const o = m.data;
  for (let i = 0; i < m.rows; i++) {
    const row = i * M;
    for (let j = 0; j < M; j++) o[row + j] += v[j];
  }
}

/**
 * out[j] = Σ_i m[i,j], accumulated in float64 whatever the array type, rows added in order (the
 * bias gradient db = Σ_rows dout).
 * m (N,M) → out (M)
 *
 * Plain loop: sums = 0; for i: for j: sums[j] += m[i,j]; out = sums. Here four rows are taken per
 * pass over the sums: each sum still adds its rows one at a time, in row order (the same result),
 * with a quarter of the float64 loads and stores.
 */
export function columnSums(m: Mat, out: FloatArray): void {
  const N = m.rows;
  const M = m.cols;
  const sums = float64Scratch(M);
  sums.fill(0, 0, M);
  const d = m.data;
  let i = 0;
  for (; i + 4 <= N; i += 4) {
    const r0 = i * M;
    const r1 = r0 + M;
    const r2 = r1 + M;
    const r3 = r2 + M;
    for (let j = 0; j < M; j++) {
      let s = sums[j];
      s += d[r0 + j];
      s += d[r1 + j];
      s += d[r2 + j];
      s += d[r3 + j];
      sums[j] = s;
    }
  }
  for (; i < N; i++) {
    const row = i * M;
    for (let j = 0; j < M; j++) sums[j] += d[row + j];
  }
  for (let j = 0; j < M; j++) out[j] = sums[j];
}

/**
 * out[k] = max(0, x[k]), elementwise, as (x + |x|)/2; `out` may be `x` (in place).
 * x (n) → out (n)
 */
export function reluInto(x: FloatArray, out: FloatArray): void {
  for (let k = 0; k < x.length; k++) {
    const v = x[k];
    out[k] = (v + Math.abs(v)) * 0.5; // max(0, v)
  }
}

/**
 * dx[k] = dout[k]·[x[k] > 0], elementwise (ReLU's backward: the gradient passes where the input
 * was positive).
 * dout (n), x (n) → dx (n)
 *
 * Plain loop: for k: dx[k] = dout[k] * +(x[k] > 0). Here four at a time, which V8 runs faster,
 * then the rest.
 */
export function reluBackwardMask(dout: FloatArray, x: FloatArray, dx: FloatArray): void {
  const n = x.length;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    dx[i] = dout[i] * +(x[i] > 0);
    dx[i + 1] = dout[i + 1] * +(x[i + 1] > 0);
    dx[i + 2] = dout[i + 2] * +(x[i + 2] > 0);
    dx[i + 3] = dout[i + 3] * +(x[i + 3] > 0);
  }
  for (; i < n; i++) dx[i] = dout[i] * +(x[i] > 0);
}

/**
 * m[i,j] = max(0, m[i,j] + v[j]), in place: addRowVector then reluInto, in one pass over m, the
 * sum a = m[i,j] + v[j] kept in float64 between the two. That gives the two passes' result bit
 * for bit: rounding to the array type is monotone and keeps 0, so rounding a and then taking
 * max(0, ·) equals taking max(0, a) and then rounding.
 * m (N,M), v (M)
 *
 * Plain loop: for i: for j: a = m[i,j] + v[j]; m[i,j] = (a + |a|)/2. Here four columns at a time,
 * which V8 runs faster, then the rest of the row: one pass over m instead of two.
 */
export function addRowVectorRelu(m: Mat, v: FloatArray): void {
  const M = m.cols;
  const o = m.data;
  for (let i = 0; i < m.rows; i++) {
    const row = i * M;
    let j = 0;
    for (; j + 4 <= M; j += 4) {
      const a0 = o[row + j] + v[j];
      const a1 = o[row + j + 1] + v[j + 1];
      const a2 = o[row + j + 2] + v[j + 2];
      const a3 = o[row + j + 3] + v[j + 3];
      o[row + j] = (a0 + Math.abs(a0)) * 0.5;
      o[row + j + 1] = (a1 + Math.abs(a1)) * 0.5;
      o[row + j + 2] = (a2 + Math.abs(a2)) * 0.5;
      o[row + j + 3] = (a3 + Math.abs(a3)) * 0.5;
    }
    for (; j < M; j++) {
      const a = o[row + j] + v[j];
      o[row + j] = (a + Math.abs(a)) * 0.5;
    }
  }
}

/**
 * out[i] = Σ_j m[i,j]², accumulated in float64 whatever the array type (the ‖x‖² of each row, for
 * the no-loop L2 distances of the kNN classifier). Pixel rows are whole numbers, so the float64
 * sums are exact.
 * m (N,D) → out (N)
 */
export function rowSquaredNorms(m: Mat, out: Float64Array): void {
  const D = m.cols;
  const d = m.data;
  for (let i = 0; i < m.rows; i++) {
    const row = i * D;
    let s = 0;
    for (let j = 0; j < D; j++) s += d[row + j] * d[row + j];
    out[i] = s;
  }
}

/**
 * dist[i,j] = sqrt(max(xx[i] + yy[j] − 2·dist[i,j], 0)), in place: the cross products x·yᵀ that
 * the matmul wrote into `dist` become L2 distances. The sum is taken in float64 (xx and yy are
 * float64), and max(·, 0) clips the small negative values round-off leaves for near-equal rows.
 * dist (M,N), xx (M), yy (N)
 */
export function distancesFromDots(dist: Mat, xx: Float64Array, yy: Float64Array): void {
  const N = dist.cols;
  const o = dist.data;
  for (let i = 0; i < dist.rows; i++) {
    const row = i * N;
    const x = xx[i];
    for (let j = 0; j < N; j++) {
      const s = x + yy[j] - 2 * o[row + j];
      o[row + j] = Math.sqrt((s + Math.abs(s)) * 0.5); // sqrt(max(s, 0)), without a branch
    }
  }
}
