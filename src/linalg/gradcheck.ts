/**
 * Numeric gradients by centered differences and relative errors, cs231n `gradient_check.py`.
 *
 *   df/dx_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h           error O(h²) plus round-off O(ε·|f|/h)
 *
 * Run these in Float64Array only: with h = 1e-5 the round-off term is ~1e-16/1e-5 ≈ 1e-11 in
 * float64, but ~1e-7/1e-5 ≈ 1e-2 in float32, which hides any real bug.
 */
import type { Mat } from './mat.js';
import type { Rng } from './rng.js';

/** Floor of the denominator in relError, as cs231n's rel_error: max(1e-8, |a|+|b|). */
export const REL_ERROR_FLOOR = 1e-8;

/** |a − b| / max(|a| + |b|, 1e-8). 0 when both are 0. */
export function relError(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a) + Math.abs(b), REL_ERROR_FLOOR);
}

/** max_i relError(analytic[i], numeric[i]); the arrays must have the same length. NaN anywhere gives NaN. */
export function maxRelError(analytic: ArrayLike<number>, numeric: ArrayLike<number>): number {
  if (analytic.length !== numeric.length) {
    throw new Error(`maxRelError: analytic has ${analytic.length} entries but numeric has ${numeric.length}`);
  }
  let worst = 0;
  for (let i = 0; i < analytic.length; i++) {
    const e = relError(analytic[i], numeric[i]);
    if (Number.isNaN(e)) return NaN;
    if (e > worst) worst = e;
  }
  return worst;
}

/**
 * Gradient of a scalar function of `x` by centered differences. `f` reads `x` (e.g. a model's
 * parameter buffer); each entry is nudged by ±h and restored exactly afterwards.
 * x (P) → grad (P)
 */
export function numericGradient(f: () => number, x: Float64Array, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) grad[i] = partial(f, x, i, h);
  return grad;
}

/**
 * Gradient of Σ_k out_k·dout_k with respect to `x`, where out = f() reads `x`: the numeric
 * counterpart of a layer's backward pass given upstream gradient `dout` (cs231n
 * eval_numerical_gradient_array). Each entry of x is restored exactly afterwards.
 * x (P), dout (same length as f's output) → dx (P)
 */
export function numericGradientArray(f: () => Float64Array | Mat<Float64Array>, x: Float64Array, dout: Float64Array, h = 1e-5): Float64Array {
  const grad = new Float64Array(x.length);
  const outOf = () => {
    const r = f();
    const data = r instanceof Float64Array ? r : r.data;
    if (data.length !== dout.length) {
      throw new Error(`numericGradientArray: f returns ${data.length} numbers but dout has ${dout.length}`);
    }
    return data.slice(); // f may hand back a buffer it reuses
  };
  for (let i = 0; i < x.length; i++) {
    const old = x[i];
    x[i] = old + h;
    const pos = outOf();
    x[i] = old - h;
    const neg = outOf();
    x[i] = old;
    let s = 0;
    for (let k = 0; k < dout.length; k++) s += (pos[k] - neg[k]) * dout[k];
    grad[i] = s / (2 * h);
  }
  return grad;
}

export interface SparseCheckRow {
  /** Index into x. */
  index: number;
  numeric: number;
  analytic: number;
  relError: number;
}

/**
 * Compare `analytic` with centered differences at `numChecks` distinct random coordinates of x
 * (all of them if x is shorter), cs231n grad_check_sparse. x is restored exactly.
 * x (P), analytic (P) → rows, maxRelError
 */
export function gradCheckSparse(
  f: () => number,
  x: Float64Array,
  analytic: ArrayLike<number>,
  numChecks: number,
  h: number,
  rng: Rng,
): { rows: SparseCheckRow[]; maxRelError: number } {
  if (analytic.length !== x.length) {
    throw new Error(`gradCheckSparse: x has ${x.length} entries but analytic has ${analytic.length}`);
  }
  if (!(Number.isInteger(numChecks) && numChecks >= 0)) throw new Error(`gradCheckSparse: numChecks must be an integer ≥ 0, got ${numChecks}`);
  const idx = x.length === 0 ? new Int32Array(0) : rng.choice(x.length, Math.min(numChecks, x.length));
  const rows: SparseCheckRow[] = [];
  let worst = 0;
  for (const index of idx) {
    const numeric = partial(f, x, index, h);
    const a = analytic[index];
    const e = relError(a, numeric);
    rows.push({ index, numeric, analytic: a, relError: e });
    worst = Number.isNaN(e) || Number.isNaN(worst) ? NaN : Math.max(worst, e);
  }
  return { rows, maxRelError: worst };
}

/** (f(x + h·e_i) − f(x − h·e_i)) / 2h, leaving x[i] as it was. */
function partial(f: () => number, x: Float64Array, i: number, h: number): number {
  const old = x[i];
  x[i] = old + h;
  const fp = f();
  x[i] = old - h;
  const fm = f();
  x[i] = old;
  return (fp - fm) / (2 * h);
}
