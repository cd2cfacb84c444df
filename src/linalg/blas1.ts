/**
 * The two vector operations training does over every weight: y += α·x (the SGD step, the L2
 * gradient) and Σ x·y (the L2 loss). In JS they are plain loops; the native engine does them
 * with BLAS (saxpy, dsdot), SIMD and on every core, since over 1.5 M weights these passes cost
 * as much as the matrix products. Either way the sum is accumulated in float64.
 */
import type { FloatArray } from './mat.js';
import { getEngine } from './matmul.js';

/** y += alpha·x, in place. */
export function axpy(alpha: number, x: FloatArray, y: FloatArray): void {
  if (x.length !== y.length) throw new Error(`axpy: x has ${x.length} numbers but y has ${y.length}`);
  const e = getEngine();
  if (e.axpy && x instanceof Float32Array && y instanceof Float32Array) return e.axpy(alpha, x, y);
  const n = y.length;
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

/** Σ x[i]·y[i], accumulated in float64. */
export function dot(x: FloatArray, y: FloatArray): number {
  if (x.length !== y.length) throw new Error(`dot: x has ${x.length} numbers but y has ${y.length}`);
  const e = getEngine();
  if (e.dot && x instanceof Float32Array && y instanceof Float32Array) return e.dot(x, y);
  let s = 0;
  const n = x.length;
  for (let i = 0; i < n; i++) s += x[i] * y[i];
  return s;
}

/** Whether axpy/dot on `x` run on the engine's own kernels (BLAS) rather than the JS loops. */
export function hasFastBlas1(x: FloatArray): boolean {
  const e = getEngine();
  return x instanceof Float32Array && e.axpy !== undefined && e.dot !== undefined;
}
