/**
 * The vector operations training does over every weight: y += α·x (the SGD step), the L2
 * penalty's y += α·x and Σ x² in one pass (axpySumSq), Σ x·y; and the minibatch gather. Over the
 * 1.5 M weights of a CIFAR MLP the passes cost as much as a matrix product, so engines speed them
 * up: the native engine with BLAS (saxpy, dsdot: SIMD, every core) and a memcpy per gathered row
 * (on two threads), the wasm engine by running the JS loops below on every core. Either way the
 * sum is accumulated in float64.
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

/**
 * y += alpha·x and Σ x[i]² (in float64), in one pass over x: the L2 penalty's gradient and value
 * together (layers/l2.ts). An engine with its own fused pass runs it; one with fast axpy and dot
 * does the two; otherwise the JS loop does both in one pass.
 */
export function axpySumSq(alpha: number, x: FloatArray, y: FloatArray): number {
  if (x.length !== y.length) throw new Error(`axpySumSq: x has ${x.length} numbers but y has ${y.length}`);
  const e = getEngine();
  if (x instanceof Float32Array && y instanceof Float32Array) {
    if (e.axpySumSq) return e.axpySumSq(alpha, x, y);
    if (e.axpy && e.dot) {
      const sumSq = e.dot(x, x);
      e.axpy(alpha, x, y);
      return sumSq;
    }
  }
  return axpySumSqRange(alpha, x, y, 0, y.length);
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
 * The indices are checked here; the engine copies (natively one memcpy per row, the rows shared
 * with a helper thread; the wasm engine shares them among its threads), or JS does, one
 * typed-array copy per row.
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

// The loops, over [lo, hi). Unrolled, which V8 runs faster (each element still gets exactly the
// same operations, and sums are added in index order).

/** y[i] += alpha·x[i] for i in [lo, hi). */
export function axpyRange(alpha: number, x: FloatArray, y: FloatArray, lo: number, hi: number): void {
  let i = lo;
  for (; i + 8 <= hi; i += 8) {
    y[i] += alpha * x[i];
    y[i + 1] += alpha * x[i + 1];
    y[i + 2] += alpha * x[i + 2];
    y[i + 3] += alpha * x[i + 3];
    y[i + 4] += alpha * x[i + 4];
    y[i + 5] += alpha * x[i + 5];
    y[i + 6] += alpha * x[i + 6];
    y[i + 7] += alpha * x[i + 7];
  }
  for (; i < hi; i++) y[i] += alpha * x[i];
}

/** y[i] += alpha·x[i] for i in [lo, hi); returns Σ x[i]² over the range, in float64, in index order. */
export function axpySumSqRange(alpha: number, x: FloatArray, y: FloatArray, lo: number, hi: number): number {
  let s = 0;
  let i = lo;
  for (; i + 4 <= hi; i += 4) {
    const v0 = x[i];
    const v1 = x[i + 1];
    const v2 = x[i + 2];
    const v3 = x[i + 3];
    s += v0 * v0;
    s += v1 * v1;
    s += v2 * v2;
    s += v3 * v3;
    y[i] += alpha * v0;
    y[i + 1] += alpha * v1;
    y[i + 2] += alpha * v2;
    y[i + 3] += alpha * v3;
  }
  for (; i < hi; i++) {
    const v = x[i];
    s += v * v;
    y[i] += alpha * v;
  }
  return s;
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
