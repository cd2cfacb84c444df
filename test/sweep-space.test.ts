/**
 * Conditional search spaces (src/sweep/space.ts, the sweep file's "when" and "layers"): the file
 * format and its errors; a grid that expands only the combinations that exist; a random search
 * that draws a key only where its condition holds; TPE, which suggests define-by-run and fits each
 * axis on the trials that have it, against Optuna 3.1 itself through the fixture
 * test/fixtures/tpe-conditional-optuna.json (tools/tpe_conditional_reference.py); and a TPE sweep
 * of a small MNIST MLP whose trials record only the keys that took part.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, type Config } from '../src/config/config.js';
import type { SweepResults, TrialResult } from '../src/runs/results.js';
import { MAX_TRIALS, expandParams, parseSweep, spaceOf, trialCount, trialOf } from '../src/sweep/spec.js';
import { runSweep } from '../src/sweep/sweep.js';
import { type TpeTrial, gammaOf, sidesOf, splitTrials, suggestTpe, toInternal } from '../src/sweep/tpe.js';
import { observationOf, roundParams, tpeRng, tpeSpace } from '../src/sweep/tpe_sweep.js';
import { importanceOf, parallelChart } from '../src/report/sweep_plots.js';
import { E2E_BACKEND } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const bad = (obj: unknown, message: string) =>
  assert.throws(
    () => parseSweep(obj, 'mem.json'),
    (e: Error) => e instanceof ConfigError && e.message === message,
    `expected: ${message}`,
  );

/** The conditional space of docs/sweeps.md, as a sweep file's "tpe" (or "random") gives it. */
const SPACE = {
  updateRule: { choice: ['sgd', 'sgd_momentum', 'adam'] },
  lr: { logUniform: [1e-4, 1e-1] },
  momentum: { uniform: [0.5, 0.99], when: { updateRule: 'sgd_momentum' } },
  beta1: { uniform: [0.8, 0.95], when: { updateRule: ['adam'] } },
  hidden: { layers: { depth: { uniform: [1, 3] }, width: { logUniform: [16, 512] } } },
};

test('a conditional sweep file: "when" on a key of grid, random and tpe, "hidden" from layers; the conditions kept in the spec', () => {
  const spec = parseSweep({ name: 't', base: { model: 'mlp' }, tpe: { trials: 20, ...SPACE } }, 'mem.json');
  assert.deepEqual(spec.when, { momentum: { updateRule: ['sgd_momentum'] }, beta1: { updateRule: ['adam'] } });
  assert.deepEqual(spec.tpe!.params.momentum, { uniform: [0.5, 0.99] });
  assert.deepEqual(spec.tpe!.params.hidden, { layers: { depth: { uniform: [1, 3] }, width: { logUniform: [16, 512] } } });
  assert.deepEqual(tpeSpace(spec.tpe!.params, spaceOf(spec)), {
    updateRule: { type: 'categorical', choices: ['sgd', 'sgd_momentum', 'adam'] },
    lr: { type: 'float', low: 1e-4, high: 1e-1, log: true },
    momentum: { type: 'float', low: 0.5, high: 0.99, log: false, when: { updateRule: ['sgd_momentum'] } },
    beta1: { type: 'float', low: 0.8, high: 0.95, log: false, when: { updateRule: ['adam'] } },
    'hidden.depth': { type: 'int', low: 1, high: 3, log: false },
    'hidden.1': { type: 'int', low: 16, high: 512, log: true, when: { 'hidden.depth': [1, 2, 3] } },
    'hidden.2': { type: 'int', low: 16, high: 512, log: true, when: { 'hidden.depth': [2, 3] } },
    'hidden.3': { type: 'int', low: 16, high: 512, log: true, when: { 'hidden.depth': [3] } },
  });
  // A key given before the key its condition names is decided after it.
  const late = parseSweep({ name: 't', random: { trials: 3, momentum: { uniform: [0.5, 0.9], when: { updateRule: 'sgd_momentum' } }, updateRule: { choice: ['sgd', 'sgd_momentum'] } } }, 'mem.json');
  assert.deepEqual(spaceOf(late).order, ['updateRule', 'momentum']);
  // Without a condition, nothing changes: no "when" in the spec, the file's order.
  assert.equal(parseSweep({ name: 't', grid: { lr: [1, 2] } }, 'mem.json').when, undefined);
});

