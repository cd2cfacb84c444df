/**
 * Batch normalization, cs231n `batchnorm_forward` / `batchnorm_backward` / `batchnorm_backward_alt`
 * (layers.py), over the N rows of an (N,D) activation, one mean and variance per feature (column).
 *
 *   train:  μ = (1/N)·Σ_i x_i      σ² = (1/N)·Σ_i (x_i − μ)²       (the uncorrected variance, np.var)
 *           x̂ = (x − μ)/√(σ² + eps)     out = γ·x̂ + β
 *           running_mean = m·running_mean + (1 − m)·μ,  running_var = m·running_var + (1 − m)·σ²
 *   test:   out = γ·(x − running_mean)/√(running_var + eps) + β
 *
 * with eps = 1e-5 and m (momentum) = 0.9, cs231n's defaults. The running statistics start as
 * cs231n's: mean 0 and var 0 (np.zeros); they are updated in place in train mode only.
 *
 * Backward, two ways, which agree (test/norm.test.ts):
 * - batchnormBackward: the computational graph, one node at a time, as a student works it out
 *   (cs231n's batchnorm_backward); clear, and it allocates every intermediate.
 * - batchnormBackwardAlt: the same gradient simplified on paper (batchnorm_backward_alt),
 *     dβ = Σ_i dout_i     dγ = Σ_i dout_i·x̂_i
 *     dx = (γ/√(σ² + eps))/N · (N·dout − dβ − x̂·dγ)
 *   two passes over the arrays and no allocation with `into`: what the MLP uses.
 *
 * The forward is also two passes: float64 sums for the statistics (shifted by the first row, so
 * Σd² − (Σd)²/N does not cancel when the mean is large against the spread), then x̂ and out.
 */
import { float64Scratch } from '../linalg/rows.js';
import { type FloatArray, type Mat, checkShape, shapeStr } from '../linalg/mat.js';

export type NormMode = 'train' | 'test';

/** cs231n's bn_param: mode, eps, momentum and the running statistics (updated in place in train mode). */
export interface BatchnormParam<T extends FloatArray = FloatArray> {
  mode: NormMode;
  /** Default 1e-5. */
  eps?: number;
  /** Default 0.9: running = momentum·running + (1 − momentum)·batch. */
  momentum?: number;
  /** (1,D) running mean. */
  runningMean: Mat<T>;
  /** (1,D) running (uncorrected) variance. */
  runningVar: Mat<T>;
}

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.9;

/** What a train-mode forward saves for backward (none of it is changed by backward). */
export interface BatchnormCache<T extends FloatArray = FloatArray> {
  /** The input x (N,D). */
  x: Mat<T>;
  /** x̂ = (x − μ)/√(σ² + eps), (N,D). */
  xhat: Mat<T>;
  /** γ (1,D). */
  gamma: Mat<T>;
  /** Rows μ, σ² and 1/√(σ² + eps), each (D): a (3,D) matrix. */
  stats: Mat<T>;
  eps: number;
}

/** Where the forward writes: out (N,D), and in train mode x̂ (N,D) and the (3,D) statistics. */
export interface BatchnormInto<T extends FloatArray = FloatArray> {
  out?: Mat<T>;
  xhat?: Mat<T>;
  stats?: Mat<T>;
}

/** Where the backward writes: dx (N,D), dgamma (1,D), dbeta (1,D). */
export interface NormGradsInto<T extends FloatArray = FloatArray> {
  dx?: Mat<T>;
  dgamma?: Mat<T>;
  dbeta?: Mat<T>;
}

export interface NormGrads<T extends FloatArray = FloatArray> {
  dx: Mat<T>;
  dgamma: Mat<T>;
  dbeta: Mat<T>;
}

/**
 * Batch norm forward; `cache` is null in test mode (there is no backward through test mode).
 * x (N,D), gamma (1,D), beta (1,D), bnParam (running mean and var (1,D)) → out (N,D)
 */
