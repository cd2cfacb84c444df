/**
 * The config table (src/config/config.ts) is the only list of config keys: the lists other
 * modules need (the --help sections, the keys a sweep may vary, those a trial's result ignores,
 * those that decide a queue worker's data, the flags a resume may change, the models a key
 * applies to) are its columns. Each derived list is checked here against the list each module
 * kept by hand before the columns existed, so the move changed no value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA_KEYS, KEYS, KEY_GROUPS, KEY_MODELS, NOT_RESULT_KEYS, RESUME_FLAGS, SWEEPABLE } from '../src/config/config.js';

const sorted = (xs: readonly string[]) => [...xs].sort();

test("SWEEPABLE (sweep/spec.ts) is the table's sweep column: the 18 keys it listed", () => {
  const before = [
    'lr',
    'reg',
    'hidden',
    'batchSize',
    'lrDecay',
    'iterations',
    'epochs',
    'initStd',
    'momentum',
    'sampling',
    'seed',
    'updateRule',
    'beta1',
    'beta2',
    'eps',
    'decayRate',
    'normalization',
    'dropoutKeep',
  ];
  assert.deepEqual(sorted(SWEEPABLE), sorted(before));
  assert.equal(new Set(SWEEPABLE).size, SWEEPABLE.length);
});

test('NOT_RESULT_KEYS (sweep/sweep.ts), DATA_KEYS (sweep/queue_worker.ts) and RESUME_FLAGS (cli/main.ts) are columns too', () => {
  assert.deepEqual(sorted(NOT_RESULT_KEYS), sorted(['name', 'runsDir', 'dataDir', 'logEvery']));
  assert.deepEqual(sorted(DATA_KEYS), sorted(['dataset', 'dataDir', 'numTrain', 'numVal', 'numTest', 'numDev', 'model', 'scale', 'features', 'hueBins', 'seed', 'verify']));
  // In the order --resume's refusal lists them (test/cli.test.ts checks that line).
  assert.deepEqual(RESUME_FLAGS, ['backend', 'epochs', 'iterations', 'logEvery']);
});

test('KEY_GROUPS and KEY_MODELS (config.ts) are the group and models columns, with the values they had', () => {
  const groups = {
    name: 'output',
    dataset: 'data',
    dataDir: 'data',
    verify: 'data',
    checkpointEvery: 'output',
    model: 'model',
    loss: 'model',
    k: 'model',
    cvFolds: 'model',
    kChoices: 'model',
    hidden: 'model',
    initStd: 'model',
    normalization: 'model',
    dropoutKeep: 'model',
    lr: 'optimisation',
    lrDecay: 'optimisation',
    momentum: 'optimisation',
    updateRule: 'optimisation',
    beta1: 'optimisation',
    beta2: 'optimisation',
    eps: 'optimisation',
    decayRate: 'optimisation',
    reg: 'optimisation',
    batchSize: 'optimisation',
    epochs: 'optimisation',
    iterations: 'optimisation',
    patience: 'optimisation',
    sampling: 'optimisation',
    numTrain: 'data',
    numVal: 'data',
    numTest: 'data',
    numDev: 'data',
    scale: 'data',
    features: 'data',
    hueBins: 'data',
    trainAccSamples: 'optimisation',
    seed: 'optimisation',
    backend: 'engine',
    runsDir: 'output',
    logEvery: 'output',
  };
  assert.deepEqual(KEY_GROUPS, groups);
  assert.deepEqual(
    Object.keys(KEY_GROUPS),
    KEYS.map((d) => d.key),
    'every key has a group, in table order',
  );
  const sgd = ['linear', 'mlp'];
  const models: Record<string, string[]> = { k: ['knn'], cvFolds: ['knn'], kChoices: ['knn'], hidden: ['mlp'], normalization: ['mlp'], dropoutKeep: ['mlp'] };
  for (const k of [
    'checkpointEvery',
    'loss',
    'initStd',
    'lr',
    'lrDecay',
    'momentum',
    'updateRule',
    'beta1',
    'beta2',
    'eps',
    'decayRate',
    'reg',
    'batchSize',
    'epochs',
    'iterations',
    'patience',
    'sampling',
    'scale',
    'features',
    'hueBins',
    'trainAccSamples',
    'logEvery',
  ])
    models[k] = sgd;
  assert.deepEqual(sorted(Object.keys(KEY_MODELS)), sorted(Object.keys(models)));
  for (const [k, m] of Object.entries(models)) assert.deepEqual(KEY_MODELS[k as keyof typeof KEY_MODELS], m, k);
});
