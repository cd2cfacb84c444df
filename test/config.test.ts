import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULTS, KEYS, PRESETS, checkPartial, describeDefault, parseJsonText, resolveConfig, schemaOf, updateRuleOf } from '../src/config/config.js';
import { checkAgainstData } from '../src/data/fits.js';
import { modelSpecOf } from '../src/config/derive.js';

test('defaults < preset < file < flags', () => {
  const cfg = resolveConfig({ dataset: 'cifar', lr: 2e-6 }, { lr: 3e-6 });
  assert.equal(cfg.lr, 3e-6);
  assert.equal(cfg.reg, PRESETS['cifar-linear'].reg); // from the preset
  assert.equal(cfg.batchSize, DEFAULTS.batchSize); // from the defaults
  assert.equal(cfg.name, 'cifar-softmax');
  const fromFile = resolveConfig({ dataset: 'cifar', lr: 2e-6 }, {});
  assert.equal(fromFile.lr, 2e-6);
});

test('the preset follows the model chosen on the command line', () => {
  const cfg = resolveConfig({ dataset: 'cifar' }, { model: 'mlp' });
  assert.deepEqual(cfg.hidden, [500]);
  assert.equal(cfg.lr, 1e-3);
  assert.equal(cfg.iterations, 3000);
});

test('epochs given by the user replace a preset iteration count', () => {
  assert.equal(resolveConfig({}, { dataset: 'cifar', epochs: 2 }).iterations, 0);
  assert.equal(resolveConfig({}, { dataset: 'cifar', epochs: 2, iterations: 7 }).iterations, 7);
});

test('every config key is described and has a default', () => {
  // Keys without a default (an update rule's hyperparameters, set when the rule uses them) name the rule's in --help instead.
  for (const def of KEYS) {
    assert.ok(def.key in DEFAULTS || (def.default === undefined && def.defaultText), `${def.key} has no default`);
    assert.ok(describeDefault(def.key).length > 0 && describeDefault(def.key) !== 'undefined');
  }
  assert.deepEqual(new Set(KEYS.filter((k) => k.default !== undefined).map((k) => k.key)), new Set(Object.keys(DEFAULTS)));
});

test('unknown keys are errors that list the known keys', () => {
  assert.throws(
    () => checkPartial({ learningRate: 1 }, 'x.json'),
    (e: Error) => e instanceof ConfigError && /unknown key "learningRate"/.test(e.message) && /lr/.test(e.message),
  );
});

test('nonsense values are refused, naming key, value and what is allowed', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ lr: -1 }, /lr = -1 .*a number > 0/],
    [{ lr: 0 }, /lr = 0 /],
    [{ hidden: '0' }, /hidden = "0".*integers ≥ 1/],
    [{ hidden: '100,abc' }, /hidden/],
    [{ batchSize: 2.5 }, /batchSize = 2.5 .*integer/],
    [{ model: 'cnn' }, /model = "cnn".*one of linear, mlp/],
    [{ numTrain: 'most' }, /numTrain = "most".*"all" or an integer/],
    [{ lrDecay: 1.5 }, /lrDecay = 1.5.*≤ 1/],
    [{ reg: Number.NaN }, /reg/],
  ];
  for (const [obj, re] of cases) {
    assert.throws(
      () => checkPartial(obj, 'command line'),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
      JSON.stringify(obj),
    );
  }
});

test('values are normalised: hidden list, counts, numbers from strings', () => {
  assert.deepEqual(checkPartial({ hidden: '500,100', numTrain: 'all', numTest: '20', lr: '1e-3' }, 'x'), {
    hidden: [500, 100],
    numTrain: 'all',
    numTest: 20,
    lr: 1e-3,
  });
});

test('a batch larger than the training split is refused', () => {
  const cfg = resolveConfig({}, { batchSize: 500 });
  assert.throws(
    () => checkAgainstData(cfg, 100),
    (e: Error) => e instanceof ConfigError && /batchSize = 500.*100 records/.test(e.message),
  );
  checkAgainstData(cfg, 500);
});

test('run names are restricted to safe characters', () => {
  assert.throws(() => resolveConfig({}, { name: '../evil' }), ConfigError);
});