test('bad conditions and layers get one clear line: unknown key, neither swept nor in base, a cycle, itself, a value the key cannot take, layers on a key that is no list', () => {
  const rule = { updateRule: { choice: ['sgd', 'sgd_momentum'] } };
  bad({ name: 't', random: { trials: 3, ...rule, momentum: { uniform: [0.5, 0.9], when: { updateRul: 'sgd' } } } }, 'mem.json: random.momentum.when names "updateRul", which is not a config key');
  bad(
    { name: 't', random: { trials: 3, momentum: { uniform: [0.5, 0.9], when: { updateRule: 'sgd_momentum' } } } },
    'mem.json: momentum.when names "updateRule", which is neither swept nor set in "base": sweep it, or set it in "base"',
  );
  bad(
    { name: 't', grid: { lr: { values: [1], when: { momentum: 0.5 } }, momentum: { values: [0.5], when: { reg: 0 } }, reg: { values: [0], when: { lr: 1 } } } },
    'mem.json: the conditions form a cycle: lr → momentum → reg → lr; a key\'s "when" may name only keys that do not depend on it',
  );
  bad({ name: 't', grid: { lr: { values: [1], when: { lr: 1 } } } }, 'mem.json: lr.when names lr itself: a key cannot depend on its own value');
  bad(
    { name: 't', grid: { ...{ updateRule: ['sgd'] }, momentum: { values: [0.5], when: { updateRule: 'sgd_momentun' } } } },
    'mem.json: grid.momentum.when: updateRule = "sgd_momentun" is not allowed: expected one of sgd, sgd_momentum, rmsprop, adam',
  );
  bad(
    { name: 't', tpe: { trials: 3, ...rule, momentum: { uniform: [0.5, 0.9], when: {} } } },
    'mem.json: tpe.momentum.when must be an object of key → value (or list of values), e.g. {"updateRule": "sgd_momentum"}',
  );
  bad(
    { name: 't', grid: { ...{ updateRule: ['sgd'] }, momentum: { values: [], when: { updateRule: 'sgd' } } } },
    'mem.json: grid.momentum must be a non-empty list of values (with "when": {"values": [...], "when": {...}})',
  );
  bad(
    { name: 't', tpe: { trials: 3, lr: { layers: { depth: { choice: [1] }, width: { choice: [10] } } } } },
    'mem.json: tpe.lr: "layers" builds a list of hidden sizes; lr is not one (use it on "hidden")',
  );
  bad(
    { name: 't', tpe: { trials: 3, hidden: { layers: { depth: { choice: [0, 2] }, width: { choice: [10] } } } } },
    'mem.json: tpe.hidden.layers.depth: a depth is a number of hidden layers, 1 to 10; got 0',
  );
  bad({ name: 't', random: { trials: 3, hidden: { layers: { depth: { choice: [1] } } } } }, 'mem.json: random.hidden must be {"layers": {"depth": <distribution>, "width": <distribution>}}');
  bad({ name: 't', grid: { hidden: { layers: { depth: [1, 2], width: [0] } } } }, 'mem.json grid: hidden = [0] is not allowed: expected a list of integers ≥ 1, e.g. 500,100');
  bad(
    { name: 't', random: { trials: 3, hidden: { layers: { depth: { choice: [1, 2] }, width: { choice: [10] } } }, lr: { uniform: [0.1, 1], when: { hidden: [[10]] } } } },
    'mem.json: random.lr.when names hidden, which is built layer by layer: a condition may name only keys drawn as one value',
  );
});

