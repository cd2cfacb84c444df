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
import type { Allocator } from '../linalg/alloc.js';
import type { Engine } from '../linalg/engines/types.js';
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';

export const SGD_MOMENTUM_DEFAULTS = { lr: 1e-2, momentum: 0.9 } as const;

export interface SgdMomentumState<T extends FloatArray = FloatArray> {
  /** The velocity, one value per parameter; starts at 0. */
  velocity: T;
}

/** A fresh state (velocity 0) for `n` parameters. */
export function sgdMomentumInit<T extends FloatArray = Float32Array>(n: number, Ctor: FloatArrayCtor = Float32Array, alloc?: Allocator): SgdMomentumState<T> {
  return { velocity: (alloc ? alloc.float(Ctor, n) : new Ctor(n)) as T }; // (alloc: the engine's memory, for its threads)
}

/**
 * One step in place: w (P), dw (P), the state's velocity (P). `engine`, the engine the run trains
 * on (optim/rules.ts passes it), runs its own pass of the loop below where it has one: the same
 * arithmetic per element, so the same bits.
 */
export function sgdMomentumStep(w: FloatArray, dw: FloatArray, lr: number, momentum: number, state: SgdMomentumState, engine?: Pick<Engine, 'sgdMomentum'>): void {
  const v = state.velocity;
  if (w.length !== dw.length || v.length !== w.length) {
    throw new Error(`sgdMomentumStep: w has ${w.length} numbers, dw ${dw.length}, the velocity ${v.length}`);
  }
  const f32 = w instanceof Float32Array && dw instanceof Float32Array && v instanceof Float32Array;
  if (f32 && engine?.sgdMomentum) engine.sgdMomentum(w, dw, v, lr, momentum);
  else sgdMomentumRange(w, dw, v, lr, momentum, 0, w.length);
}

/** The update over [lo, hi): v[i] = μ·v[i] − lr·dw[i];  w[i] += v[i]. */
export function sgdMomentumRange(w: FloatArray, dw: FloatArray, v: FloatArray, lr: number, momentum: number, lo: number, hi: number): void {
  for (let i = lo; i < hi; i++) {
    v[i] = momentum * v[i] - lr * dw[i];
    w[i] += v[i];
  }
}
