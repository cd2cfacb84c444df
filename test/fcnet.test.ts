/**
 * The MLP as cs231n's FullyConnectedNet: affine → [batchnorm | layernorm] → ReLU → [dropout] per
 * hidden layer (src/models/mlp.ts), its running statistics as stat specs, train mode loss(X, y)
 * and test mode loss(X), the model's gradient check (float64, judged < 1e-7; through the CLI and
 * in process), checkpoints holding the statistics, the initial-loss check leaving the run as it
 * was, a dropout run resumed bit-identically, and FullyConnectedNets.ipynb's overfitting sanity
 * checks on 50 real CIFAR-10 images with plain SGD.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { createModel, modelFromCheckpoint, paramSpecsFor } from '../src/models/index.js';
import type { Model, ModelSpec } from '../src/models/model.js';
import { createWorkspace } from '../src/models/buffers.js';
import { type Allocator, PLAIN } from '../src/linalg/alloc.js';
import { trainableCount } from '../src/models/params.js';
import { checkModel } from '../src/cli/gradcheck.js';
import { initialLossCheck } from '../src/train/initial_loss.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../src/runs/checkpoint.js';
import { type Config, resolveConfig } from '../src/config/config.js';
import type { Summary } from '../src/runs/summary.js';
import { E2E_BACKEND, metricRows, randnMat, randomLabels, runIn, sampleCheckpoint, trainCli as cli } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'fcnet-'));

const spec = (normalization?: 'batchnorm' | 'layernorm', dropoutKeep?: number): ModelSpec => ({
  kind: 'mlp',
  inputDim: 15,
  hidden: [20, 30],
  numClasses: 10,
  ...(normalization ? { normalization } : {}),
  ...(dropoutKeep !== undefined ? { dropoutKeep } : {}),
});

// ---------------------------------------------------------------------------------------------
// layout

test('parameter layout: W and b, then gamma and beta per hidden layer, then (batch norm) the running statistics as stat specs; gradients cover the trainable ones only', () => {
  const names = (s: ModelSpec) => paramSpecsFor(s).map((p) => p.name + (p.stat ? '*' : ''));
  assert.deepEqual(names(spec()), ['W1', 'b1', 'W2', 'b2', 'W3', 'b3']);
  assert.deepEqual(names(spec('layernorm')), ['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'gamma1', 'beta1', 'gamma2', 'beta2']);
  assert.deepEqual(names(spec('batchnorm', 0.5)), ['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'gamma1', 'beta1', 'gamma2', 'beta2', 'running_mean1*', 'running_var1*', 'running_mean2*', 'running_var2*']);
  const model = createModel(spec('batchnorm'), { initStd: 0.1, reg: 0 }, new Rng(1));
  const total = model.params.flat.length;
  const trainable = trainableCount(model.params.specs);
  assert.equal(total - trainable, 2 * (20 + 30));
  assert.equal(model.params.gradFlat!.length, trainable, 'the room for the gradient is the trainable length');
  const ws = createWorkspace(model.params);
  assert.equal(ws.grads.flat.length, trainable);
  assert.deepEqual(Array.from(model.params.views.gamma2.data), new Array(30).fill(1), 'gammas start at 1');
  assert.ok(
    model.params.views.running_var1.data.every((v) => v === 0),
    "running statistics start at 0, as cs231n's np.zeros",
  );
  const { grads } = model.loss(randnMat(Float32Array, 8, 15, new Rng(2)), randomLabels(8, 10, new Rng(3)), ws);
  assert.equal(grads, ws.grads);
  assert.equal(grads.views.running_mean1, undefined, 'no gradient for a running statistic');
  assert.throws(() => paramSpecsFor({ ...spec(), kind: 'softmax', hidden: [], normalization: 'batchnorm' }), /a softmax model has none/);
  assert.throws(() => paramSpecsFor({ ...spec(), normalization: 'bn' as 'batchnorm' }), /unknown normalization "bn" \(expected batchnorm or layernorm/);
  assert.throws(() => paramSpecsFor({ ...spec(), dropoutKeep: 1.5 }), /dropoutKeep \(the keep probability\) must be a number in \(0, 1\], got 1.5/);
});

// ---------------------------------------------------------------------------------------------
// gradient checks

test('gradcheck through the CLI: mlp hidden 20,30 with batch norm and dropout keep 0.5 passes (float64, judged < 1e-7), checks gamma and beta, skips the running statistics', () => {
  const r = cli(['gradcheck', '--model', 'mlp', '--hidden', '20,30', '--normalization', 'batchnorm', '--dropout-keep', '0.5']);
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /^gradcheck: mlp hidden 20,30, batchnorm, dropout keep 0.5 \(mask fixed by seed 0\) on a random problem/);
  for (const p of ['W1', 'b1', 'W2', 'b2', 'W3', 'b3', 'gamma1', 'beta1', 'gamma2', 'beta2']) assert.match(r.out, new RegExp(`^  ${p} +\\d\\.\\d\\de-\\d+  ok$`, 'm'));
  assert.doesNotMatch(r.out, /running_/);
  assert.match(r.out, /gradient check passed/);
  const bad = cli(['gradcheck', '--model', 'softmax', '--normalization', 'layernorm']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--normalization and --dropout-keep are layers of the MLP's hidden layers; use them with --model mlp/);
});

test("the model's gradient check in process, for batch norm and layer norm, with and without dropout (mask fixed by the seed), reg 0 and 3.14 (float64, judged < 1e-7)", () => {
  const lines: string[] = [];
  for (const norm of ['batchnorm', 'layernorm'] as const) {
    for (const keep of [undefined, 0.5]) {
      for (const reg of [0, 3.14]) {
        const rng = new Rng(11);
        const X = randnMat(Float64Array, 2, 15, rng);
        const y = randomLabels(2, 10, rng);
        const model = createModel(spec(norm, keep), { initStd: 5e-2, reg, dtype: Float64Array, dropoutSeed: 123 }, rng);
        const code = checkModel(model, X, y, { numChecks: 8, threshold: 1e-7, h: 1e-5 }, rng, (s) => lines.push(s));
        assert.equal(code, 0, `${norm} keep ${keep} reg ${reg}:\n${lines.slice(-14).join('\n')}`);
      }
    }
  }
});

test('a wrong gamma gradient fails the model check (the check can fail)', () => {
  const rng = new Rng(12);
  const X = randnMat(Float64Array, 4, 15, rng);
  const y = randomLabels(4, 10, rng);
  const model = createModel(spec('batchnorm'), { initStd: 5e-2, reg: 0, dtype: Float64Array }, rng);
  const loss = model.loss;
  const broken: Model<Float64Array> = {
    ...model,
    loss: ((X: Mat<Float64Array>, yy?: Int32Array) => {
      const r = (loss as (X: Mat<Float64Array>, y?: Int32Array) => ReturnType<typeof model.loss>)(X, yy);
      if (yy !== undefined) (r as { grads: { views: Record<string, Mat> } }).grads.views.gamma1.data[0] *= 1.001;
      return r;
    }) as Model<Float64Array>['loss'],
  };
  const out: string[] = [];
  assert.equal(
    checkModel(broken, X, y, { numChecks: 20, threshold: 1e-7, h: 1e-5 }, rng, (s) => out.push(s)),
    4,
  );
  assert.match(out.join('\n'), /gamma1 .*FAIL/);
});

// ---------------------------------------------------------------------------------------------
// train mode and test mode

test("train mode (loss(X, y)) updates the running statistics and draws dropout masks from the model's Rng; test mode (loss(X)) does neither and equals the same net without dropout", () => {
  const rng = new Rng(13);
  const model = createModel(spec('batchnorm', 0.5), { initStd: 0.1, reg: 0 }, rng);
  const X = randnMat(Float32Array, 16, 15, new Rng(14));
  const y = randomLabels(16, 10, new Rng(15));
  const flat = () => Array.from(model.params.flat);
  const stats0 = flat();
  const rng0 = rng.getState();
  const s1 = Array.from(model.loss(X).data);
  assert.deepEqual(flat(), stats0, 'test mode changes no parameter or statistic');
  assert.deepEqual(rng.getState(), rng0, 'test mode draws nothing');
  assert.deepEqual(Array.from(model.loss(X).data), s1, 'test mode is deterministic');
  // The same parameters without dropout: the same test-mode scores (dropout is the identity there).
  const plain = createModel(spec('batchnorm'), { initStd: 0.1, reg: 0 }, new Rng(0));
  plain.params.flat.set(model.params.flat);
  assert.deepEqual(Array.from(plain.loss(X).data), s1);

  const a = model.loss(X, y).loss;
  assert.notDeepEqual(rng.getState(), rng0, "train mode draws its masks from the model's Rng");
  const b = model.loss(X, y).loss;
  assert.notEqual(a, b, 'another mask, another loss');
  const rm = model.params.views.running_mean1.data;
  assert.ok(
    rm.some((v) => v !== 0),
    'the running mean moved',
  );
  // running = 0.9·running + 0.1·batch: one more pass from a known state.
  const before = Float32Array.from(rm);
  plain.params.flat.set(model.params.flat);
  plain.loss(X, y);
  const { W1, b1 } = plain.params.views;
  const a1 = new Float64Array(20); // the batch mean of layer 1's affine output, X·W1 + b1
  for (let j = 0; j < 20; j++) {
    let s = 0;
    for (let i = 0; i < 16; i++) {
      let v = b1.data[j];
      for (let k = 0; k < 15; k++) v += X.data[i * 15 + k] * W1.data[k * 20 + j];
      s += v;
    }
    a1[j] = s / 16;
  }
  for (let j = 0; j < 20; j++) {
    const want = 0.9 * before[j] + 0.1 * a1[j];
    assert.ok(Math.abs(plain.params.views.running_mean1.data[j] - want) < 1e-5 * (1 + Math.abs(want)), `running_mean1[${j}] ${plain.params.views.running_mean1.data[j]}, expected ${want}`);
  }
});

test('with a workspace, a train-mode step and a test-mode evaluation take no new workspace array after the first of each (batch norm and dropout included; the layers write into what they are given)', () => {
  let allocations = 0;
  const counting: Allocator = {
    shared: false,
    float: ((Ctor: Float32ArrayConstructor, n: number) => (allocations++, PLAIN.float(Ctor, n))) as Allocator['float'],
    int32: (n) => (allocations++, PLAIN.int32(n)),
    pair: (n) => (allocations++, PLAIN.pair(n)),
  };
  for (const norm of ['batchnorm', 'layernorm'] as const) {
    const rng = new Rng(21);
    const model = createModel({ ...spec(norm, 0.5), hidden: [40, 30] }, { initStd: 0.1, reg: 0.1 }, rng);
    const ws = createWorkspace(model.params, counting);
    const X = randnMat(Float32Array, 25, 15, rng);
    const y = randomLabels(25, 10, rng);
    const E = randnMat(Float32Array, 60, 15, rng);
    model.loss(X, y, ws);
    model.loss(E, undefined, ws);
    const after = allocations;
    assert.ok(after > 0);
    for (let k = 0; k < 3; k++) {
      model.loss(X, y, ws);
      model.loss(E, undefined, ws);
    }
    assert.equal(allocations, after, `${norm}: ${allocations - after} arrays allocated in steady state`);
  }
});

test("initialLossCheck leaves the running statistics and the run's Rng as it found them, and finds ln 10 with batch norm and dropout", () => {
  const rng = new Rng(16);
  const model = createModel({ ...spec('batchnorm', 0.5), hidden: [50, 50] }, { initStd: 1e-3, reg: 0.5 }, rng);
  const rows = { X: randnMat(Float32Array, 100, 15, new Rng(17)), y: randomLabels(100, 10, new Rng(18)) };
  const params = Buffer.from(model.params.flat.slice().buffer);
  const state = rng.getState();
  const check = initialLossCheck(model, rows, 10);
  assert.ok(Buffer.from(model.params.flat.slice().buffer).equals(params), 'every parameter and statistic bit as before');
  assert.deepEqual(rng.getState(), state, 'the Rng where it was');
  assert.equal(model.reg, 0.5);
  assert.ok(check.ok && Math.abs(check.loss - Math.log(10)) < 0.01, `initial loss ${check.loss}`);
});

test('a checkpoint holds the running statistics (flagged stat in its header); the model read back gives the same test-mode scores, bit for bit; a header without the flags is refused', () => {
  const rng = new Rng(19);
  const s: ModelSpec = { kind: 'mlp', inputDim: 3, hidden: [4], numClasses: 2, normalization: 'batchnorm', dropoutKeep: 0.5 };
  const model = createModel(s, { initStd: 0.5, reg: 0 }, rng);
  const X = randnMat(Float32Array, 6, 3, new Rng(20));
  for (let k = 0; k < 3; k++) model.loss(X, randomLabels(6, 2, rng)); // moves the running statistics
  const base = sampleCheckpoint();
  const ck: Checkpoint = { ...base, header: { ...base.header, model: s, params: model.params.specs }, params: model.params.flat };
  const back = decodeCheckpoint(encodeCheckpoint(ck), 'bn.ckpt');
  assert.deepEqual(
    back.header.params.filter((p) => p.stat).map((p) => p.name),
    ['running_mean1', 'running_var1'],
  );
  const m2 = modelFromCheckpoint(back);
  assert.deepEqual(Array.from(m2.loss(X).data), Array.from(model.loss(X).data));
  assert.throws(() => m2.loss(X, new Int32Array(6)), /has dropout but no Rng for its masks/);
  const noFlags = { ...ck, header: { ...ck.header, params: ck.header.params.map(({ stat: _s, ...p }) => p) } };
  assert.throws(
    () => decodeCheckpoint(encodeCheckpoint(noFlags), 'bn.ckpt'),
    (e: unknown) => e instanceof CheckpointError && /do not fit the model/.test((e as Error).message),
  );
  const badKeep = { ...ck, header: { ...ck.header, model: { ...s, dropoutKeep: 0 } } };
  assert.throws(() => decodeCheckpoint(encodeCheckpoint(badKeep), 'bn.ckpt'), /dropoutKeep must be a number in \(0, 1\], on an mlp/);
  const badNorm = { ...ck, header: { ...ck.header, model: { ...s, normalization: 'groupnorm' as 'batchnorm' } } };
  assert.throws(() => decodeCheckpoint(encodeCheckpoint(badNorm), 'bn.ckpt'), /normalization must be batchnorm or layernorm, on an mlp/);
});

test('config: normalization and dropoutKeep are mlp keys (--normalization, --dropout-keep), refused on other models and out of range', () => {
  const cfg = resolveConfig({}, { model: 'mlp', normalization: 'layernorm', dropoutKeep: 0.25 });
  assert.equal(cfg.normalization, 'layernorm');
  assert.equal(cfg.dropoutKeep, 0.25);
  assert.equal(resolveConfig({}, {}).normalization, 'none');
  assert.equal(resolveConfig({}, {}).dropoutKeep, 1);
  assert.throws(() => resolveConfig({}, { model: 'linear', normalization: 'batchnorm' }), /normalization = batchnorm is a layer of the MLP's hidden layers, and model linear has none/);
  assert.throws(() => resolveConfig({}, { model: 'knn', dropoutKeep: 0.5 }), /dropoutKeep = 0.5 drops units of the MLP's hidden layers, and model knn has none/);
  const r = cli(['--model', 'mlp', '--dropout-keep', '1.5']);
  assert.equal(r.code, 2);
  assert.match(r.err, /dropoutKeep = 1.5 is not allowed: expected a number > 0 and ≤ 1/);
});

// ---------------------------------------------------------------------------------------------
// runs: resume with dropout, and the notebook's overfitting checks

test("a layer-norm MLP with dropout stopped mid-epoch and resumed gives the uninterrupted run's metrics and best parameters bit for bit (the masks come from the Rng the checkpoint restores)", async () => {
  const flags = {
    model: 'mlp',
    hidden: [16, 16],
    normalization: 'layernorm',
    dropoutKeep: 0.6,
    numTrain: 300,
    numVal: 50,
    numTest: 50,
    numDev: 20,
    batchSize: 50,
    epochs: 3,
    backend: 'js',
    seed: 4,
    lr: 0.1,
  } as const satisfies Partial<Config>;
  const ref = tmp();
  const want = (await runIn(ref, flags)) as Summary;
  const noDrop = (await runIn(tmp(), { ...flags, dropoutKeep: 1 })) as Summary;
  assert.notEqual(want.finalLoss, noDrop.finalLoss, 'dropout changes the run');
  const dir = tmp();
  assert.equal(await runIn(dir, flags, { stopAfter: 8 }), 'interrupted');
  const got = (await runIn(dir, flags, { resume: true })) as Summary;
  assert.deepEqual(metricRows(dir), metricRows(ref));
  assert.equal(got.finalLoss, want.finalLoss);
  assert.equal(got.testAcc, want.testAcc);
  const bits = (d: string) => fs.readFileSync(path.join(d, 'best.ckpt')).subarray(-40); // the sha256 trailer covers every byte
  assert.ok(bits(dir).equals(bits(ref)));
});

test("through the CLI: a layer-norm MLP with dropout writes a complete run folder and report; eval of best.ckpt (test mode: no dropout) gives the run's val and test accuracy, the same every time", () => {
  const runs = tmp();
  const r = cli([
    '--model',
    'mlp',
    '--hidden',
    '32,32',
    '--normalization',
    'layernorm',
    '--dropout-keep',
    '0.5',
    '--num-train',
    '1000',
    '--num-val',
    '200',
    '--num-test',
    '500',
    '--num-dev',
    '100',
    '--epochs',
    '2',
    '--runs-dir',
    runs,
    '--backend',
    E2E_BACKEND,
  ]);
  assert.equal(r.code, 0, r.err + r.out);
  const dir = path.join(runs, fs.readdirSync(runs)[0]);
  for (const f of ['best.ckpt', 'last.ckpt', 'report.html', 'weights.png', 'confusion.png']) assert.ok(fs.existsSync(path.join(dir, f)), `${f} is written`);
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.deepEqual(summary.model, { kind: 'mlp', inputDim: 784, hidden: [32, 32], numClasses: 10, normalization: 'layernorm', dropoutKeep: 0.5 });
  const outs = [0, 1].map(() => cli(['eval', dir, '--split', 'all', '--backend', E2E_BACKEND]));
  for (const e of outs) assert.equal(e.code, 0, e.err);
  assert.equal(outs[0].out, outs[1].out, 'test mode draws no mask');
  const acc = (name: string) => Number(new RegExp(`${name} accuracy: (\\d\\.\\d+)`).exec(outs[0].out)?.[1]);
  assert.equal(acc('test'), Number(summary.testAcc.toFixed(4)));
  assert.equal(acc('val'), Number(summary.bestValAcc.toFixed(4)));
});

test("Adam, SGD momentum and RMSProp MLPs with a normalization and dropout, stopped mid-epoch and resumed, give the uninterrupted run bit for bit; eval of best.ckpt (test mode) gives the run's val and test accuracy", async () => {
  for (const [updateRule, normalization] of [
    ['adam', 'batchnorm'],
    ['sgd_momentum', 'batchnorm'],
    ['rmsprop', 'layernorm'],
  ] as const) {
    const flags = {
      model: 'mlp',
      hidden: [16, 16],
      normalization,
      dropoutKeep: 0.6,
      updateRule,
      numTrain: 300,
      numVal: 50,
      numTest: 50,
      numDev: 20,
      batchSize: 50,
      epochs: 3,
      backend: 'js',
      seed: 4,
      initStd: 0.05,
      ...(updateRule === 'sgd_momentum' ? { momentum: 0.9, lr: 0.05 } : {}),
    } as Partial<Config>;
    const ref = tmp();
    const want = (await runIn(ref, flags)) as Summary;
    const dir = tmp();
    assert.equal(await runIn(dir, flags, { stopAfter: 8 }), 'interrupted', `${updateRule}: stopped at step 8 of 18`);
    const got = (await runIn(dir, flags, { resume: true })) as Summary;
    assert.deepEqual(metricRows(dir), metricRows(ref), `${updateRule}: metrics`);
    assert.equal(got.finalLoss, want.finalLoss);
    assert.equal(got.testAcc, want.testAcc);
    const bits = (d: string) => fs.readFileSync(path.join(d, 'best.ckpt'));
    assert.ok(bits(dir).equals(bits(ref)), `${updateRule}: best.ckpt bit for bit`);
    const r = cli(['eval', dir, '--split', 'all', '--backend', 'js']);
    assert.equal(r.code, 0, r.err + r.out);
    const acc = (name: string) => Number(new RegExp(`${name} accuracy: (\\d\\.\\d+)`).exec(r.out)?.[1]);
    assert.equal(acc('test'), Number(want.testAcc!.toFixed(4)), `${updateRule}: eval's test accuracy`);
    assert.equal(acc('val'), Number(want.bestValAcc!.toFixed(4)), `${updateRule}: eval's val accuracy`);
  }
});

/** The CIFAR-10 binary batches: this checkout's data/ copy, else the shared archive (as test/knn.test.ts). */
const CIFAR_DIR = path.join(root, 'data', 'cifar-10-batches-bin');
const SHARED_CIFAR = path.resolve(root, '../shared/data/cifar-10-binary.tar.gz');
const cifarSource = () => (fs.existsSync(path.join(CIFAR_DIR, 'test_batch.bin')) ? CIFAR_DIR : fs.existsSync(SHARED_CIFAR) ? SHARED_CIFAR : null);

