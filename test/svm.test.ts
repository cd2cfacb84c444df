/**
 * The multiclass SVM (cs231n svm.ipynb, 2024): the hinge loss layer, the looped and vectorized
 * linear SVM against numpy's svm_loss_vectorized (test/fixtures/svm.json, written by
 * svm_reference.py), against each other, and gradient-checked in float64 away from the kinks of
 * the hinge, as cs231n's grad_check_sparse is used there: a coordinate is checked only when the
 * set of positive margins is the same at x − 2h and x + 2h (margins are linear in one coordinate,
 * so then none changes sign in between and the loss is linear there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Mat } from '../src/linalg/mat.js';
import { matmul } from '../src/linalg/matmul.js';
import { Rng } from '../src/linalg/rng.js';
import { type SparseCheckRow, gradCheckSparse, isResolved, judgedError } from '../src/linalg/gradcheck.js';
import { svmKinkDistance, svmLoss } from '../src/layers/svm_loss.js';
import { svmLossNaive, svmLossVectorized } from '../src/layers/svm_naive.js';
import { createModel, modelFromCheckpoint } from '../src/models/index.js';
import { expectedInitialLoss } from '../src/models/loss.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/runs/checkpoint.js';
import { checkModel } from '../src/cli/gradcheck.js';
import { randnMat, randomLabels, sampleCheckpoint } from './helpers.js';

const H = 1e-5;
const TOL = 1e-7;
const REF_TOL = 1e-12;

const fx = JSON.parse(fs.readFileSync(new URL('./fixtures/svm.json', import.meta.url), 'utf8')) as {
  X: number[];
  W: number[];
  y: number[];
  reg: number;
  scores: number[];
  dataLoss: number;
  dscores: number[];
  loss: number;
  dW: number[];
};
const fxX: Mat<Float64Array> = { rows: 4, cols: 5, data: Float64Array.from(fx.X) };
const fxW: Mat<Float64Array> = { rows: 5, cols: 3, data: Float64Array.from(fx.W) };
const fxY = Int32Array.from(fx.y);

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Which margins are positive, as svmLoss's dscores shows them (its sign pattern). */
function activePattern(scores: Mat<Float64Array>, y: Int32Array): string {
  return Array.from(svmLoss(scores, y).dscores.data, (v) => Math.sign(v)).join(',');
}

/**
 * grad_check_sparse over every coordinate of x, keeping the rows away from a kink: those where
 * the active margins at x ± 2h are the ones at x. Asserts the project's verdict (judgedError)
 * below 1e-7 on each kept row, and that most rows were kept and resolved.
 */
function checkAwayFromKinks(t: { diagnostic(s: string): void }, name: string, f: () => number, x: Float64Array, analytic: ArrayLike<number>, pattern: () => string): SparseCheckRow[] {
  const { rows } = gradCheckSparse(f, x, analytic, x.length, H, new Rng(3));
  const kept = rows.filter((r) => {
    const at = pattern();
    const old = x[r.index];
    x[r.index] = old + 2 * H;
    const up = pattern();
    x[r.index] = old - 2 * H;
    const down = pattern();
    x[r.index] = old;
    return up === at && down === at;
  });
  let worst = 0;
  for (const r of kept) worst = Math.max(worst, judgedError(r, TOL));
  const resolved = kept.filter((r) => isResolved(r, TOL)).length;
  t.diagnostic(`${name}: ${kept.length}/${rows.length} coordinates away from a kink, ${resolved} resolved; max judged error ${worst.toExponential(2)}`);
  assert.ok(kept.length >= 0.8 * rows.length, `${name}: only ${kept.length} of ${rows.length} coordinates are away from a kink`);
  assert.ok(resolved >= 0.5 * kept.length, `${name}: only ${resolved} of ${kept.length} coordinates resolve ${TOL}`);
  assert.ok(worst < TOL, `${name}: judged error ${worst} ≥ ${TOL}`);
  return kept;
}

