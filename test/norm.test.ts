/**
 * Batch norm, layer norm and dropout layers (src/layers/batchnorm.ts, layernorm.ts, dropout.ts):
 * - against cs231n's layers.py in numpy float64 on linspace inputs (fixtures/norm.json, written
 *   by fixtures/norm_reference.py), absolute tolerance 1e-12;
 * - centered-difference gradient checks in float64 (h = 1e-5, random dout, Σ out·dout), judged
 *   with the project's judgedError at threshold 1e-7 (linalg/gradcheck.ts: cs231n's rel_error
 *   with its floor raised to the centred difference's own error δ, estimated from steps h/2, h, 2h);
 * - the step-by-step batch norm backward against the closed form;
 * - BatchNormalization.ipynb's statistics checks: after train mode each feature has mean β and
 *   std γ (0 and 1 by default); after 50 train-mode passes, test mode gives means near β and
 *   stds near γ;
 * - dropout: the keep fraction, inverted scaling, identity in test mode, a fixed seed's fixed mask;
 * - the sandwiches affine → batch norm → ReLU and affine → layer norm → ReLU (affine_norm_relu.ts):
 *   gradient checks, and the same numbers as the layers one by one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { NOISE_FACTOR, judgedError, numericGradientArray } from '../src/linalg/gradcheck.js';
import { matmul } from '../src/linalg/matmul.js';
import { type BatchnormParam, batchnormBackward, batchnormBackwardAlt, batchnormForward } from '../src/layers/batchnorm.js';
import { layernormBackward, layernormForward } from '../src/layers/layernorm.js';
import { dropoutBackward, dropoutForward } from '../src/layers/dropout.js';
import { affineBnReluBackward, affineBnReluForward, affineLnReluBackward, affineLnReluForward } from '../src/layers/affine_norm_relu.js';
import { affineBackward, affineForward } from '../src/layers/affine.js';
import { reluBackward, reluForward } from '../src/layers/relu.js';
import { assertClose, randnMat } from './helpers.js';

const H = 1e-5; // centered-difference step (float64)
const TOL = 1e-7; // judged relative error allowed (float64)
const REF_TOL = 1e-12; // absolute tolerance against the numpy float64 fixture

const FIX = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/norm.json'), 'utf8')) as Record<string, number[]> & { N: number; D: number };

const mat64 = (rows: number, cols: number, v: ArrayLike<number>): Mat<Float64Array> => ({ rows, cols, data: Float64Array.from(v) });
const randn = (rows: number, cols: number, rng: Rng, std = 1) => randnMat(Float64Array, rows, cols, rng, std);

/**
 * Every coordinate of x: the analytic gradient against the centred difference of Σ f()·dout, each
 * judged by judgedError at TOL with δ = NOISE_FACTOR × the spread of the numeric gradient over
 * steps h/2, h and 2h (as gradCheckSparse estimates it; f's round-off is far below that here).
 */
function assertGrad(t: { diagnostic(s: string): void }, name: string, analytic: ArrayLike<number>, f: () => Mat<Float64Array>, x: Float64Array, dout: Float64Array): void {
  const at = [H, H / 2, 2 * H].map((h) => numericGradientArray(f, x, dout, h));
  let worst = 0;
  let worstAt = 0;
  for (let i = 0; i < x.length; i++) {
    const vals = at.map((g) => g[i]);
    const noise = NOISE_FACTOR * (Math.max(...vals) - Math.min(...vals));
    const e = judgedError({ analytic: analytic[i], numeric: at[0][i], noise }, TOL);
    if (!(e <= worst)) {
      worst = e;
      worstAt = i;
    }
  }
  t.diagnostic(`${name}: max judged relative error ${worst.toExponential(2)}`);
  assert.ok(worst < TOL, `${name}: judged relative error ${worst} ≥ ${TOL} at [${worstAt}] (analytic ${analytic[worstAt]}, numeric ${at[0][worstAt]})`);
}