/**
 * FullyConnectedNets.ipynb's sanity check: 50 training images, batch 25, 20 epochs, plain SGD
 * (the Solver's "sgd": sampling with replacement, no lr decay, reg 0), raw mean-subtracted pixels.
 * Train accuracy is measured on all 50 images after each epoch.
 */
for (const [hidden, initStd, lr] of [
  [[100, 100], 1e-2, 1e-2], //                  3-layer net: the notebook's weight scale 1e-2, lr 1e-2
  [[100, 100, 100, 100], 7e-2, 2e-3], //        5-layer net: the notebook's lr 2e-3, weight scale 7e-2
] as const) {
  test(`FullyConnectedNets sanity check: a ${hidden.length + 1}-layer net (hidden ${hidden.join(',')}, weight scale ${initStd}, SGD lr ${lr}) overfits 50 real CIFAR-10 images to 100% train accuracy within 20 epochs`, async (t) => {
    const source = cifarSource();
    if (source === null) return t.skip(`neither ${CIFAR_DIR} nor ${SHARED_CIFAR} is there: the real CIFAR-10 files are needed`);
    const dir = tmp();
    const summary = (await runIn(dir, {
      dataset: 'cifar',
      dataDir: source,
      model: 'mlp',
      hidden: [...hidden],
      initStd,
      lr,
      lrDecay: 1,
      reg: 0,
      momentum: 0,
      numTrain: 50,
      numVal: 100,
      numTest: 100,
      numDev: 50,
      batchSize: 25,
      epochs: 20,
      backend: E2E_BACKEND,
    })) as Summary;
    const acc = metricRows(dir)
      .filter((r) => r.type === 'epoch')
      .map((r) => r.trainAcc as number);
    t.diagnostic(`train accuracy per epoch: ${acc.join(' ')}`);
    assert.equal(acc.length, 20);
    const first = acc.indexOf(1);
    assert.ok(first >= 0, `never 100%: ${acc.join(' ')}`);
    assert.ok(acc[0] < 0.6, 'it starts far from 100%');
    assert.ok(summary.bestValAcc! < 0.5, 'and the val accuracy stays low: it memorised the 50 images');
  });
}