test('a grid expands only the combinations that exist, last key fastest; conditions on the base are decided once; a chain of conditions; the cap counts what exists', () => {
  const spec = parseSweep(
    {
      name: 'g',
      base: { model: 'mlp' },
      grid: {
        updateRule: ['sgd', 'sgd_momentum'],
        momentum: { values: [0.5, 0.9], when: { updateRule: 'sgd_momentum' } },
        lrDecay: { values: [0.9, 1], when: { momentum: 0.9 } },
        hidden: { layers: { depth: [1, 2], width: [10, 20] } },
      },
    },
    'mem.json',
  );
  const hiddens = [[10], [20], [10, 10], [10, 20], [20, 10], [20, 20]];
  const want = [
    ...hiddens.map((hidden) => ({ updateRule: 'sgd', hidden })),
    ...hiddens.map((hidden) => ({ updateRule: 'sgd_momentum', momentum: 0.5, hidden })),
    ...hiddens.map((hidden) => ({ updateRule: 'sgd_momentum', momentum: 0.9, lrDecay: 0.9, hidden })),
    ...hiddens.map((hidden) => ({ updateRule: 'sgd_momentum', momentum: 0.9, lrDecay: 1, hidden })),
  ];
  assert.deepEqual(expandParams(spec), want);
  assert.equal(trialCount(spec), 24);
  // Conditions on keys of the base: beta1 takes part in every trial, momentum in none.
  const onBase = parseSweep(
    {
      name: 'g',
      base: { updateRule: 'adam' },
      grid: { lr: [0.1, 1], beta1: { values: [0.8, 0.9], when: { updateRule: 'adam' } }, momentum: { values: [0.5, 0.9], when: { updateRule: 'sgd_momentum' } } },
    },
    'mem.json',
  );
  assert.deepEqual(expandParams(onBase), [
    { lr: 0.1, beta1: 0.8 },
    { lr: 0.1, beta1: 0.9 },
    { lr: 1, beta1: 0.8 },
    { lr: 1, beta1: 0.9 },
  ]);
  // 3 × 100 × 100 × 100 = 3,000,000 as a product, but 2 + 100 + 100 = 202 combinations exist.
  const vals = (n: number) => Array.from({ length: n }, (_, i) => (i + 1) / (n + 1));
  const wide = {
    updateRule: ['sgd', 'sgd_momentum', 'adam'],
    momentum: { values: vals(100), when: { updateRule: 'sgd_momentum' } },
    beta1: { values: vals(100), when: { updateRule: 'adam' } },
    lrDecay: { values: vals(100), when: { updateRule: 'sgd' } },
  };
  assert.equal(trialCount(parseSweep({ name: 'g', grid: wide }, 'mem.json')), 300);
  assert.equal(expandParams(parseSweep({ name: 'g', grid: wide }, 'mem.json')).length, 300);
  bad(
    { name: 'g', grid: { ...wide, lr: vals(40) } },
    `mem.json: the grid has more than ${MAX_TRIALS.toLocaleString('en-US')} trials that its conditions allow; a sweep holds at most ${MAX_TRIALS.toLocaleString('en-US')}`,
  );
});

test('a random search draws a key only where its condition holds, hidden as a depth and a width per layer; a condition on the base that holds leaves the draws as they were', () => {
  const spec = parseSweep({ name: 'r', base: { model: 'mlp' }, random: { trials: 60, seed: 3, ...SPACE } }, 'mem.json');
  const trials = expandParams(spec) as Record<string, unknown>[];
  const rules = new Set<unknown>();
  const depths = new Set<number>();
  for (const p of trials) {
    rules.add(p.updateRule);
    assert.equal('momentum' in p, p.updateRule === 'sgd_momentum', JSON.stringify(p));
    assert.equal('beta1' in p, p.updateRule === 'adam', JSON.stringify(p));
    const h = p.hidden as number[];
    depths.add(h.length);
    assert.ok(h.length >= 1 && h.length <= 3 && h.every((w) => Number.isInteger(w) && w >= 16 && w <= 512), JSON.stringify(p));
  }
  assert.deepEqual([...rules].sort(), ['adam', 'sgd', 'sgd_momentum']);
  assert.deepEqual([...depths].sort(), [1, 2, 3]);
  // The same search with a condition on the base that holds draws the same numbers.
  const plain = parseSweep({ name: 'r', base: { model: 'mlp' }, random: { trials: 20, seed: 3, lr: { logUniform: [1e-4, 1] }, reg: { logUniform: [1e-6, 1] } } }, 'mem.json');
  const held = parseSweep(
    { name: 'r', base: { model: 'mlp', updateRule: 'sgd' }, random: { trials: 20, seed: 3, lr: { logUniform: [1e-4, 1] }, reg: { logUniform: [1e-6, 1], when: { updateRule: 'sgd' } } } },
    'mem.json',
  );
  assert.deepEqual(expandParams(held), expandParams(plain));
});

interface CondFixture {
  optuna: string;
  trials: { params: Record<string, unknown>; state: 'complete' | 'pruned' | 'running'; value?: number; step?: number }[];
  sides: Record<string, { n: number; below: number[]; above: number[] }>;
}
const fx = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/tpe-conditional-optuna.json'), 'utf8')) as CondFixture;

