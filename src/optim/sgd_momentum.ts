/**
 * SGD with momentum, cs231n optim.sgd_momentum (defaults: lr 1e-2, momentum 0.9):
 *
 *   v ← μ·v − lr·dw
 *   w ← w + v
 *
 * One pass over w, dw and v; nothing is allocated per step. Generic over Float32Array and
 * Float64Array: with float32 arrays each value is rounded to float32 where it is stored, as the
 * trainer has always done (the bits of existing momentum runs depend on this exact loop).
 */
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';

export const SGD_MOMENTUM_DEFAULTS = { lr: 1e-2, momentum: 0.9 } as const;

export interface SgdMomentumState<T extends FloatArray = FloatArray> {
  /** The velocity, one value per parameter; starts at 0. */
  velocity: T;
}

/** A fresh state (velocity 0) for `n` parameters. */
export function sgdMomentumInit<T extends FloatArray = Float32Array>(n: number, Ctor: FloatArrayCtor = Float32Array): SgdMomentumState<T> {
  return { velocity: new Ctor(n) as T };
}

/** One step in place: w (P), dw (P), the state's velocity (P). */
export function sgdMomentumStep(w: FloatArray, dw: FloatArray, lr: number, momentum: number, state: SgdMomentumState): void {
  const v = state.velocity;
  if (w.length !== dw.length || v.length !== w.length) {
    throw new Error(`sgdMomentumStep: w has ${w.length} numbers, dw ${dw.length}, the velocity ${v.length}`);
  }
  for (let i = 0; i < w.length; i++) {
    v[i] = momentum * v[i] - lr * dw[i];
    w[i] += v[i];
  }
}
