/**
 * Sandwich layer affine → ReLU, cs231n `layer_utils.affine_relu_forward` / `_backward`.
 *
 *   forward:   a = x·w + b,   out = max(0, a)
 *   backward:  da = relu_backward(dout),   (dx, dw, db) = affine_backward(da)
 *
 * Written as the plain composition of the two layers, with their caches nested. (Fusing the
 * bias add into the ReLU pass would save one pass over an (N,M) array, which is noise next to
 * the (N,D)·(D,M) product, so clarity wins.)
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import { type AffineCache, type AffineGrads, affineBackward, affineForward } from './affine.js';
import { type ReluCache, reluBackward, reluForward } from './relu.js';

/** The nested caches of the two layers. */
export interface AffineReluCache<T extends FloatArray = FloatArray> {
  affine: AffineCache<T>;
  /** Its x is the pre-activation a = x·w + b (N,M). */
  relu: ReluCache<T>;
}

/**
 * out = max(0, x·w + b).
 * x (N,D), w (D,M), b (1,M) or null → out (N,M)
 */
export function affineReluForward<T extends FloatArray>(x: Mat<T>, w: Mat<T>, b: Mat<T> | null): { out: Mat<T>; cache: AffineReluCache<T> } {
  const { out: a, cache: affine } = affineForward(x, w, b);
  const { out, cache: relu } = reluForward(a);
  return { out, cache: { affine, relu } };
}

/**
 * Gradients through ReLU then the affine layer; `needDx = false` skips dx.
 * dout (N,M) → dx (N,D) | null, dw (D,M), db (1,M) | null
 */
export function affineReluBackward<T extends FloatArray>(dout: Mat<T>, cache: AffineReluCache<T>, needDx = true, into: { dw?: Mat<T>; db?: Mat<T> } = {}): AffineGrads<T> {
  const da = reluBackward(dout, cache.relu);
  return affineBackward(da, cache.affine, needDx, into);
}