test('svmLoss: numpy svm_loss_vectorized on the fixture (float64, tol 1e-12), both sides of the hinge present', () => {
  const scores: Mat<Float64Array> = { rows: 4, cols: 3, data: Float64Array.from(fx.scores) };
  const { loss, dscores } = svmLoss(scores, fxY);
  assert.ok(Math.abs(loss - fx.dataLoss) <= REF_TOL, `loss ${loss}, numpy ${fx.dataLoss}`);
  assert.ok(maxAbsDiff(dscores.data, fx.dscores) <= REF_TOL, `dscores ${Array.from(dscores.data)}`);
  // The fixture has inactive margins (zeros off the label) as well as active ones.
  const off = fx.dscores.filter((_, k) => k % 3 !== fx.y[Math.floor(k / 3)]);
  assert.ok(off.some((v) => v === 0) && off.some((v) => v > 0));
});

test('svmLoss: small W gives C − 1 (each margin ≈ Δ = 1), the sanity check models/loss.ts expects', () => {
  const rng = new Rng(5);
  const scores = randnMat(Float64Array, 200, 10, rng, 1e-4);
  const { loss } = svmLoss(scores, randomLabels(200, 10, rng));
  assert.ok(Math.abs(loss - 9) < 1e-2, `loss ${loss}`);
  assert.equal(expectedInitialLoss('svm', 10).value, 9);
  assert.equal(expectedInitialLoss('softmax', 10).value, Math.log(10));
});

test('svmLoss: writes into a given buffer, rejects bad labels and a buffer that is the scores', () => {
  const scores: Mat<Float64Array> = { rows: 4, cols: 3, data: Float64Array.from(fx.scores) };
  const into: Mat<Float64Array> = { rows: 4, cols: 3, data: new Float64Array(12).fill(7) };
  const r = svmLoss(scores, fxY, into);
  assert.equal(r.dscores, into);
  assert.ok(maxAbsDiff(into.data, fx.dscores) <= REF_TOL);
  assert.throws(() => svmLoss(scores, Int32Array.from([0, 3, 1, 2])), /y\[1\] = 3 is not a class index/);
  assert.throws(() => svmLoss(scores, fxY, scores), /into must be a separate/);
});

test('svmLoss: gradient check of dscores away from the kinks (float64, h=1e-5, judged error < 1e-7)', (t) => {
  const rng = new Rng(11);
  const scores = randnMat(Float64Array, 8, 6, rng);
  const y = randomLabels(8, 6, rng);
  const { dscores } = svmLoss(scores, y);
  checkAwayFromKinks(
    t,
    'svm dscores',
    () => svmLoss(scores, y).loss,
    scores.data,
    dscores.data,
    () => activePattern(scores, y),
  );
});

test('svmLoss: at a kink the centred difference is the mean of the two slopes, which is why the check stays away', () => {
  // Row 0: s_1 − s_0 + 1 = 0 exactly, so the margin of class 1 sits on the kink.
  const scores: Mat<Float64Array> = { rows: 1, cols: 3, data: Float64Array.from([2, 1, -5]) };
  const y = Int32Array.from([0]);
  assert.equal(svmKinkDistance(scores, y), 0);
  assert.equal(svmLoss(scores, y).dscores.data[1], 0); // the flat side, as cs231n's margins > 0
  const f = () => svmLoss(scores, y).loss;
  const { rows } = gradCheckSparse(f, scores.data, svmLoss(scores, y).dscores.data, 3, H, new Rng(0));
  const r1 = rows.find((r) => r.index === 1)!;
  assert.ok(Math.abs(r1.numeric - 0.5) < 1e-9, `numeric ${r1.numeric}`);
  assert.ok(r1.relError > 0.5);
});

test('svmLossNaive and svmLossVectorized: numpy on the fixture (float64, tol 1e-12)', () => {
  for (const [name, fn] of [
    ['naive', svmLossNaive],
    ['vectorized', svmLossVectorized],
  ] as const) {
    const { loss, dW } = fn(fxW, fxX, fxY, fx.reg);
    assert.ok(Math.abs(loss - fx.loss) <= REF_TOL, `${name}: loss ${loss}, numpy ${fx.loss}`);
    assert.ok(maxAbsDiff(dW.data, fx.dW) <= REF_TOL, `${name}: dW differs from numpy by ${maxAbsDiff(dW.data, fx.dW)}`);
  }
});

