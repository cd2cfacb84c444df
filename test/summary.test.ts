/**
 * The model summary (models/summary.ts, the library's summary, `train summary`): every parameter
 * the model allocates is counted once, in the layer that holds it, and the totals are the length
 * of the model's parameter buffer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModel } from '../src/models/index.js';
import type { ModelSpec } from '../src/models/model.js';
import { trainableCount } from '../src/models/params.js';
import { formatSummary, modelSummary } from '../src/models/summary.js';
import { summary } from '../src/index.js';
import { Rng } from '../src/linalg/rng.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const SPECS: [string, ModelSpec][] = [
  ['softmax', { kind: 'softmax', inputDim: 785, hidden: [], numClasses: 10 }],
  ['svm', { kind: 'softmax', inputDim: 13, hidden: [], numClasses: 4, loss: 'svm' }],
  ['mlp with batchnorm and dropout', { kind: 'mlp', inputDim: 20, hidden: [7, 5], numClasses: 3, normalization: 'batchnorm', dropoutKeep: 0.5 }],
  ['mlp with layernorm', { kind: 'mlp', inputDim: 20, hidden: [9, 6, 4], numClasses: 3, normalization: 'layernorm' }],
  ['plain mlp', { kind: 'mlp', inputDim: 11, hidden: [8], numClasses: 2 }],
];

test('the summary counts what the model allocates: its total is the parameter buffer, trainable what SGD updates, each array in one layer', () => {
  for (const [what, spec] of SPECS) {
    const model = createModel(spec, { initStd: 1e-3, reg: 0 }, new Rng(1));
    const s = modelSummary(spec);
    assert.equal(s.total, model.params.flat.length, `${what}: total`);
    assert.equal(s.trainable, trainableCount(model.params.specs), `${what}: trainable`);
    assert.equal(
      s.layers.reduce((n, l) => n + l.params, 0),
      s.total,
      `${what}: the layers add up`,
    );
    // Each layer's count is the size of its own arrays in the allocated model.
    for (const l of s.layers)
      assert.equal(
        l.params,
        l.arrays.reduce((n, a) => n + model.params.views[a].rows * model.params.views[a].cols, 0),
        `${what}: ${l.layer}`,
      );
    assert.deepEqual(s.layers.flatMap((l) => l.arrays).sort(), model.params.specs.map((p) => p.name).sort(), `${what}: every array once`);
    assert.deepEqual(s.layers.at(-1)!.output, ['N', spec.numClasses]);
  }
});

test('an MLP with batch norm lists its layers in forward order with their shapes, running statistics as non-trainable', () => {
  const s = modelSummary(SPECS[2][1]);
  assert.deepEqual(
    s.layers.map((l) => `${l.layer} (${l.output.join(',')}) ${l.params}`),
    [
      'input (N,20) 0',
      'affine1 (N,7) 147',
      'batchnorm1 (N,7) 28',
      'relu1 (N,7) 0',
      'dropout1 (N,7) 0',
      'affine2 (N,5) 40',
      'batchnorm2 (N,5) 20',
      'relu2 (N,5) 0',
      'dropout2 (N,5) 0',
      'affine3 (N,3) 18',
      'softmax loss (N,3) 0',
    ],
  );
  assert.equal(s.nonTrainable, 2 * 7 + 2 * 5);
  const lines = formatSummary(s);
  assert.match(lines.at(-3)!, /^Total params: 253$/);
  assert.match(lines.at(-1)!, /^Non-trainable params: 24 \(batch norm running statistics\)$/);
});

test('the library summary of a config reads its dataset shape (bias column for the linear model); train summary prints it', async () => {
  const s = await summary({ dataset: 'mnist', model: 'linear' });
  assert.equal(s.spec.inputDim, 28 * 28 + 1);
  assert.equal(s.total, 785 * 10);
  // The model's older name types and resolves as the linear model (the library's ConfigInput).
  assert.deepEqual(await summary({ dataset: 'mnist', model: 'softmax' }), s);
  const m = await summary({ dataset: 'mnist', model: 'mlp', hidden: [30], normalization: 'layernorm' });
  assert.equal(m.total, 784 * 30 + 30 + 2 * 30 + 30 * 10 + 10);
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'train.js'), 'summary', '--dataset', 'mnist', '--model', 'mlp', '--hidden', '30', '--normalization', 'layernorm'], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^layernorm1 +\(N, 30\) +60 +gamma1 beta1$/m);
  assert.match(r.stdout, new RegExp(`^Total params: ${m.total.toLocaleString('en-US')}$`, 'm'));
  await assert.rejects(summary({ model: 'knn' }), /a knn model has no layers/);
});
