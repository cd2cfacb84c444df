/**
 * Layers: centered-difference gradient checks in Float64 (h = 1e-5, random dout, Σ out·dout,
 * max relative error < 1e-7), fixed linspace references (float64, 1e-12), error messages, and
 * "backward never mutates its inputs".
 *
 * Reference literals were computed once, independently of this code, in exact rational
 * arithmetic (Python fractions; mpmath at 40 digits for exp/log) from the same linspace inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { maxRelError, numericGradient, numericGradientArray } from '../src/linalg/gradcheck.js';
import { affineBackward, affineForward } from '../src/layers/affine.js';
import { reluBackward, reluForward } from '../src/layers/relu.js';
import { affineReluBackward, affineReluForward } from '../src/layers/affine_relu.js';
import { softmaxLoss } from '../src/layers/softmax_loss.js';
import { assertClose } from './helpers.js';
import { addL2, l2Loss } from '../src/layers/l2.js';

const H = 1e-5; // centered-difference step (float64)
const TOL = 1e-7; // max relative error allowed for a float64 gradient check
const REF_TOL = 1e-12; // absolute tolerance against the float64 reference literals

function randn(rows: number, cols: number, rng: Rng, std = 1): Mat<Float64Array> {
  const data = new Float64Array(rows * cols);
  rng.fillNormal(data, std);
  return { rows, cols, data };
}

/** numpy.linspace(start, stop, n) as a (rows, cols) float64 matrix. */
function linspace(start: number, stop: number, rows: number, cols: number): Mat<Float64Array> {
  const n = rows * cols;
  const data = new Float64Array(n);
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  data[n - 1] = stop;
  return { rows, cols, data };
}

function assertGrad(t: { diagnostic(s: string): void }, name: string, analytic: ArrayLike<number>, numeric: Float64Array): void {
  const e = maxRelError(analytic, numeric);
  t.diagnostic(`${name}: max rel error ${e.toExponential(2)}`);
  assert.ok(e < TOL, `${name}: max rel error ${e} ≥ ${TOL}`);
}

const snapshot = (...ms: Mat[]) => ms.map((m) => Array.from(m.data));

// ---------------------------------------------------------------------------------------------
// affine

test('affine: gradient check dx, dw, db (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(1);
  const x = randn(4, 5, rng);
  const w = randn(5, 6, rng);
  const b = randn(1, 6, rng);
  const dout = randn(4, 6, rng);
  const { cache } = affineForward(x, w, b);
  const { dx, dw, db } = affineBackward(dout, cache);
  const f = () => affineForward(x, w, b).out;
  assertGrad(t, 'affine dx', dx!.data, numericGradientArray(f, x.data, dout.data, H));
  assertGrad(t, 'affine dw', dw.data, numericGradientArray(f, w.data, dout.data, H));
  assertGrad(t, 'affine db', db!.data, numericGradientArray(f, b.data, dout.data, H));
});

test('affine: reference forward at the cs231n sizes N=2, D=120, M=3 (float64, linspace, tol 1e-12)', () => {
  const x = linspace(-0.1, 0.5, 2, 120);
  const w = linspace(-0.2, 0.3, 120, 3);
  const b = linspace(-0.3, 0.1, 1, 3);
  const { out } = affineForward(x, w, b);
  const expected = [1.4983496695842706, 1.7066013216629177, 1.9148529737415647, 3.2555319868066808, 3.5141327024160556, 3.772733418025431];
  assertClose(out.data, expected, REF_TOL, 'affine out');
  // The values cs231n's notebook prints (8 digits) agree too.
  assertClose(out.data, [1.49834967, 1.70660132, 1.91485297, 3.25553199, 3.5141327, 3.77273342], 1e-8, 'affine out vs cs231n');
});

test('affine: reference forward and backward N=2, D=4, M=3 (float64, linspace, tol 1e-12)', () => {
  const x = linspace(-0.1, 0.5, 2, 4);
  const w = linspace(-0.2, 0.3, 4, 3);
  const b = linspace(-0.3, 0.1, 1, 3);
  const dout = linspace(-0.4, 0.6, 2, 3);
  const { out, cache } = affineForward(x, w, b);
  const { dx, dw, db } = affineBackward(dout, cache);
  assertClose(out.data, [-0.24103896103896105, -0.035844155844155845, 0.16935064935064936, -0.2348051948051948, 0.03272727272727273, 0.3002597402597403], REF_TOL, 'out');
  assertClose(dx!.data, [0.11090909090909092, 0.02909090909090909, -0.05272727272727273, -0.13454545454545455, -0.16727272727272727, -0.0036363636363636364, 0.16, 0.3236363636363636], REF_TOL, 'dx');
  assertClose(
    dw.data,
    [
      0.08857142857142856, 0.11714285714285715, 0.1457142857142857, 0.07142857142857142, 0.13428571428571429, 0.19714285714285715, 0.054285714285714284, 0.15142857142857144, 0.24857142857142858,
      0.037142857142857144, 0.16857142857142857, 0.3,
    ],
    REF_TOL,
    'dw',
  );
  assertClose(db!.data, [-0.2, 0.2, 0.6], REF_TOL, 'db');
  assert.deepEqual([dx!.rows, dx!.cols, dw.rows, dw.cols, db!.rows, db!.cols], [2, 4, 4, 3, 1, 3]);
});