/** A fixture trial as a sweep holds it: its params nested back (hidden as a list), its result as the sweep records it. */
function sweepTrialOf(spec: ReturnType<typeof parseSweep>, t: CondFixture['trials'][number], index: number): { trial: ReturnType<typeof trialOf>; result: TrialResult | undefined } {
  const { 'hidden.depth': depth, ...rest } = t.params;
  const params: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (!k.startsWith('hidden.')) params[k] = v;
  params.hidden = Array.from({ length: depth as number }, (_, i) => t.params[`hidden.${i + 1}`]);
  const trial = trialOf(spec, index, params as Partial<Config>);
  if (t.state === 'running') return { trial, result: undefined };
  const base = { index, dir: 'trials/x', reason: null, params, trainAcc: null, bestEpoch: null, seconds: null, resumed: false };
  const result = t.state === 'complete' ? { ...base, status: 'ok', valAcc: t.value } : { ...base, status: 'stopped', valAcc: t.value, lastEpoch: t.step };
  return { trial, result: result as TrialResult };
}

test(`TPE fits each axis on the trials that have it: below and above as Optuna ${fx.optuna}'s sample_independent, on 40 trials of a conditional space (float64, relative 1e-12)`, () => {
  const spec = parseSweep({ name: 't', base: { model: 'mlp' }, tpe: { trials: 40, ...SPACE } }, 'mem.json');
  const space = tpeSpace(spec.tpe!.params, spaceOf(spec));
  const seen = fx.trials.map((t, i) => {
    const { trial, result } = sweepTrialOf(spec, t, i + 1);
    const o = observationOf(space, trial, result);
    assert.ok(o, `trial ${i + 1} is an observation: ${JSON.stringify(t.params)}`);
    return o;
  });
  const n = seen.filter((t) => t.state !== 'running').length;
  const split = splitTrials(seen, gammaOf(n));
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  for (const [name, p] of Object.entries(space)) {
    const want = fx.sides[name];
    assert.equal(n, want.n, `${name}: n`);
    const got = sidesOf(split, name, p);
    // Optuna keeps a number as it is and takes its log in the estimator; here the log is taken first.
    const internal = (x: number) => (p.type !== 'categorical' && p.log ? Math.log(x) : x);
    for (const side of ['below', 'above'] as const) {
      const [g, w] = [sorted(got[side]), sorted(want[side].map(internal))];
      assert.equal(g.length, w.length, `${name} ${side}: ${g.length} observations, Optuna ${w.length}`);
      g.forEach((x, i) => assert.ok(Math.abs(x - w[i]) <= 1e-12 * Math.max(1, Math.abs(w[i])), `${name} ${side}[${i}]: ${x}, Optuna ${w[i]}`));
    }
  }
  // Every axis that some trials lack is fitted on fewer than all of them.
  assert.ok(fx.sides.momentum.below.length + fx.sides.momentum.above.length < seen.length);
});

test('TPE suggests define-by-run: a conditional axis only where its condition holds, hidden as deep as its depth; a trial lacking a key that did not take part is still an observation', () => {
  const spec = parseSweep({ name: 't', base: { model: 'mlp' }, tpe: { trials: 40, ...SPACE } }, 'mem.json');
  const space = tpeSpace(spec.tpe!.params, spaceOf(spec));
  const seen = fx.trials.map((t, i) => {
    const { trial, result } = sweepTrialOf(spec, t, i + 1);
    return observationOf(space, trial, result)!;
  });
  const rules = new Set<unknown>();
  for (let seed = 0; seed < 40; seed++) {
    for (const startupTrials of [0, 100]) {
      const p = roundParams(space, suggestTpe(space, seen, tpeRng(seed, 41), { startupTrials })) as Record<string, unknown>;
      rules.add(p.updateRule);
      assert.equal('momentum' in p, p.updateRule === 'sgd_momentum', JSON.stringify(p));
      assert.equal('beta1' in p, p.updateRule === 'adam', JSON.stringify(p));
      const h = p.hidden as number[];
      assert.ok(Array.isArray(h) && h.length >= 1 && h.length <= 3 && h.every((w) => Number.isInteger(w) && w >= 16 && w <= 512), JSON.stringify(p));
      assert.deepEqual(
        Object.keys(p).filter((k) => k.includes('.')),
        [],
        'no axis name reaches the trial',
      );
    }
  }
  assert.equal(rules.size, 3);
  // An sgd trial has no momentum: it is still an observation; an sgd_momentum trial without one is not (the file was edited).
  const t = (params: Record<string, unknown>) => trialOf(spec, 1, params as Partial<Config>);
  const ok = { index: 1, status: 'ok', valAcc: 0.5 } as TrialResult;
  assert.deepEqual(observationOf(space, t({ updateRule: 'sgd', lr: 0.01, hidden: [32] }), ok), {
    params: { updateRule: 'sgd', lr: 0.01, 'hidden.depth': 1, 'hidden.1': 32 },
    state: 'complete',
    value: 0.5,
  } satisfies TpeTrial);
  assert.equal(observationOf(space, t({ updateRule: 'sgd_momentum', lr: 0.01, hidden: [32] }), ok), null);
  assert.equal(toInternal(space['hidden.2'], 64), Math.log(64));
});

