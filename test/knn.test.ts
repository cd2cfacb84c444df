/**
 * The kNN classifier (src/models/knn.ts): the notebook's three distance forms agree (float64
 * exactly on pixel rows; float32 within a bound derived below), the vote and its tie rules, the
 * chunked prediction equals the unchunked one, the folds are np.array_split's, and on the real
 * CIFAR-10 files the predictions agree with ../shared/peers/knn_numpy.py's (a committed fixture).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../src/data/datasets.js';
import { initEngine } from '../src/linalg/engine.js';
import { referenceEngine } from '../src/linalg/engines/reference.js';
import type { Mat } from '../src/linalg/mat.js';
import { getEngine, useEngine } from '../src/linalg/matmul.js';
import { Rng } from '../src/linalg/rng.js';
import {
  accuracyOf,
  crossValidate,
  distancesNoLoops,
  distancesOneLoop,
  distancesTwoLoops,
  foldBounds,
  knnPredict,
  knnPredictMany,
  knnTrain,
  nearestNeighbours,
  voteLabels,
} from '../src/models/knn.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** ‖m[i]‖, in float64. */
function rowNorm(m: Mat, i: number): number {
  let s = 0;
  for (let k = i * m.cols; k < (i + 1) * m.cols; k++) s += m.data[k] * m.data[k];
  return Math.sqrt(s);
}

/** (rows, D) of whole-number "pixels" in [0, 255], as the array type Ctor. */
function pixels<C extends Float32ArrayConstructor | Float64ArrayConstructor>(Ctor: C, rows: number, D: number, rng: Rng): Mat<InstanceType<C>> {
  const data = new Ctor(rows * D) as InstanceType<C>;
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { rows, cols: D, data };
}

test('distances, float64, pixel rows: the two-loop, one-loop and no-loop forms are equal, bit for bit', () => {
  // Every intermediate is a whole number below 2^53 (squares ≤ 65,025, sums ≤ D·65,025), so all
  // three forms compute the same exact d² and take the same correctly rounded sqrt: tolerance 0.
  const rng = new Rng(1);
  const X = pixels(Float64Array, 7, 300, rng);
  const T = pixels(Float64Array, 23, 300, rng);
  const two = distancesTwoLoops(X, T);
  const one = distancesOneLoop(X, T);
  const none = distancesNoLoops(X, T);
  assert.deepEqual(one.data, two.data);
  assert.deepEqual(none.data, two.data);
  // A spot value by hand: row 0 against row 0.
  let s = 0;
  for (let k = 0; k < 300; k++) s += (X.data[k] - T.data[k]) ** 2;
  assert.equal(two.data[0], Math.sqrt(s));
});

test('distances, float64, real-valued rows: the no-loop form is within its round-off bound of the loops', () => {
  // dtype float64, u = 2^-53. |fl(x·y) − x·y| ≤ γ_D·Σ|x_k||y_k| ≤ γ_D‖x‖‖y‖ (γ_D = D·u/(1 − D·u)),
  // and ‖x‖², ‖y‖² and the sum add a few u·(‖x‖² + ‖y‖²); so |d̂² − d²| ≤ E = 2γ_D‖x‖‖y‖ + 4u(‖x‖²+‖y‖²),
  // and |d̂ − d| ≤ min(√E, E/d) + u·d.
  const rng = new Rng(2);
  const D = 50;
  const X = { rows: 6, cols: D, data: new Float64Array(6 * D) };
  const T = { rows: 9, cols: D, data: new Float64Array(9 * D) };
  rng.fillNormal(X.data, 3);
  rng.fillNormal(T.data, 3);
  const two = distancesTwoLoops(X, T);
  const one = distancesOneLoop(X, T);
  const none = distancesNoLoops(X, T);
  const u = 2 ** -53;
  const gamma = (D * u) / (1 - D * u);
  const norm = (m: Mat, i: number) => rowNorm(m, i);
  for (let i = 0; i < 6; i++) {
    for (let j = 0; j < 9; j++) {
      const d = two.data[i * 9 + j];
      assert.ok(Math.abs(one.data[i * 9 + j] - d) <= 4 * D * u * d, `one loop (${i},${j})`);
      const nx = norm(X, i);
      const ny = norm(T, j);
      const E = 2 * gamma * nx * ny + 4 * u * (nx * nx + ny * ny);
      const bound = Math.min(Math.sqrt(E), E / d) + u * d;
      assert.ok(Math.abs(none.data[i * 9 + j] - d) <= bound, `no loops (${i},${j}): ${none.data[i * 9 + j]} vs ${d}, bound ${bound}`);
    }
  }
});