test('affine: needDx=false skips dx, no bias gives db null, float32 in → float32 out', () => {
  const rng = new Rng(2);
  const x = randn(3, 4, rng);
  const w = randn(4, 2, rng);
  const dout = randn(3, 2, rng);
  const withB = affineBackward(dout, affineForward(x, w, randn(1, 2, rng)).cache, false);
  assert.equal(withB.dx, null);
  assert.ok(withB.db !== null);
  const noB = affineBackward(dout, affineForward(x, w, null).cache);
  assert.equal(noB.db, null);
  assert.ok(noB.dx !== null);
  // dw does not depend on the bias.
  assert.deepEqual(Array.from(noB.dw.data), Array.from(withB.dw.data));

  const x32 = { rows: 3, cols: 4, data: Float32Array.from(x.data) };
  const w32 = { rows: 4, cols: 2, data: Float32Array.from(w.data) };
  const r = affineForward(x32, w32, { rows: 1, cols: 2, data: new Float32Array(2) });
  assert.ok(r.out.data instanceof Float32Array);
  const g = affineBackward({ rows: 3, cols: 2, data: Float32Array.from(dout.data) }, r.cache);
  assert.ok(g.dx!.data instanceof Float32Array && g.dw.data instanceof Float32Array && g.db!.data instanceof Float32Array);
  // float32 agrees with float64 to float32 round-off (float32, tol 1e-5 absolute on O(1) values).
  const r64 = affineForward(x, w, { rows: 1, cols: 2, data: new Float64Array(2) });
  assertClose(r.out.data, Array.from(r64.out.data), 1e-5, 'float32 vs float64 out');
});

test('affine: backward does not change dout or the cache', () => {
  const rng = new Rng(3);
  const x = randn(3, 4, rng);
  const w = randn(4, 5, rng);
  const b = randn(1, 5, rng);
  const dout = randn(3, 5, rng);
  const before = snapshot(x, w, b, dout);
  const { cache } = affineForward(x, w, b);
  affineBackward(dout, cache);
  assert.deepEqual(snapshot(x, w, b, dout), before);
  assert.equal(cache.x, x);
  assert.equal(cache.w, w);
});

test('affine: shape errors name both shapes', () => {
  const rng = new Rng(4);
  const x = randn(3, 4, rng);
  const w = randn(5, 2, rng);
  assert.throws(() => affineForward(x, w, null), /x \(3,4\) and w \(5,2\)/);
  const w2 = randn(4, 2, rng);
  assert.throws(() => affineForward(x, w2, randn(1, 3, rng)), /b has shape \(1,3\) but w \(4,2\) needs b \(1,2\)/);
  const { cache } = affineForward(x, w2, null);
  assert.throws(() => affineBackward(randn(3, 3, rng), cache), /dout has shape \(3,3\).*expected \(3,2\)/);
  const x32 = { rows: 3, cols: 4, data: new Float32Array(12) };
  assert.throws(() => affineForward(x32, w2 as unknown as Mat<Float32Array>, null), /x is Float32Array but w is Float64Array/);
});

// ---------------------------------------------------------------------------------------------
// relu

test('relu: gradient check dx with inputs kept ≥ 0.1 away from the kink (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(5);
  const x = randn(4, 6, rng);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.sign(x.data[i] || 1) * (0.1 + Math.abs(x.data[i]));
  const dout = randn(4, 6, rng);
  const { cache } = reluForward(x);
  const before = snapshot(x, dout);
  const dx = reluBackward(dout, cache);
  assert.deepEqual(snapshot(x, dout), before, 'backward changed an input');
  assertGrad(
    t,
    'relu dx',
    dx.data,
    numericGradientArray(() => reluForward(x).out, x.data, dout.data, H),
  );
});

