/**
 * TPE (src/sweep/tpe.ts, src/sweep/truncnorm.ts) against Optuna 3.1 itself, through the fixture
 * test/fixtures/tpe-optuna.json written by tools/tpe_optuna_reference.py:
 * - the truncated normal's pieces against Python's math.erf/erfc and Optuna's _truncnorm (float64);
 * - gamma, weights and the Parzen estimator (weights, mus, sigmas, log-pdf) on fixed inputs;
 * - seeded determinism, the startup phase, and the constant liar;
 * - the benchmark: over 20 seeds and 40 trials, the median best-so-far after 20 and 40 trials is
 *   at least Optuna TPE's minus its noise band, and above random search's by more than random's
 *   noise band wherever Optuna TPE's is (reference() says how both are measured).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/linalg/rng.js';
import { erf, erfc, logGaussMass, logNdtr, truncnormPpf } from '../src/sweep/truncnorm.js';
import { type TpeParam, type TpeSpace, type TpeTrial, TPE_DEFAULTS, gammaOf, parzenEstimator, parzenLogPdf, suggestTpe, toInternal, weightsOf } from '../src/sweep/tpe.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ParzenCase {
  name: string;
  dist: { float?: { low: number; high: number; log: boolean }; int?: { low: number; high: number; log: boolean }; categorical?: unknown[] };
  obs: number[];
  points: number[];
  weights: number[];
  mus?: number[];
  sigmas?: number[];
  catWeights?: number[][];
  logPdf: number[];
  logPdf31: number[];
}
interface Bench {
  space: Record<string, [number, number]>;
  checks: { x: number[]; value: number }[];
  tpe: { median: number[]; groupMedians: number[][] };
  tpeNormalized: { median: number[]; groupMedians: number[][] };
  random: { median: number[]; groupMedians: number[][] };
}
interface Fixture {
  optuna: string;
  group: number;
  trials: number;
  checkpoints: number[];
  gamma: Record<string, number>;
  weights: Record<string, number[]>;
  parzen: ParzenCase[];
  benchmarks: Record<string, Bench>;
}
const fx = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/tpe-optuna.json'), 'utf8')) as Fixture;

/** |got − want| ≤ tol·max(1, |want|), with the first failing index and both values in the message. */
function close(got: number[], want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    assert.ok(err <= tol, `${what}[${i}]: got ${got[i]}, expected ${want[i]} (relative error ${err.toExponential(2)} > ${tol})`);
  }
}

test('erf, erfc, log Φ, the Gaussian mass and the truncated normal quantile match Python and Optuna (float64, relative 1e-12)', () => {
  // Python 3.11's math.erf / math.erfc
  const erfs: [number, number][] = [
    [1e-10, 1.1283791670955126e-10],
    [0.3, 0.3286267594591274],
    [0.9, 0.7969082124228322],
    [1.1, 0.8802050695740817],
    [2.0, 0.9953222650189527],
    [3.5, 0.9999992569016276],
    [5.9, 0.9999999999999999],
  ];
  for (const [x, y] of erfs) close([erf(x), erf(-x)], [y, -y], 1e-15, `erf(±${x})`);
  const erfcs: [number, number][] = [
    [-3, 1.9999779095030015],
    [-0.5, 1.5204998778130465],
    [0.1, 0.8875370839817152],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [2, 0.004677734981047265],
    [5, 1.5374597944280351e-12],
    [10, 2.088487583762545e-45],
    [26, 5.663192408856143e-296],
  ];
  for (const [x, y] of erfcs) assert.ok(Math.abs(erfc(x) / y - 1) < 1e-12, `erfc(${x}) = ${erfc(x)}, expected ${y}`);
  // Optuna 3.1's _truncnorm: _log_ndtr_single, _log_gauss_mass, ppf
  const logNdtrs: [number, number][] = [
    [-40, -804.6084420137538],
    [-21, -224.46571583141449],
    [-5, -15.064998393988724],
    [0, -0.6931471805599453],
    [3, -0.0013508099647482027],
    [7, -1.279812543885835e-12],
  ];
  for (const [a, y] of logNdtrs) assert.ok(Math.abs(logNdtr(a) / y - 1) < 1e-12, `logNdtr(${a}) = ${logNdtr(a)}, expected ${y}`);
  const masses: [number, number, number][] = [
    [-1, 2, -0.20016629432446262],
    [3, 9, -6.607726221510348],
    [-30, -25, -316.6394080080202],
    [-0.5, 0.1, -1.464081653767304],
  ];
  for (const [a, b, y] of masses) close([logGaussMass(a, b)], [y], 1e-12, `logGaussMass(${a}, ${b})`);
  const ppfs: [number, number, number, number][] = [
    [0.3, -1, 2, -0.24240381788922694],
    [0.9, 3, 9, 3.642522275831624],
    [0.5, -30, -25, -25.027666476956796],
    [0.01, 0.5, 80, 0.5087830142494418],
  ];
  for (const [q, a, b, y] of ppfs) close([truncnormPpf(q, a, b)], [y], 1e-12, `ppf(${q}; ${a}, ${b})`);
});