/**
 * Float32 no-loop distances on CIFAR-sized pixel rows against the exact ones (float64 loops),
 * within the bound of a float32 product: the engine's sum of D products has |error| ≤
 * γ_D·Σ|x_k||y_k| ≤ γ_D‖x‖‖y‖ with u = 2^-24 (products of whole numbers ≤ 255 are exact in
 * float32), plus u·|x·y| ≤ u‖x‖‖y‖ for storing it; the norms and the sum are float64 (exact here).
 * So E = 2(γ_D + u)‖x‖‖y‖ bounds |d̂² − d²|, |d̂ − d| ≤ min(√E, E/d) plus u·d for storing d̂ in float32.
 */
async function float32Bound(engineName: 'reference' | 'simd') {
  const before = getEngine();
  if (engineName === 'simd') {
    const { engine } = await initEngine('simd', 2);
    useEngine(engine);
  } else useEngine(referenceEngine);
  try {
    const rng = new Rng(3);
    const D = 3072;
    const X64 = pixels(Float64Array, 5, D, rng);
    const T64 = pixels(Float64Array, 40, D, rng);
    const exact = distancesTwoLoops(X64, T64);
    const X = { rows: 5, cols: D, data: Float32Array.from(X64.data) };
    const T = { rows: 40, cols: D, data: Float32Array.from(T64.data) };
    const two32 = distancesTwoLoops(X, T);
    const one32 = distancesOneLoop(X, T);
    const none = distancesNoLoops(X, T);
    const u = 2 ** -24;
    const gamma = (D * u) / (1 - D * u);
    const norm = (m: Mat, i: number) => rowNorm(m, i);
    let worst = 0;
    for (let i = 0; i < 5; i++) {
      for (let j = 0; j < 40; j++) {
        const d = exact.data[i * 40 + j];
        // The loops sum in float64: exact d², then d rounded once to float32.
        assert.equal(two32.data[i * 40 + j], Math.fround(d));
        assert.equal(one32.data[i * 40 + j], Math.fround(d));
        const E = 2 * (gamma + u) * norm(X64, i) * norm(T64, j);
        const bound = Math.min(Math.sqrt(E), E / d) + u * d;
        const err = Math.abs(none.data[i * 40 + j] - d);
        worst = Math.max(worst, err / bound);
        assert.ok(err <= bound, `no loops on ${engineName} (${i},${j}): ${none.data[i * 40 + j]} vs exactly ${d}, bound ${bound}`);
      }
    }
    assert.ok(worst > 0, 'the float32 product rounds somewhere (else this test checks nothing)');
  } finally {
    useEngine(before);
  }
}

test('distances, float32, 3,072 pixels: loops exact to float32, no loops within the derived bound (reference engine)', () => float32Bound('reference'));
test('distances, float32, 3,072 pixels: no loops within the derived bound (simd engine)', () => float32Bound('simd'));

test('nearestNeighbours: nearest first, equal distances in training order (a stable argsort)', () => {
  const d = { rows: 2, cols: 6, data: new Float64Array([5, 1, 3, 1, 0, 3, 2, 2, 2, 1, 2, 0]) };
  const { nearest, k } = nearestNeighbours(d, 4);
  assert.equal(k, 4);
  assert.deepEqual([...nearest], [4, 1, 3, 2, 5, 3, 0, 1]);
  // Against a stable sort, on random rows with many repeated values; k capped at the row length.
  const rng = new Rng(4);
  const r = { rows: 30, cols: 40, data: new Float32Array(1200).map(() => rng.int(6)) };
  const all = nearestNeighbours(r, 100);
  assert.equal(all.k, 40);
  for (let i = 0; i < 30; i++) {
    const row = [...r.data.subarray(i * 40, (i + 1) * 40)];
    const want = row
      .map((v, j) => [v, j])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map((p) => p[1]);
    assert.deepEqual([...all.nearest.subarray(i * 40, (i + 1) * 40)], want);
    assert.deepEqual([...nearestNeighbours(r, 7).nearest.subarray(i * 7, (i + 1) * 7)], want.slice(0, 7));
  }
});

