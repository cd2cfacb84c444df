/**
 * Layer normalization, cs231n `layernorm_forward` / `layernorm_backward` (layers.py): batch norm
 * turned sideways, one mean and variance per example (row) over its D features, the same in
 * train and test mode (no running statistics).
 *
 *   μ_i = (1/D)·Σ_j x_ij     σ²_i = (1/D)·Σ_j (x_ij − μ_i)²     x̂_i = (x_i − μ_i)/√(σ²_i + eps)
 *   out_ij = γ_j·x̂_ij + β_j                                      (eps = 1e-5)
 *
 * Backward: batch norm's closed form (batchnorm.ts batchnormBackwardAlt) along each row, with the
 * per-feature γ inside:
 *   dβ_j = Σ_i dout_ij     dγ_j = Σ_i dout_ij·x̂_ij     dx̂_ij = dout_ij·γ_j
 *   dx_ij = (1/√(σ²_i + eps))/D · (D·dx̂_ij − Σ_k dx̂_ik − x̂_ij·Σ_k dx̂_ik·x̂_ik)
 *
 * A row is contiguous, so each pass reads a row while it is in cache: the forward and the
 * backward each go over the arrays once, row by row, and allocate nothing with `into`.
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import { checkShape } from '../linalg/mat.js';
import { float64Scratch } from '../linalg/rows.js';
import { type NormGrads, type NormGradsInto, checkNormInputs, intoOrNew } from './batchnorm.js';

export const LN_EPS = 1e-5;

/** What forward saves for backward. */
export interface LayernormCache<T extends FloatArray = FloatArray> {
  /** x̂ (N,D). */
  xhat: Mat<T>;
  /** γ (1,D). */
  gamma: Mat<T>;
  /** 1/√(σ²_i + eps) per row, (N,1). */
  invStd: Mat<T>;
}

/** Where the forward writes: out (N,D), x̂ (N,D), invStd (N,1). */
export interface LayernormInto<T extends FloatArray = FloatArray> {
  out?: Mat<T>;
  xhat?: Mat<T>;
  invStd?: Mat<T>;
}

/**
 * Layer norm forward (train and test mode alike).
 * x (N,D), gamma (1,D), beta (1,D) → out (N,D)
 */
export function layernormForward<T extends FloatArray>(x: Mat<T>, gamma: Mat<T>, beta: Mat<T>, lnParam: { eps?: number } = {}, into: LayernormInto<T> = {}): { out: Mat<T>; cache: LayernormCache<T> } {
  const { rows: N, cols: D } = x;
  checkNormInputs('layernormForward', x, gamma, beta);
  if (D < 1) throw new Error('layernormForward: x needs at least one column');
  const eps = lnParam.eps ?? LN_EPS;
  const out = intoOrNew('layernormForward', 'into.out', into.out, x, N, D);
  const xhat = intoOrNew('layernormForward', 'into.xhat', into.xhat, x, N, D);
  const invStd = intoOrNew('layernormForward', 'into.invStd', into.invStd, x, N, 1);
  const xd = x.data;
  const xh = xhat.data;
  const od = out.data;
  const g = gamma.data;
  const b = beta.data;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    let sum = 0;
    for (let j = 0; j < D; j++) sum += xd[o + j];
    const mu = sum / D; //                                   μ_i
    let sq = 0;
    for (let j = 0; j < D; j++) sq += (xd[o + j] - mu) * (xd[o + j] - mu);
    const inv = 1 / Math.sqrt(sq / D + eps); //              1/√(σ²_i + eps)
    invStd.data[i] = inv;
    for (let j = 0; j < D; j++) {
      const v = (xd[o + j] - mu) * inv;
      xh[o + j] = v;
      od[o + j] = g[j] * v + b[j];
    }
  }
  return { out, cache: { xhat, gamma, invStd } };
}

/**
 * Layer norm backward. `into` names where dx, dgamma and dbeta go.
 * dout (N,D) → dx (N,D), dgamma (1,D), dbeta (1,D)
 */
export function layernormBackward<T extends FloatArray>(dout: Mat<T>, cache: LayernormCache<T>, into: NormGradsInto<T> = {}): NormGrads<T> {
  const { xhat, gamma, invStd } = cache;
  const { rows: N, cols: D } = xhat;
  checkShape('layernormBackward', 'dout', dout, N, D);
  if (into.dx?.data === dout.data) throw new Error('layernormBackward: into.dx must not be dout (backward never changes its inputs)');
  const dx = intoOrNew('layernormBackward', 'into.dx', into.dx, xhat, N, D);
  const dgamma = intoOrNew('layernormBackward', 'into.dgamma', into.dgamma, xhat, 1, D);
  const dbeta = intoOrNew('layernormBackward', 'into.dbeta', into.dbeta, xhat, 1, D);
  const dd = dout.data;
  const xh = xhat.data;
  const g = gamma.data;
  const s = float64Scratch(2 * D); // Σ_i dout (dβ) and Σ_i dout·x̂ (dγ), float64
  s.fill(0, 0, 2 * D);
  for (let i = 0; i < N; i++) {
    const o = i * D;
    let s1 = 0; // Σ_k dx̂_ik
    let s2 = 0; // Σ_k dx̂_ik·x̂_ik
    for (let j = 0; j < D; j++) {
      s[j] += dd[o + j];
      s[D + j] += dd[o + j] * xh[o + j];
      const dxh = dd[o + j] * g[j];
      s1 += dxh;
      s2 += dxh * xh[o + j];
    }
    const k = invStd.data[i] / D;
    for (let j = 0; j < D; j++) dx.data[o + j] = k * (D * dd[o + j] * g[j] - s1 - xh[o + j] * s2);
  }
  for (let j = 0; j < D; j++) {
    dbeta.data[j] = s[j];
    dgamma.data[j] = s[D + j];
  }
  return { dx, dgamma, dbeta };
}