export function batchnormForward<T extends FloatArray>(
  x: Mat<T>,
  gamma: Mat<T>,
  beta: Mat<T>,
  bnParam: BatchnormParam<T>,
  into: BatchnormInto<T> = {},
): { out: Mat<T>; cache: BatchnormCache<T> | null } {
  const { rows: N, cols: D } = x;
  checkNormInputs('batchnormForward', x, gamma, beta);
  checkShape('batchnormForward', 'runningMean', bnParam.runningMean, 1, D);
  checkShape('batchnormForward', 'runningVar', bnParam.runningVar, 1, D);
  const eps = bnParam.eps ?? BN_EPS;
  const m = bnParam.momentum ?? BN_MOMENTUM;
  const out = intoOrNew('batchnormForward', 'into.out', into.out, x, N, D);
  const xd = x.data;
  const od = out.data;
  const g = gamma.data;
  const b = beta.data;
  const rm = bnParam.runningMean.data;
  const rv = bnParam.runningVar.data;

  if (bnParam.mode === 'test') {
    // out = γ·(x − running_mean)/√(running_var + eps) + β, as one scale and shift per column.
    const scale = float64Scratch(2 * D);
    for (let j = 0; j < D; j++) {
      scale[j] = g[j] / Math.sqrt(rv[j] + eps);
      scale[D + j] = b[j] - rm[j] * scale[j];
    }
    for (let i = 0; i < N; i++) {
      const o = i * D;
      for (let j = 0; j < D; j++) od[o + j] = xd[o + j] * scale[j] + scale[D + j];
    }
    return { out, cache: null };
  }
  if (bnParam.mode !== 'train') throw new Error(`batchnormForward: mode must be train or test, got ${String(bnParam.mode)}`);
  if (N < 1) throw new Error('batchnormForward: train mode needs at least one row');

  const xhat = intoOrNew('batchnormForward', 'into.xhat', into.xhat, x, N, D);
  const stats = intoOrNew('batchnormForward', 'into.stats', into.stats, x, 3, D);
  const mean = stats.data.subarray(0, D) as T;
  const variance = stats.data.subarray(D, 2 * D) as T;
  const invStd = stats.data.subarray(2 * D, 3 * D) as T;

  // Pass 1: Σd and Σd² per column, d = x − x[0,:] (float64).
  const s = float64Scratch(2 * D);
  s.fill(0, 0, 2 * D);
  for (let i = 0; i < N; i++) {
    const o = i * D;
    for (let j = 0; j < D; j++) {
      const d = xd[o + j] - xd[j];
      s[j] += d;
      s[D + j] += d * d;
    }
  }
  for (let j = 0; j < D; j++) {
    const mu = xd[j] + s[j] / N; //                              μ
    const v = Math.max(0, (s[D + j] - (s[j] * s[j]) / N) / N); // σ² (uncorrected)
    mean[j] = mu;
    variance[j] = v;
    invStd[j] = 1 / Math.sqrt(v + eps);
    rm[j] = m * rm[j] + (1 - m) * mu; //                         running averages
    rv[j] = m * rv[j] + (1 - m) * v;
  }
  // Pass 2: x̂ = (x − μ)·invStd, out = γ·x̂ + β.
  const xh = xhat.data;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    for (let j = 0; j < D; j++) {
      const v = (xd[o + j] - mean[j]) * invStd[j];
      xh[o + j] = v;
      od[o + j] = g[j] * v + b[j];
    }
  }
  return { out, cache: { x, xhat, gamma, stats, eps } };
}

/**
 * Batch norm backward through the computational graph, node by node (cs231n batchnorm_backward).
 * The forward, as a graph:
 *
 *   mu      = 1/N·Σ_i x          (D)        sqrtvar = √(var + eps)   (D)
 *   xmu     = x − mu             (N,D)      ivar    = 1/sqrtvar      (D)
 *   sq      = xmu²               (N,D)      xhat    = xmu·ivar       (N,D)
 *   var     = 1/N·Σ_i sq         (D)        out     = gamma·xhat + beta
 *
 * and each step below takes one node back. Reads clearly; allocates (N,D) arrays freely.
 * dout (N,D) → dx (N,D), dgamma (1,D), dbeta (1,D)
 */