test('voteLabels: the majority of the k nearest, a tie going to the smaller label (bincount/argmax)', () => {
  const y = new Int32Array([3, 1, 1, 3, 2, 0]);
  const nearest = new Int32Array([0, 1, 2, 3, 4, 5]);
  assert.deepEqual([...voteLabels(nearest, 6, 1, y, 4)], [3]);
  assert.deepEqual([...voteLabels(nearest, 6, 2, y, 4)], [1]); // 3 and 1 once each: the smaller, 1
  assert.deepEqual([...voteLabels(nearest, 6, 3, y, 4)], [1]); // 1 twice
  assert.deepEqual([...voteLabels(nearest, 6, 4, y, 4)], [1]); // 1 and 3 twice each: 1
  assert.deepEqual([...voteLabels(new Int32Array([0, 3, 4, 5]), 4, 4, y, 4)], [3]); // 3 twice beats 2 and 0 once
  assert.deepEqual([...voteLabels(new Int32Array([5, 4]), 2, 2, y, 4)], [0]); // 0 and 2: 0
  assert.throws(() => voteLabels(nearest, 6, 7, y, 4), /k = 7 must be in \[1, 6\]/);
});

test('knnPredict: a literal example by hand; k = 1 on the training rows gives their own labels', () => {
  const T = { rows: 4, cols: 2, data: new Float64Array([0, 0, 1, 0, 10, 10, 11, 10]) };
  const m = knnTrain(T, new Int32Array([2, 2, 0, 1]), 3);
  const X = { rows: 3, cols: 2, data: new Float64Array([0.2, 0.1, 10.4, 10, 10.6, 10]) };
  assert.deepEqual([...knnPredict(m, X, 1)], [2, 0, 1]);
  assert.deepEqual([...knnPredict(m, X, 2)], [2, 0, 0]); // 0 and 1 once each: 0
  assert.deepEqual([...knnPredict(m, X, 3)], [2, 0, 0]); // rows 1 and 2: labels 0, 1, 2 once each: 0
  assert.deepEqual([...knnPredict(m, X, 4)], [2, 2, 2]); // all four: 2 twice
  const rng = new Rng(5);
  const P = pixels(Float32Array, 50, 20, rng);
  const y = new Int32Array(50).map(() => rng.int(10));
  assert.deepEqual([...knnPredict(knnTrain(P, y, 10), P, 1)], [...y]);
  assert.throws(() => knnPredict(m, X, 5), /k = 5 must be a whole number in \[1, 4\]/);
});

test('knnPredictMany: chunks of 1, 7 and all test rows give the same predictions', () => {
  const rng = new Rng(6);
  const T = pixels(Float32Array, 200, 48, rng);
  const y = new Int32Array(200).map(() => rng.int(10));
  const X = pixels(Float32Array, 45, 48, rng);
  const m = knnTrain(T, y, 10);
  const ks = [1, 3, 10, 50];
  const whole = knnPredictMany(m, X, ks, 45);
  assert.deepEqual(knnPredictMany(m, X, ks, 1), whole);
  assert.deepEqual(knnPredictMany(m, X, ks, 7), whole);
  assert.deepEqual(knnPredictMany(m, X, ks), whole);
  ks.forEach((k, q) => assert.deepEqual(knnPredict(m, X, k, 4), whole[q]));
});

