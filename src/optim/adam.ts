/**
 * Adam, cs231n optim.adam (defaults: lr 1e-3, β1 0.9, β2 0.999, eps 1e-8), with bias correction;
 * the step count t is incremented before it is used, so the first step has t = 1:
 *
 *   t ← t + 1
 *   m ← β1·m + (1 − β1)·dw           m̂ = m / (1 − β1ᵗ)
 *   v ← β2·v + (1 − β2)·dw²          v̂ = v / (1 − β2ᵗ)
 *   w ← w − lr·m̂ / (√v̂ + eps)
 *
 * One pass over w, dw, m and v (the two corrections are scalars, computed once a step); nothing
 * is allocated per step. t is part of the state: a resume restores it exactly (runs/checkpoint.ts
 * keeps it in the trainer state of last.ckpt).
 */
import type { Allocator } from '../linalg/alloc.js';
import type { AdamCoeffs, Engine } from '../linalg/engines/types.js';
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';

export interface AdamHyper {
  beta1: number;
  beta2: number;
  eps: number;
}

export const ADAM_DEFAULTS = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 } as const;

export interface AdamState<T extends FloatArray = FloatArray> {
  /** First and second moment estimates, one value per parameter; start at 0. */
  m: T;
  v: T;
  /** Steps taken. */
  t: number;
}

/**
 * A fresh state (m = v = 0, t = 0) for `n` parameters; in `alloc`'s memory when given (the
 * engine's, whose threads then share the step: linalg/alloc.ts).
 */
export function adamInit<T extends FloatArray = Float32Array>(n: number, Ctor: FloatArrayCtor = Float32Array, alloc?: Allocator): AdamState<T> {
  const make = (): T => (alloc ? alloc.float(Ctor, n) : new Ctor(n)) as T;
  return { m: make(), v: make(), t: 0 };
}

/**
 * One step in place: w (P), dw (P), the state's m and v (P); t goes up by one. `engine` is the
 * engine the run trains on (optim/rules.ts passes it): its own pass of the loop below runs where
 * it has one (native C, or this loop on every thread of the wasm engines), the same arithmetic per
 * element, so the same bits (test/engine.test.ts).
 */
export function adamStep(w: FloatArray, dw: FloatArray, lr: number, hyper: AdamHyper, state: AdamState, engine?: Pick<Engine, 'adam'>): void {
  const { m, v } = state;
  if (w.length !== dw.length || m.length !== w.length || v.length !== w.length) {
    throw new Error(`adamStep: w has ${w.length} numbers, dw ${dw.length}, m ${m.length}, v ${v.length}`);
  }
  const { beta1, beta2, eps } = hyper;
  const t = ++state.t;
  // m̂ = m/bc1 and v̂ = v/bc2 as products with scalars made once a step: the loop then has one
  // square root and one division per number (the divider is what bounds it, and the form
  // lr·(m/bc1)/(√(v/bc2) + eps) has four; the results agree to rounding, test/optim.test.ts).
  const lrc1 = lr / (1 - Math.pow(beta1, t)); // lr/bc1
  const c2 = 1 / (1 - Math.pow(beta2, t)); //   1/bc2
  const c = { beta1, a1: 1 - beta1, beta2, a2: 1 - beta2, lrc1, c2, eps };
  const f32 = w instanceof Float32Array && dw instanceof Float32Array && m instanceof Float32Array && v instanceof Float32Array;
  if (f32 && engine?.adam) engine.adam(w, dw, m, v, c);
  else adamRange(w, dw, m, v, c, 0, w.length);
}

/**
 * The update over [lo, hi), with the step's scalars c (a1 = 1 − β1, a2 = 1 − β2, lrc1 = lr/bc1,
 * c2 = 1/bc2). m and v are read back after they are stored, rounded to their type.
 */
export function adamRange(w: FloatArray, dw: FloatArray, m: FloatArray, v: FloatArray, c: AdamCoeffs, lo: number, hi: number): void {
  const { beta1, a1, beta2, a2, lrc1, c2, eps } = c;
  for (let i = lo; i < hi; i++) {
    const g = dw[i];
    m[i] = beta1 * m[i] + a1 * g;
    v[i] = beta2 * v[i] + a2 * (g * g);
    w[i] -= (lrc1 * m[i]) / (Math.sqrt(v[i] * c2) + eps);
  }
}