test('every key has a zod schema that accepts its default and refuses a value of the wrong type', () => {
  for (const def of KEYS) {
    const schema = schemaOf(def);
    // A key without a default (an update rule's hyperparameter, set by the rule that uses it) says in --help what it takes.
    if (def.default === undefined) assert.ok(def.defaultText, `${def.key}: no default, so --help names the rule's`);
    else assert.ok(schema.safeParse(DEFAULTS[def.key]).success, `${def.key}: the default ${JSON.stringify(DEFAULTS[def.key])} passes`);
    assert.equal(schema.safeParse({ not: 'a value' }).success, false, `${def.key}: an object is refused`);
  }
});

test('a value the user gave is named as given, never as null', () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ lr: 'abc' }, /lr = "abc" is not allowed: expected a number > 0/],
    [{ epochs: 'Infinity' }, /epochs = "Infinity" is not allowed/],
    [{ lr: Infinity }, /lr = Infinity \(a number too large for a float64, such as 1e999\) is not allowed/],
    [{ reg: Number.NaN }, /reg = NaN is not allowed/],
    [{ runsDir: '' }, /runsDir = "" is not allowed: expected a non-empty string/],
  ];
  for (const [obj, re] of cases) {
    assert.throws(
      () => checkPartial(obj, 'x.json'),
      (e: Error) => e instanceof ConfigError && re.test(e.message) && !/null/.test(e.message),
      JSON.stringify(obj),
    );
  }
  // From the command line a number is the text typed, shown as typed.
  assert.throws(() => checkPartial({ lr: 'abc' }, 'command line'), /command line: lr = abc is not allowed/);
  // A value of 1e999 in a file is read as Infinity, and named so.
  assert.throws(() => checkPartial(parseJsonText('{"lr": 1e999}', 'f.json'), 'f.json'), /lr = Infinity \(a number too large/);
});

test('parseJsonText accepts a leading byte-order mark and names the file of bad JSON', () => {
  assert.deepEqual(parseJsonText('\uFEFF{"lr": 0.5}', 'f.json'), { lr: 0.5 });
  assert.throws(
    () => parseJsonText('{"lr": ', 'config file f.json'),
    (e: Error) => e instanceof ConfigError && /^config file f\.json is not valid JSON/.test(e.message),
  );
});

test("sizes a run cannot allocate are refused before it starts, against the machine's limits", () => {
  const limits = { maxArrayLength: 2 ** 32, memoryBytes: 8e9 };
  const mlp = (hidden: number[], extra: Partial<ReturnType<typeof resolveConfig>> = {}) => ({ ...resolveConfig({}, { model: 'mlp', hidden }), ...extra });
  const shape = { dim: 784, classes: 10 };
  assert.throws(() => checkAgainstData(mlp([100000000]), 55000, shape, limits), /--hidden 100000000 gives 79500000010 parameters, more than one typed array can hold \(4294967296\)/);
  assert.throws(
    () => checkAgainstData(mlp([1000000]), 55000, shape, limits),
    /--hidden 1000000 gives 795000010 parameters; with batch 200 a run needs about 35\.1 GB of memory, and this machine has 8 GB/,
  );
  checkAgainstData(mlp([100000]), 55000, shape, limits); // 79.5 M parameters and their activations: 3.5 GB, fits
  assert.throws(
    () => checkAgainstData(mlp([100], { iterations: 1e11 }), 55000, shape, limits),
    /iterations = 100000000000 is more steps than this machine can record: .*800 GB.*use at most 250000000 steps/,
  );
  assert.throws(() => checkAgainstData(mlp([100], { epochs: 1e9 }), 55000, shape, limits), /epochs = 1000000000 \(275000000000 steps of 275 an epoch\) is more steps/);
  checkAgainstData(mlp([100], { iterations: 1e6 }), 55000, shape, limits);
});

test('knn refuses the keys it would ignore: a data loss and image features', () => {
  assert.throws(
    () => resolveConfig({}, { model: 'knn', loss: 'svm' }),
    (e: Error) => e instanceof ConfigError && /loss = svm does nothing for model knn/.test(e.message),
  );
  assert.throws(
    () => resolveConfig({ features: 'hog+hue' }, { model: 'knn' }),
    (e: Error) => e instanceof ConfigError && /features = hog\+hue is not used by model knn/.test(e.message),
  );
  assert.equal(resolveConfig({}, { model: 'knn' }).model, 'knn');
});