test('svmLossNaive equals svmLossVectorized in float64 on a random problem with active and inactive margins', () => {
  const rng = new Rng(2);
  const X = randnMat(Float64Array, 60, 25, rng);
  const W = randnMat(Float64Array, 25, 10, rng, 0.3);
  const y = randomLabels(60, 10, rng);
  const naive = svmLossNaive(W, X, y, 0.05);
  const vec = svmLossVectorized(W, X, y, 0.05);
  const pattern = activePattern(matmul(X, W), y).split(',');
  assert.ok(pattern.includes('0') && pattern.includes('1'), 'the problem has both inactive and active margins');
  assert.ok(Math.abs(naive.loss - vec.loss) <= 1e-12 * Math.abs(naive.loss), `loss ${naive.loss} vs ${vec.loss}`);
  assert.ok(maxAbsDiff(naive.dW.data, vec.dW.data) <= 1e-12, `dW differs by ${maxAbsDiff(naive.dW.data, vec.dW.data)}`);
});

test('svmLossNaive and svmLossVectorized: gradient check of dW away from the kinks (float64, judged error < 1e-7)', (t) => {
  const rng = new Rng(4);
  const X = randnMat(Float64Array, 12, 9, rng);
  for (let i = 0; i < 12; i++) X.data[i * 9 + 8] = 1; // bias trick
  const W = randnMat(Float64Array, 9, 5, rng, 0.5);
  const y = randomLabels(12, 5, rng);
  const pattern = () => activePattern(matmul(X, W), y);
  for (const [name, fn] of [
    ['naive', svmLossNaive],
    ['vectorized', svmLossVectorized],
  ] as const) {
    const { dW } = fn(W, X, y, 0.1);
    checkAwayFromKinks(t, `svm ${name} dW`, () => fn(W, X, y, 0.1).loss, W.data, dW.data, pattern);
  }
});

test('linear model and MLP with loss svm: the same loss as svmLossVectorized, and gradcheck passes', () => {
  const rng = new Rng(9);
  const lin = createModel({ kind: 'softmax', inputDim: 9, hidden: [], numClasses: 5, loss: 'svm' }, { initStd: 0.5, reg: 0.1, dtype: Float64Array }, rng);
  const X = randnMat(Float64Array, 12, 9, rng);
  const y = randomLabels(12, 5, rng);
  const r = lin.loss(X, y);
  const ref = svmLossVectorized(lin.params.views.W, X, y, 0.1);
  assert.ok(Math.abs(r.loss - ref.loss) <= 1e-12 * ref.loss);
  assert.ok(maxAbsDiff(r.grads.views.W.data, ref.dW.data) <= 1e-12);
  const mlp = createModel({ kind: 'mlp', inputDim: 9, hidden: [7], numClasses: 5, loss: 'svm' }, { initStd: 0.3, reg: 0.1, dtype: Float64Array }, rng);
  const lines: string[] = [];
  assert.equal(
    checkModel(mlp, X, y, { numChecks: 10, threshold: TOL, h: H }, new Rng(1), (s) => lines.push(s)),
    0,
    lines.join('\n'),
  );
  // The softmax is still the default loss.
  const soft = createModel({ kind: 'softmax', inputDim: 9, hidden: [], numClasses: 5 }, { initStd: 0.5, reg: 0.1, dtype: Float64Array }, new Rng(9));
  assert.equal(soft.spec.loss, undefined);
  assert.notEqual(soft.loss(X, y).loss, svmLossVectorized(soft.params.views.W, X, y, 0.1).loss);
});

test('checkpoint: the loss is kept (svm), absent reads as softmax, anything else is refused', () => {
  const ck = sampleCheckpoint();
  const svm = { ...ck, header: { ...ck.header, model: { ...ck.header.model, loss: 'svm' as const } } };
  const back = decodeCheckpoint(encodeCheckpoint(svm), 'svm.ckpt');
  assert.equal(back.header.model.loss, 'svm');
  assert.equal(modelFromCheckpoint(back).spec.loss, 'svm');
  assert.equal(decodeCheckpoint(encodeCheckpoint(ck), 'old.ckpt').header.model.loss, undefined);
  const bad = { ...ck, header: { ...ck.header, model: { ...ck.header.model, loss: 'hinge' as never } } };
  assert.throws(() => decodeCheckpoint(encodeCheckpoint(bad), 'bad.ckpt'), /loss must be softmax or svm/);
});