test("gamma and the observation weights are Optuna's defaults", () => {
  for (const [n, g] of Object.entries(fx.gamma)) assert.equal(gammaOf(Number(n)), g, `gamma(${n})`);
  for (const [n, w] of Object.entries(fx.weights)) close(weightsOf(Number(n)), w, 1e-15, `weights(${n})`);
});

function paramOf(c: ParzenCase): TpeParam {
  if (c.dist.float) return { type: 'float', ...c.dist.float };
  if (c.dist.int) return { type: 'int', ...c.dist.int };
  return { type: 'categorical', choices: c.dist.categorical! };
}

test("the Parzen estimator matches Optuna's on fixed inputs: weights, mus, sigmas, categorical weights, log-pdf as 3.1 and as ≥ 3.5 (float64, relative 1e-12)", () => {
  assert.ok(fx.parzen.length >= 7);
  for (const c of fx.parzen) {
    const p = paramOf(c);
    // Observations and points are values (choice indices for categories), as Optuna takes them.
    const internal = (xs: number[]) => xs.map((x) => (p.type === 'categorical' ? x : toInternal(p, x)));
    const pe = parzenEstimator(internal(c.obs), p, TPE_DEFAULTS);
    close(pe.weights, c.weights, 1e-12, `${c.name}: weights`);
    if (c.mus) close(pe.mus, c.mus, 1e-12, `${c.name}: mus`);
    if (c.sigmas) close(pe.sigmas, c.sigmas, 1e-12, `${c.name}: sigmas`);
    if (c.catWeights) c.catWeights.forEach((row, i) => close(pe.catWeights[i], row, 1e-12, `${c.name}: catWeights[${i}]`));
    close(parzenLogPdf(pe, internal(c.points)), c.logPdf31, 1e-12, `${c.name}: log-pdf (Optuna 3.1's)`);
    const normalized = parzenEstimator(internal(c.obs), p, { ...TPE_DEFAULTS, normalizedDensity: true });
    close(parzenLogPdf(normalized, internal(c.points)), c.logPdf, 1e-12, `${c.name}: log-pdf (normalized, Optuna ≥ 3.5's)`);
  }
});

test("Optuna 3.1's log-pdf differs from the normalized one by exactly the missing −log(sigma) (optuna#5109), and only on continuous axes", () => {
  // One component (no observations): the prior alone, sigma = high − low, so the difference is log(sigma).
  const c = fx.parzen.find((x) => x.name === 'empty, log float')!;
  const sigma = Math.log(c.dist.float!.high) - Math.log(c.dist.float!.low);
  close(
    c.logPdf.map((v, i) => c.logPdf31[i] - v),
    c.points.map(() => Math.log(sigma)),
    1e-12,
    'logPdf31 − logPdf',
  );
  for (const name of ['linear int', 'categorical']) {
    const k = fx.parzen.find((x) => x.name === name)!;
    close(k.logPdf, k.logPdf31, 1e-15, `${name}: a probability mass, the same in both`);
  }
});

const SPACE: TpeSpace = {
  lr: { type: 'float', low: 1e-8, high: 1e-3, log: true },
  lrDecay: { type: 'float', low: 0.6, high: 1, log: false },
  batchSize: { type: 'int', low: 16, high: 256, log: false },
  hidden: { type: 'int', low: 10, high: 1000, log: true },
  updateRule: { type: 'categorical', choices: ['sgd', 'adam', [100, 50]] },
};

/** A made-up sweep: `n` finished trials, each suggested by TPE (seeded by its index) and scored by `f`. */
function history(n: number, f: (p: Record<string, unknown>) => number, seed = 1): TpeTrial[] {
  const trials: TpeTrial[] = [];
  for (let i = 0; i < n; i++) {
    const params = suggestTpe(SPACE, trials, new Rng(seed * 1000 + i));
    trials.push({ params, state: 'complete', value: f(params) });
  }
  return trials;
}
const score = (p: Record<string, unknown>) => -((Math.log10(p.lr as number) + 5) ** 2) - (p.updateRule === 'adam' ? 0 : 1) - Math.abs((p.batchSize as number) - 100) / 100;

