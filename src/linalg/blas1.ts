/**
 * The two vector operations training does over every weight: y += α·x (the SGD step, the L2
 * gradient) and Σ x·y (the L2 loss); and the minibatch gather. Over the 1.5 M weights of a CIFAR
 * MLP the passes cost as much as a matrix product, so engines speed them up: the native engine
 * with BLAS (saxpy, dsdot: SIMD, every core) and a memcpy per gathered row, the wasm engine by
 * running the JS loops below on every core. Either way the sum is accumulated in float64.
 */
import { type FloatArray, type Mat, shapeStr } from './mat.js';
import { getEngine } from './matmul.js';

/** y += alpha·x, in place. */
export function axpy(alpha: number, x: FloatArray, y: FloatArray): void {
  if (x.length !== y.length) throw new Error(`axpy: x has ${x.length} numbers but y has ${y.length}`);
  const e = getEngine();
  if (e.axpy && x instanceof Float32Array && y instanceof Float32Array) return e.axpy(alpha, x, y);
  axpyRange(alpha, x, y, 0, y.length);
}

/** Σ x[i]·y[i], accumulated in float64. */
export function dot(x: FloatArray, y: FloatArray): number {
  if (x.length !== y.length) throw new Error(`dot: x has ${x.length} numbers but y has ${y.length}`);
  const e = getEngine();
  if (e.dot && x instanceof Float32Array && y instanceof Float32Array) return e.dot(x, y);
  return dotRange(x, y, 0, x.length);
}

/**
 * dst row i = src row rows[i], for i < rows.length: a minibatch gathered into a reused buffer.
 * The indices are checked here; the engine copies (one memcpy per row natively, the rows shared
 * among the wasm engine's threads), or JS does, one typed-array copy per row.
 * src (R,D), rows (B) of indices in [0, R), dst (≥B, D)
 */
export function gatherRows(src: Mat<Float32Array>, rows: Int32Array, dst: Mat<Float32Array>): void {
  const D = src.cols;
  if (dst.cols !== D || dst.rows < rows.length) throw new Error(`gatherRows: dst ${shapeStr(dst)} cannot hold ${rows.length} rows of ${D}`);
  for (let i = 0; i < rows.length; i++) {
    if (!(rows[i] >= 0 && rows[i] < src.rows)) throw new Error(`gatherRows: row ${rows[i]} is outside src ${shapeStr(src)}`);
  }
  const e = getEngine();
  if (e.gatherRows) return e.gatherRows(src, rows, dst);
  gatherRange(src, rows, dst, 0, rows.length);
}

/** dst row i = src row rows[i] for i in [lo, hi) (indices already checked). */
export function gatherRange(src: Mat<Float32Array>, rows: Int32Array, dst: Mat<Float32Array>, lo: number, hi: number): void {
  const D = src.cols;
  for (let i = lo; i < hi; i++) dst.data.set(src.data.subarray(rows[i] * D, rows[i] * D + D), i * D);
}

/** Whether axpy/dot on `x` run on the engine's own kernels (BLAS, threads) rather than the JS loops. */
export function hasFastBlas1(x: FloatArray): boolean {
  const e = getEngine();
  return x instanceof Float32Array && e.axpy !== undefined && e.dot !== undefined;
}

// The loops, over [lo, hi). Unrolled by four: V8 runs them about 1.5× faster so (each element
// still gets exactly the same operations, in the same order).

/** y[i] += alpha·x[i] for i in [lo, hi). */
export function axpyRange(alpha: number, x: FloatArray, y: FloatArray, lo: number, hi: number): void {
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    y[i] += alpha * x[i];
    y[i + 1] += alpha * x[i + 1];
    y[i + 2] += alpha * x[i + 2];
    y[i + 3] += alpha * x[i + 3];
  }
  for (; i < hi; i++) y[i] += alpha * x[i];
}

/** Σ x[i]·y[i] for i in [lo, hi), in float64, in index order. */
export function dotRange(x: FloatArray, y: FloatArray, lo: number, hi: number): number {
  let s = 0;
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    s += x[i] * y[i];
    s += x[i + 1] * y[i + 1];
    s += x[i + 2] * y[i + 2];
    s += x[i + 3] * y[i + 3];
  }
  for (; i < hi; i++) s += x[i] * y[i];
  return s;
}
