/**
 * The update rules (src/optim) against references made outside this project:
 * - torch.optim (1.13, float64) and cs231n's optim.py formulas in numpy, on fixed weights and 10
 *   fixed gradients, at a fixed lr and with the lr halved after 5 steps
 *   (test/fixtures/optim-torch.json, made by tools/fixtures/torch_optim.py);
 * - the FullyConnectedNets notebook's own fixed checks (test/fixtures/optim-cs231n-notebook.json,
 *   made by tools/fixtures/cs231n_notebook_checks.py from a copy of the notebook);
 * and the config keys, checkpoints and resumes that carry them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError, resolveConfig } from '../src/config/config.js';
import { adamInit, adamStep } from '../src/optim/adam.js';
import { rmspropInit, rmspropStep } from '../src/optim/rmsprop.js';
import { RULE_BLOCKS, RULE_DEFAULTS, UPDATE_RULES, type UpdateRule, createOptimizer } from '../src/optim/rules.js';
import { sgdStep } from '../src/optim/sgd.js';
import { sgdMomentumInit, sgdMomentumStep } from '../src/optim/sgd_momentum.js';
import { getEngine, useEngine } from '../src/linalg/matmul.js';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, loadCheckpoint } from '../src/runs/checkpoint.js';
import type { Summary } from '../src/runs/summary.js';
import { metricRows, runIn as runInProcess } from './helpers.js';
import { expandTrials, parseSweep, readSweepFile } from '../src/sweep/spec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(here, 'fixtures', name), 'utf8'));

/** max |a − b| / max(1e-8, |a| + |b|): the notebook's rel_error. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-8, Math.abs(a[i]) + Math.abs(b[i])));
  return m;
}
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

// ---------------------------------------------------------------- the notebook's fixed checks

/** np.linspace(a, b, num): a + i·step, the last value b exactly. */
function linspace(a: number, b: number, num: number): Float64Array {
  const step = (b - a) / (num - 1);
  const out = Float64Array.from({ length: num }, (_, i) => a + i * step);
  out[num - 1] = b;
  return out;
}