function checkInSpace(p: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(p), Object.keys(SPACE));
  for (const [k, d] of Object.entries(SPACE)) {
    const v = p[k];
    if (d.type === 'categorical')
      assert.ok(
        d.choices.some((c) => JSON.stringify(c) === JSON.stringify(v)),
        `${k} = ${JSON.stringify(v)}`,
      );
    else {
      assert.equal(typeof v, 'number');
      assert.ok((v as number) >= d.low && (v as number) <= d.high, `${k} = ${String(v)} outside [${d.low}, ${d.high}]`);
      if (d.type === 'int') assert.ok(Number.isInteger(v), `${k} = ${String(v)} is not an integer`);
    }
  }
}

test('every suggestion, random (startup) or modelled, lies in the space: floats in range, integers whole, categories from the list', () => {
  const trials = history(30, score);
  for (const t of trials) checkInSpace(t.params);
  // After the startup trials the model takes over and finds the good corner more often than chance.
  const adam = trials.slice(10).filter((t) => t.params.updateRule === 'adam').length;
  assert.ok(adam > 20 / 3 + 3, `TPE chose adam in ${adam} of 20 modelled trials; random picks it in about 7`);
});

test('the same seed and the same results in the same order give the same suggestions; another seed another', () => {
  const a = history(25, score, 3);
  const b = history(25, score, 3);
  assert.deepEqual(
    a.map((t) => t.params),
    b.map((t) => t.params),
  );
  const next = (seed: number) => suggestTpe(SPACE, a, new Rng(seed));
  assert.deepEqual(next(99), next(99));
  assert.notDeepEqual(next(99), next(100));
  // The order of the results matters (weights ramp by age beyond 25; ties keep chronological order), not just the set: shown at 40.
  const c = history(40, score, 3);
  assert.deepEqual(
    suggestTpe(SPACE, c, new Rng(7)),
    suggestTpe(
      SPACE,
      c.map((t) => ({ ...t })),
      new Rng(7),
    ),
  );
});

test('the first startupTrials suggestions are random: the model starts once that many trials have finished (running ones do not count)', () => {
  const done = history(9, score);
  const running: TpeTrial[] = [{ params: done[0].params, state: 'running' }];
  // 9 finished and 1 running: still random, so the suggestion is the random draw of that Rng.
  const rnd = suggestTpe(SPACE, [...done, ...running], new Rng(5));
  assert.deepEqual(rnd, suggestTpe(SPACE, [], new Rng(5)));
  const modelled = suggestTpe(SPACE, [...history(10, score)], new Rng(5));
  assert.notDeepEqual(modelled, suggestTpe(SPACE, [], new Rng(5)));
  assert.deepEqual(suggestTpe(SPACE, [], new Rng(5), { startupTrials: 0 }), suggestTpe(SPACE, [], new Rng(5), { startupTrials: 0 }));
});

test('constant liar: a trial still running pushes the next suggestion away from it; without the liar the same draw repeats it', () => {
  const done = history(20, score);
  for (let seed = 11; seed < 21; seed++) {
    const first = suggestTpe(SPACE, done, new Rng(seed));
    const pending: TpeTrial = { params: first, state: 'running' };
    // A second worker asks before the first trial is done, with the same draw of random numbers.
    const withoutLiar = suggestTpe(SPACE, [...done, pending], new Rng(seed), { constantLiar: false });
    const withLiar = suggestTpe(SPACE, [...done, pending], new Rng(seed));
    assert.deepEqual(withoutLiar, first, `seed ${seed}: without the liar the pending trial is invisible: the same suggestion`);
    assert.notDeepEqual(withLiar, first, `seed ${seed}: with the liar the pending trial counts as a bad result: another suggestion`);
  }
});

// --- The benchmark against Optuna 3.1 ---