export function batchnormBackward<T extends FloatArray>(dout: Mat<T>, cache: BatchnormCache<T>): NormGrads<T> {
  const { x, xhat, gamma, stats, eps } = cache;
  const { rows: N, cols: D } = x;
  checkShape('batchnormBackward', 'dout', dout, N, D);
  const Ctor = x.data.constructor as new (n: number) => T;
  const mu = stats.data.subarray(0, D);
  const variance = stats.data.subarray(D, 2 * D);
  const at = (i: number, j: number) => i * D + j;

  // Rebuild the forward's intermediates.
  const xmu = new Float64Array(N * D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) xmu[at(i, j)] = x.data[at(i, j)] - mu[j];
  const sqrtvar = new Float64Array(D);
  const ivar = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    sqrtvar[j] = Math.sqrt(variance[j] + eps);
    ivar[j] = 1 / sqrtvar[j];
  }

  // out = gammax + beta:   dbeta = Σ_i dout,  dgammax = dout
  const dbeta = new Ctor(D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) dbeta[j] += dout.data[at(i, j)];
  // gammax = gamma·xhat:   dgamma = Σ_i dgammax·xhat,  dxhat = dgammax·gamma
  const dgamma = new Ctor(D);
  const dxhat = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      dgamma[j] += dout.data[at(i, j)] * xhat.data[at(i, j)];
      dxhat[at(i, j)] = dout.data[at(i, j)] * gamma.data[j];
    }
  }
  // xhat = xmu·ivar:       divar = Σ_i dxhat·xmu,  dxmu1 = dxhat·ivar
  const divar = new Float64Array(D);
  const dxmu1 = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      divar[j] += dxhat[at(i, j)] * xmu[at(i, j)];
      dxmu1[at(i, j)] = dxhat[at(i, j)] * ivar[j];
    }
  }
  // ivar = 1/sqrtvar:      dsqrtvar = −1/sqrtvar² · divar
  const dsqrtvar = new Float64Array(D);
  for (let j = 0; j < D; j++) dsqrtvar[j] = (-1 / (sqrtvar[j] * sqrtvar[j])) * divar[j];
  // sqrtvar = √(var+eps):  dvar = 0.5/√(var+eps) · dsqrtvar
  const dvar = new Float64Array(D);
  for (let j = 0; j < D; j++) dvar[j] = (0.5 / Math.sqrt(variance[j] + eps)) * dsqrtvar[j];
  // var = 1/N·Σ_i sq:      dsq = 1/N · dvar   (every row)
  // sq = xmu²:             dxmu2 = 2·xmu·dsq
  const dxmu2 = new Float64Array(N * D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) dxmu2[at(i, j)] = 2 * xmu[at(i, j)] * (dvar[j] / N);
  // xmu = x − mu:          dx1 = dxmu1 + dxmu2,  dmu = −Σ_i (dxmu1 + dxmu2)
  const dx1 = new Float64Array(N * D);
  const dmu = new Float64Array(D);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < D; j++) {
      dx1[at(i, j)] = dxmu1[at(i, j)] + dxmu2[at(i, j)];
      dmu[j] -= dx1[at(i, j)];
    }
  }
  // mu = 1/N·Σ_i x:        dx2 = 1/N · dmu  (every row);   dx = dx1 + dx2
  const dx = new Ctor(N * D);
  for (let i = 0; i < N; i++) for (let j = 0; j < D; j++) dx[at(i, j)] = dx1[at(i, j)] + dmu[j] / N;

  return { dx: { rows: N, cols: D, data: dx }, dgamma: { rows: 1, cols: D, data: dgamma }, dbeta: { rows: 1, cols: D, data: dbeta } };
}