test('a conditional TPE sweep of an MNIST MLP: each trial records only the keys that took part; the report is built', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-space-test-'));
  tmpDirs.push(dir);
  const base = { dataset: 'mnist', model: 'mlp', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 10, batchSize: 100, backend: E2E_BACKEND, runsDir: path.join(dir, 'runs') };
  const tpe = {
    trials: 5,
    seed: 2,
    startupTrials: 2,
    updateRule: { choice: ['sgd', 'sgd_momentum'] },
    lr: { logUniform: [1e-2, 0.5] },
    momentum: { uniform: [0.5, 0.9], when: { updateRule: 'sgd_momentum' } },
    hidden: { layers: { depth: { choice: [1, 2] }, width: { logUniform: [8, 32] } } },
  };
  const file = path.join(dir, 'sweep.json');
  fs.writeFileSync(file, JSON.stringify({ name: 'cond', base, tpe }));
  const results: SweepResults = await runSweep({ file, flags: {}, workers: 1, out: () => {} });
  assert.equal(results.trials.length, 5);
  for (const r of results.trials) {
    assert.equal(r.status, 'ok', `trial ${r.index}: ${r.reason}`);
    const p = r.params as Record<string, unknown>;
    assert.equal('momentum' in p, p.updateRule === 'sgd_momentum', JSON.stringify(p));
    const cfg = JSON.parse(fs.readFileSync(path.join(results.folder, r.dir, 'config.json'), 'utf8')) as Config;
    assert.deepEqual(cfg.hidden, p.hidden);
    assert.equal(cfg.updateRule, p.updateRule);
  }
  const csv = fs.readFileSync(path.join(results.folder, 'results.csv'), 'utf8');
  assert.ok(csv.startsWith('trial,status,updateRule,lr,momentum,hidden,'), csv);
  assert.ok(fs.statSync(path.join(results.folder, 'report.html')).size > 0);
});

test("the search report with conditional keys: parallel coordinates leave a gap where a trial lacks a key; importance covers the keys every finished trial has, as Optuna's intersection space", () => {
  const params = { updateRule: { choice: ['sgd', 'sgd_momentum'] }, lr: { logUniform: [1e-3, 1] as [number, number] }, momentum: { uniform: [0.5, 0.9] as [number, number] } };
  const trial = (index: number, p: Record<string, unknown>, valAcc: number) =>
    ({ index, dir: 'trials/x', status: 'ok', reason: null, params: p, trainAcc: 0.5, valAcc, bestEpoch: 1, seconds: 1, resumed: false }) as TrialResult & { valAcc: number };
  const done = [
    trial(1, { updateRule: 'sgd', lr: 0.01 }, 0.2),
    trial(2, { updateRule: 'sgd_momentum', lr: 0.1, momentum: 0.7 }, 0.6),
    trial(3, { updateRule: 'sgd', lr: 0.5 }, 0.4),
    trial(4, { updateRule: 'sgd', lr: 0.002 }, 0.1),
  ];
  const chart = parallelChart(params, done) as { data: { datasets: { data: (number | null)[] }[] } };
  assert.deepEqual(
    chart.data.datasets.map((d) => d.data[2]),
    [null, 0.5, null, null],
  );
  const imp = importanceOf(params, done, 1);
  assert.ok(typeof imp !== 'string', String(imp));
  assert.deepEqual(Object.keys(imp).sort(), ['lr', 'updateRule']);
});