test('a config with an own "__proto__" key is refused as unknown, however it arrives: a queue job\'s trial or data config, resolveConfig, train()', async () => {
  const { parseTrialJob } = await import('../src/sweep/queue.js');
  const job = (config: string, data = '{}') =>
    JSON.parse(`{"v":1,"sweep":"s","sweepDir":"/tmp/x","rel":"trials/trial-0123456789ab","index":1,"config":${config},"data":${data},"scheduler":null,"rungs":"r"}`);
  const proto = '{"lr": 0.5, "__proto__": {"hidden": [60000, 60000]}}';
  const unknown = (origin: string) => (e: Error) => e instanceof ConfigError && e.message.startsWith(`${origin}: unknown key "__proto__". Known keys: name,`);
  assert.throws(() => parseTrialJob(job(proto)), unknown('the trial config'));
  assert.throws(() => parseTrialJob(job('{}', proto)), unknown('the data config'));
  assert.equal(parseTrialJob(job('{"lr": 0.5}')).config.lr, 0.5, 'a plain config goes through');
  assert.throws(() => resolveConfig(JSON.parse(proto), {}), unknown('config'));
  assert.throws(() => resolveConfig({}, JSON.parse(proto)), unknown('flags'));
  const { train } = await import('../src/index.js');
  await assert.rejects(() => train(JSON.parse(proto)), unknown('train()'));
});

test("config/derive.ts: the model spec and the update rule's hyperparameters of a config (what train/run.ts and the playground build from it)", () => {
  const soft = resolveConfig({}, { dataset: 'cifar' });
  assert.deepEqual(modelSpecOf(soft, 3073, 10), { kind: 'softmax', inputDim: 3073, hidden: [], numClasses: 10 }, 'softmax: no loss, normalization or dropout keys');
  const mlp = resolveConfig({}, { dataset: 'mnist', model: 'mlp', hidden: [50, 20], normalization: 'batchnorm', dropoutKeep: 0.5, loss: 'svm', updateRule: 'adam', beta1: 0.8 });
  assert.deepEqual(modelSpecOf(mlp, 784, 10), { kind: 'mlp', inputDim: 784, hidden: [50, 20], numClasses: 10, loss: 'svm', normalization: 'batchnorm', dropoutKeep: 0.5 });
  assert.deepEqual(updateRuleOf(mlp), { updateRule: 'adam', hyper: { beta1: 0.8, beta2: 0.999, eps: 1e-8 } }, "adam: its three keys (the one set, the config's defaults), no decayRate or momentum");
  assert.deepEqual(updateRuleOf(resolveConfig({}, { dataset: 'mnist', updateRule: 'rmsprop', decayRate: 0.9 })).hyper, { decayRate: 0.9, eps: 1e-8 });
  // momentum is one of sgd_momentum's hyperparameters like the others (it was passed on its own, beside them, until the rule was resolved once).
  assert.deepEqual(updateRuleOf(resolveConfig({}, { dataset: 'mnist', updateRule: 'sgd_momentum', momentum: 0.5 })), { updateRule: 'sgd_momentum', hyper: { momentum: 0.5 } });
  assert.deepEqual(
    updateRuleOf(resolveConfig({}, { dataset: 'mnist', momentum: 0.5 })),
    { updateRule: 'sgd_momentum', hyper: { momentum: 0.5 } },
    'momentum > 0 without a rule: sgd_momentum, implied once, in resolveConfig',
  );
  assert.deepEqual(updateRuleOf(resolveConfig({}, { dataset: 'mnist' })), { updateRule: 'sgd', hyper: {} });
  assert.throws(
    () => updateRuleOf({ ...resolveConfig({}, { dataset: 'mnist', updateRule: 'adam' }), beta2: undefined }),
    /beta2 of update rule adam is unset: give a config resolved by resolveConfig/,
  );
  assert.throws(() => modelSpecOf(resolveConfig({}, { dataset: 'mnist', model: 'knn' }), 784, 10), /a knn config has no SGD model/);
});