/**
 * Batch norm backward in closed form (cs231n batchnorm_backward_alt): the same gradient as
 * batchnormBackward, in two passes. `into` names where dx, dgamma and dbeta go (no allocation).
 * dout (N,D) → dx (N,D), dgamma (1,D), dbeta (1,D)
 */
export function batchnormBackwardAlt<T extends FloatArray>(dout: Mat<T>, cache: BatchnormCache<T>, into: NormGradsInto<T> = {}): NormGrads<T> {
  const { x, xhat, gamma, stats } = cache;
  const { rows: N, cols: D } = x;
  checkShape('batchnormBackwardAlt', 'dout', dout, N, D);
  if (into.dx?.data === dout.data) throw new Error('batchnormBackwardAlt: into.dx must not be dout (backward never changes its inputs)');
  const dx = intoOrNew('batchnormBackwardAlt', 'into.dx', into.dx, x, N, D);
  const dgamma = intoOrNew('batchnormBackwardAlt', 'into.dgamma', into.dgamma, x, 1, D);
  const dbeta = intoOrNew('batchnormBackwardAlt', 'into.dbeta', into.dbeta, x, 1, D);
  const dd = dout.data;
  const xh = xhat.data;
  const g = gamma.data;
  const invStd = stats.data.subarray(2 * D, 3 * D);

  // Pass 1: dβ = Σ_i dout, dγ = Σ_i dout·x̂ (float64).
  const s = float64Scratch(3 * D); // [Σ dout | Σ dout·x̂ | γ·invStd/N]
  s.fill(0, 0, 2 * D);
  for (let i = 0; i < N; i++) {
    const o = i * D;
    for (let j = 0; j < D; j++) {
      s[j] += dd[o + j];
      s[D + j] += dd[o + j] * xh[o + j];
    }
  }
  for (let j = 0; j < D; j++) {
    dbeta.data[j] = s[j];
    dgamma.data[j] = s[D + j];
    s[2 * D + j] = (g[j] * invStd[j]) / N; // once per column, not per element (the same number)
  }
  // Pass 2: dx = (γ·invStd/N)·(N·dout − dβ − x̂·dγ).
  const dxd = dx.data;
  for (let i = 0; i < N; i++) {
    const o = i * D;
    for (let j = 0; j < D; j++) dxd[o + j] = s[2 * D + j] * (N * dd[o + j] - s[j] - xh[o + j] * s[D + j]);
  }
  return { dx, dgamma, dbeta };
}

/** x (N,D) with its data; gamma and beta (1,D) of x's array type. Shared with layernorm.ts. */
export function checkNormInputs(where: string, x: Mat, gamma: Mat, beta: Mat): void {
  checkShape(where, 'x', x, -1, -1);
  checkShape(where, 'gamma', gamma, 1, x.cols);
  checkShape(where, 'beta', beta, 1, x.cols);
  for (const [name, m] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (m.data.constructor !== x.data.constructor) throw new Error(`${where}: ${name} is ${m.data.constructor.name} but x is ${x.data.constructor.name}`);
  }
}

/** `m` when given (checked to be (rows,cols) of like's array type), else a fresh zero-filled matrix. */
export function intoOrNew<T extends FloatArray>(where: string, name: string, m: Mat<T> | undefined, like: Mat<T>, rows: number, cols: number): Mat<T> {
  if (m === undefined) {
    const Ctor = like.data.constructor as new (n: number) => T;
    return { rows, cols, data: new Ctor(rows * cols) };
  }
  if (m.rows !== rows || m.cols !== cols || m.data.length !== rows * cols || m.data.constructor !== like.data.constructor) {
    throw new Error(`${where}: ${name} is ${m.data.constructor.name} ${shapeStr(m)}, expected ${like.data.constructor.name} (${rows},${cols})`);
  }
  return m;
}