test("the FullyConnectedNets notebook's checks: sgd_momentum, rmsprop, adam give its expected_next_w and state", () => {
  const nb = fixture('optim-cs231n-notebook.json');
  const w0 = () => linspace(-0.4, 0.6, 20);
  const dw = linspace(-0.6, 0.4, 20);
  // The expected arrays are printed to 8 decimals: a correct step is within half a unit of the 8th
  // decimal of every value, and its rel_error is the one the notebook printed for a correct optim.py
  // (its "around e-7 or less": Adam's next_w prints 1.14e-7, set by the rounding, not the math).
  const HALF_UNIT = 5e-9 + 1e-15;
  const check = (rule: string, name: string, got: Float64Array, want: number[], printed: number) => {
    assert.ok(maxAbs(got, want) <= HALF_UNIT, `${rule} ${name}: off by ${maxAbs(got, want)}`);
    const rel = relError(want, got);
    assert.ok(Math.abs(rel - printed) <= 1e-4 * printed, `${rule} ${name}: rel_error ${rel}, the notebook printed ${printed}`);
  };

  const wm = w0();
  const m = { velocity: linspace(0.6, 0.9, 20) };
  sgdMomentumStep(wm, dw, 1e-3, 0.9, m); // the notebook's config: momentum left at its default, 0.9
  check('sgd_momentum', 'next_w', wm, nb.sgd_momentum.expected_next_w, nb.sgd_momentum.printed.next_w);
  check('sgd_momentum', 'velocity', m.velocity, nb.sgd_momentum.expected_velocity, nb.sgd_momentum.printed.velocity);

  const wr = w0();
  const r = { cache: linspace(0.6, 0.9, 20) };
  rmspropStep(wr, dw, 1e-2, { decayRate: 0.99, eps: 1e-8 }, r);
  check('rmsprop', 'next_w', wr, nb.rmsprop.expected_next_w, nb.rmsprop.printed.next_w);
  check('rmsprop', 'cache', r.cache, nb.rmsprop.expected_cache, nb.rmsprop.printed.cache);

  const wa = w0();
  const a = { m: linspace(0.6, 0.9, 20), v: linspace(0.7, 0.5, 20), t: 5 };
  adamStep(wa, dw, 1e-2, { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, a);
  assert.equal(a.t, 6, 't is incremented before use');
  check('adam', 'next_w', wa, nb.adam.expected_next_w, nb.adam.printed.next_w);
  check('adam', 'v', a.v, nb.adam.expected_v, nb.adam.printed.v);
  check('adam', 'm', a.m, nb.adam.expected_m, nb.adam.printed.m);
  // With t used before its increment (t = 5 in the corrections), next_w is off by far more.
  const wb = w0();
  adamStep(wb, dw, 1e-2, { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, { m: linspace(0.6, 0.9, 20), v: linspace(0.7, 0.5, 20), t: 4 });
  assert.ok(maxAbs(wb, nb.adam.expected_next_w) > 1e-5);
});

// ---------------------------------------------------------------- torch.optim and cs231n's formulas

interface TorchCase {
  rule: UpdateRule;
  hyper: { lr: number; momentum?: number; decayRate?: number; beta1?: number; beta2?: number; eps?: number };
  schedule: string;
  lr: number[];
  torch: { w: number[][]; state: Record<string, number[] | number> };
  cs231n: { w: number[][]; state: Record<string, number[] | number> };
}

/** Our float64 trajectory of a fixture case: the weights after each step, and the optimizer. */
function ours(fx: { w0: number[]; grads: number[][] }, c: TorchCase) {
  const w = Float64Array.from(fx.w0);
  const opt = createOptimizer<Float64Array>(c.rule, w.length, c.hyper, Float64Array);
  const traj = fx.grads.map((g, k) => {
    opt.step(w, Float64Array.from(g), c.lr[k]);
    return Float64Array.from(w);
  });
  return { traj, opt };
}

test('against torch.optim and cs231n optim.py (float64, 10 steps): every rule, fixed lr and lr halved after 5 steps', () => {
  const fx = fixture('optim-torch.json');
  assert.equal(fx.cases.length, 2 * UPDATE_RULES.length);
  for (const c of fx.cases as TorchCase[]) {
    const what = `${c.rule}, lr ${c.schedule}`;
    const { traj, opt } = ours(fx, c);
    // cs231n's formulas, in numpy: the same operations, so rounding apart only.
    for (let k = 0; k < traj.length; k++) assert.ok(relError(traj[k], c.cs231n.w[k]) < 1e-13, `${what}: step ${k + 1} vs cs231n ${relError(traj[k], c.cs231n.w[k])}`);
    for (const [name, want] of Object.entries(c.cs231n.state)) {
      if (name === 't') assert.equal(opt.t, want, `${what}: t`);
      else assert.ok(relError(opt.blocks()[name], want as number[]) < 1e-13, `${what}: ${name}`);
    }
    assert.equal(opt.t, 10);
    const vsTorch = Math.max(...traj.map((w, k) => relError(w, c.torch.w[k])));
    if (c.rule === 'sgd_momentum' && c.schedule !== 'fixed') {
      // torch keeps buf = μ·buf + g and steps w −= lr·buf; cs231n keeps v = μ·v − lr·g, w += v.
      // While lr is fixed v = −lr·buf and they agree (the fixed case below). When lr changes, torch's
      // step multiplies all of the past velocity by the new lr, cs231n's keeps each step's own lr:
      // after the halving they part, by more than any rounding.
      for (let k = 0; k < 5; k++) assert.ok(relError(traj[k], c.torch.w[k]) < 1e-13, `${what}: step ${k + 1}, before the lr changes, agrees`);
      assert.ok(vsTorch > 1e-3, `${what}: cs231n's form and torch's differ once lr changes (${vsTorch})`);
      // torch's trajectory is cs231n's velocity rescaled by lr_new / lr_old at the change.
      const w = Float64Array.from(fx.w0);
      const v = new Float64Array(w.length);
      fx.grads.forEach((g: number[], k: number) => {
        const scale = k > 0 ? c.lr[k] / c.lr[k - 1] : 1;
        for (let i = 0; i < w.length; i++) {
          v[i] = c.hyper.momentum! * scale * v[i] - c.lr[k] * g[i];
          w[i] += v[i];
        }
        assert.ok(relError(w, c.torch.w[k]) < 1e-13, `${what}: torch's step ${k + 1} is the rescaled-velocity form`);
      });
    } else {
      // torch's Adam divides in another order (lr/(1 − β1ᵗ)·m / (√v/√(1 − β2ᵗ) + eps)): rounding apart only.
      assert.ok(vsTorch < 1e-13, `${what}: vs torch ${vsTorch}`);
    }
    if (c.rule === 'sgd_momentum' && c.schedule === 'fixed') {
      const buf = c.torch.state.buf as number[];
      assert.ok(
        relError(
          opt.blocks().velocity,
          buf.map((b) => -c.hyper.lr * b),
        ) < 1e-13,
        'with a fixed lr, v = −lr·buf',
      );
    }
    if (c.rule === 'rmsprop') assert.ok(relError(opt.blocks().cache, c.torch.state.cache as number[]) < 1e-13, `${what}: torch's square_avg is the cache (alpha = decay rate)`);
    if (c.rule === 'adam') {
      assert.equal(c.torch.state.t, 10);
      assert.ok(relError(opt.blocks().m, c.torch.state.m as number[]) < 1e-13 && relError(opt.blocks().v, c.torch.state.v as number[]) < 1e-13, `${what}: m and v`);
    }
  }
});

test('the step functions are generic: float32 state follows the float64 trajectory to float32 precision', () => {
  const fx = fixture('optim-torch.json');
  for (const c of (fx.cases as TorchCase[]).filter((x) => x.schedule === 'fixed')) {
    const w = Float32Array.from(fx.w0);
    const opt = createOptimizer(c.rule, w.length, c.hyper, Float32Array);
    fx.grads.forEach((g: number[], k: number) => opt.step(w, Float32Array.from(g), c.lr[k]));
    assert.ok(maxAbs(w, c.cs231n.w[9]) < 1e-5, `${c.rule}: ${maxAbs(w, c.cs231n.w[9])}`);
    for (const b of Object.values(opt.blocks())) assert.ok(b instanceof Float32Array);
  }
});

test('sgd and sgd_momentum through createOptimizer give the bits the trainer always had (sgdStep, float32)', () => {
  const fx = fixture('optim-torch.json');
  for (const momentum of [0, 0.9]) {
    const a = Float32Array.from(fx.w0);
    const b = Float32Array.from(fx.w0);
    // What the trainer stepped with before the rules existed: sgdStep, or (momentum) its loop, now sgdMomentumStep.
    const st = sgdMomentumInit(a.length);
    const opt = createOptimizer(momentum > 0 ? 'sgd_momentum' : 'sgd', b.length, { momentum });
    for (const g of fx.grads as number[][]) {
      if (momentum > 0) sgdMomentumStep(a, Float32Array.from(g), 0.37, momentum, st);
      else sgdStep(a, Float32Array.from(g), 0.37);
      opt.step(b, Float32Array.from(g), 0.37);
    }
    assert.deepEqual(Buffer.from(b.buffer), Buffer.from(a.buffer));
    if (momentum) assert.deepEqual(opt.blocks().velocity, st.velocity);
  }
  assert.throws(() => sgdMomentumStep(new Float64Array(3), new Float64Array(3), 1, 0.9, sgdMomentumInit(2, Float64Array)), /velocity 2/);
  assert.throws(() => rmspropStep(new Float64Array(3), new Float64Array(3), 1, { decayRate: 0.9, eps: 1e-8 }, rmspropInit(2)), /cache 2/);
  assert.throws(() => adamStep(new Float64Array(3), new Float64Array(2), 1, { beta1: 0.9, beta2: 0.9, eps: 1e-8 }, adamInit(3)), /dw 2/);
});

test("an optimizer restores its blocks and t, and refuses another rule's state", () => {
  const a = createOptimizer('adam', 4, RULE_DEFAULTS.adam);
  a.step(new Float32Array(4), Float32Array.from([1, 2, 3, 4]), 1e-3);
  const b = createOptimizer('adam', 4, RULE_DEFAULTS.adam);
  b.restore(a.blocks(), a.t);
  assert.equal(b.t, 1);
  assert.deepEqual(b.blocks(), a.blocks());
  assert.throws(() => createOptimizer('rmsprop', 4, RULE_DEFAULTS.rmsprop).restore(a.blocks(), 1), /holds \[m, v\], update rule rmsprop keeps \[cache\]/);
  assert.throws(() => createOptimizer('adam', 5, RULE_DEFAULTS.adam).restore(a.blocks(), 1), /the saved m has 4 values for 5 parameters/);
  for (const r of UPDATE_RULES) assert.deepEqual(Object.keys(createOptimizer(r, 2, RULE_DEFAULTS[r]).blocks()).sort(), [...RULE_BLOCKS[r]]);
});

test("createOptimizer defaults nothing: a rule's hyperparameters come from the config (resolved once) or RULE_DEFAULTS, and one missing is refused by name", () => {
  assert.throws(() => createOptimizer('adam', 4, { beta1: 0.9, eps: 1e-8 } as never), /update rule adam takes beta1, beta2, eps, and beta2 is not given \(cs231n's: RULE_DEFAULTS\.adam\)/);
  assert.throws(() => createOptimizer('rmsprop', 4, {} as never), /rmsprop takes decayRate, eps, and decayRate, eps are not given/);
  assert.throws(() => createOptimizer('sgd_momentum', 4, {} as never), /sgd_momentum takes momentum, and momentum is not given/);
  createOptimizer('sgd', 4, {}); // plain SGD takes none
});

// ---------------------------------------------------------------- config keys

test('config: updateRule and its keys; momentum > 0 alone is sgd_momentum; keys a rule does not use are refused', () => {
  const r = (flags: Partial<Config>, file: Partial<Config> = {}) => resolveConfig(file, { model: 'mlp', ...flags });
  // Old configs and run folders: momentum > 0 without updateRule.
  assert.equal(r({}).updateRule, 'sgd');
  assert.equal(r({ momentum: 0.9 }).updateRule, 'sgd_momentum');
  assert.equal(r({}, { momentum: 0.9 }).updateRule, 'sgd_momentum');
  // The presets' lr for SGD; rmsprop and adam take cs231n's unless lr is given.
  assert.equal(r({ updateRule: 'sgd_momentum' }).momentum, 0.9);
  assert.equal(r({ updateRule: 'sgd_momentum' }).lr, 0.5, 'the mnist-mlp preset');
  const adam = r({ updateRule: 'adam' });
  assert.deepEqual([adam.lr, adam.beta1, adam.beta2, adam.eps, adam.decayRate], [1e-3, 0.9, 0.999, 1e-8, undefined]);
  assert.equal(r({ updateRule: 'adam', lr: 5e-4, beta2: 0.99 }).lr, 5e-4);
  assert.equal(r({ updateRule: 'adam', beta2: 0.99 }).beta2, 0.99);
  const rms = r({ updateRule: 'rmsprop' });
  assert.deepEqual([rms.lr, rms.decayRate, rms.eps, rms.beta1], [1e-2, 0.99, 1e-8, undefined]);
  // A resolved config (a run's config.json) resolves to itself.
  for (const c of [adam, rms, r({ momentum: 0.9 }), r({})]) assert.deepEqual(resolveConfig(JSON.parse(JSON.stringify(c)), {}), JSON.parse(JSON.stringify(c)));
  const refused: [Partial<Config>, RegExp][] = [
    [{ updateRule: 'sgd', momentum: 0.9 }, /momentum = 0\.9 is not used by updateRule sgd \(it takes only lr\).*sgd_momentum/],
    [{ updateRule: 'rmsprop', beta1: 0.8 }, /beta1 = 0\.8 is not used by updateRule rmsprop \(it takes decayRate, eps\)/],
    [{ updateRule: 'adam', decayRate: 0.9, momentum: 0.5 }, /momentum = 0\.5, decayRate = 0\.9 are not used by updateRule adam \(it takes beta1, beta2, eps\)/],
    [{ momentum: 0.9, eps: 1e-6 }, /eps = 0\.000001 is not used by updateRule sgd_momentum/],
    [{ updateRule: 'sgd_momentum', momentum: 0 }, /momentum = 0 with updateRule sgd_momentum is plain SGD/],
  ];
  for (const [flags, re] of refused)
    assert.throws(
      () => r(flags),
      (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(flags),
    );
});

test('config: the update rule and its hyperparameters can be swept; a trial that gives a rule a key it does not use is refused', () => {
  const grid = parseSweep({ base: { model: 'mlp' }, grid: { updateRule: ['sgd', 'sgd_momentum', 'rmsprop', 'adam'], eps: [1e-8] } }, 's.json');
  assert.deepEqual(grid.grid!.updateRule, ['sgd', 'sgd_momentum', 'rmsprop', 'adam']);
  const rnd = parseSweep({ base: { model: 'mlp', updateRule: 'adam' }, random: { trials: 3, beta1: { uniform: [0.8, 0.95] }, beta2: { choice: [0.99, 0.999] } } }, 's.json');
  assert.ok(rnd.random!.params.beta1);
  assert.throws(() => parseSweep({ grid: { updateRule: ['nesterov'] } }, 's.json'), /updateRule = "nesterov" is not allowed: expected one of sgd, sgd_momentum, rmsprop, adam/);
  assert.throws(() => parseSweep({ grid: { beta1: [1.5] } }, 's.json'), /beta1 = 1\.5 is not allowed/);
});

test("sweep list form: configs/cs231n-fcnet-update-rules.json pairs each rule with the notebook's rate (4 trials, each rule with its own defaults); bad lists are refused in one line", () => {
  const spec = readSweepFile(path.join(here, '..', 'configs', 'cs231n-fcnet-update-rules.json'));
  const trials = expandTrials(spec);
  assert.deepEqual(
    trials.map((t) => [t.config.updateRule, t.config.lr]),
    [
      ['sgd', 5e-3],
      ['sgd_momentum', 5e-3],
      ['rmsprop', 1e-4],
      ['adam', 1e-3],
    ],
  );
  assert.equal(trials[1].config.momentum, 0.9, "sgd_momentum's own default");
  assert.deepEqual(
    trials.map((t) => t.params),
    spec.list,
  );
  for (const t of trials) assert.deepEqual(t.config.hidden, [100, 100, 100, 100, 100]);
  const refused: [unknown, RegExp][] = [
    [{ list: [] }, /"list" must be a non-empty list of trials/],
    [{ list: [{}] }, /list\[0\] must be an object of key → value/],
    [{ list: [{ dataset: 'cifar' }] }, /list\[0\]: "dataset" cannot be swept/],
    [{ list: [{ lr: -1 }] }, /lr = -1 is not allowed/],
    [{ list: [{ lr: 1 }], grid: { lr: [1] } }, /give exactly one of "grid".*"random".*"list"/],
  ];
  for (const [obj, re] of refused)
    assert.throws(
      () => parseSweep(obj, 's.json'),
      (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      JSON.stringify(obj),
    );
});

// ---------------------------------------------------------------- resume, in process

const RUN = { model: 'mlp', hidden: [8], numTrain: 300, numVal: 50, numTest: 50, numDev: 20, batchSize: 50, epochs: 3, backend: 'js', seed: 5, sampling: 'shuffle' } as const;
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'optim-'));

/** Train RUN with `flags` over it, in process (helpers.ts runIn). */
const runIn = (dir: string, flags: Partial<Config>, opts: Parameters<typeof runInProcess>[2] = {}) => runInProcess(dir, { ...RUN, ...flags } as Partial<Config>, opts);
const bestBits = (dir: string) => Buffer.from(loadCheckpoint(path.join(dir, 'best.ckpt')).params.buffer);

for (const rule of ['adam', 'rmsprop'] as const) {
  test(`resume: an ${rule} run on MNIST stopped twice and resumed equals the uninterrupted run, bit for bit`, async () => {
    const ref = tmp();
    const want = (await runIn(ref, { updateRule: rule })) as Summary;
    const dir = tmp();
    assert.equal(await runIn(dir, { updateRule: rule }, { stopAfter: 4 }), 'interrupted');
    const last = loadCheckpoint(path.join(dir, 'last.ckpt'));
    assert.deepEqual(last.header.trainer!.optimizer, { rule, t: 4 });
    assert.deepEqual(
      Object.keys(last.blocks!)
        .filter((k) => k.startsWith('optim.'))
        .sort(),
      RULE_BLOCKS[rule].map((b) => `optim.${b}`),
    );
    assert.equal(await runIn(dir, { updateRule: rule }, { resume: true, stopAfter: 7 }), 'interrupted');
    assert.equal(loadCheckpoint(path.join(dir, 'last.ckpt')).header.trainer!.optimizer!.t, 11);
    const got = (await runIn(dir, { updateRule: rule }, { resume: true })) as Summary;
    assert.equal(got.finalLoss, want.finalLoss);
    assert.deepEqual(metricRows(dir), metricRows(ref));
    assert.ok(bestBits(dir).equals(bestBits(ref)));
  });
}

test('resume: a checkpoint of another update rule, or whose step count was tampered with, is refused in words', async () => {
  const dir = tmp();
  assert.equal(await runIn(dir, { updateRule: 'adam' }, { stopAfter: 3 }), 'interrupted');
  // (Another lr is refused first, by the learning-rate check; here the lr is Adam's.)
  await assert.rejects(() => runIn(dir, { updateRule: 'rmsprop' }, { resume: true }), /learning rate 0\.001 at epoch 0, but config\.json's lr and lrDecay give 0\.01/);
  for (const [flags, re] of [
    [{ updateRule: 'rmsprop', lr: 1e-3 }, /holds optimizer state \[m, v\] of update rule adam, but config\.json's update rule rmsprop keeps \[cache\]; resume with the config it was trained with/],
    [{ lr: 1e-3 }, /holds optimizer state \[m, v\] of update rule adam, but config\.json's update rule sgd \(momentum 0\) keeps \[\]/],
    [{ momentum: 0.9, lr: 1e-3 }, /of update rule adam, but .* update rule sgd_momentum \(momentum 0\.9\) keeps \[velocity\]/],
  ] as [Partial<Config>, RegExp][]) {
    await assert.rejects(
      () => runIn(dir, flags, { resume: true }),
      (e: Error) => e instanceof CheckpointError && re.test(e.message),
      JSON.stringify(flags),
    );
  }
  const file = path.join(dir, 'last.ckpt');
  const ck = loadCheckpoint(file);
  const t = ck.header.trainer!;
  const bad = (change: (c: typeof ck) => void) => {
    const c = decodeCheckpoint(encodeCheckpoint(ck), 'x');
    change(c);
    return () => decodeCheckpoint(encodeCheckpoint(c), 'x.ckpt');
  };
  assert.throws(
    bad((c) => (c.header.trainer = { ...t, optimizer: { rule: 'adam', t: 0 } })),
    /trainer state: the optimizer's step count 0 differs from the steps done, 3/,
  );
  assert.throws(
    bad((c) => (c.header.trainer = { ...t, optimizer: { rule: 'rmsprop', t: 3 } })),
    /update rule rmsprop keeps \[optim\.cache\], but the file holds \[optim\.m, optim\.v\]/,
  );
  assert.throws(
    bad((c) => (c.header.trainer = { ...t, optimizer: { rule: 'nadam' as UpdateRule, t: 3 } })),
    /optimizer .* is not an update rule/,
  );
  assert.throws(
    bad((c) => (c.blocks!['optim.m'] = c.blocks!['optim.m'].slice(1))),
    /block optim\.m has \d+ values for \d+ parameters/,
  );
});

test('resume: a last.ckpt from before update rules (no trainer.optimizer) and a config.json without updateRule resume as sgd_momentum, bit for bit', async () => {
  const ref = tmp();
  const want = (await runIn(ref, { momentum: 0.9 })) as Summary;
  const dir = tmp();
  assert.equal(await runIn(dir, { momentum: 0.9 }, { stopAfter: 8 }), 'interrupted');
  const file = path.join(dir, 'last.ckpt');
  const ck = loadCheckpoint(file);
  const { optimizer: _o, ...older } = ck.header.trainer!;
  fs.writeFileSync(file, encodeCheckpoint({ ...ck, header: { ...ck.header, trainer: older } }));
  const cfgFile = path.join(dir, 'config.json');
  const { updateRule: _u, ...oldCfg } = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  fs.writeFileSync(cfgFile, JSON.stringify(oldCfg));
  // As `train --resume` reads it: the folder's config.json, resolved.
  const cfg = resolveConfig(JSON.parse(fs.readFileSync(cfgFile, 'utf8')), {});
  assert.equal(cfg.updateRule, 'sgd_momentum');
  const got = (await runIn(dir, { momentum: cfg.momentum, updateRule: cfg.updateRule }, { resume: true })) as Summary;
  assert.equal(got.finalLoss, want.finalLoss);
  assert.deepEqual(metricRows(dir), metricRows(ref));
  assert.ok(bestBits(dir).equals(bestBits(ref)));
});

test("a rule's step runs the training engine's own pass for float32 parameters, and its loop for float64", () => {
  const engine = getEngine();
  const calls: string[] = [];
  const passes = {
    adam: () => calls.push('adam'),
    rmsprop: () => calls.push('rmsprop'),
    sgdMomentum: () => calls.push('sgd_momentum'),
  };
  useEngine({ ...engine, ...passes });
  try {
    for (const rule of ['sgd_momentum', 'rmsprop', 'adam'] as const) {
      const w32 = Float32Array.from([1, 2]);
      createOptimizer(rule, 2, RULE_DEFAULTS[rule], Float32Array).step(w32, Float32Array.from([0.5, 0.5]), 0.1);
      assert.deepEqual(w32, Float32Array.from([1, 2]), `${rule}: the engine's pass, not the loop, stepped the float32 weights`);
      const w64 = Float64Array.from([1, 2]);
      createOptimizer(rule, 2, RULE_DEFAULTS[rule], Float64Array).step(w64, Float64Array.from([0.5, 0.5]), 0.1);
      assert.ok(w64[0] < 1 && w64[1] < 2, `${rule}: the loop stepped the float64 weights: ${w64}`);
    }
  } finally {
    useEngine(engine);
  }
  assert.deepEqual(calls, ['sgd_momentum', 'rmsprop', 'adam']);
});
