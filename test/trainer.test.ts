/**
 * The training loop on a stub model whose loss is scripted, so the loop's own logic (epochs,
 * learning-rate decay, best-parameter tracking, divergence) is checked without any layer math.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import type { Labels, LossResult, Model } from '../src/models/model.js';
import { allocParams } from '../src/models/params.js';
import { sgdStep } from '../src/optim/sgd.js';
import { sgdMomentumInit, sgdMomentumStep } from '../src/optim/sgd_momentum.js';
import { lrAtEpoch } from '../src/optim/schedule.js';
import { Batcher } from '../src/train/batch.js';
import { iterationsPerEpoch } from '../src/config/config.js';
import { DivergedError, train, type EpochEvent } from '../src/train/trainer.js';

/**
 * One parameter w; gradient 1 each step (so w falls by lr each step); scores put class 0 ahead
 * when w > 0 and class 1 otherwise; loss is scripted per call.
 */
function stubModel(losses: (step: number) => number): Model<Float32Array> {
  const params = allocParams<Float32Array>([{ name: 'w', rows: 1, cols: 1 }], Float32Array);
  params.flat[0] = 1;
  let step = 0;
  function loss(X: Mat<Float32Array>): Mat<Float32Array>;
  function loss(X: Mat<Float32Array>, y: Labels): LossResult<Float32Array>;
  function loss(X: Mat<Float32Array>, y?: Labels): Mat<Float32Array> | LossResult<Float32Array> {
    if (y === undefined) {
      const out = new Float32Array(X.rows * 2);
      for (let i = 0; i < X.rows; i++) out[i * 2 + (params.flat[0] > 0 ? 0 : 1)] = 1;
      return { rows: X.rows, cols: 2, data: out };
    }
    const grads = allocParams<Float32Array>(params.specs, Float32Array);
    grads.flat[0] = 1;
    return { loss: losses(step++), grads };
  }
  return { spec: { kind: 'softmax', inputDim: 1, hidden: [], numClasses: 2 }, params, reg: 0, loss };
}

const rows = (n: number, label: number) => ({ X: { rows: n, cols: 1, data: new Float32Array(n) }, y: new Int32Array(n).fill(label) });

test('epochs, lr decay and best-parameter tracking', async () => {
  const model = stubModel(() => 1);
  const events: EpochEvent[] = [];
  // Epoch ends at steps 5 and 10, plus a last evaluation at step 12; lr halves after each full epoch.
  const res = await train(
    model,
    { train: rows(10, 0), val: rows(4, 0), trainAcc: rows(4, 0) },
    { lr: 0.3, lrDecay: 0.5, updateRule: 'sgd', hyper: {}, batchSize: 2, iterations: 12, iterationsPerEpoch: 5, sampling: 'replacement' },
    new Rng(1),
    {
      onEpoch: (e) => events.push(e),
    },
  );
  assert.deepEqual(
    events.map((e) => [e.epoch, e.it]),
    [
      [1, 5],
      [2, 10],
      [3, 12],
    ],
  );
  assert.deepEqual(
    events.map((e) => e.lr),
    [0.15, 0.075, 0.075],
  );
  // Five steps of lr 0.3 take w from 1 to −0.5, so class 1 is predicted and val accuracy is 0 throughout;
  // the first evaluation is still the best so far.
  assert.deepEqual(res.valAccHistory, [0, 0, 0]);
  assert.equal(res.bestEpoch, 1);
  assert.equal(res.iterations, 12);
});

test('the best parameters are swapped in at the end', async () => {
  const model = stubModel(() => 1);
  // lr 0.1: w = 1 − 0.1·it. After epoch 1 (it 5) w = 0.5 > 0 → val acc 1; after epoch 3 (it 15) w < 0 → 0.
  const res = await train(
    model,
    { train: rows(10, 0), val: rows(4, 0), trainAcc: rows(4, 0) },
    { lr: 0.1, lrDecay: 1, updateRule: 'sgd', hyper: {}, batchSize: 2, iterations: 15, iterationsPerEpoch: 5, sampling: 'shuffle' },
    new Rng(1),
  );
  assert.deepEqual(res.valAccHistory, [1, 0, 0]);
  assert.equal(res.bestValAcc, 1);
  assert.equal(res.finalValAcc, 0);
  assert.ok(Math.abs(model.params.flat[0] - 0.5) < 1e-6, `w = ${model.params.flat[0]}, expected the epoch-1 value 0.5`);
});

