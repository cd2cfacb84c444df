/**
 * Derivations behind the softmax classifier, checked numerically (float64, seeded Rng):
 *  - the naive loop (cs231n softmax_loss_naive) and the vectorized form agree, and both match
 *    centered differences;
 *  - the standalone softmax layer's Jacobian–vector product, composed with the cross-entropy
 *    gradient, is the fused (P − onehot(y))/N; it equals Jᵀ·dout with the explicit Jacobian,
 *    which is symmetric, has zero row sums and matches a numeric Jacobian;
 *  - the max shift keeps huge scores finite and shift-invariant, and the unshifted formula does not;
 *  - one worked example by hand, and the error messages for bad labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { maxRelError, numericGradient, numericGradientArray } from '../src/linalg/gradcheck.js';
import { softmaxLoss } from '../src/layers/softmax_loss.js';
import { softmaxLossNaive, softmaxLossVectorized } from '../src/layers/softmax_naive.js';
import { softmaxBackward, softmaxForward, softmaxJacobian } from '../src/layers/softmax.js';
import { randnMat, randomLabels } from './helpers.js';

const H = 1e-5; // centered-difference step (float64)
const TOL = 1e-7; // max relative error allowed for a float64 gradient check

/** A float64 (rows, cols) matrix of std·N(0,1) draws. */
const randn = (rows: number, cols: number, rng: Rng, std = 1): Mat<Float64Array> => randnMat(Float64Array, rows, cols, rng, std);

/** One example's scores as a (1,C) matrix of the given array type. */
const oneRow = <T extends Float32Array | Float64Array>(Ctor: { from(v: ArrayLike<number>): T }, scores: ArrayLike<number>): Mat<T> => ({ rows: 1, cols: scores.length, data: Ctor.from(scores) });

