/**
 * Numeric gradients by centered differences and relative errors, cs231n `gradient_check.py`.
 *
 *   df/dx_i ≈ (f(x + h·e_i) − f(x − h·e_i)) / 2h           error O(h²) plus round-off O(ε·|f|/h)
 *
 * Run these in Float64Array only: with h = 1e-5 the round-off term is ~1e-16/1e-5 ≈ 1e-11 in
 * float64, but ~1e-7/1e-5 ≈ 1e-2 in float32, which hides any real bug.
 *
 * That round-off is absolute, so a relative error says nothing at a coordinate whose gradient is
 * not much larger than it: a correct gradient of 1e-6 shows a relative error near 1e-5. The
 * verdict (judgedError) is cs231n's rel_error with its 1e-8 floor raised to what the centred
 * difference resolves there: δ/threshold, δ being an estimate of the numeric gradient's own
 * error. Where the gradient is smaller than that, it asks only |a − n| ≤ δ; a wrong gradient
 * still fails wherever the gradient is large enough to tell.
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
  for (let i = 0; i < x.length; i++) grad[i] = partial(f, x, i, h).value;
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
  /** cs231n's rel_error: |a − n| / max(|a| + |n|, 1e-8). */
  relError: number;
  /** δ: how far `numeric` itself may be from the true derivative (see numericError). */
  noise: number;
}

/** Safety factor on the measured error of a centred difference (its largest ratio seen in tests was 1.6). */
export const NOISE_FACTOR = 4;

/**
 * δ, the error of the centred difference at step h: four times the sum of (1) how much it moves
 * between steps h/2, h and 2h (truncation error grows as h², round-off as 1/h, so either shows
 * up as a spread, and so does a kink within 2h) and (2) the round-off of f's last bit, ε·|f|/h.
 */
function numericError(f: () => number, x: Float64Array, i: number, h: number, atH: { value: number; fp: number; fm: number }): number {
  const half = partial(f, x, i, h / 2).value;
  const twice = partial(f, x, i, 2 * h).value;
  const spread = Math.max(atH.value, half, twice) - Math.min(atH.value, half, twice);
  const roundOff = (Number.EPSILON * (Math.abs(atH.fp) + Math.abs(atH.fm))) / (2 * h);
  return NOISE_FACTOR * (spread + roundOff);
}

/**
 * The verdict's error at one coordinate: cs231n's rel_error with the floor of its denominator
 * raised to δ/threshold, the smallest |a| + |n| at which the centred difference resolves a
 * relative error of `threshold`. Below it this is ≤ threshold exactly when |a − n| ≤ δ.
 */
export function judgedError(r: Pick<SparseCheckRow, 'analytic' | 'numeric' | 'noise'>, threshold: number): number {
  const floor = Math.max(REL_ERROR_FLOOR, r.noise / threshold);
  return Math.abs(r.analytic - r.numeric) / Math.max(Math.abs(r.analytic) + Math.abs(r.numeric), floor);
}

/** Whether the gradient at this coordinate is large enough for the centred difference to resolve `threshold`. */
export function isResolved(r: Pick<SparseCheckRow, 'analytic' | 'numeric' | 'noise'>, threshold: number): boolean {
  return Math.abs(r.analytic) + Math.abs(r.numeric) >= r.noise / threshold;
}

/**
 * Compare `analytic` with centered differences at `numChecks` distinct random coordinates of x
 * (all of them if x is shorter), cs231n grad_check_sparse (which draws them at random too, with
 * replacement). Each row also gets δ, the numeric gradient's own error (two more steps, h/2 and
 * 2h). x is restored exactly.
 * x (P), analytic (P) → rows, maxRelError (cs231n rel_error)
 */
export function gradCheckSparse(f: () => number, x: Float64Array, analytic: ArrayLike<number>, numChecks: number, h: number, rng: Rng): { rows: SparseCheckRow[]; maxRelError: number } {
  if (analytic.length !== x.length) {
    throw new Error(`gradCheckSparse: x has ${x.length} entries but analytic has ${analytic.length}`);
  }
  if (!(Number.isInteger(numChecks) && numChecks >= 0)) throw new Error(`gradCheckSparse: numChecks must be an integer ≥ 0, got ${numChecks}`);
  const idx = x.length === 0 ? new Int32Array(0) : rng.choice(x.length, Math.min(numChecks, x.length));
  const rows: SparseCheckRow[] = [];
  let worst = 0;
  for (const index of idx) {
    const atH = partial(f, x, index, h);
    const numeric = atH.value;
    const a = analytic[index];
    const e = relError(a, numeric);
    rows.push({ index, numeric, analytic: a, relError: e, noise: numericError(f, x, index, h, atH) });
    worst = Number.isNaN(e) || Number.isNaN(worst) ? NaN : Math.max(worst, e);
  }
  return { rows, maxRelError: worst };
}

/** (f(x + h·e_i) − f(x − h·e_i)) / 2h, leaving x[i] as it was; with the two values of f. */
function partial(f: () => number, x: Float64Array, i: number, h: number): { value: number; fp: number; fm: number } {
  const old = x[i];
  x[i] = old + h;
  const fp = f();
  x[i] = old - h;
  const fm = f();
  x[i] = old;
  return { value: (fp - fm) / (2 * h), fp, fm };
}