/** Per column: mean and (uncorrected) std. */
function columnStats(m: Mat): { mean: number[]; std: number[] } {
  const mean: number[] = [];
  const std: number[] = [];
  for (let j = 0; j < m.cols; j++) {
    let s = 0;
    for (let i = 0; i < m.rows; i++) s += m.data[i * m.cols + j];
    const mu = s / m.rows;
    let q = 0;
    for (let i = 0; i < m.rows; i++) q += (m.data[i * m.cols + j] - mu) ** 2;
    mean.push(mu);
    std.push(Math.sqrt(q / m.rows));
  }
  return { mean, std };
}

const freshParam = (D: number, mode: 'train' | 'test' = 'train'): BatchnormParam<Float64Array> => ({
  mode,
  runningMean: { rows: 1, cols: D, data: new Float64Array(D) },
  runningVar: { rows: 1, cols: D, data: new Float64Array(D) },
});

// ---------------------------------------------------------------------------------------------
// against cs231n's numpy

test('batch norm against cs231n layers.py (numpy float64): train-mode out, running averages, backward_alt, then test-mode out (abs 1e-12)', () => {
  const { N, D } = FIX;
  const x = mat64(N, D, FIX.x);
  const gamma = mat64(1, D, FIX.gamma);
  const beta = mat64(1, D, FIX.beta);
  const bn: BatchnormParam<Float64Array> = { mode: 'train', runningMean: mat64(1, D, FIX.runningMean0), runningVar: mat64(1, D, FIX.runningVar0) };
  const { out, cache } = batchnormForward(x, gamma, beta, bn);
  assertClose(out.data, FIX.bnOut, REF_TOL, 'bn train out');
  assertClose(bn.runningMean.data, FIX.bnRunningMean, REF_TOL, 'running mean');
  assertClose(bn.runningVar.data, FIX.bnRunningVar, REF_TOL, 'running var');
  const alt = batchnormBackwardAlt(mat64(N, D, FIX.dout), cache!);
  assertClose(alt.dx.data, FIX.bnDx, REF_TOL, 'bn dx');
  assertClose(alt.dgamma.data, FIX.bnDgamma, REF_TOL, 'bn dgamma');
  assertClose(alt.dbeta.data, FIX.bnDbeta, REF_TOL, 'bn dbeta');
  const graph = batchnormBackward(mat64(N, D, FIX.dout), cache!);
  assertClose(graph.dx.data, FIX.bnDx, REF_TOL, 'bn dx (graph)');
  const test_ = batchnormForward(x, gamma, beta, { ...bn, mode: 'test' });
  assert.equal(test_.cache, null);
  assertClose(test_.out.data, FIX.bnTestOut, REF_TOL, 'bn test out');
});

test('layer norm against cs231n layers.py (numpy float64): out and backward (abs 1e-12)', () => {
  const { N, D } = FIX;
  const { out, cache } = layernormForward(mat64(N, D, FIX.x), mat64(1, D, FIX.gamma), mat64(1, D, FIX.beta));
  assertClose(out.data, FIX.lnOut, REF_TOL, 'ln out');
  const g = layernormBackward(mat64(N, D, FIX.dout), cache);
  assertClose(g.dx.data, FIX.lnDx, REF_TOL, 'ln dx');
  assertClose(g.dgamma.data, FIX.lnDgamma, REF_TOL, 'ln dgamma');
  assertClose(g.dbeta.data, FIX.lnDbeta, REF_TOL, 'ln dbeta');
});

// ---------------------------------------------------------------------------------------------
// gradient checks (float64)