test('foldBounds: np.array_split; crossValidate: each fold against a kNN of the other folds', () => {
  assert.deepEqual(foldBounds(10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(foldBounds(11, 3), [0, 4, 8, 11]); // np.array_split(range(11), 3): 4, 4, 3
  assert.throws(() => foldBounds(3, 4), /folds must be a whole number in \[2, 3\]/);
  const rng = new Rng(7);
  const X = pixels(Float32Array, 53, 16, rng);
  const y = new Int32Array(53).map(() => rng.int(4));
  const ks = [1, 3, 5];
  const cv = crossValidate(X, y, 4, 5, ks);
  const b = foldBounds(53, 5);
  for (let f = 0; f < 5; f++) {
    const keep = [...Array(53).keys()].filter((i) => i < b[f] || i >= b[f + 1]);
    const Tr = { rows: keep.length, cols: 16, data: new Float32Array(keep.flatMap((i) => [...X.data.subarray(i * 16, (i + 1) * 16)])) };
    const m = knnTrain(Tr, Int32Array.from(keep.map((i) => y[i])), 4);
    const V = { rows: b[f + 1] - b[f], cols: 16, data: X.data.subarray(b[f] * 16, b[f + 1] * 16) };
    ks.forEach((k, q) => assert.equal(cv.accuracy[q][f], accuracyOf(knnPredict(m, V, k), y.subarray(b[f], b[f + 1]))));
  }
  ks.forEach((_, q) => assert.ok(Math.abs(cv.mean[q] - cv.accuracy[q].reduce((s, v) => s + v) / 5) < 1e-15));
  const bestQ = cv.mean.indexOf(Math.max(...cv.mean));
  assert.equal(cv.bestK, ks[bestQ]);
});

interface PeerFixture {
  predictions: Record<string, number[]>;
  accuracy: Record<string, number>;
  /** knn_numpy.py --folds 5's own output line. */
  cv: { cv: Record<string, number>; best_k: number };
}
const readFixture = () => JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/knn_numpy_predictions.json'), 'utf8')) as PeerFixture;

/** The CIFAR-10 binary batches: this checkout's data/ copy (npx train data cifar …), else the shared archive (unpacked into data/ on first use). */
const CIFAR_DIR = path.join(root, 'data', 'cifar-10-batches-bin');
const SHARED_CIFAR = path.resolve(root, '../shared/data/cifar-10-binary.tar.gz');

test('kNN on the real CIFAR-10 files (5,000 train, 500 test, float32 on simd) agrees with knn_numpy.py (float64) on ≥ 499 of 500 for k = 1, 5, 10', async (t) => {
  const source = fs.existsSync(path.join(CIFAR_DIR, 'test_batch.bin')) ? CIFAR_DIR : fs.existsSync(SHARED_CIFAR) ? SHARED_CIFAR : null;
  if (source === null) {
    t.skip(`neither ${CIFAR_DIR} nor ${SHARED_CIFAR} is there: the real CIFAR-10 files are needed`);
    return;
  }
  const fixture = readFixture();
  const raw = await loadDataset('cifar', source);
  const before = getEngine();
  const { engine } = await initEngine('simd', 2);
  useEngine(engine);
  try {
    const D = raw.dim;
    const Xtr = { rows: 5000, cols: D, data: Float32Array.from(raw.train.x.subarray(0, 5000 * D)) };
    const Xte = { rows: 500, cols: D, data: Float32Array.from(raw.test.x.subarray(0, 500 * D)) };
    const ks = [1, 5, 10];
    const preds = knnPredictMany(knnTrain(Xtr, raw.train.y.subarray(0, 5000), 10), Xte, ks);
    ks.forEach((k, q) => {
      const want = fixture.predictions[String(k)];
      const agree = want.filter((v, i) => v === preds[q][i]).length;
      assert.ok(agree >= 499, `k = ${k}: ${agree} of 500 predictions agree with knn_numpy.py`);
      const acc = accuracyOf(preds[q], raw.test.y.subarray(0, 500));
      assert.ok(Math.abs(acc - fixture.accuracy[String(k)]) <= 1 / 500 + 1e-12, `k = ${k}: accuracy ${acc}, knn_numpy.py ${fixture.accuracy[String(k)]}`);
    });
  } finally {
    useEngine(before);
  }
});

test("the notebook's cross-validation on the real CIFAR-10 files (5 folds of 5,000, float32 on simd) gives knn_numpy.py --folds 5's mean per k and best k", async (t) => {
  const source = fs.existsSync(path.join(CIFAR_DIR, 'test_batch.bin')) ? CIFAR_DIR : fs.existsSync(SHARED_CIFAR) ? SHARED_CIFAR : null;
  if (source === null) {
    t.skip(`neither ${CIFAR_DIR} nor ${SHARED_CIFAR} is there: the real CIFAR-10 files are needed`);
    return;
  }
  const { cv: peer } = readFixture();
  const raw = await loadDataset('cifar', source);
  const before = getEngine();
  const { engine } = await initEngine('simd', 2);
  useEngine(engine);
  try {
    const D = raw.dim;
    const X = { rows: 5000, cols: D, data: engine.alloc.float(Float32Array, 5000 * D) };
    X.data.set(raw.train.x.subarray(0, 5000 * D));
    const ks = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100];
    const cv = crossValidate(X, raw.train.y.subarray(0, 5000), 10, 5, ks, undefined, engine.alloc);
    // The peer rounds its means to 4 decimals; a fold of 1,000 rows moves a mean by 0.0002 per prediction.
    ks.forEach((k, q) => assert.ok(Math.abs(cv.mean[q] - peer.cv[String(k)]) <= 0.00005 + 1e-12, `k = ${k}: mean ${cv.mean[q]}, knn_numpy.py ${peer.cv[String(k)]}`));
    assert.equal(cv.bestK, peer.best_k);
  } finally {
    useEngine(before);
  }
});