test('relu: reference (cs231n relu_forward input linspace(-0.5, 0.5, 12), float64, exact)', () => {
  const x = linspace(-0.5, 0.5, 3, 4);
  const { out, cache } = reluForward(x);
  const want = Array.from(x.data, (v) => Math.max(v, 0));
  assert.deepEqual(Array.from(out.data), want);
  assert.deepEqual(Array.from(out.data.slice(0, 6)), [0, 0, 0, 0, 0, 0]);
  const dx = reluBackward(linspace(1, 12, 3, 4), cache);
  assert.deepEqual(Array.from(dx.data), [0, 0, 0, 0, 0, 0, 7, 8, 9, 10, 11, 12]);
  assert.throws(() => reluBackward(linspace(1, 12, 4, 3), cache), /dout has shape \(4,3\) but the cached x is \(3,4\)/);
});

// ---------------------------------------------------------------------------------------------
// affine_relu

test('affine_relu: gradient check dx, dw, db (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(6);
  const x = randn(4, 5, rng);
  const w = randn(5, 6, rng);
  const b = randn(1, 6, rng);
  const dout = randn(4, 6, rng);
  const { cache } = affineReluForward(x, w, b);
  // Precondition: no pre-activation is within reach of the kink at 0 for a 1e-5 nudge.
  const minAbs = Math.min(...Array.from(affineForward(x, w, b).out.data, Math.abs)); // a = x·w + b
  assert.ok(minAbs > 1e-3, `a pre-activation is ${minAbs} from the ReLU kink; the check would cross it`);
  const before = snapshot(x, w, b, dout);
  const { dx, dw, db } = affineReluBackward(dout, cache);
  assert.deepEqual(snapshot(x, w, b, dout), before, 'backward changed an input');
  const f = () => affineReluForward(x, w, b).out;
  assertGrad(t, 'affine_relu dx', dx!.data, numericGradientArray(f, x.data, dout.data, H));
  assertGrad(t, 'affine_relu dw', dw.data, numericGradientArray(f, w.data, dout.data, H));
  assertGrad(t, 'affine_relu db', db!.data, numericGradientArray(f, b.data, dout.data, H));
});

test('affine_relu: reference N=2, D=4, M=3 (float64, linspace, tol 1e-12)', () => {
  const x = linspace(-0.1, 0.5, 2, 4);
  const w = linspace(-0.2, 0.3, 4, 3);
  const b = linspace(-0.3, 0.1, 1, 3);
  const dout = linspace(-0.4, 0.6, 2, 3);
  const { out, cache } = affineReluForward(x, w, b);
  const { dx, dw, db } = affineReluBackward(dout, cache);
  assertClose(out.data, [0, 0, 0.16935064935064936, 0, 0.03272727272727273, 0.3002597402597403], REF_TOL, 'out');
  assertClose(dx!.data, [0, 0, 0, 0, -0.12727272727272726, 0.00909090909090909, 0.14545454545454545, 0.2818181818181818], REF_TOL, 'dx');
  assertClose(dw.data, [0, 0.09714285714285714, 0.1457142857142857, 0, 0.13142857142857142, 0.19714285714285715, 0, 0.1657142857142857, 0.24857142857142858, 0, 0.2, 0.3], REF_TOL, 'dw');
  assertClose(db!.data, [0, 0.4, 0.6], REF_TOL, 'db');
  assert.equal(affineReluBackward(dout, cache, false).dx, null);
});

// ---------------------------------------------------------------------------------------------
// softmax loss

test('softmax loss: gradient check dscores (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(7);
  const scores = randn(5, 4, rng);
  const y = Int32Array.from([0, 3, 1, 2, 3]);
  const before = snapshot(scores);
  const { dscores } = softmaxLoss(scores, y);
  assert.deepEqual(snapshot(scores), before);
  assertGrad(
    t,
    'softmax dscores',
    dscores.data,
    numericGradient(() => softmaxLoss(scores, y).loss, scores.data, H),
  );
  // Each row of dscores sums to 0 (Σ_j P_ij = 1).
  for (let i = 0; i < 5; i++) {
    let s = 0;
    for (let j = 0; j < 4; j++) s += dscores.data[i * 4 + j];
    assert.ok(Math.abs(s) < 1e-15, `row ${i} of dscores sums to ${s}`);
  }
});

test('softmax loss: reference scores linspace(-1, 2) (3,4), y = [0,3,1] (float64, tol 1e-12)', () => {
  const scores = linspace(-1, 2, 3, 4);
  const { loss, dscores } = softmaxLoss(scores, Int32Array.from([0, 3, 1]));
  assert.ok(Math.abs(loss - 1.477755746103479) <= REF_TOL, `loss ${loss}`);
  assertClose(
    dscores.data,
    [
      -0.2804678371195133, 0.06944104736790244, 0.09121372927339877, 0.11981306047821207, 0.05286549621382006, 0.06944104736790244, 0.09121372927339877, -0.21352027285512126, 0.05286549621382006,
      -0.2638922859654309, 0.09121372927339877, 0.11981306047821207,
    ],
    REF_TOL,
    'dscores',
  );
});

