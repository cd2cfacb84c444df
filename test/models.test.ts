/**
 * Models: every parameter's gradient against centered differences in Float64 on tiny nets with
 * reg > 0 (h = 1e-5, max relative error < 1e-7), the initial-loss check (≈ ln C), overfitting
 * 50 examples in Float32 with plain SGD, the cs231n TwoLayerNet reference (float64, 1e-12),
 * and layout checks of createModel / modelFromParams.
 *
 * The TwoLayerNet literals were computed once in exact rational arithmetic (Python fractions,
 * mpmath at 40 digits for exp/log), independently of this code; they agree with the values the
 * cs231n notebook prints (scores 11.53165108…, loss 3.4702243556, and 26.5948426952 for
 * 0.5·1.0·ΣW², which is reg·ΣW² with reg = 0.5 in our convention).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argmaxRows, type FloatArray, type Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { gradCheckSparse, maxRelError, numericGradient } from '../src/linalg/gradcheck.js';
import { createMlp, createModel, createSoftmax, mlpParamSpecs, modelFromParams, paramSpecsFor, softmaxParamSpecs } from '../src/models/index.js';
import type { Labels, Model, ModelSpec } from '../src/models/model.js';
import { createWorkspace } from '../src/models/buffers.js';
import { actPlan } from '../src/models/act_plan.js';
import { type Allocator, PLAIN } from '../src/linalg/alloc.js';
import { allocParams, viewsOf } from '../src/models/params.js';
import { sgdStep } from '../src/optim/sgd.js';
import { randnMat, randomLabels } from './helpers.js';

const H = 1e-5; // centered-difference step (float64)
const TOL = 1e-7; // max relative error allowed for a float64 gradient check

const randn = randnMat;

function withBiasColumn<T extends FloatArray>(X: Mat<T>): Mat<T> {
  for (let i = 0; i < X.rows; i++) X.data[i * X.cols + X.cols - 1] = 1;
  return X;
}

function accuracy<T extends FloatArray>(model: Model<T>, X: Mat<T>, y: Labels): number {
  const pred = argmaxRows(model.loss(X));
  let right = 0;
  for (let i = 0; i < y.length; i++) right += pred[i] === y[i] ? 1 : 0;
  return right / y.length;
}

/** Full centered-difference check of every parameter, reporting the max rel error per parameter. */
function checkAllGrads(t: { diagnostic(s: string): void }, label: string, model: Model<Float64Array>, X: Mat<Float64Array>, y: Labels): void {
  const { grads } = model.loss(X, y);
  const numeric = numericGradient(() => model.loss(X, y).loss, model.params.flat, H);
  const numericViews = viewsOf(model.params.specs, numeric);
  for (const p of model.params.specs) {
    const e = maxRelError(grads.views[p.name].data, numericViews[p.name].data);
    t.diagnostic(`${label} ${p.name} (${p.rows},${p.cols}): max rel error ${e.toExponential(2)}`);
    assert.ok(e < TOL, `${label}: d${p.name} max rel error ${e} ≥ ${TOL}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Gradient checks (float64, h = 1e-5, tol 1e-7)

test('softmax model: gradient of W with reg 0.1, N=3, D=5 (bias column included), C=4 (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(11);
  const model = createSoftmax({ inputDim: 5, numClasses: 4, initStd: 0.5, reg: 0.1, dtype: Float64Array }, rng);
  const X = withBiasColumn(randn(Float64Array, 3, 5, rng));
  checkAllGrads(t, 'softmax', model, X, Int32Array.from([0, 3, 1]));
});

test('mlp [7]: gradients of W1, b1, W2, b2 with reg 0.1, N=3, D=5, H=7, C=4 (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(12);
  const model = createMlp({ inputDim: 5, hidden: [7], numClasses: 4, initStd: 0.5, reg: 0.1, dtype: Float64Array }, rng);
  // Biases start at 0; give them sensible values so their gradient check means something.
  for (const name of ['b1', 'b2']) rng.fillNormal(model.params.views[name].data, 0.1);
  checkAllGrads(t, 'mlp[7]', model, randn(Float64Array, 3, 5, rng), Int32Array.from([0, 3, 1]));
});

test('mlp [7,6]: gradients of W1..b3 with reg 0.1, N=3, D=5, C=4 (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(13);
  const model = createMlp({ inputDim: 5, hidden: [7, 6], numClasses: 4, initStd: 0.5, reg: 0.1, dtype: Float64Array }, rng);
  for (const name of ['b1', 'b2', 'b3']) rng.fillNormal(model.params.views[name].data, 0.1);
  checkAllGrads(t, 'mlp[7,6]', model, randn(Float64Array, 3, 5, rng), Int32Array.from([2, 0, 3]));
});

test('mlp [7]: sparse check (gradCheckSparse) agrees too (float64, h=1e-5, 20 coordinates, tol 1e-7)', (t) => {
  const rng = new Rng(14);
  const model = createMlp({ inputDim: 5, hidden: [7], numClasses: 4, initStd: 0.5, reg: 0.05, dtype: Float64Array }, rng);
  const X = randn(Float64Array, 4, 5, rng);
  const y = Int32Array.from([1, 1, 0, 3]);
  const { grads } = model.loss(X, y);
  const r = gradCheckSparse(() => model.loss(X, y).loss, model.params.flat, grads.flat, 20, H, rng);
  t.diagnostic(`sparse max rel error ${r.maxRelError.toExponential(2)}`);
  assert.equal(r.rows.length, 20);
  assert.ok(r.maxRelError < TOL, `max rel error ${r.maxRelError}`);
});

test('the L2 term is reg·ΣW² over weights only, and its gradient 2·reg·W (float64, tol 1e-12)', () => {
  const rng = new Rng(15);
  const model = createMlp({ inputDim: 5, hidden: [7], numClasses: 4, initStd: 0.5, reg: 0, dtype: Float64Array }, rng);
  rng.fillNormal(model.params.views.b1.data, 1);
  const X = randn(Float64Array, 3, 5, rng);
  const y = Int32Array.from([0, 1, 2]);
  const r0 = model.loss(X, y);
  model.reg = 0.25; // the model reads reg at call time
  const r1 = model.loss(X, y);
  let sumSq = 0;
  for (const name of ['W1', 'W2']) for (const v of model.params.views[name].data) sumSq += v * v;
  assert.ok(Math.abs(r1.loss - r0.loss - 0.25 * sumSq) <= 1e-12, `${r1.loss - r0.loss} vs ${0.25 * sumSq}`);
  for (const p of model.params.specs) {
    const g0 = r0.grads.views[p.name].data;
    const g1 = r1.grads.views[p.name].data;
    const w = model.params.views[p.name].data;
    const isWeight = p.name.startsWith('W');
    for (let i = 0; i < w.length; i++) {
      const want = g0[i] + (isWeight ? 2 * 0.25 * w[i] : 0);
      assert.ok(Math.abs(g1[i] - want) <= 1e-12, `${p.name}[${i}]: ${g1[i]} vs ${want}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Reference: cs231n TwoLayerNet (N=3, D=5, H=50, C=7, linspace parameters)

test('mlp reference: cs231n TwoLayerNet scores and losses from linspace parameters (float64, tol 1e-12)', () => {
  const N = 3,
    D = 5,
    Hd = 50,
    C = 7;
  const model = createMlp({ inputDim: D, hidden: [Hd], numClasses: C, initStd: 0.01, reg: 0, dtype: Float64Array }, new Rng(0));
  const lin = (a: number, b: number, n: number) => Float64Array.from({ length: n }, (_, i) => (i === n - 1 ? b : a + (i * (b - a)) / (n - 1)));
  const v = model.params.views;
  v.W1.data.set(lin(-0.7, 0.3, D * Hd));
  v.b1.data.set(lin(-0.1, 0.9, Hd));
  v.W2.data.set(lin(-0.3, 0.4, Hd * C));
  v.b2.data.set(lin(-0.9, 0.1, C));
  // X = linspace(-5.5, 4.5, N·D).reshape(D, N).T
  const xl = lin(-5.5, 4.5, N * D);
  const X: Mat<Float64Array> = { rows: N, cols: D, data: new Float64Array(N * D) };
  for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) X.data[n * D + d] = xl[d * N + n];

  const scores = model.loss(X);
  const want = [
    11.531651082430418, 12.291734395625893, 13.051817708821368, 13.811901022016844, 14.571984335212319, 15.332067648407794, 16.09215096160327, 12.05769097676009, 12.746141052133215, 13.43459112750634,
    14.123041202879467, 14.811491278252593, 15.499941353625719, 16.188391428998845, 12.583730871089763, 13.200547708640539, 13.817364546191314, 14.434181383742091, 15.050998221292867,
    15.667815058843644, 16.28463189639442,
  ];
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(scores.data[i] - want[i]));
  assert.ok(worst <= 1e-12, `scores differ by up to ${worst}; first values ${Array.from(scores.data.slice(0, 3)).join(', ')}`);

  const y = Int32Array.from([0, 5, 1]);
  const loss0 = model.loss(X, y).loss;
  assert.ok(Math.abs(loss0 - 3.4702243555953903) <= 1e-12, `reg 0: loss ${loss0}`);
  model.reg = 0.5; // reg·ΣW² with ΣW² = 46.24923667928639
  const loss1 = model.loss(X, y).loss;
  assert.ok(Math.abs(loss1 - 26.594842695238586) <= 1e-12, `reg 0.5: loss ${loss1}`);
});

// ---------------------------------------------------------------------------------------------
// Initial loss (float32, reg 0, C = 10: within 5% of ln 10)

test('initial loss ≈ ln(10) = 2.3026 within 5%: softmax W = 0.001·randn, mlp initStd 0.001 (float32, reg 0)', (t) => {
  const rng = new Rng(16);
  const N = 200,
    D = 50,
    C = 10;
  const y = randomLabels(N, C, rng);
  const softmax = createSoftmax({ inputDim: D + 1, numClasses: C, initStd: 0.001, reg: 0 }, rng);
  const mlp = createMlp({ inputDim: D, hidden: [50], numClasses: C, initStd: 0.001, reg: 0 }, rng);
  const Xs = withBiasColumn(randn(Float32Array, N, D + 1, rng));
  const Xm = randn(Float32Array, N, D, rng);
  for (const [name, loss] of [
    ['softmax', softmax.loss(Xs, y).loss],
    ['mlp', mlp.loss(Xm, y).loss],
  ] as const) {
    const rel = Math.abs(loss - Math.log(C)) / Math.log(C);
    t.diagnostic(`${name}: initial loss ${loss.toFixed(5)} (${(100 * rel).toFixed(3)}% from ln 10)`);
    assert.ok(rel < 0.05, `${name}: initial loss ${loss} is ${(100 * rel).toFixed(1)}% away from ln 10`);
  }
});

// ---------------------------------------------------------------------------------------------
// Overfit 50 examples (float32, plain SGD)

function overfit(model: Model<Float32Array>, X: Mat<Float32Array>, y: Labels, lr: number, steps: number): { first: number; last: number; acc: number } {
  let first = NaN;
  let last = NaN;
  for (let it = 0; it < steps; it++) {
    const { loss, grads } = model.loss(X, y);
    if (it === 0) first = loss;
    last = loss;
    sgdStep(model.params.flat, grads.flat, lr);
  }
  return { first, last, acc: accuracy(model, X, y) };
}

test('mlp [100] overfits 50 random examples (D=20, C=10) to 100% train accuracy in 300 SGD steps (float32, lr 0.5, reg 0)', (t) => {
  const rng = new Rng(17);
  const X = randn(Float32Array, 50, 20, rng);
  const y = randomLabels(50, 10, rng);
  const model = createMlp({ inputDim: 20, hidden: [100], numClasses: 10, initStd: 0.05, reg: 0 }, rng);
  const r = overfit(model, X, y, 0.5, 300);
  t.diagnostic(`mlp: loss ${r.first.toFixed(4)} → ${r.last.toFixed(4)}, train accuracy ${r.acc}`);
  assert.equal(r.acc, 1);
  assert.ok(r.last < 0.1 * r.first);
});

test('softmax overfits 50 random examples with D=61 > N (linearly separable) to 100% in 300 SGD steps (float32, lr 0.5, reg 0)', (t) => {
  const rng = new Rng(18);
  const X = withBiasColumn(randn(Float32Array, 50, 61, rng));
  const y = randomLabels(50, 10, rng);
  const model = createSoftmax({ inputDim: 61, numClasses: 10, initStd: 0.001, reg: 0 }, rng);
  const r = overfit(model, X, y, 0.5, 300);
  t.diagnostic(`softmax: loss ${r.first.toFixed(4)} → ${r.last.toFixed(4)}, train accuracy ${r.acc}`);
  assert.equal(r.acc, 1);
  assert.ok(r.last < 0.1 * r.first);
});

// ---------------------------------------------------------------------------------------------
// Layout, dtypes, purity, errors

test('layouts: softmax W (D,C); mlp W1,b1,W2,b2,… with b as (1,M), biases 0, weights initStd·randn in order', () => {
  assert.deepEqual(softmaxParamSpecs(5, 4), [{ name: 'W', rows: 5, cols: 4 }]);
  assert.deepEqual(mlpParamSpecs(5, [7, 6], 4), [
    { name: 'W1', rows: 5, cols: 7 },
    { name: 'b1', rows: 1, cols: 7 },
    { name: 'W2', rows: 7, cols: 6 },
    { name: 'b2', rows: 1, cols: 6 },
    { name: 'W3', rows: 6, cols: 4 },
    { name: 'b3', rows: 1, cols: 4 },
  ]);
  const m = createMlp({ inputDim: 5, hidden: [7, 6], numClasses: 4, initStd: 0.1, reg: 0.1, dtype: Float64Array }, new Rng(19));
  assert.ok(m.params.flat instanceof Float64Array);
  assert.deepEqual(m.spec, { kind: 'mlp', inputDim: 5, hidden: [7, 6], numClasses: 4 });
  for (const b of ['b1', 'b2', 'b3'])
    assert.ok(
      m.params.views[b].data.every((v) => v === 0),
      `${b} is not 0`,
    );
  // Weights drawn in the order W1, W2, W3 from the same stream.
  const rng = new Rng(19);
  for (const w of ['W1', 'W2', 'W3']) {
    const want = new Float64Array(m.params.views[w].data.length);
    rng.fillNormal(want, 0.1);
    assert.deepEqual(Array.from(m.params.views[w].data), Array.from(want), w);
  }
  const s = createSoftmax({ inputDim: 5, numClasses: 4, initStd: 0.1, reg: 0 }, new Rng(19));
  assert.ok(s.params.flat instanceof Float32Array, 'Float32 by default');
});

test('createModel dispatches on kind; the same seed gives the same numbers in float32 and float64', () => {
  const spec: ModelSpec = { kind: 'mlp', inputDim: 6, hidden: [8], numClasses: 3 };
  const m32 = createModel(spec, { initStd: 0.1, reg: 0.01 }, new Rng(20));
  const m64 = createModel(spec, { initStd: 0.1, reg: 0.01, dtype: Float64Array }, new Rng(20));
  assert.deepEqual(m32.params.specs, paramSpecsFor(spec));
  assert.ok(m32.params.flat instanceof Float32Array && m64.params.flat instanceof Float64Array);
  assert.deepEqual(Array.from(m32.params.flat), Array.from(Float32Array.from(m64.params.flat)));
  const rng = new Rng(21);
  const X64 = randn(Float64Array, 4, 6, rng);
  const X32 = { rows: 4, cols: 6, data: Float32Array.from(X64.data) };
  const y = Int32Array.from([0, 1, 2, 1]);
  // float32 agrees with float64 to float32 round-off (float32 vs float64, rel tol 1e-5 on the loss).
  const l32 = m32.loss(X32, y).loss;
  const l64 = m64.loss(X64, y).loss;
  assert.ok(Math.abs(l32 - l64) <= 1e-5 * l64, `${l32} vs ${l64}`);
  const sm = createModel({ kind: 'softmax', inputDim: 6, hidden: [], numClasses: 3 }, { initStd: 0.1, reg: 0 }, new Rng(20));
  assert.deepEqual(sm.params.specs, [{ name: 'W', rows: 6, cols: 3 }]);
  assert.throws(() => createModel({ kind: 'cnn' as 'mlp', inputDim: 6, hidden: [8], numClasses: 3 }, { initStd: 0.1, reg: 0 }, new Rng(0)), /unknown model kind "cnn"/);
  assert.throws(() => createModel({ kind: 'mlp', inputDim: 6, hidden: [], numClasses: 3 }, { initStd: 0.1, reg: 0 }, new Rng(0)), /at least one hidden layer/);
  assert.throws(() => createModel({ kind: 'softmax', inputDim: 6, hidden: [4], numClasses: 3 }, { initStd: 0.1, reg: 0 }, new Rng(0)), /no hidden layers/);
  assert.throws(() => createMlp({ inputDim: 6, hidden: [0], numClasses: 3, initStd: 0.1, reg: 0 }, new Rng(0)), /hidden\[0\] must be a positive integer, got 0/);
  assert.throws(() => createSoftmax({ inputDim: 6, numClasses: 3, initStd: 0.1, reg: -1 }, new Rng(0)), /reg must be a finite number ≥ 0, got -1/);
});

test('modelFromParams wraps a parameter set (sharing its buffer) and rejects a wrong layout naming both sizes', () => {
  const spec: ModelSpec = { kind: 'mlp', inputDim: 5, hidden: [7], numClasses: 4 };
  const orig = createModel(spec, { initStd: 0.1, reg: 0.1 }, new Rng(22));
  const copy = orig.params.flat.slice();
  const params = { specs: orig.params.specs, flat: copy, views: viewsOf(orig.params.specs, copy) };
  const wrapped = modelFromParams(spec, params, 0.1);
  assert.equal(wrapped.params.flat, params.flat);
  const rng = new Rng(23);
  const X = randn(Float32Array, 3, 5, rng);
  const y = Int32Array.from([0, 1, 3]);
  assert.equal(wrapped.loss(X, y).loss, orig.loss(X, y).loss);
  assert.equal(wrapped.reg, 0.1);

  // A checkpoint from a different net: hidden 8 instead of 7.
  const other = allocParams(mlpParamSpecs(5, [8], 4), Float32Array);
  assert.throws(() => modelFromParams(spec, other, 0), /needs parameters W1 \(5,7\), b1 \(1,7\).*but found W1 \(5,8\), b1 \(1,8\)/);
  // The right specs over a buffer of the wrong length (e.g. a truncated file).
  const flat = new Float32Array(10);
  assert.throws(() => modelFromParams(spec, { specs: params.specs, flat, views: {} }, 0), /needs 74 numbers, but the parameter buffer holds 10/);
  const sm = allocParams(softmaxParamSpecs(5, 4), Float64Array);
  assert.ok(modelFromParams({ kind: 'softmax', inputDim: 5, hidden: [], numClasses: 4 }, sm, 0).params.flat instanceof Float64Array);
});

test('loss never changes X or the parameters; scores without labels; input errors name shapes and types', () => {
  const rng = new Rng(24);
  const model = createMlp({ inputDim: 5, hidden: [7, 6], numClasses: 4, initStd: 0.5, reg: 0.1, dtype: Float64Array }, rng);
  const X = randn(Float64Array, 3, 5, rng);
  const y = Int32Array.from([0, 1, 2]);
  const before = [Array.from(X.data), Array.from(model.params.flat), Array.from(y)];
  const r1 = model.loss(X, y);
  const r2 = model.loss(X, y);
  assert.deepEqual([Array.from(X.data), Array.from(model.params.flat), Array.from(y)], before);
  assert.notEqual(r1.grads.flat, r2.grads.flat, 'each call returns its own gradient buffer');
  assert.deepEqual(Array.from(r1.grads.flat), Array.from(r2.grads.flat));
  assert.deepEqual(r1.grads.specs, model.params.specs);
  const scores = model.loss(X);
  assert.deepEqual([scores.rows, scores.cols], [3, 4]);
  assert.throws(() => model.loss(randn(Float64Array, 3, 6, rng)), /X has shape \(3,6\) but the model takes \(N,5\) inputs/);
  const X32 = { rows: 3, cols: 5, data: new Float32Array(15) } as unknown as Mat<Float64Array>;
  assert.throws(() => model.loss(X32), /X is Float32Array but the parameters are Float64Array/);
  assert.throws(() => model.loss(X, Int32Array.from([0, 1, 4])), /y\[2\] = 4 is not a class index in \[0, 4\)/);
  const sm = createSoftmax({ inputDim: 5, numClasses: 4, initStd: 0.5, reg: 0.1 }, rng);
  assert.throws(() => sm.loss({ rows: 2, cols: 4, data: new Float32Array(8) }), /X has shape \(2,4\) but the model takes \(N,5\) inputs/);
});

test('a workspace: one set of buffers serves every call given it, with the same values as fresh arrays', () => {
  const rng = new Rng(21);
  for (const kind of ['softmax', 'mlp'] as const) {
    const spec: ModelSpec = { kind, inputDim: 7, hidden: kind === 'mlp' ? [6, 5] : [], numClasses: 4 };
    const model = createModel(spec, { initStd: 0.1, reg: 0.05 }, rng);
    const X1 = randn(Float32Array, 9, 7, rng);
    const X2 = randn(Float32Array, 9, 7, rng);
    const X3 = randn(Float32Array, 4, 7, rng); // another row count: a set of its own
    const y = randomLabels(9, 4, rng);
    const fresh1 = model.loss(X1, y);
    const fresh2 = model.loss(X2, y);
    const freshScores1 = model.loss(X1).data.slice();
    const freshScores3 = model.loss(X3).data.slice();
    assert.notEqual(model.loss(X1).data, model.loss(X1).data, `${kind}: fresh scores by default`);
    const ws = createWorkspace(model.params);
    const r1 = model.loss(X1, y, ws);
    assert.equal(r1.loss, fresh1.loss, `${kind}: loss`);
    assert.deepEqual(Array.from(r1.grads.flat), Array.from(fresh1.grads.flat), `${kind}: first call`);
    const g1 = r1.grads.flat;
    const r2 = model.loss(X2, y, ws);
    assert.equal(r2.grads.flat, g1, `${kind}: the same gradient buffer`);
    assert.equal(r2.loss, fresh2.loss, `${kind}: loss of the second batch`);
    assert.deepEqual(Array.from(r2.grads.flat), Array.from(fresh2.grads.flat), `${kind}: overwritten, not accumulated`);
    const s1 = model.loss(X1, undefined, ws);
    assert.deepEqual(Array.from(s1.data), Array.from(freshScores1), `${kind}: scores`);
    const s3 = model.loss(X3, undefined, ws);
    assert.equal(s3.rows, 4);
    assert.deepEqual(Array.from(s3.data), Array.from(freshScores3), `${kind}: scores of 4 rows`);
    assert.equal(model.loss(X1, undefined, ws).data, s1.data, `${kind}: the same scores buffer for 9 rows`);
    assert.deepEqual(Array.from(model.loss(X2, y, ws).grads.flat), Array.from(fresh2.grads.flat), `${kind}: after other row counts`);
  }
});

test('the activation plan (llm.c act_sizes): sized from the spec, made whole for a row count on its first call, then reused; every sandwich, with dropout, gives the same values as fresh arrays', () => {
  const base: ModelSpec = { kind: 'mlp', inputDim: 7, hidden: [6, 5], numClasses: 4 };
  assert.deepEqual(actPlan({ ...base, normalization: 'batchnorm', dropoutKeep: 0.5 }), {
    hidden: [
      { kind: 'affine_bn_relu', inCols: 7, cols: 6, dropout: true },
      { kind: 'affine_bn_relu', inCols: 6, cols: 5, dropout: true },
    ],
    classes: 4,
  });
  assert.deepEqual(actPlan({ kind: 'softmax', inputDim: 7, hidden: [], numClasses: 4 }), { hidden: [], classes: 4 });
  let floats = 0;
  const counting: Allocator = { ...PLAIN, float: ((Ctor: Float32ArrayConstructor, n: number) => (floats++, PLAIN.float(Ctor, n))) as Allocator['float'] };
  for (const normalization of [undefined, 'batchnorm', 'layernorm'] as const) {
    const spec: ModelSpec = { ...base, hidden: [...base.hidden], ...(normalization ? { normalization } : {}), dropoutKeep: 0.5 };
    const what = normalization ?? 'no norm';
    const rng = new Rng(22);
    const X = randn(Float32Array, 9, 7, rng);
    const y = randomLabels(9, 4, rng);
    const fresh = createModel(spec, { initStd: 0.1, reg: 0.05 }, new Rng(5));
    const model = createModel(spec, { initStd: 0.1, reg: 0.05 }, new Rng(5));
    const ws = createWorkspace(model.params, counting);
    floats = 0;
    let made = 0;
    for (const call of [1, 2]) {
      const r = model.loss(X, y, ws);
      if (call === 1) made = floats;
      const f = fresh.loss(X, y);
      assert.equal(r.loss, f.loss, `${what}: loss, call ${call}`);
      assert.deepEqual(Array.from(r.grads.flat), Array.from(f.grads.flat), `${what}: gradient, call ${call}`);
    }
    model.loss(X, undefined, ws);
    assert.ok(made > 0, `${what}: the first call makes the plan's matrices`);
    assert.equal(floats, made, `${what}: later calls with as many rows allocate nothing`);
    assert.deepEqual(Array.from(model.params.flat), Array.from(fresh.params.flat), `${what}: the same running statistics`);
    assert.deepEqual(Array.from(model.loss(X, undefined, ws).data), Array.from(fresh.loss(X).data), `${what}: test-mode scores`);
  }
});