test('batch norm: gradient check dx, dgamma, dbeta of both backwards (float64, h=1e-5, judged < 1e-7), and the graph backward equals the closed form', (t) => {
  const rng = new Rng(231);
  const N = 4;
  const D = 5;
  const x = randn(N, D, rng, 5);
  for (let i = 0; i < x.data.length; i++) x.data[i] += 12; // the notebook's x = 5·randn + 12
  const gamma = randn(1, D, rng);
  const beta = randn(1, D, rng);
  const dout = randn(N, D, rng);
  const before = [x, gamma, beta, dout].map((m) => Array.from(m.data));
  const { cache } = batchnormForward(x, gamma, beta, freshParam(D));
  const graph = batchnormBackward(dout, cache!);
  const alt = batchnormBackwardAlt(dout, cache!);
  assert.deepEqual(
    [x, gamma, beta, dout].map((m) => Array.from(m.data)),
    before,
    'backward changes none of its inputs',
  );
  const f = () => batchnormForward(x, gamma, beta, freshParam(D)).out;
  for (const [which, g] of [
    ['graph', graph],
    ['alt', alt],
  ] as const) {
    assertGrad(t, `bn ${which} dx`, g.dx.data, f, x.data, dout.data);
    assertGrad(t, `bn ${which} dgamma`, g.dgamma.data, f, gamma.data, dout.data);
    assertGrad(t, `bn ${which} dbeta`, g.dbeta.data, f, beta.data, dout.data);
  }
  // cs231n prints the difference of the two backwards (~1e-13); here each entry agrees to 1e-12 of the largest.
  for (const k of ['dx', 'dgamma', 'dbeta'] as const) {
    const scale = Math.max(...Array.from(graph[k].data, Math.abs));
    assertClose(alt[k].data, Array.from(graph[k].data), 1e-12 * scale, `closed form ${k} vs graph`);
  }
});

test('layer norm: gradient check dx, dgamma, dbeta (float64, h=1e-5, judged < 1e-7)', (t) => {
  const rng = new Rng(232);
  const x = randn(4, 5, rng, 5);
  for (let i = 0; i < x.data.length; i++) x.data[i] += 12;
  const gamma = randn(1, 5, rng);
  const beta = randn(1, 5, rng);
  const dout = randn(4, 5, rng);
  const { cache } = layernormForward(x, gamma, beta);
  const g = layernormBackward(dout, cache);
  const f = () => layernormForward(x, gamma, beta).out;
  assertGrad(t, 'ln dx', g.dx.data, f, x.data, dout.data);
  assertGrad(t, 'ln dgamma', g.dgamma.data, f, gamma.data, dout.data);
  assertGrad(t, 'ln dbeta', g.dbeta.data, f, beta.data, dout.data);
});

test('dropout: gradient check dx with the mask fixed by its seed (float64, h=1e-5, judged < 1e-7), for keep 0.25, 0.5, 0.75 and 1', (t) => {
  const rng = new Rng(233);
  const x = randn(10, 10, rng);
  for (const p of [0.25, 0.5, 0.75, 1]) {
    const param = { p, mode: 'train', seed: 123 } as const;
    const dout = randn(10, 10, rng);
    const { out, cache } = dropoutForward(x, param);
    const dx = dropoutBackward(dout, cache);
    const f = () => dropoutForward(x, param).out;
    assert.deepEqual(Array.from(f().data), Array.from(out.data), 'a fixed seed gives the same mask on every call');
    assertGrad(t, `dropout p=${p} dx`, dx.data, f, x.data, dout.data);
  }
});

// ---------------------------------------------------------------------------------------------
// BatchNormalization.ipynb's statistics checks

/** The notebook's data: a = max(0, X·W1)·W2 with X (N,D1), W1 (D1,D2), W2 (D2,D3) all randn. */
function notebookBatch<C extends Float32ArrayConstructor | Float64ArrayConstructor>(Ctor: C, W1: Mat, W2: Mat, rng: Rng, N = 200): Mat<InstanceType<C>> {
  const X = randnMat(Ctor, N, W1.rows, rng);
  const h = matmul(X, { ...W1, data: Ctor.from(W1.data) } as Mat<InstanceType<C>>);
  for (let i = 0; i < h.data.length; i++) h.data[i] = Math.max(0, h.data[i]);
  return matmul(h, { ...W2, data: Ctor.from(W2.data) } as Mat<InstanceType<C>>);
}

