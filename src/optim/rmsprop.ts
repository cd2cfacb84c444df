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
import type { Engine } from '../linalg/engines/types.js';
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

/**
 * One step in place: w (P), dw (P), the state's cache (P). `engine`, the engine the run trains on
 * (optim/rules.ts passes it), runs its own pass of the loop below where it has one: the same
 * arithmetic per element, so the same bits.
 */
export function rmspropStep(w: FloatArray, dw: FloatArray, lr: number, hyper: RmspropHyper, state: RmspropState, engine?: Pick<Engine, 'rmsprop'>): void {
  const c = state.cache;
  if (w.length !== dw.length || c.length !== w.length) {
    throw new Error(`rmspropStep: w has ${w.length} numbers, dw ${dw.length}, the cache ${c.length}`);
  }
  const { decayRate: d, eps } = hyper;
  const f32 = w instanceof Float32Array && dw instanceof Float32Array && c instanceof Float32Array;
  if (f32 && engine?.rmsprop) engine.rmsprop(w, dw, c, lr, d, eps);
  else rmspropRange(w, dw, c, lr, d, eps, 0, w.length);
}

/** The update over [lo, hi): c[i] = d·c[i] + (1 − d)·g²;  w[i] −= lr·g / (√c[i] + eps). */
export function rmspropRange(w: FloatArray, dw: FloatArray, c: FloatArray, lr: number, d: number, eps: number, lo: number, hi: number): void {
  const oneMinusD = 1 - d;
  for (let i = lo; i < hi; i++) {
    const g = dw[i];
    c[i] = d * c[i] + oneMinusD * (g * g);
    w[i] -= (lr * g) / (Math.sqrt(c[i]) + eps);
  }
}
