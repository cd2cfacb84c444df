/**
 * Sandwich layers affine → batch norm → ReLU and affine → layer norm → ReLU, cs231n
 * `layer_utils.affine_bn_relu_forward` / `_backward` (and the layer norm one its FullyConnectedNet
 * asks for):
 *
 *   forward:   a = x·w + b,   z = norm(a; γ, β),   out = max(0, z)
 *   backward:  dz = dout · [z > 0],   (da, dγ, dβ) = norm_backward(dz),   (dx, dw, db) = affine_backward(da)
 *
 * The ReLU runs in place on the norm's output: its backward needs only where z > 0, which is where
 * its output is > 0, so the ReLU's cache holds out itself. Batch norm's backward is the closed form
 * (batchnorm.ts batchnormBackwardAlt).
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import { type AffineCache, type AffineGrads, affineBackward, affineForward } from './affine.js';
import { type BatchnormCache, type BatchnormParam, batchnormBackwardAlt, batchnormForward } from './batchnorm.js';
import { type LayernormCache, layernormBackward, layernormForward } from './layernorm.js';
import { type ReluCache, reluBackward, reluForward } from './relu.js';

/** The nested caches of affine → batch norm → ReLU; `bn` is null after a test-mode forward (no backward through it). */
export interface AffineBnReluCache<T extends FloatArray = FloatArray> {
  affine: AffineCache<T>;
  bn: BatchnormCache<T> | null;
  relu: ReluCache<T>;
}

/** The nested caches of affine → layer norm → ReLU. */
export interface AffineLnReluCache<T extends FloatArray = FloatArray> {
  affine: AffineCache<T>;
  ln: LayernormCache<T>;
  relu: ReluCache<T>;
}

/** Where a norm sandwich's forward writes: a = x·w + b (N,M), out (N,M), x̂ (N,M); batch norm's (3,M) statistics or layer norm's (N,1) 1/σ. */
export interface NormSandwichInto<T extends FloatArray = FloatArray> {
  a?: Mat<T>;
  out?: Mat<T>;
  xhat?: Mat<T>;
  stats?: Mat<T>;
  invStd?: Mat<T>;
}

/** Where a norm sandwich's backward writes: dz and da (N,M), dx (N,D), dw (D,M), db, dgamma, dbeta (1,M). */
export interface NormSandwichGradsInto<T extends FloatArray = FloatArray> {
  dz?: Mat<T>;
  da?: Mat<T>;
  dx?: Mat<T>;
  dw?: Mat<T>;
  db?: Mat<T>;
  dgamma?: Mat<T>;
  dbeta?: Mat<T>;
}

/** The gradients of a norm sandwich: the affine layer's, and γ's and β's. */
export interface NormSandwichGrads<T extends FloatArray = FloatArray> extends AffineGrads<T> {
  dgamma: Mat<T>;
  dbeta: Mat<T>;
}

/**
 * out = max(0, batchnorm(x·w + b)). bnParam's mode says train (batch statistics, running ones
 * updated) or test (running statistics).
 * x (N,D), w (D,M), b (1,M), gamma (1,M), beta (1,M) → out (N,M)
 */
export function affineBnReluForward<T extends FloatArray>(
  x: Mat<T>,
  w: Mat<T>,
  b: Mat<T>,
  gamma: Mat<T>,
  beta: Mat<T>,
  bnParam: BatchnormParam<T>,
  into: NormSandwichInto<T> = {},
): { out: Mat<T>; cache: AffineBnReluCache<T> } {
  const a = affineForward(x, w, b, into.a);
  const bnInto = bnParam.mode === 'train' ? { out: into.out, xhat: into.xhat, stats: into.stats } : { out: into.out };
  const z = batchnormForward(a.out, gamma, beta, bnParam, bnInto);
  const r = reluForward(z.out, z.out); // in place
  return { out: r.out, cache: { affine: a.cache, bn: z.cache, relu: r.cache } };
}

/**
 * Gradients through ReLU, batch norm and the affine layer; `needDx = false` skips dx.
 * dout (N,M) → dx (N,D) | null, dw (D,M), db (1,M), dgamma (1,M), dbeta (1,M)
 */
export function affineBnReluBackward<T extends FloatArray>(dout: Mat<T>, cache: AffineBnReluCache<T>, needDx = true, into: NormSandwichGradsInto<T> = {}): NormSandwichGrads<T> {
  if (cache.bn === null) throw new Error('affineBnReluBackward: the forward ran in test mode, which has no backward');
  const dz = reluBackward(dout, cache.relu, into.dz);
  const n = batchnormBackwardAlt(dz, cache.bn, { dx: into.da, dgamma: into.dgamma, dbeta: into.dbeta });
  const r = affineBackward(n.dx, cache.affine, needDx, into);
  return { ...r, dgamma: n.dgamma, dbeta: n.dbeta };
}

/**
 * out = max(0, layernorm(x·w + b)), the same in train and test mode.
 * x (N,D), w (D,M), b (1,M), gamma (1,M), beta (1,M) → out (N,M)
 */
export function affineLnReluForward<T extends FloatArray>(x: Mat<T>, w: Mat<T>, b: Mat<T>, gamma: Mat<T>, beta: Mat<T>, into: NormSandwichInto<T> = {}): { out: Mat<T>; cache: AffineLnReluCache<T> } {
  const a = affineForward(x, w, b, into.a);
  const z = layernormForward(a.out, gamma, beta, {}, { out: into.out, xhat: into.xhat, invStd: into.invStd });
  const r = reluForward(z.out, z.out); // in place
  return { out: r.out, cache: { affine: a.cache, ln: z.cache, relu: r.cache } };
}

/**
 * Gradients through ReLU, layer norm and the affine layer; `needDx = false` skips dx.
 * dout (N,M) → dx (N,D) | null, dw (D,M), db (1,M), dgamma (1,M), dbeta (1,M)
 */
export function affineLnReluBackward<T extends FloatArray>(dout: Mat<T>, cache: AffineLnReluCache<T>, needDx = true, into: NormSandwichGradsInto<T> = {}): NormSandwichGrads<T> {
  const dz = reluBackward(dout, cache.relu, into.dz);
  const n = layernormBackward(dz, cache.ln, { dx: into.da, dgamma: into.dgamma, dbeta: into.dbeta });
  const r = affineBackward(n.dx, cache.affine, needDx, into);
  return { ...r, dgamma: n.dgamma, dbeta: n.dbeta };
}