for (const Ctor of [Float64Array, Float32Array]) {
  const tol = Ctor === Float64Array ? 1e-9 : 2e-5; // relative to the std: float32 rounds each x̂ near 6e-8 and the mean of 200 to ~1e-6
  test(`batch norm (${Ctor.name}): after train mode each feature has mean 0 and std 1, or β and γ when set (within ${tol}·std, with std·√(σ²/(σ²+eps)))`, () => {
    const rng = new Rng(7);
    const [D1, D2, D3] = [50, 60, 3];
    const W1 = randn(D1, D2, rng);
    const W2 = randn(D2, D3, rng);
    const a = notebookBatch(Ctor, W1, W2, rng);
    const before = columnStats(a);
    assert.ok(before.mean.some((m) => Math.abs(m) > 1) && before.std.some((s) => Math.abs(s - 1) > 1), `the input is far from normalized (means ${before.mean}, stds ${before.std})`);
    const cases: [number[], number[]][] = [
      [
        [1, 1, 1],
        [0, 0, 0],
      ],
      [
        [1, 2, 3],
        [11, 12, 13],
      ], // the notebook's
    ];
    for (const [g, b] of cases) {
      const gamma = { rows: 1, cols: D3, data: Ctor.from(g) } as Mat<InstanceType<typeof Ctor>>;
      const beta = { rows: 1, cols: D3, data: Ctor.from(b) } as Mat<InstanceType<typeof Ctor>>;
      const param = { mode: 'train', runningMean: { rows: 1, cols: D3, data: new Ctor(D3) }, runningVar: { rows: 1, cols: D3, data: new Ctor(D3) } } as BatchnormParam<InstanceType<typeof Ctor>>;
      const { out } = batchnormForward(a, gamma, beta, param);
      const after = columnStats(out);
      for (let j = 0; j < D3; j++) {
        const shrink = Math.sqrt(before.std[j] ** 2 / (before.std[j] ** 2 + 1e-5)); // x̂'s std is σ/√(σ² + eps)
        assert.ok(Math.abs(after.mean[j] - b[j]) <= tol * g[j] * 13, `feature ${j}: mean ${after.mean[j]}, expected β = ${b[j]}`);
        assert.ok(Math.abs(after.std[j] - g[j] * shrink) <= tol * g[j], `feature ${j}: std ${after.std[j]}, expected γ = ${g[j]} (·${shrink})`);
      }
    }
  });
}

test('batch norm: after 50 train-mode passes the running averages make test-mode outputs have means near β and stds near γ (notebook check; |mean − β| < 0.2·γ, |std/γ − 1| < 0.15), which the first pass alone does not', () => {
  const rng = new Rng(8);
  const [D1, D2, D3] = [50, 60, 3];
  const W1 = randn(D1, D2, rng);
  const W2 = randn(D2, D3, rng);
  const gamma = mat64(1, D3, [1, 2, 3]);
  const beta = mat64(1, D3, [11, 12, 13]);
  const param = freshParam(D3);
  const testOut = () => {
    const a = notebookBatch(Float64Array, W1, W2, rng);
    return columnStats(batchnormForward(a, gamma, beta, { ...param, mode: 'test' }).out);
  };
  batchnormForward(notebookBatch(Float64Array, W1, W2, rng), gamma, beta, param);
  const early = testOut(); // running var is 0.1·σ² after one pass (it starts at 0, as cs231n's)
  assert.ok(
    early.std.some((s, j) => Math.abs(s / gamma.data[j] - 1) > 0.5),
    `after one pass test mode is still off: stds ${early.std}`,
  );
  for (let t = 1; t < 50; t++) batchnormForward(notebookBatch(Float64Array, W1, W2, rng), gamma, beta, param);
  const s = testOut();
  for (let j = 0; j < D3; j++) {
    assert.ok(Math.abs(s.mean[j] - beta.data[j]) < 0.2 * gamma.data[j], `feature ${j}: test-mode mean ${s.mean[j]}, β ${beta.data[j]}`);
    assert.ok(Math.abs(s.std[j] / gamma.data[j] - 1) < 0.15, `feature ${j}: test-mode std ${s.std[j]}, γ ${gamma.data[j]}`);
  }
});

// ---------------------------------------------------------------------------------------------
// dropout