const LR0 = Math.log10(4e-6);
const REG0 = 3.0;
/** The same formulas as tools/tpe_optuna_reference.py (the fixture's checks tie them). */
const OBJECTIVES: Record<string, (x: number[]) => number> = {
  'softmax-surrogate': ([lr, reg]) => {
    if (lr * reg > 1) return 0.1;
    const [u, v] = [Math.log10(lr), Math.log10(reg)];
    const z1 = (u - LR0 + 0.25 * (v - REG0)) / 0.35;
    const z2 = (v - REG0) / 0.7;
    return 0.1 + 0.31 * Math.exp(-(z1 * z1 + z2 * z2) / 2);
  },
  'log-rosenbrock': ([a, b]) => {
    const [x, y] = [Math.log10(a), Math.log10(b)];
    return -Math.log10(1 + (1 - x) ** 2 + 100 * (y - x * x) ** 2);
  },
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Best value after each checkpoint of one search of `trials` trials, `suggest` giving trial i's point. */
function bestSoFar(f: (x: number[]) => number, trials: number, checkpoints: number[], suggest: (i: number, seen: TpeTrial[]) => number[], keys: string[]): number[] {
  const seen: TpeTrial[] = [];
  for (let i = 0; i < trials; i++) {
    const x = suggest(i, seen);
    seen.push({ params: Object.fromEntries(keys.map((k, j) => [k, x[j]])), state: 'complete', value: f(x) });
  }
  return checkpoints.map((c) => Math.max(...seen.slice(0, c).map((t) => t.value!)));
}

/**
 * Optuna's figure for one sampler and checkpoint: the mean of its five 20-seed medians (100 seeds:
 * the best estimate of what a median of 20 seeds is), and its noise band, the spread of those five
 * medians (largest minus smallest): how far a median of 20 seeds, such as ours, moves with the seeds.
 */
function reference(s: { groupMedians: number[][] }, j: number): { ref: number; band: number } {
  const g = s.groupMedians.map((m) => m[j]);
  return { ref: g.reduce((a, b) => a + b, 0) / g.length, band: Math.max(...g) - Math.min(...g) };
}

test('benchmark: over 20 seeds and 40 trials, our TPE is within the noise band of Optuna TPE, and above random search as clearly as Optuna TPE is', () => {
  const rows: string[] = [];
  for (const [name, b] of Object.entries(fx.benchmarks)) {
    const f = OBJECTIVES[name];
    for (const c of b.checks) close([f(c.x)], [c.value], 1e-12, `${name}(${c.x.join(', ')}): the objective as the Python script has it`);
    const keys = Object.keys(b.space);
    const space: TpeSpace = Object.fromEntries(keys.map((k) => [k, { type: 'float', low: b.space[k][0], high: b.space[k][1], log: true }]));
    const seeds = Array.from({ length: fx.group }, (_, s) => s);
    const run = (suggest: (seed: number) => (i: number, seen: TpeTrial[]) => number[]) => {
      const best = seeds.map((s) => bestSoFar(f, fx.trials, fx.checkpoints, suggest(s), keys));
      return fx.checkpoints.map((_, j) => median(best.map((r) => r[j])));
    };
    const tpe = (normalizedDensity: boolean) =>
      run((s) => (i, seen) => {
        const p = suggestTpe(space, seen, new Rng(s * 1000 + i), { normalizedDensity });
        return keys.map((k) => p[k] as number);
      });
    const [ours, oursNormalized] = [tpe(false), tpe(true)];
    const random = run((s) => {
      const rng = new Rng(s);
      return () => keys.map((k) => Math.exp(Math.log(b.space[k][0]) + (Math.log(b.space[k][1]) - Math.log(b.space[k][0])) * rng.uniform()));
    });
    fx.checkpoints.forEach((c, j) => {
      const [t, tn, r] = [reference(b.tpe, j), reference(b.tpeNormalized, j), reference(b.random, j)];
      const fmt = (x: { ref: number; band: number }) => `${x.ref.toFixed(4)} ± ${x.band.toFixed(4)}`;
      rows.push(`| ${name} | ${c} | ${ours[j].toFixed(4)} | ${fmt(t)} | ${random[j].toFixed(4)} | ${fmt(r)} | ${oursNormalized[j].toFixed(4)} | ${fmt(tn)} |`);
      const at = `${name} after ${c} trials`;
      assert.ok(ours[j] >= t.ref - t.band, `${at}: our TPE's median best ${ours[j]} is below Optuna TPE's ${t.ref} minus its noise band ${t.band}`);
      assert.ok(oursNormalized[j] >= tn.ref - tn.band, `${at}: our TPE with the normalized density, ${oursNormalized[j]}, is below Optuna ≥ 3.5's ${tn.ref} minus its noise band ${tn.band}`);
      // Above random search: by more than random's noise band wherever Optuna's TPE is, and at least above it elsewhere.
      const margin = t.ref - r.ref > r.band ? r.band : 0;
      for (const [who, rv] of [
        ['our random search', random[j]],
        ['Optuna random', r.ref],
      ] as const) {
        assert.ok(ours[j] - rv > margin, `${at}: our TPE's median best ${ours[j]} is not above ${who}'s ${rv} by more than ${margin} (Optuna TPE: ${t.ref}, random's noise band ${r.band})`);
      }
    });
  }
  console.log(
    [
      `median best-so-far over ${fx.group} seeds; Optuna ${fx.optuna}: the mean of five 20-seed medians ± their spread`,
      '| objective | trials | our TPE | Optuna TPE | our random | Optuna random | ours, normalized density | Optuna ≥ 3.5 density |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n'),
  );
});