test('softmax loss: large scores [1000,1001,1002] are finite and equal the result for [0,1,2] (float64, tol 1e-12)', () => {
  for (const Ctor of [Float64Array, Float32Array]) {
    for (let label = 0; label < 3; label++) {
      const y = Int32Array.from([label]);
      const big = softmaxLoss({ rows: 1, cols: 3, data: Ctor.from([1000, 1001, 1002]) }, y);
      const small = softmaxLoss({ rows: 1, cols: 3, data: Ctor.from([0, 1, 2]) }, y);
      assert.ok(Number.isFinite(big.loss), `${Ctor.name}: loss ${big.loss}`);
      assert.ok(Math.abs(big.loss - small.loss) <= 1e-12, `${Ctor.name}: ${big.loss} vs ${small.loss}`);
      assertClose(big.dscores.data, Array.from(small.dscores.data), 1e-12, `${Ctor.name} dscores`);
    }
  }
  // ln P for class 0 of [0,1,2] is −ln(1 + e + e²).
  const l0 = softmaxLoss({ rows: 1, cols: 3, data: Float64Array.from([1000, 1001, 1002]) }, Int32Array.from([0])).loss;
  assert.ok(Math.abs(l0 - Math.log(1 + Math.E + Math.E * Math.E)) <= 1e-12);
});

test('softmax loss: a vanishing probability gives a large finite loss, not Infinity (float64)', () => {
  // P_y = e^-2000 underflows to 0 in float64; log-sum-exp gives loss = 2000 exactly.
  const { loss, dscores } = softmaxLoss({ rows: 1, cols: 2, data: Float64Array.from([0, 2000]) }, Int32Array.from([0]));
  assert.equal(loss, 2000);
  assert.deepEqual(Array.from(dscores.data), [-1, 1]);
});

test('softmax loss: bad labels and shapes throw with the value, the index and the shapes', () => {
  const scores: Mat<Float64Array> = { rows: 2, cols: 3, data: new Float64Array(6) };
  assert.throws(() => softmaxLoss(scores, Int32Array.from([0, 3])), /y\[1\] = 3 is not a class index in \[0, 3\)/);
  assert.throws(() => softmaxLoss(scores, Int32Array.from([-1, 0])), /y\[0\] = -1/);
  assert.throws(() => softmaxLoss(scores, Uint8Array.from([0, 200])), /y\[1\] = 200/);
  assert.throws(() => softmaxLoss(scores, Int32Array.from([0, 1, 2])), /scores is \(2,3\) but y has 3 labels/);
  assert.doesNotThrow(() => softmaxLoss(scores, Uint8Array.from([2, 0])));
});

// ---------------------------------------------------------------------------------------------
// l2

test('l2: gradient check dw = 2·reg·W of reg·ΣW² (float64, h=1e-5, tol 1e-7)', (t) => {
  const rng = new Rng(8);
  const w = randn(4, 3, rng);
  const reg = 0.3;
  const before = snapshot(w);
  const { loss, dw } = l2Loss(w, reg);
  assert.deepEqual(snapshot(w), before);
  let sumSq = 0;
  for (const v of w.data) sumSq += v * v;
  assert.ok(Math.abs(loss - reg * sumSq) <= 1e-14 * loss);
  assertGrad(
    t,
    'l2 dw',
    dw.data,
    numericGradient(() => l2Loss(w, reg).loss, w.data, H),
  );
});

test('l2: addL2 adds 2·reg·W into an existing gradient and returns reg·ΣW² (float64, exact)', () => {
  const w = linspace(-1, 1, 2, 3);
  const g: Mat<Float64Array> = { rows: 2, cols: 3, data: Float64Array.from([1, 2, 3, 4, 5, 6]) };
  const loss = addL2(w, 0.5, g);
  // ΣW² for linspace(-1,1,6) = 2·(1 + 0.36 + 0.04) = 2.8
  assert.ok(Math.abs(loss - 0.5 * 2.8) <= 1e-15);
  assertClose(g.data, [0, 1.4, 2.8, 4.2, 5.6, 7], 1e-15, 'g');
  assert.throws(() => addL2(w, 1, { rows: 3, cols: 2, data: new Float64Array(6) }), /dw has shape \(3,2\) but w is \(2,3\)/);
});