test("dropout: train mode keeps a fraction p of the units, scaled by 1/p (so the mean is kept), test mode is the identity; the run's Rng gives a new mask each call, a seed the same one", () => {
  const rng = new Rng(9);
  const x = randn(500, 500, rng);
  for (let i = 0; i < x.data.length; i++) x.data[i] += 10; // mean 10
  for (const p of [0.25, 0.4, 0.7]) {
    const { out, cache } = dropoutForward(x, { p, mode: 'train', rng });
    let kept = 0;
    let sum = 0;
    for (let i = 0; i < out.data.length; i++) {
      if (out.data[i] !== 0) {
        kept++;
        assert.equal(out.data[i], x.data[i] * (1 / p));
        assert.equal(cache.mask!.data[i], 1 / p);
      } else assert.equal(cache.mask!.data[i], 0);
      sum += out.data[i];
    }
    const n = out.data.length;
    const sd = Math.sqrt((p * (1 - p)) / n); // binomial std of the kept fraction
    assert.ok(Math.abs(kept / n - p) < 5 * sd, `p ${p}: kept ${kept / n}`);
    assert.ok(Math.abs(sum / n - 10) < 0.1, `p ${p}: train-mode mean ${sum / n}, input mean 10`);
    const t = dropoutForward(x, { p, mode: 'test', rng });
    assert.equal(t.out, x, 'test mode returns x itself');
    assert.equal(t.cache.mask, null);
    const dout = randn(500, 500, rng);
    assert.equal(dropoutBackward(dout, t.cache), dout);
  }
  const small = randn(4, 8, rng);
  const a = dropoutForward(small, { p: 0.5, mode: 'train', rng }).out.data.slice();
  const b = dropoutForward(small, { p: 0.5, mode: 'train', rng }).out.data.slice();
  assert.notDeepEqual(Array.from(a), Array.from(b), "the run's Rng moves on: another mask");
  const s1 = dropoutForward(small, { p: 0.5, mode: 'train', seed: 5, rng }).out.data.slice();
  const s2 = dropoutForward(small, { p: 0.5, mode: 'train', seed: 5 }).out.data.slice();
  assert.deepEqual(Array.from(s1), Array.from(s2), 'a seed fixes the mask (and the Rng is not used)');
  const state = rng.getState();
  dropoutForward(small, { p: 0.5, mode: 'train', seed: 5, rng });
  assert.deepEqual(rng.getState(), state);
  assert.throws(() => dropoutForward(small, { p: 0, mode: 'train', rng }), /p \(the keep probability\) must be in \(0, 1\], got 0/);
  assert.throws(() => dropoutForward(small, { p: 0.5, mode: 'train' }), /needs an rng/);
});

test('the layers write into the buffers they are given and check their shapes', () => {
  const rng = new Rng(10);
  const x = randn(6, 4, rng);
  const gamma = randn(1, 4, rng);
  const beta = randn(1, 4, rng);
  const into = { out: randn(6, 4, rng), xhat: randn(6, 4, rng), stats: randn(3, 4, rng) };
  const r = batchnormForward(x, gamma, beta, freshParam(4), into);
  assert.equal(r.out, into.out);
  assert.equal(r.cache!.xhat, into.xhat);
  const gi = { dx: randn(6, 4, rng), dgamma: randn(1, 4, rng), dbeta: randn(1, 4, rng) };
  const g = batchnormBackwardAlt(randn(6, 4, rng), r.cache!, gi);
  assert.equal(g.dx, gi.dx);
  assert.equal(g.dgamma, gi.dgamma);
  assert.throws(() => batchnormForward(x, randn(1, 3, rng), beta, freshParam(4)), /batchnormForward: gamma has shape \(1,3\).*expected \(1,4\)/);
  assert.throws(() => batchnormForward(x, gamma, beta, freshParam(4), { out: randn(5, 4, rng) }), /into.out is Float64Array \(5,4\), expected Float64Array \(6,4\)/);
  assert.throws(() => batchnormBackwardAlt(randn(6, 3, rng), r.cache!), /batchnormBackwardAlt: dout has shape \(6,3\)/);
  assert.throws(() => layernormForward(x, gamma, randn(2, 4, rng)), /layernormForward: beta has shape \(2,4\)/);
});

// ---------------------------------------------------------------------------------------------
// the norm sandwiches (cs231n layer_utils affine_bn_relu_forward / _backward)