/** ‖a‖_F (a as one long vector). */
function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** ‖a − b‖_F. */
function frobDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** max_i |a_i − b_i|. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, `lengths ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = d; // NaN sticks
  }
  return worst;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(actual, expected);
  assert.ok(d <= tol, `${what}: max |difference| ${d} > ${tol}; got ${Array.from(actual).slice(0, 4).join(', ')}…, expected ${Array.from(expected).slice(0, 4).join(', ')}…`);
}

function assertAllFinite(a: ArrayLike<number>, what: string): void {
  for (let i = 0; i < a.length; i++) assert.ok(Number.isFinite(a[i]), `${what}[${i}] = ${a[i]}`);
}

const rowOf = (m: Mat<Float64Array>, i: number): Float64Array => m.data.slice(i * m.cols, (i + 1) * m.cols);

// ---------------------------------------------------------------------------------------------
// naive loops vs vectorized

function naiveVsVectorizedData(): { W: Mat<Float64Array>; X: Mat<Float64Array>; y: Int32Array; reg: number } {
  const rng = new Rng(231);
  const N = 20;
  const D = 31;
  const C = 10;
  const W = randn(D, C, rng, 1e-2);
  const X = randn(N, D, rng);
  const y = randomLabels(N, C, rng);
  return { W, X, y, reg: 0.3 };
}

test('naive vs vectorized: loss to 1e-10 relative, dW to 1e-10 in ‖ΔdW‖_F / ‖dW‖_F (N=20, D=31, C=10, W=1e-2·randn, reg 0.3, float64)', (t) => {
  const { W, X, y, reg } = naiveVsVectorizedData();
  const before = [Array.from(W.data), Array.from(X.data), Array.from(y)];
  const naive = softmaxLossNaive(W, X, y, reg);
  const vec = softmaxLossVectorized(W, X, y, reg);
  assert.deepEqual([Array.from(W.data), Array.from(X.data), Array.from(y)], before, 'inputs unchanged');

  const lossRel = Math.abs(naive.loss - vec.loss) / Math.abs(vec.loss);
  const gradRel = frobDiff(naive.dW.data, vec.dW.data) / frob(vec.dW.data);
  t.diagnostic(`loss naive ${naive.loss} vectorized ${vec.loss}: relative difference ${lossRel.toExponential(2)}`);
  t.diagnostic(`‖dW_naive − dW_vec‖_F / ‖dW_vec‖_F = ${gradRel.toExponential(2)}`);
  assert.equal(naive.dW.rows, 31);
  assert.equal(naive.dW.cols, 10);
  assert.ok(naive.dW.data instanceof Float64Array && vec.dW.data instanceof Float64Array);
  assert.ok(lossRel < 1e-10, `loss relative difference ${lossRel}`);
  assert.ok(gradRel < 1e-10, `gradient relative Frobenius difference ${gradRel}`);
  // With W ≈ 0 every p ≈ 1/C, so the data loss ≈ ln C; the L2 term adds reg·ΣW² ≈ 0.3·310·1e-4.
  assert.ok(Math.abs(vec.loss - Math.log(10)) < 0.05, `loss ${vec.loss} far from ln 10`);
});

test('naive and vectorized dW both match centered differences (float64, h=1e-5, max rel error < 1e-7)', (t) => {
  const { W, X, y, reg } = naiveVsVectorizedData();
  for (const [name, fn] of [
    ['naive', softmaxLossNaive],
    ['vectorized', softmaxLossVectorized],
  ] as const) {
    const { dW } = fn(W, X, y, reg);
    const numeric = numericGradient(() => fn(W, X, y, reg).loss, W.data, H);
    const e = maxRelError(dW.data, numeric);
    t.diagnostic(`${name}: max rel error ${e.toExponential(2)}`);
    assert.ok(e < TOL, `${name}: max rel error ${e} ≥ ${TOL}`);
  }
});

test('naive and vectorized run in float32 too and agree with float64 to float32 precision; timing side by side', (t) => {
  const { W, X, y, reg } = naiveVsVectorizedData();
  const W32 = { rows: W.rows, cols: W.cols, data: Float32Array.from(W.data) };
  const X32 = { rows: X.rows, cols: X.cols, data: Float32Array.from(X.data) };
  const ref = softmaxLossVectorized(W, X, y, reg);
  for (const [name, fn] of [
    ['naive', softmaxLossNaive],
    ['vectorized', softmaxLossVectorized],
  ] as const) {
    const r = fn(W32, X32, y, reg);
    assert.ok(r.dW.data instanceof Float32Array, `${name}: dW is ${r.dW.data.constructor.name}`);
    assert.ok(Math.abs(r.loss - ref.loss) / ref.loss < 1e-5, `${name} float32 loss ${r.loss} vs ${ref.loss}`);
    const rel = frobDiff(r.dW.data, ref.dW.data) / frob(ref.dW.data);
    assert.ok(rel < 1e-5, `${name} float32 dW relative Frobenius difference ${rel}`);
  }
  // Timing only (not asserted): the same work both ways on a larger batch.
  const rng = new Rng(5);
  const big = { W: randn(300, 10, rng, 1e-2), X: randn(500, 300, rng), y: randomLabels(500, 10, rng) };
  for (const [name, fn] of [
    ['naive', softmaxLossNaive],
    ['vectorized', softmaxLossVectorized],
  ] as const) {
    fn(big.W, big.X, big.y, reg); // warm-up
    const t0 = performance.now();
    for (let k = 0; k < 5; k++) fn(big.W, big.X, big.y, reg);
    t.diagnostic(`${name}: ${((performance.now() - t0) / 5).toFixed(2)} ms per call (N=500, D=300, C=10, float64)`);
  }
});

test('naive and vectorized: mismatched shapes and labels throw naming the shapes', () => {
  const rng = new Rng(3);
  const W = randn(4, 3, rng);
  const X = randn(2, 4, rng);
  assert.throws(() => softmaxLossNaive(W, randn(2, 5, rng), Int32Array.from([0, 1]), 0), /X has shape \(2,5\).*expected \(\*,4\)/);
  assert.throws(() => softmaxLossVectorized(W, randn(2, 5, rng), Int32Array.from([0, 1]), 0), /X has shape \(2,5\).*expected \(\*,4\)/);
  assert.throws(() => softmaxLossNaive(W, X, Int32Array.from([0, 1, 2]), 0), /X is \(2,4\) but y has 3 labels \(one label per row of 2 is needed\)/);
  assert.throws(() => softmaxLossVectorized(W, X, Int32Array.from([0, 3]), 0), /y\[1\] = 3 is not a class index in \[0, 3\)/);
});

// ---------------------------------------------------------------------------------------------
// the softmax layer and its Jacobian

test('softmax layer: softmaxBackward of the cross-entropy gradient −1{j=y}/(N·p_y) is the fused (P − onehot(y))/N (float64, 1e-12)', () => {
  const rng = new Rng(11);
  const N = 7;
  const C = 5;
  const x = randn(N, C, rng, 3);
  const y = randomLabels(N, C, rng);
  const { out: p, cache } = softmaxForward(x);
  const dout: Mat<Float64Array> = { rows: N, cols: C, data: new Float64Array(N * C) };
  for (let i = 0; i < N; i++) dout.data[i * C + y[i]] = -1 / (N * p.data[i * C + y[i]]);
  const dx = softmaxBackward(dout, cache);
  const { dscores } = softmaxLoss(x, y);
  assertClose(dx.data, dscores.data, 1e-12, 'softmaxBackward ∘ cross-entropy vs fused dscores');
  // Each row of p is a probability vector.
  for (let i = 0; i < N; i++) {
    const row = rowOf(p, i);
    assert.ok(
      row.every((v) => v > 0 && v < 1),
      `row ${i}: ${row.join(', ')}`,
    );
    assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-15, `row ${i} sums to ${row.reduce((a, b) => a + b, 0)}`);
  }
});

test('softmax layer: softmaxBackward equals J_rowᵀ·dout with softmaxJacobian for each row, and passes a gradient check (float64)', (t) => {
  const rng = new Rng(12);
  const N = 6;
  const C = 4;
  const x = randn(N, C, rng, 2);
  const dout = randn(N, C, rng);
  const before = [Array.from(x.data), Array.from(dout.data)];
  const { out: p, cache } = softmaxForward(x);
  const dx = softmaxBackward(dout, cache);
  assert.deepEqual([Array.from(x.data), Array.from(dout.data)], before, 'inputs unchanged');
  for (let i = 0; i < N; i++) {
    const J = softmaxJacobian(rowOf(p, i));
    const g = rowOf(dout, i);
    const viaJ = new Float64Array(C); // (Jᵀ·g)_k = Σ_j J[j,k]·g_j
    for (let k = 0; k < C; k++) for (let j = 0; j < C; j++) viaJ[k] += J.data[j * C + k] * g[j];
    assertClose(rowOf(dx, i), viaJ, 1e-12, `row ${i}: softmaxBackward vs Jᵀ·dout`);
  }
  const numeric = numericGradientArray(() => softmaxForward(x).out, x.data, dout.data, H);
  const e = maxRelError(dx.data, numeric);
  t.diagnostic(`softmax dx: max rel error ${e.toExponential(2)}`);
  assert.ok(e < TOL, `softmax dx: max rel error ${e} ≥ ${TOL}`);
});

test('softmax Jacobian diag(p) − p pᵀ: symmetric, rows sum to 0, equals the numeric Jacobian (centered, h=1e-5, 1e-8)', () => {
  const rng = new Rng(13);
  const C = 6;
  for (let trial = 0; trial < 4; trial++) {
    const x = randn(1, C, rng, 1 + trial);
    const p = softmaxForward(x).out.data;
    const J = softmaxJacobian(p);
    assert.equal(J.rows, C);
    assert.equal(J.cols, C);
    for (let j = 0; j < C; j++) {
      let rowSum = 0;
      for (let k = 0; k < C; k++) {
        assert.equal(J.data[j * C + k], J.data[k * C + j], `J[${j},${k}] ≠ J[${k},${j}]`);
        rowSum += J.data[j * C + k];
      }
      // Σ_k J[j,k] = p_j − p_j·Σ_k p_k = 0 up to round-off of order C·ε.
      assert.ok(Math.abs(rowSum) <= 1e-15, `trial ${trial}: row ${j} of J sums to ${rowSum}`);
    }
    // Numeric Jacobian: column k = (p(x + h e_k) − p(x − h e_k)) / 2h.
    const numeric = new Float64Array(C * C);
    for (let k = 0; k < C; k++) {
      const old = x.data[k];
      x.data[k] = old + H;
      const pp = softmaxForward(x).out.data;
      x.data[k] = old - H;
      const pm = softmaxForward(x).out.data;
      x.data[k] = old;
      for (let j = 0; j < C; j++) numeric[j * C + k] = (pp[j] - pm[j]) / (2 * H);
    }
    assertClose(J.data, numeric, 1e-8, `trial ${trial}: analytic vs numeric Jacobian`);
  }
});

test('softmax layer: float32 in, float32 out; bad shapes throw', () => {
  const x = { rows: 2, cols: 3, data: Float32Array.from([1, 2, 3, -1, 0, 1]) };
  const { out, cache } = softmaxForward(x);
  assert.ok(out.data instanceof Float32Array);
  const dx = softmaxBackward({ rows: 2, cols: 3, data: Float32Array.from([1, 0, 0, 0, 1, 0]) }, cache);
  assert.ok(dx.data instanceof Float32Array);
  assert.ok(softmaxJacobian(out.data.slice(0, 3)).data instanceof Float32Array);
  assert.throws(() => softmaxBackward({ rows: 3, cols: 2, data: new Float32Array(6) }, cache), /dout has shape \(3,2\).*expected \(2,3\)/);
  assert.throws(() => softmaxBackward({ rows: 2, cols: 3, data: new Float64Array(6) } as unknown as Mat<Float32Array>, cache), /dout is Float64Array but the cached p is Float32Array/);
});

// ---------------------------------------------------------------------------------------------
// numerical stability: why the max is subtracted

const HUGE_ROWS = [
  [1000, 1001, 1002],
  [-1000, -1001, -1002],
  [1e4, -1e4, 0],
  [-1e4, 1e4, 1e4],
  [1e4, 1e4 - 1, -1e4],
];
const HUGE_Y = Int32Array.from([0, 2, 1, 0, 1]);

function hugeScores(shift = 0): Mat<Float64Array> {
  return { rows: HUGE_ROWS.length, cols: 3, data: Float64Array.from(HUGE_ROWS.flat().map((v) => v + shift)) };
}

test('stability: scores ±1000 and rows mixing ±1e4 give a finite loss and gradient, unchanged (1e-12) by shifts of −1000 and +12345', () => {
  const base = softmaxLoss(hugeScores(), HUGE_Y);
  assert.ok(Number.isFinite(base.loss), `loss ${base.loss}`);
  assertAllFinite(base.dscores.data, 'dscores');
  // Row 3 puts the label 2·1e4 below the max: its loss term is ≈ 2e4 (plus ln 2), large but finite.
  assert.ok(base.loss > 2e4 / HUGE_ROWS.length, `loss ${base.loss}`);
  for (const shift of [-1000, 12345]) {
    const shifted = softmaxLoss(hugeScores(shift), HUGE_Y);
    assert.ok(Math.abs(shifted.loss - base.loss) <= 1e-12 * Math.max(1, Math.abs(base.loss)), `shift ${shift}: loss ${shifted.loss} vs ${base.loss}`);
    assertClose(shifted.dscores.data, base.dscores.data, 1e-12, `shift ${shift}: dscores`);
  }
  // The standalone layer and the naive loop (X = scores, W = I, reg 0) are stable too.
  const { out, cache } = softmaxForward(hugeScores());
  assertAllFinite(out.data, 'softmaxForward');
  assertAllFinite(softmaxBackward(out, cache).data, 'softmaxBackward');
  assertClose(softmaxForward(hugeScores(12345)).out.data, out.data, 1e-12, 'softmaxForward shifted');
  const I: Mat<Float64Array> = { rows: 3, cols: 3, data: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) };
  const naive = softmaxLossNaive(I, hugeScores(), HUGE_Y, 0);
  assert.ok(Math.abs(naive.loss - base.loss) <= 1e-12 * Math.abs(base.loss), `naive loss ${naive.loss} vs ${base.loss}`);
  assertAllFinite(naive.dW.data, 'naive dW');
});

test('stability: the UNSHIFTED formula p_j = e^{s_j} / Σ_k e^{s_k} overflows (e^1000 = Infinity) or underflows (e^-1000 = 0, 0/0) to NaN/Infinity on the same rows (the reason for the max trick)', (t) => {
  for (let i = 0; i < HUGE_ROWS.length; i++) {
    const s = HUGE_ROWS[i];
    const y = HUGE_Y[i];
    // Written out here on purpose, without subtracting max(s).
    const e = s.map((v) => Math.exp(v));
    const sum = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / sum);
    const loss = -Math.log(p[y]);
    const grad = p.map((v, j) => v - (j === y ? 1 : 0));
    const broken = !Number.isFinite(loss) || grad.some((g) => !Number.isFinite(g));
    t.diagnostic(`row [${s.join(', ')}], y=${y}: e^s = [${e.join(', ')}], unshifted loss ${loss}, gradient [${grad.join(', ')}]`);
    assert.ok(broken, `row ${i}: unshifted formula unexpectedly finite: loss ${loss}, gradient ${grad.join(', ')}`);
    // …while the shifted one is finite on the same row.
    const ok = softmaxLoss(oneRow(Float64Array, s), Int32Array.of(y));
    assert.ok(Number.isFinite(ok.loss), `row ${i}: shifted loss ${ok.loss}`);
  }
});

// ---------------------------------------------------------------------------------------------
// one example by hand, and bad labels

test('one example: scores [11, 42, 3], label 1 → loss −ln softmax_1 and gradient p − onehot(1), by hand', () => {
  // Subtract the max 42: exponents −31, 0, −39.  Σ = 1 + e^-31 + e^-39.
  const rest = Math.exp(-31) + Math.exp(-39);
  const sum = 1 + rest;
  const expectedLoss = Math.log1p(rest); // −ln(1/Σ) = ln(1 + e^-31 + e^-39) ≈ 3.44e-14
  const expectedGrad = [Math.exp(-31) / sum, 1 / sum - 1, Math.exp(-39) / sum];

  const r = softmaxLoss(oneRow(Float64Array, [11, 42, 3]), Int32Array.of(1));
  assert.equal(r.dscores.rows, 1);
  assert.equal(r.dscores.cols, 3);
  assert.ok(r.dscores.data instanceof Float64Array);
  assert.ok(Math.abs(r.loss - expectedLoss) <= 1e-12 * expectedLoss, `loss ${r.loss}, expected ${expectedLoss}`);
  assertClose(r.dscores.data, expectedGrad, 1e-15, 'gradient');
  // The gradient sums to 0 and is ≈ [e^-31, −e^-31, 0]: almost nothing to learn from this example.
  assert.ok(Math.abs(r.dscores.data[0] - 3.442477108469977e-14) < 1e-20, `${r.dscores.data[0]}`);
  // float32 scores give float32 dscores.
  assert.ok(softmaxLoss(oneRow(Float32Array, [11, 42, 3]), Int32Array.of(1)).dscores.data instanceof Float32Array);
  // A wrong label is expensive: −ln p_0 = 31 + ln Σ.
  assert.ok(Math.abs(softmaxLoss(oneRow(Float64Array, [11, 42, 3]), Int32Array.of(0)).loss - (31 + Math.log1p(rest))) < 1e-12);
});

test('bad labels: wrong length, out of range and empty scores each throw naming the shapes or the value', () => {
  const scores: Mat<Float64Array> = { rows: 2, cols: 3, data: new Float64Array(6) };
  // wrong length: both shapes named
  assert.throws(() => softmaxLoss(scores, Int32Array.of(0, 1, 2)), /scores is \(2,3\) but y has 3 labels \(one label per row of 2 is needed\)/);
  assert.throws(() => softmaxLoss(scores, Int32Array.of(0)), /scores is \(2,3\) but y has 1 labels \(one label per row of 2 is needed\)/);
  assert.throws(() => softmaxLoss(oneRow(Float64Array, [11, 42, 3]), Int32Array.of(1, 1)), /scores is \(1,3\) but y has 2 labels/);
  // out of range: the value and the range
  assert.throws(() => softmaxLoss(oneRow(Float64Array, [11, 42, 3]), Int32Array.of(3)), /label y\[0\] = 3 is not a class index in \[0, 3\): out of range/);
  assert.throws(() => softmaxLoss(oneRow(Float64Array, [11, 42, 3]), Int32Array.of(-1)), /label y\[0\] = -1 is not a class index in \[0, 3\)/);
  assert.throws(() => softmaxLoss(scores, Int32Array.of(0, 7)), /label y\[1\] = 7 is not a class index in \[0, 3\)/);
  // empty
  assert.throws(() => softmaxLoss({ rows: 0, cols: 3, data: new Float64Array(0) }, new Int32Array(0)), /scores is \(0,3\); need at least one row and one class/);
  // labels as either label array type are fine
  assert.doesNotThrow(() => softmaxLoss(scores, Int32Array.of(2, 0)));
  assert.doesNotThrow(() => softmaxLoss(scores, Uint8Array.of(1, 2)));
});