// ---------------------------------------------------------------------------------------------
// `into` buffers: what a training loop passes so that a step allocates nothing

test('into buffers: every layer writes the same values into a given buffer as into a fresh one (float64, exact)', () => {
  const rng = new Rng(31);
  const x = randn(5, 4, rng);
  const w = randn(4, 3, rng);
  const b = randn(1, 3, rng);
  const dout = randn(5, 3, rng);
  const same = (m: Mat, fresh: Mat, what: string) => assert.deepEqual(Array.from(m.data), Array.from(fresh.data), what);
  const buf = (r: number, c: number): Mat<Float64Array> => ({ rows: r, cols: c, data: new Float64Array(r * c).fill(7) }); // stale values

  const a = affineForward(x, w, b);
  const aInto = buf(5, 3);
  const a2 = affineForward(x, w, b, aInto);
  assert.equal(a2.out, aInto, 'affineForward returns the given buffer');
  same(a2.out, a.out, 'affine out');
  const g = affineBackward(dout, a.cache);
  const into = { dx: buf(5, 4), dw: buf(4, 3), db: buf(1, 3) };
  const g2 = affineBackward(dout, a.cache, true, into);
  assert.equal(g2.dx, into.dx);
  same(g2.dx!, g.dx!, 'affine dx');
  same(g2.dw, g.dw, 'affine dw');
  same(g2.db!, g.db!, 'affine db');

  const r = affineReluForward(x, w, b);
  const r2 = affineReluForward(x, w, b, buf(5, 3));
  same(r2.out, r.out, 'affine_relu out');
  const rg = affineReluBackward(dout, r.cache);
  const rInto = { da: buf(5, 3), dx: buf(5, 4), dw: buf(4, 3), db: buf(1, 3) };
  const rg2 = affineReluBackward(dout, r2.cache, true, rInto);
  same(rg2.dx!, rg.dx!, 'affine_relu dx');
  same(rg2.dw, rg.dw, 'affine_relu dw');
  same(rg2.db!, rg.db!, 'affine_relu db');
  same(rInto.da, reluBackward(dout, r.cache.relu), 'affine_relu da');

  const relu = reluForward(x);
  const relu2 = reluForward(x, buf(5, 4));
  same(relu2.out, relu.out, 'relu out');
  const d4 = randn(5, 4, rng);
  same(reluBackward(d4, relu.cache, buf(5, 4)), reluBackward(d4, relu.cache), 'relu dx');

  const y = Int32Array.of(0, 2, 1, 1, 0);
  const s = softmaxLoss(a.out, y);
  const sInto = buf(5, 3);
  const s2 = softmaxLoss(a.out, y, sInto);
  assert.equal(s2.loss, s.loss);
  assert.equal(s2.dscores, sInto);
  same(s2.dscores, s.dscores, 'dscores');
});

test('into buffers: a wrong shape, type or an input as the output is refused', () => {
  const rng = new Rng(32);
  const x = randn(2, 3, rng);
  const { cache } = reluForward(x);
  const dout = randn(2, 3, rng);
  assert.throws(() => reluBackward(dout, cache, dout), /into must not be dout/);
  assert.throws(() => reluBackward(dout, cache, randn(3, 2, rng)), /reluBackward: into is Float64Array \(3,2\), expected Float64Array \(2,3\)/);
  assert.throws(() => reluForward(x, { rows: 2, cols: 3, data: new Float32Array(6) } as unknown as Mat<Float64Array>), /into is Float32Array/);
  assert.throws(() => softmaxLoss(x, Int32Array.of(0, 1), x), /into must be a separate Float64Array \(2,3\)/);
  assert.throws(() => softmaxLoss(x, Int32Array.of(0, 1), randn(2, 2, rng)), /into must be a separate Float64Array \(2,3\) for dscores, got Float64Array \(2,2\)/);
  const w = randn(3, 4, rng);
  assert.throws(() => affineForward(x, w, null, randn(2, 3, rng)), /out has shape \(2,3\), expected \(2,4\)/);
});

test('relu: NaN passes through forward and backward instead of being masked to 0', () => {
  const x: Mat<Float64Array> = { rows: 1, cols: 3, data: Float64Array.of(NaN, -1, 2) };
  const { out, cache } = reluForward(x);
  assert.ok(Number.isNaN(out.data[0]));
  assert.deepEqual(Array.from(out.data.slice(1)), [0, 2]);
  const dx = reluBackward({ rows: 1, cols: 3, data: Float64Array.of(1, NaN, 3) }, cache);
  assert.ok(Number.isNaN(dx.data[1]), 'a NaN gradient where x ≤ 0 is not hidden');
  assert.equal(dx.data[2], 3);
});
