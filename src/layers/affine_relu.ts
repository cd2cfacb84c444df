/**
 * Sandwich layer affine → ReLU, cs231n `layer_utils.affine_relu_forward` / `_backward`.
 *
 *   forward:   a = x·w + b,   out = max(0, a)
 *   backward:  da = dout · [a > 0],   (dx, dw, db) = affine_backward(da)
 *
 * Forward is affine then ReLU with the bias add and the clamp in one pass over the (N,M) product
 * x·w (linalg/rows.ts addRowVectorRelu: the same numbers as affineForward then reluForward, in
 * one pass instead of two). Backward is reluBackward then affineBackward. ReLU's backward
 * only needs the sign of a, and out > 0 exactly where a > 0, so the ReLU's cache holds out itself.
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import { matmul } from '../linalg/matmul.js';
import { addRowVectorRelu, reluInto } from '../linalg/rows.js';
import { type AffineCache, type AffineGrads, type GradsInto, affineBackward, checkAffineInputs } from './affine.js';
import { type ReluCache, reluBackward } from './relu.js';

/** The nested caches of the two layers. */
export interface AffineReluCache<T extends FloatArray = FloatArray> {
  affine: AffineCache<T>;
  /** Its x is the activation out = max(0, a), whose positive entries are a's. */
  relu: ReluCache<T>;
}

/**
 * out = max(0, x·w + b): affine then ReLU, in place in one pass after the product. `into` (N,M),
 * when given, receives out.
 * x (N,D), w (D,M), b (1,M) or null → out (N,M)
 */
export function affineReluForward<T extends FloatArray>(x: Mat<T>, w: Mat<T>, b: Mat<T> | null, into?: Mat<T>): { out: Mat<T>; cache: AffineReluCache<T> } {
  checkAffineInputs('affineReluForward', x, w, b);
  const out = matmul(x, w, into); // (N,D)·(D,M) = (N,M)
  if (b !== null)
    addRowVectorRelu(out, b.data); // out = max(0, out + b): affine's bias add, then ReLU
  else reluInto(out.data, out.data); //              out = max(0, out)
  return { out, cache: { affine: { x, w, hasBias: b !== null }, relu: { x: out } } };
}

/**
 * Gradients through ReLU then the affine layer; `needDx = false` skips dx. `into.da` (N,M) is
 * where the gradient at the pre-activation goes; dx, dw and db as in affineBackward.
 * dout (N,M) → dx (N,D) | null, dw (D,M), db (1,M) | null
 */
export function affineReluBackward<T extends FloatArray>(dout: Mat<T>, cache: AffineReluCache<T>, needDx = true, into: GradsInto<T> & { da?: Mat<T> } = {}): AffineGrads<T> {
  const da = reluBackward(dout, cache.relu, into.da);
  return affineBackward(da, cache.affine, needDx, into);
}
