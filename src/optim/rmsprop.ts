/**
 * RMSProp, cs231n optim.rmsprop (defaults: lr 1e-2, decay rate 0.99, eps 1e-8):
 *
 *   cache ← d·cache + (1 − d)·dw²
 *   w     ← w − lr·dw / (√cache + eps)
 *
 * eps is added outside the square root, as cs231n and torch.optim.RMSprop do (torch's `alpha` is
 * this decay rate d). One pass over w, dw and the cache; nothing is allocated per step.
 */
import type { Allocator } from '../linalg/alloc.js';
import { rmspropPass } from '../linalg/blas1.js';
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';

export interface RmspropHyper {
  decayRate: number;
  eps: number;
}

export const RMSPROP_DEFAULTS = { lr: 1e-2, decayRate: 0.99, eps: 1e-8 } as const;

export interface RmspropState<T extends FloatArray = FloatArray> {
  /** Moving average of the squared gradient, one value per parameter; starts at 0. */
  cache: T;
}

/** A fresh state (cache 0) for `n` parameters. */
export function rmspropInit<T extends FloatArray = Float32Array>(n: number, Ctor: FloatArrayCtor = Float32Array, alloc?: Allocator): RmspropState<T> {
  return { cache: (alloc ? alloc.float(Ctor, n) : new Ctor(n)) as T }; // (alloc: the engine's memory, for its threads)
}

/** One step in place: w (P), dw (P), the state's cache (P). */
export function rmspropStep(w: FloatArray, dw: FloatArray, lr: number, hyper: RmspropHyper, state: RmspropState): void {
  const c = state.cache;
  if (w.length !== dw.length || c.length !== w.length) {
    throw new Error(`rmspropStep: w has ${w.length} numbers, dw ${dw.length}, the cache ${c.length}`);
  }
  const d = hyper.decayRate;
  const oneMinusD = 1 - d;
  const eps = hyper.eps;
  // Float32: the engine's own pass where it has one (linalg/blas1.ts rmspropPass), this loop's arithmetic, the same bits.
  if (w instanceof Float32Array && dw instanceof Float32Array && c instanceof Float32Array && rmspropPass(w, dw, c, lr, d, eps)) return;
  for (let i = 0; i < w.length; i++) {
    const g = dw[i];
    c[i] = d * c[i] + oneMinusD * (g * g);
    w[i] -= (lr * g) / (Math.sqrt(c[i]) + eps);
  }
}