test('affine → batch norm → ReLU and affine → layer norm → ReLU: gradient check dx, dw, db, dgamma, dbeta (float64, h=1e-5, judged < 1e-7)', (t) => {
  const rng = new Rng(233);
  const [N, D, M] = [5, 4, 6];
  const x = randn(N, D, rng);
  const w = randn(D, M, rng);
  const b = randn(1, M, rng);
  const gamma = randn(1, M, rng);
  const beta = randn(1, M, rng, 0.5);
  const dout = randn(N, M, rng);
  const bn = () => affineBnReluForward(x, w, b, gamma, beta, freshParam(M));
  const ln = () => affineLnReluForward(x, w, b, gamma, beta);
  const cases = [
    ['bn', affineBnReluBackward(dout, bn().cache), () => bn().out],
    ['ln', affineLnReluBackward(dout, ln().cache), () => ln().out],
  ] as const;
  for (const [name, g, f] of cases) {
    assert.ok(g.dx !== null);
    assertGrad(t, `affine_${name}_relu dx`, g.dx.data, f, x.data, dout.data);
    assertGrad(t, `affine_${name}_relu dw`, g.dw.data, f, w.data, dout.data);
    assertGrad(t, `affine_${name}_relu dgamma`, g.dgamma.data, f, gamma.data, dout.data);
    assertGrad(t, `affine_${name}_relu dbeta`, g.dbeta.data, f, beta.data, dout.data);
    if (name === 'ln' && g.db !== null) assertGrad(t, 'affine_ln_relu db', g.db.data, f, b.data, dout.data);
  }
  // Batch norm subtracts the batch mean: b has no effect, and its gradient is 0 up to rounding.
  const { db } = cases[0][1];
  assert.ok(db !== null && Math.max(...Array.from(db.data, Math.abs)) < 1e-12, 'affine_bn_relu db is 0');
});

test('the norm sandwiches give the same numbers as affine, the norm and ReLU one by one (float64, exact), and a test-mode batch norm sandwich has no backward', () => {
  const rng = new Rng(234);
  const [N, D, M] = [6, 5, 4];
  const x = randn(N, D, rng);
  const w = randn(D, M, rng);
  const b = randn(1, M, rng);
  const gamma = randn(1, M, rng);
  const beta = randn(1, M, rng);
  const dout = randn(N, M, rng);
  const same = (a: Mat | null, e: Mat | null, what: string) => assert.deepEqual(Array.from(a?.data ?? []), Array.from(e?.data ?? []), what);
  const a = affineForward(x, w, b);
  const sameAffine = (g: { dx: Mat | null; dw: Mat; db: Mat | null }, dz: Mat<Float64Array>, what: string) => {
    const ga = affineBackward(dz, a.cache);
    for (const k of ['dx', 'dw', 'db'] as const) same(g[k], ga[k], `${what}: ${k}`);
  };

  const [pS, pL] = [freshParam(M), freshParam(M)];
  const bnS = affineBnReluForward(x, w, b, gamma, beta, pS);
  const bnL = batchnormForward(affineForward(x, w, b).out, gamma, beta, pL);
  const bnR = reluForward(bnL.out);
  same(bnS.out, bnR.out, 'bn: out');
  same(pS.runningVar, pL.runningVar, 'bn: the running variance');
  assert.ok(bnL.cache !== null);
  const bnG = affineBnReluBackward(dout, bnS.cache);
  const bnN = batchnormBackwardAlt(reluBackward(dout, bnR.cache), bnL.cache);
  sameAffine(bnG, bnN.dx, 'bn');
  same(bnG.dgamma, bnN.dgamma, 'bn: dgamma');
  same(bnG.dbeta, bnN.dbeta, 'bn: dbeta');

  const lnS = affineLnReluForward(x, w, b, gamma, beta);
  const lnL = layernormForward(a.out, gamma, beta);
  const lnR = reluForward(lnL.out);
  same(lnS.out, lnR.out, 'ln: out');
  const lnG = affineLnReluBackward(dout, lnS.cache);
  const lnN = layernormBackward(reluBackward(dout, lnR.cache), lnL.cache);
  sameAffine(lnG, lnN.dx, 'ln');
  same(lnG.dgamma, lnN.dgamma, 'ln: dgamma');
  same(lnG.dbeta, lnN.dbeta, 'ln: dbeta');

  const test = affineBnReluForward(x, w, b, gamma, beta, freshParam(M, 'test'));
  assert.throws(() => affineBnReluBackward(dout, test.cache), /affineBnReluBackward: the forward ran in test mode, which has no backward/);
});