test('early stopping: patience 2 stops after two epochs without a better val accuracy, with the best parameters swapped in; patience 0 runs every step', async () => {
  const data = { train: rows(10, 0), val: rows(4, 0), trainAcc: rows(4, 0) };
  const opts = { lr: 0.1, lrDecay: 1, updateRule: 'sgd' as const, hyper: {}, batchSize: 2, iterations: 40, iterationsPerEpoch: 5, sampling: 'shuffle' as const };
  // As above, w = 1 − 0.1·it: val acc 1 after epoch 1, then 0 (w ≤ 0) for ever after.
  const model = stubModel(() => 1);
  const epochs: number[] = [];
  let steps = 0;
  const res = await train(model, data, { ...opts, patience: 2 }, new Rng(1), { onEpoch: (e) => epochs.push(e.epoch), onIteration: () => void steps++ });
  assert.deepEqual(res.stoppedEarly, { epoch: 3, it: 15 });
  assert.deepEqual(epochs, [1, 2, 3]);
  assert.equal(steps, 15);
  assert.deepEqual(res.valAccHistory, [1, 0, 0]);
  assert.equal(res.bestEpoch, 1);
  assert.ok(Math.abs(model.params.flat[0] - 0.5) < 1e-6, `w = ${model.params.flat[0]}, expected the epoch-1 value 0.5`);
  const all = await train(
    stubModel(() => 1),
    data,
    { ...opts, patience: 0 },
    new Rng(1),
  );
  assert.equal(all.stoppedEarly, null);
  assert.equal(all.valAccHistory.length, 8);
});

test('a NaN loss throws DivergedError after earlier epochs were reported', async () => {
  const model = stubModel((s) => (s === 7 ? NaN : 1));
  const seen: number[] = [];
  await assert.rejects(
    () =>
      train(
        model,
        { train: rows(10, 0), val: rows(4, 0), trainAcc: rows(4, 0) },
        { lr: 0.01, lrDecay: 1, updateRule: 'sgd', hyper: {}, batchSize: 2, iterations: 20, iterationsPerEpoch: 5, sampling: 'replacement' },
        new Rng(1),
        { onEpoch: (e) => seen.push(e.epoch) },
      ),
    (e: Error) => e instanceof DivergedError && e.it === 8 && /NaN at iteration 8/.test(e.message),
  );
  assert.deepEqual(seen, [1]);
});

test('iterations per epoch follow cs231n: max(floor(N/B), 1)', () => {
  assert.equal(iterationsPerEpoch(49000, 200), 245);
  assert.equal(iterationsPerEpoch(50, 200), 1);
});

test('sgd: plain step and momentum step (float64, exact)', () => {
  const p = Float64Array.from([1, 2]);
  sgdStep(p, Float64Array.from([0.5, -1]), 0.1);
  assert.deepEqual([...p], [1 - 0.05, 2 + 0.1]);
  const q = Float64Array.from([0, 0]);
  const st = sgdMomentumInit(2, Float64Array);
  sgdMomentumStep(q, Float64Array.from([1, 1]), 1, 0.9, st); // v = −1, q = −1
  sgdMomentumStep(q, Float64Array.from([1, 1]), 1, 0.9, st); // v = −0.9 − 1 = −1.9, q = −2.9
  assert.deepEqual([...q], [-2.9, -2.9]);
  assert.equal(lrAtEpoch(1, 0.95, 2), 0.95 * 0.95);
});

test('batcher: shuffle visits every row once per epoch; both modes are seeded', () => {
  const n = 10;
  const X = { rows: n, cols: 2, data: Float32Array.from({ length: 2 * n }, (_, i) => Math.floor(i / 2)) };
  const src = { X, y: Int32Array.from({ length: n }, (_, i) => i) };
  const b = new Batcher(src, 5, 'shuffle');
  const rng = new Rng(3);
  const seen: number[] = [];
  for (let k = 0; k < 2; k++) {
    b.next(rng);
    seen.push(...b.y);
    for (let i = 0; i < 5; i++) assert.equal(b.X.data[2 * i], b.y[i]); // rows travel with their labels
  }
  assert.deepEqual(
    seen.sort((a, c) => a - c),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  const draw = (seed: number) => {
    const bb = new Batcher(src, 5, 'replacement');
    const r = new Rng(seed);
    bb.next(r);
    return [...bb.y];
  };
  assert.deepEqual(draw(5), draw(5));
  assert.throws(() => new Batcher(src, 11, 'shuffle'), /batch size 11 is larger than the split \(10 rows\)/);
});
