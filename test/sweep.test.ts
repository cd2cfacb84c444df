/**
 * Hyperparameter sweeps: the sweep file (grid and random expansion, its errors), real sweeps on a
 * small subset of the built-in MNIST with two worker threads (results files, trial folders,
 * resuming, a diverging trial), and the `sweep` command of the built CLI.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, ConfigError } from '../src/config/config.js';
import { initEngine } from '../src/linalg/engine.js';
import { modelFromParams } from '../src/models/index.js';
import type { Model } from '../src/models/model.js';
import { viewsOf } from '../src/models/params.js';
import { loadCheckpoint } from '../src/runs/checkpoint.js';
import { accuracy } from '../src/models/evaluate.js';
import type { SweepResults } from '../src/runs/results.js';
import type { Summary } from '../src/runs/summary.js';
import { loadRunData } from '../src/train/run.js';
import { expandParams, expandTrials, fmtE, parseSweep, readSweepFile } from '../src/sweep/spec.js';
import { resultsCsv, runSweep } from '../src/sweep/sweep.js';
import { configHash } from '../src/sweep/trial.js';
import { E2E_BACKEND } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');

/** A tiny MNIST softmax run: 20 iterations of batch 100 on 1000 rows (2 epochs). */
const BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 20, batchSize: 100, backend: E2E_BACKEND };

const TRIAL_FILES = [
  'accuracy.png',
  'best.ckpt',
  'config.json',
  'confusion.png',
  'last.ckpt',
  'loss.png',
  'metrics.jsonl',
  'misclassified.png',
  'predictions.json',
  'report.html',
  'summary.json',
  'train.log',
  'weights.png',
];
const ROW = /lr \d\.\d{6}e-\d\d reg \d\.\d{6}e[+-]\d\d train accuracy: 0\.\d{3} val accuracy: 0\.\d{3}/;

const tmpDirs: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-test-'));
  tmpDirs.push(dir);
  return dir;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Write a sweep file into `dir` whose base config writes runs into `dir/runs`. */
function writeSweep(dir: string, spec: Record<string, unknown>, file = 'sweep.json'): string {
  const f = path.join(dir, file);
  const base = { ...BASE, runsDir: path.join(dir, 'runs'), ...((spec.base as object) ?? {}) };
  fs.writeFileSync(f, JSON.stringify({ ...spec, base }, null, 2));
  return f;
}

async function sweep(file: string, workers = 2): Promise<{ results: SweepResults; lines: string[] }> {
  const lines: string[] = [];
  const results = await runSweep({ file, flags: {}, workers, out: (l) => lines.push(l) });
  return { results, lines };
}

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
/** Trial `i`'s folder, as results.json lists it (folders are named by a hash of the config). */
const trialDir = (sweepDir: string, i: number) => path.join(sweepDir, readJson<SweepResults>(path.join(sweepDir, 'results.json')).trials.find((t) => t.index === i)!.dir);
const mtime = (f: string) => fs.statSync(f).mtimeMs;

/** RFC 4180 CSV: quoted cells may hold commas, quotes ("") and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((cell += '"'), i++);
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (row.push(cell), (cell = ''));
    else if (c === '\n') (row.push(cell), rows.push(row), (row = []), (cell = ''));
    else cell += c;
  }
  if (cell !== '' || row.length > 0) (row.push(cell), rows.push(row));
  return rows;
}

/** results.csv as objects keyed by its header. */
function readCsv(file: string): Record<string, string>[] {
  const [head, ...rows] = parseCsv(fs.readFileSync(file, 'utf8'));
  for (const r of rows) assert.equal(r.length, head.length, `CSV row ${r.join('|')} has ${r.length} cells, header ${head.length}`);
  return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

const num = (s: string): number | null => (s === '' ? null : Number(s));

// ---------------------------------------------------------------------------------------------
// 1. The sweep file.

test('grid: the cartesian product in key order, last key fastest; trials are 1-based', () => {
  const spec = parseSweep({ name: 'g', base: { ...BASE }, grid: { lr: [0.1, 0.2], reg: [1e-5, 1e-4, 1e-3] } }, 'mem.json');
  const params = expandParams(spec);
  assert.deepEqual(params, [
    { lr: 0.1, reg: 1e-5 },
    { lr: 0.1, reg: 1e-4 },
    { lr: 0.1, reg: 1e-3 },
    { lr: 0.2, reg: 1e-5 },
    { lr: 0.2, reg: 1e-4 },
    { lr: 0.2, reg: 1e-3 },
  ]);
  for (const p of params) assert.deepEqual(Object.keys(p), ['lr', 'reg']);

  // Key order is the file's order: reg first makes reg the slowest.
  const swapped = expandParams(parseSweep({ name: 'g', grid: { reg: [1, 2], lr: [0.1, 0.2, 0.3] } }, 'mem.json'));
  assert.deepEqual(
    swapped.map((p) => [p.reg, p.lr]),
    [
      [1, 0.1],
      [1, 0.2],
      [1, 0.3],
      [2, 0.1],
      [2, 0.2],
      [2, 0.3],
    ],
  );

  const trials = expandTrials(spec);
  assert.deepEqual(
    trials.map((t) => t.index),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual(
    trials.map((t) => t.config.name),
    ['g-001', 'g-002', 'g-003', 'g-004', 'g-005', 'g-006'],
  );
  for (const [i, t] of trials.entries()) {
    assert.deepEqual(t.params, params[i]);
    assert.equal(t.config.lr, params[i].lr);
    assert.equal(t.config.reg, params[i].reg);
    assert.equal(t.config.numTrain, 1000); // from the base
    assert.equal(t.config.iterations, 20);
    assert.equal(t.config.scale, 1 / 255); // from the mnist-softmax preset
  }
  // Command-line flags override the base.
  assert.equal(expandTrials(spec, { backend: 'cpu', runsDir: '/x' })[0].config.backend, 'cpu');
});

test('random search: seeded, within its ranges, integers for int keys, choice only from the list', () => {
  const random = (seed: number) => ({
    trials: 50,
    seed,
    lr: { logUniform: [1e-4, 1e-1] },
    batchSize: { logUniform: [16, 256] },
    lrDecay: { uniform: [0.8, 0.95] },
    hidden: { choice: [[16], [32, 8]] },
  });
  const a = expandParams(parseSweep({ name: 'r', base: { model: 'mlp' }, random: random(1) }, 'mem.json'));
  const b = expandParams(parseSweep({ name: 'r', base: { model: 'mlp' }, random: random(1) }, 'mem.json'));
  const c = expandParams(parseSweep({ name: 'r', base: { model: 'mlp' }, random: random(2) }, 'mem.json'));
  assert.equal(a.length, 50);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(
    a.map((p) => p.lr),
    c.map((p) => p.lr),
  );
  for (const p of [...a, ...c]) {
    assert.deepEqual(Object.keys(p), ['lr', 'batchSize', 'lrDecay', 'hidden']);
    assert.ok(p.lr! >= 1e-4 && p.lr! <= 1e-1, `lr ${p.lr}`);
    assert.ok(Number.isInteger(p.batchSize), `batchSize ${p.batchSize}`);
    assert.ok(p.batchSize! >= 16 && p.batchSize! <= 256, `batchSize ${p.batchSize}`);
    assert.ok(p.lrDecay! >= 0.8 && p.lrDecay! <= 0.95, `lrDecay ${p.lrDecay}`);
    assert.ok(
      [[16], [32, 8]].some((h) => JSON.stringify(h) === JSON.stringify(p.hidden)),
      `hidden ${JSON.stringify(p.hidden)}`,
    );
  }
  // The samples spread over the range (log-uniform: about a third per decade), and both choices occur.
  const lrs = a.map((p) => p.lr!);
  assert.ok(lrs.some((x) => x < 1e-3) && lrs.some((x) => x > 1e-2), `lr samples ${lrs.join(' ')}`);
  assert.equal(new Set(a.map((p) => JSON.stringify(p.hidden))).size, 2);
  assert.ok(new Set(lrs).size > 45, 'lr samples are distinct');
  // Trials are numbered 1.. and resolve to configs with the sampled values.
  const trials = expandTrials(parseSweep({ name: 'r', base: { model: 'mlp' }, random: random(1) }, 'mem.json'));
  assert.deepEqual(
    trials.map((t) => t.index),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  assert.deepEqual(trials[7].config.hidden, a[7].hidden);
  assert.equal(trials[7].config.batchSize, a[7].batchSize);
});

test('a trial that sets epochs runs by epochs even where the base counts iterations', () => {
  const spec = parseSweep({ name: 'e', base: { ...BASE }, grid: { epochs: [1, 3] } }, 'mem.json');
  const trials = expandTrials(spec);
  assert.deepEqual(
    trials.map((t) => [t.config.epochs, t.config.iterations]),
    [
      [1, 0],
      [3, 0],
    ],
  );
  // Without epochs among the swept keys, the base's iterations stay.
  assert.equal(expandTrials(parseSweep({ name: 'e', base: { ...BASE }, grid: { lr: [0.1] } }, 'mem.json'))[0].config.iterations, 20);
  // Both swept: the trial's iterations win.
  const both = expandTrials(parseSweep({ name: 'e', base: { ...BASE }, grid: { epochs: [2], iterations: [7] } }, 'mem.json'));
  assert.equal(both[0].config.iterations, 7);
});

test('a base given as a file name is read relative to the sweep file', () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'cfg'));
  fs.writeFileSync(path.join(dir, 'cfg', 'base.json'), JSON.stringify({ ...BASE, reg: 0.25 }));
  fs.writeFileSync(path.join(dir, 'cfg', 'sweep-named.json'), JSON.stringify({ base: 'base.json', grid: { lr: [0.3] } }));
  const spec = readSweepFile(path.join(dir, 'cfg', 'sweep-named.json'));
  assert.equal(spec.name, 'named'); // from the file name, without "sweep-"
  assert.equal(spec.base.reg, 0.25);
  const [t] = expandTrials(spec);
  assert.equal(t.config.reg, 0.25);
  assert.equal(t.config.lr, 0.3);
  fs.writeFileSync(path.join(dir, 'cfg', 'bad.json'), JSON.stringify({ base: 'missing.json', grid: { lr: [0.3] } }));
  assert.throws(
    () => readSweepFile(path.join(dir, 'cfg', 'bad.json')),
    (e) => e instanceof ConfigError && /missing\.json/.test(e.message),
  );
});

test('sweep file errors are ConfigErrors that name the problem', () => {
  const bad = (obj: unknown, re: RegExp) =>
    assert.throws(
      () => parseSweep(obj, 'bad.json'),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
      `${JSON.stringify(obj)} should fail with ${re}`,
    );
  bad({ name: 's', grid: { dataset: ['mnist', 'cifar'] } }, /"dataset" cannot be swept: it cannot vary within a sweep/);
  bad({ name: 's', grid: { model: ['mlp'] } }, /"model" cannot be swept/);
  bad({ name: 's', grid: { learningRate: [1] } }, /"learningRate" cannot be swept: it is not a config key/);
  bad({ name: 's', random: { trials: 3, numTrain: { choice: [10] } } }, /"numTrain" cannot be swept/);
  bad({ name: 's', grid: { lr: [1] }, random: { trials: 2, lr: { uniform: [0.1, 1] } } }, /exactly one of "grid".*"random".*or "list"/);
  bad({ name: 's', base: {} }, /exactly one of "grid".*"random".*or "list"/);
  bad({ name: 's', grid: { lr: [] } }, /grid\.lr must be a non-empty list/);
  bad({ name: 's', grid: { lr: 0.1 } }, /grid\.lr must be a non-empty list/);
  bad({ name: 's', grid: {} }, /"grid" must be an object/);
  bad({ name: 's', grid: { lr: [0.1, -1] } }, /lr = -1 is not allowed/);
  bad({ name: 's', grid: { batchSize: [10.5] } }, /batchSize = 10\.5 is not allowed/);
  bad({ name: 's', random: { trials: 2, lr: { logUniform: [0, 1] } } }, /logUniform needs lo > 0/);
  bad({ name: 's', random: { trials: 2, reg: { logUniform: [-1, 1] } } }, /logUniform needs lo > 0/);
  bad({ name: 's', random: { trials: 2, lr: { logUniform: [1, 0.1] } } }, /lo ≤ hi/);
  bad({ name: 's', random: { trials: 2, lr: { normal: [1, 0.1] } } }, /must be one of/);
  bad({ name: 's', random: { trials: 0, lr: { uniform: [0.1, 1] } } }, /random\.trials must be a positive integer/);
  bad({ name: 's', random: { trials: 2 } }, /names no key to sample/);
  bad({ name: 's', random: { trials: 2, hidden: { uniform: [1, 2] } } }, /hidden takes intList values; use \{"choice"/);
  bad({ name: 's', grid: { lr: [1] }, trials: 3 }, /unknown key "trials"/);
  bad({ name: 's', grids: { lr: [1] } }, /unknown key "grids"/);
  bad({ name: 'a b', grid: { lr: [1] } }, /name = "a b" is not allowed/);
  bad({ name: 's', base: { lr: 'fast' }, grid: { reg: [1] } }, /lr = "fast" is not allowed/);
  bad({ name: 's', base: { colour: 1 }, grid: { reg: [1] } }, /unknown key "colour"/);
  bad([1, 2], /expected a JSON object/);
});

test('issue 15 #9: a sweep of more than 10,000 trials is refused before anything is expanded, naming the count', () => {
  // 10⁷ grid points: seven keys of ten values each. Refused at once (no 10⁷ objects are built).
  const ten = (x: number) => Array.from({ length: 10 }, (_, i) => x * (i + 1));
  const huge = { lr: ten(0.01), reg: ten(1e-4), batchSize: ten(10), lrDecay: ten(0.09), initStd: ten(1e-4), momentum: ten(0.09), seed: ten(1) };
  const t0 = performance.now();
  assert.throws(
    () => parseSweep({ name: 'big', grid: huge }, 'big.json'),
    (e: unknown) =>
      e instanceof ConfigError &&
      /big\.json: the grid has 10,000,000 trials \(lr 10 × reg 10 × batchSize 10 × lrDecay 10 × initStd 10 × momentum 10 × seed 10\); a sweep holds at most 10,000/.test(e.message),
  );
  assert.throws(
    () => parseSweep({ name: 'big', random: { trials: 100_000_000, lr: { logUniform: [1e-7, 1e-5] } } }, 'big.json'),
    (e: unknown) => e instanceof ConfigError && /random\.trials = 100,000,000 is too many; a sweep holds at most 10,000 trials/.test(e.message),
  );
  assert.ok(performance.now() - t0 < 1000, 'refused at once');
  // A spec made in code is held to the same cap when it is expanded.
  assert.throws(
    () => expandParams({ name: 'code', base: {}, random: { trials: 20_000, seed: 0, params: { lr: { uniform: [0.1, 1] } } } }),
    (e: unknown) => e instanceof ConfigError && /20,000 trials/.test(e.message),
  );
  // 10,000 exactly is a sweep.
  const hundred = (x: number) => Array.from({ length: 100 }, (_, i) => x * (i + 1));
  assert.equal(expandParams(parseSweep({ name: 'ok', grid: { lr: hundred(0.001), reg: hundred(1e-5) } }, 'ok.json')).length, 10_000);
});

test('fmtE prints as Python %e does', () => {
  assert.equal(fmtE(1e-6), '1.000000e-06');
  assert.equal(fmtE(1000), '1.000000e+03');
  assert.equal(fmtE(2.5e-7), '2.500000e-07');
  assert.equal(fmtE(1), '1.000000e+00');
  assert.equal(fmtE(1e30), '1.000000e+30');
  assert.equal(fmtE(1.2345678e-123), '1.234568e-123');
});

test('results.csv quotes cells with commas, quotes or newlines (hidden sizes, failure reasons)', () => {
  const trial = (index: number, over: Partial<SweepResults['trials'][number]>): SweepResults['trials'][number] => ({
    index,
    dir: `trials/trial-00${index}`,
    status: 'ok',
    reason: null,
    params: {},
    trainAcc: 0.5,
    valAcc: 0.25,
    bestEpoch: 1,
    seconds: 1.5,
    resumed: false,
    ...over,
  });
  const results: SweepResults = {
    name: 'q',
    sweepFile: 'q.json',
    folder: 'runs/sweep-q',
    trials: [
      trial(1, { params: { hidden: [100, 50], lr: 0.1 } }),
      trial(2, { params: { hidden: [7], lr: 1e30 }, status: 'failed', reason: 'worker crashed: "out of memory", sorry\nbye', trainAcc: null, valAcc: null, bestEpoch: null, seconds: null }),
    ],
    best: null,
    workers: 2,
    seconds: 1,
    trialSeconds: 1,
    trialsRun: 2,
    peakRssMB: 1,
    notInSweep: [],
  };
  const text = resultsCsv(results, ['hidden', 'lr']);
  assert.ok(text.endsWith('\n'));
  assert.deepEqual(parseCsv(text), [
    ['trial', 'status', 'hidden', 'lr', 'train_acc', 'val_acc', 'best_epoch', 'seconds', 'dir', 'reason'],
    ['1', 'ok', '100,50', '0.1', '0.5', '0.25', '1', '1.5', 'trials/trial-001', ''],
    ['2', 'failed', '7', '1e+30', '', '', '', '', 'trials/trial-002', 'worker crashed: "out of memory", sorry\nbye'],
  ]);
});

// ---------------------------------------------------------------------------------------------
// 2–4. Real sweeps on worker threads.

test('a 2×2 grid sweep on 2 workers: results files, ordinary trial folders, best trial tested once; resuming', async () => {
  const dir = tmp();
  // "trialReports": "all": every trial folder is an ordinary run folder, its report included, as before reports were lazy (sweep-reports.test.ts has the default).
  const file = writeSweep(dir, { name: 'grid', grid: { lr: [0.5, 0.05], reg: [1e-5, 1e-2] }, trialReports: 'all' });
  const sweepDir = path.join(dir, 'runs', 'sweep-grid');
  const { results, lines } = await sweep(file);

  assert.equal(results.folder, sweepDir);
  assert.equal(results.workers, 2);
  assert.equal(results.trials.length, 4);
  assert.equal(results.trialsRun, 4);
  assert.ok(results.trialSeconds > 0 && results.trialSeconds <= results.seconds, `trial seconds ${results.trialSeconds} of ${results.seconds}`);
  assert.ok(fs.existsSync(path.join(sweepDir, 'results.json')));
  assert.ok(fs.existsSync(path.join(sweepDir, 'results.csv')));
  assert.deepEqual(readJson<SweepResults>(path.join(sweepDir, 'results.json')), JSON.parse(JSON.stringify(results)));
  const expected = [
    { lr: 0.5, reg: 1e-5 },
    { lr: 0.5, reg: 1e-2 },
    { lr: 0.05, reg: 1e-5 },
    { lr: 0.05, reg: 1e-2 },
  ];

  for (const [i, r] of results.trials.entries()) {
    const tdir = trialDir(sweepDir, i + 1);
    assert.equal(r.index, i + 1);
    assert.equal(r.dir, path.join('trials', `trial-${configHash(readJson<Config>(path.join(tdir, 'config.json')))}`));
    assert.match(r.dir, /^trials\/trial-[0-9a-f]{12}$/);
    assert.equal(path.join(sweepDir, r.dir), tdir);
    assert.equal(r.status, 'ok', `trial ${r.index}: ${r.reason}`);
    assert.equal(r.reason, null);
    assert.equal(r.resumed, false);
    assert.deepEqual(r.params, expected[i]);
    // An ordinary run folder.
    assert.deepEqual(fs.readdirSync(tdir).sort(), TRIAL_FILES);
    const summary = readJson<Summary>(path.join(tdir, 'summary.json'));
    const cfg = readJson<Config>(path.join(tdir, 'config.json'));
    assert.equal(summary.status, 'ok');
    assert.equal(r.valAcc, summary.bestValAcc);
    assert.equal(r.trainAcc, summary.bestTrainAcc);
    assert.equal(r.bestEpoch, summary.bestEpoch);
    assert.equal(r.seconds, summary.seconds.total);
    assert.ok(r.valAcc! > 0.5 && r.valAcc! <= 1, `trial ${r.index} val accuracy ${r.valAcc}`); // it learned something
    assert.equal(summary.testAcc, null, 'trials do not look at the test split');
    assert.equal(summary.iterations, 20);
    assert.equal(summary.engine, E2E_BACKEND);
    assert.equal(cfg.lr, expected[i].lr);
    assert.equal(cfg.reg, expected[i].reg);
    assert.equal(cfg.numTrain, 1000);
    assert.equal(cfg.name, `grid-00${i + 1}`);
    const iters = fs
      .readFileSync(path.join(tdir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((m) => m.type === 'iter');
    assert.equal(iters.length, 20);
    assert.equal(loadCheckpoint(path.join(tdir, 'best.ckpt')).header.valAcc, summary.bestValAcc);
  }
  // Different hyperparameters train differently.
  assert.ok(new Set(results.trials.map((r) => readJson<Summary>(path.join(sweepDir, r.dir, 'summary.json')).finalLoss)).size === 4);

  // results.csv holds the same rows.
  const csv = readCsv(path.join(sweepDir, 'results.csv'));
  assert.deepEqual(Object.keys(csv[0]), ['trial', 'status', 'lr', 'reg', 'train_acc', 'val_acc', 'best_epoch', 'seconds', 'dir', 'reason']);
  assert.equal(csv.length, 4);
  for (const [i, row] of csv.entries()) {
    const r = results.trials[i];
    assert.equal(Number(row.trial), r.index);
    assert.equal(row.status, r.status);
    assert.equal(Number(row.lr), r.params.lr);
    assert.equal(Number(row.reg), r.params.reg);
    assert.equal(num(row.train_acc), r.trainAcc);
    assert.equal(num(row.val_acc), r.valAcc);
    assert.equal(num(row.best_epoch), r.bestEpoch);
    assert.equal(num(row.seconds), r.seconds);
    assert.equal(row.dir, r.dir);
    assert.equal(row.reason, '');
  }

  // The best trial by val accuracy, tested once.
  const maxVal = Math.max(...results.trials.map((r) => r.valAcc!));
  const best = results.best!;
  assert.ok(best, 'a best trial');
  assert.equal(best.valAcc, maxVal);
  const bestTrial = results.trials.find((r) => r.index === best.index)!;
  assert.equal(bestTrial.valAcc, maxVal);
  assert.equal(best.dir, bestTrial.dir);
  assert.deepEqual(best.params, bestTrial.params);
  assert.equal(best.trainAcc, bestTrial.trainAcc);
  assert.equal(typeof best.testAcc, 'number');
  assert.ok(best.testAcc! >= 0 && best.testAcc! <= 1, `test accuracy ${best.testAcc}`);
  // …on the test split, with the best trial's checkpoint (evaluated here independently).
  const cfg = readJson<Config>(path.join(sweepDir, best.dir, 'config.json'));
  const { data } = await loadRunData(cfg);
  assert.equal(data.test.n, 300);
  await initEngine(E2E_BACKEND);
  const ck = loadCheckpoint(path.join(sweepDir, best.dir, 'best.ckpt'));
  const model = modelFromParams(ck.header.model, { specs: ck.header.params, flat: ck.params, views: viewsOf(ck.header.params, ck.params) }, 0) as Model<Float32Array>;
  assert.equal(best.testAcc, accuracy(model, data.test));

  // Printed: one cs231n-style row per trial, the best trial and its test accuracy.
  const rows = lines.filter((l) => /^trial \d\/4 /.test(l));
  assert.equal(rows.length, 4, lines.join('\n'));
  for (const r of rows) assert.match(r, ROW);
  for (const r of results.trials) {
    const row = rows.find((l) => l.startsWith(`trial ${r.index}/4 `))!;
    assert.ok(row.includes(`lr ${fmtE(r.params.lr!)} reg ${fmtE(r.params.reg!)} train accuracy: ${r.trainAcc!.toFixed(3)} val accuracy: ${r.valAcc!.toFixed(3)}`), row);
  }
  assert.ok(lines.includes(`best validation accuracy achieved: ${maxVal.toFixed(3)} (trial ${best.index}: lr ${fmtE(best.params.lr!)} reg ${fmtE(best.params.reg!)})`), lines.join('\n'));
  assert.ok(lines.includes(`test accuracy of the best trial: ${best.testAcc!.toFixed(3)} (300 records)`), lines.join('\n'));
  assert.ok(
    lines.some((l) => /^4 trials ok, 0 failed;/.test(l)),
    lines.join('\n'),
  );

  // 3. Resume: the same sweep again reruns nothing.
  const summaryFile = (i: number) => path.join(trialDir(sweepDir, i), 'summary.json');
  const before = [1, 2, 3, 4].map((i) => ({ mtime: mtime(summaryFile(i)), text: fs.readFileSync(summaryFile(i), 'utf8') }));
  const again = await sweep(file);
  assert.ok(again.lines.includes('4 finished earlier and are kept; 0 to run'), again.lines.join('\n'));
  assert.equal(again.lines.filter((l) => /^trial \d\/4 .*\(earlier run\)$/.test(l)).length, 4, again.lines.join('\n'));
  for (const i of [1, 2, 3, 4]) {
    assert.equal(mtime(summaryFile(i)), before[i - 1].mtime, `trial ${i} was not rerun`);
    assert.equal(fs.readFileSync(summaryFile(i), 'utf8'), before[i - 1].text);
  }
  assert.ok(again.results.trials.every((r) => r.resumed));
  assert.equal(again.results.trialsRun, 0);
  // Its seconds are both invocations', each listed (issue 24 #12: they were the last one's alone).
  assert.equal(again.results.segments?.length, 2, JSON.stringify(again.results.segments));
  assert.equal(again.results.segments![0], results.seconds);
  assert.equal(again.results.seconds, Math.round((results.seconds + again.results.segments![1]) * 100) / 100);
  assert.equal(results.segments, undefined, 'a sweep run once lists no segments');
  const strip = (rs: SweepResults) => rs.trials.map(({ resumed: _, ...r }) => r);
  assert.deepEqual(strip(again.results), strip(results));
  assert.deepEqual(again.results.best, results.best);

  // A trial killed midway after its epoch-1 checkpoint (no summary.json yet, the temporary file of
  // an atomic write it was in): only it runs, carrying on from last.ckpt as train --resume does.
  fs.rmSync(summaryFile(2));
  fs.writeFileSync(path.join(trialDir(sweepDir, 2), `.summary.json.${process.pid}.tmp`), 'left by a killed run');
  const third = await sweep(file);
  assert.ok(third.lines.includes('3 finished earlier and are kept; 1 to run'), third.lines.join('\n'));
  assert.ok(!fs.existsSync(path.join(trialDir(sweepDir, 2), `.summary.json.${process.pid}.tmp`)), 'the temporary file was cleared');
  assert.match(fs.readFileSync(path.join(trialDir(sweepDir, 2), 'train.log'), 'utf8'), /"msg":"resumed"/);
  assert.deepEqual(fs.readdirSync(trialDir(sweepDir, 2)).sort(), TRIAL_FILES);
  for (const i of [1, 3, 4]) {
    assert.equal(mtime(summaryFile(i)), before[i - 1].mtime, `trial ${i} was not rerun`);
    assert.equal(fs.readFileSync(summaryFile(i), 'utf8'), before[i - 1].text);
  }
  assert.deepEqual(
    third.results.trials.map((r) => r.resumed),
    [true, false, true, true],
  );
  assert.equal(third.results.trialsRun, 1);
  assert.equal(third.results.trials.length, 4);
  assert.ok(third.results.trials.every((r) => r.status === 'ok'));
  const rerun = third.results.trials[1];
  assert.equal(rerun.valAcc, readJson<Summary>(summaryFile(2)).bestValAcc);
  assert.equal(rerun.valAcc, results.trials[1].valAcc, 'the same config and seed train to the same accuracy');
  assert.equal(readCsv(path.join(sweepDir, 'results.csv')).length, 4);
  assert.deepEqual(
    readJson<SweepResults>(path.join(sweepDir, 'results.json')).trials.map((r) => r.index),
    [1, 2, 3, 4],
  );
  assert.ok(third.results.best && typeof third.results.best.testAcc === 'number');

  // issue 15 #4: a changed grid value. The unchanged trials are reused, the changed ones run in
  // new folders of their own, and the finished trials of lr 0.05 are kept, not deleted.
  const oldDirs = results.trials.map((r) => r.dir);
  const snapshot = (rel: string) => ({ mtime: mtime(path.join(sweepDir, rel, 'summary.json')), text: fs.readFileSync(path.join(sweepDir, rel, 'summary.json'), 'utf8') });
  const before4 = oldDirs.map(snapshot);
  writeSweep(dir, { name: 'grid', grid: { lr: [0.5, 0.2], reg: [1e-5, 1e-2] } });
  const fourth = await sweep(file);
  assert.ok(fourth.lines.includes('2 finished earlier and are kept; 2 to run'), fourth.lines.join('\n'));
  const gone = [oldDirs[2], oldDirs[3]].sort();
  assert.ok(
    fourth.lines.includes(
      `2 finished trials are not in the sweep any more and kept in ${path.join(sweepDir, 'trials')} (${gone.map((d) => path.basename(d)).join(', ')}); results.json lists them under notInSweep`,
    ),
    fourth.lines.join('\n'),
  );
  assert.deepEqual(fourth.results.notInSweep, gone);
  for (const [i, rel] of oldDirs.entries()) {
    assert.deepEqual(fs.readdirSync(path.join(sweepDir, rel)).sort(), TRIAL_FILES, `${rel} is whole`);
    assert.deepEqual(snapshot(rel), before4[i], `${rel} was not touched`);
  }
  assert.deepEqual(
    fourth.results.trials.map((r) => r.resumed),
    [true, true, false, false],
  );
  assert.equal(fourth.results.trialsRun, 2);
  assert.deepEqual(
    fourth.results.trials.slice(0, 2).map((r) => r.dir),
    oldDirs.slice(0, 2),
  );
  for (const r of fourth.results.trials.slice(2)) {
    assert.ok(!oldDirs.includes(r.dir), `${r.dir} is a new folder`);
    assert.equal(readJson<Config>(path.join(sweepDir, r.dir, 'config.json')).lr, 0.2);
  }
  assert.deepEqual(
    fourth.results.trials.map((r) => r.params.lr),
    [0.5, 0.5, 0.2, 0.2],
  );
  assert.ok(fourth.results.trials.every((r) => r.status === 'ok'));
  assert.deepEqual(
    readCsv(path.join(sweepDir, 'results.csv')).map((r) => Number(r.lr)),
    [0.5, 0.5, 0.2, 0.2],
  );
  // sweep.json lists every trial's folder too (the fault tests find trial folders there).
  assert.deepEqual(
    readJson<{ trials: { index: number; dir: string }[] }>(path.join(sweepDir, 'sweep.json')).trials.map((t) => t.dir),
    fourth.results.trials.map((r) => r.dir),
  );

  // Both grids at once, in another order (so every index changes): everything is reused, nothing runs.
  writeSweep(dir, { name: 'grid', grid: { lr: [0.05, 0.2, 0.5], reg: [1e-5, 1e-2] } });
  const fifth = await sweep(file);
  assert.ok(fifth.lines.includes('6 finished earlier and are kept; 0 to run'), fifth.lines.join('\n'));
  assert.equal(fifth.results.trialsRun, 0);
  assert.deepEqual(fifth.results.notInSweep, []);
  assert.deepEqual(
    fifth.results.trials.map((r) => r.dir),
    [oldDirs[2], oldDirs[3], fourth.results.trials[2].dir, fourth.results.trials[3].dir, oldDirs[0], oldDirs[1]],
  );
  for (const [i, rel] of oldDirs.entries()) assert.deepEqual(snapshot(rel), before4[i], `${rel} was not touched`);
});

test('a trial whose hidden size cannot be allocated is refused before any trial runs, naming it', async () => {
  const dir = tmp();
  const file = writeSweep(dir, { name: 'huge', base: { model: 'mlp' }, grid: { hidden: [[16], [100000000]] } });
  await assert.rejects(
    () => sweep(file),
    (e: Error) => e instanceof ConfigError && /--hidden 100000000 gives \d+ parameters/.test(e.message),
  );
  const trials = path.join(dir, 'runs', 'sweep-huge', 'trials');
  assert.deepEqual(fs.existsSync(trials) ? fs.readdirSync(trials) : [], [], 'no trial ran');
});

test('a diverging trial is recorded as diverged, the others finish, and it is not rerun', async () => {
  const dir = tmp();
  // initStd 1 and lr 1e30: the weights overflow float32 within a few steps, the loss becomes NaN/Inf.
  const file = writeSweep(dir, { name: 'div', base: { initStd: 1 }, grid: { lr: [0.5, 1e30, 0.05] } });
  const sweepDir = path.join(dir, 'runs', 'sweep-div');
  const { results, lines } = await sweep(file);

  assert.deepEqual(
    results.trials.map((r) => r.status),
    ['ok', 'diverged', 'ok'],
  );
  assert.equal(results.trialsRun, 3);
  const d = results.trials[1];
  assert.match(d.reason!, /the loss became (NaN|-?Infinity) at iteration \d+/);
  assert.equal(d.valAcc, null);
  assert.equal(d.trainAcc, null);
  // It really diverged: its own summary says so, and training stopped early.
  const ds = readJson<Summary>(path.join(trialDir(sweepDir, 2), 'summary.json'));
  assert.equal(ds.status, 'diverged');
  assert.equal(ds.error, d.reason);
  assert.ok(ds.finalLoss === null || !Number.isFinite(ds.finalLoss), `final loss ${ds.finalLoss}`);
  const iters = fs
    .readFileSync(path.join(trialDir(sweepDir, 2), 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((m) => m.type === 'iter');
  assert.ok(iters.length < 20, `stopped after ${iters.length} iterations`);
  for (const i of [1, 3]) {
    assert.equal(readJson<Summary>(path.join(trialDir(sweepDir, i), 'summary.json')).status, 'ok');
    assert.equal(typeof results.trials[i - 1].valAcc, 'number');
  }

  assert.deepEqual(
    readJson<SweepResults>(path.join(sweepDir, 'results.json')).trials.map((r) => r.status),
    ['ok', 'diverged', 'ok'],
  );
  const csv = readCsv(path.join(sweepDir, 'results.csv'));
  assert.deepEqual(
    csv.map((r) => r.status),
    ['ok', 'diverged', 'ok'],
  );
  assert.equal(csv[1].reason, d.reason);
  assert.equal(csv[1].val_acc, '');
  assert.equal(Number(csv[1].lr), 1e30);

  assert.ok(results.best && results.best.index !== 2);
  assert.ok(
    lines.some((l) => l.startsWith('trial 2/3  lr 1.000000e+30 DIVERGED: the loss became')),
    lines.join('\n'),
  );
  assert.ok(
    lines.some((l) => /^2 trials ok, 1 failed;/.test(l)),
    lines.join('\n'),
  );

  // Run again: a diverged trial is a finished trial.
  const m = mtime(path.join(trialDir(sweepDir, 2), 'summary.json'));
  const again = await sweep(file);
  assert.ok(again.lines.includes('3 finished earlier and are kept; 0 to run'), again.lines.join('\n'));
  assert.equal(mtime(path.join(trialDir(sweepDir, 2), 'summary.json')), m);
  assert.deepEqual(
    again.results.trials.map((r) => [r.status, r.resumed]),
    [
      ['ok', true],
      ['diverged', true],
      ['ok', true],
    ],
  );
  assert.equal(again.results.trialsRun, 0);
  assert.equal(again.results.trials[1].reason, d.reason);
  assert.ok(
    again.lines.some((l) => /^trial 2\/3 .*DIVERGED: .*\(earlier run\)$/.test(l)),
    again.lines.join('\n'),
  );
});

// ---------------------------------------------------------------------------------------------
// 5. The command line.

function train(args: string[], cwd: string) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('train sweep: runs a sweep file on worker threads from the built CLI; bad usage exits 2', () => {
  assert.ok(fs.existsSync(path.join(root, 'dist', 'sweep', 'worker.js')), 'the CLI is not built: run npm run build');
  const dir = tmp();
  const file = writeSweep(dir, { name: 'cli', grid: { lr: [0.5, 0.05], reg: [1e-5] } });
  const r = train(['sweep', '--config', file, '--workers', '2'], dir);
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /^trial 1\/2 {2}lr 5\.000000e-01 reg 1\.000000e-05 train accuracy: 0\.\d{3} val accuracy: 0\.\d{3}/m);
  assert.match(r.out, /^trial 2\/2 {2}lr 5\.000000e-02 reg 1\.000000e-05 train accuracy: 0\.\d{3} val accuracy: 0\.\d{3}/m);
  const best = /^best validation accuracy achieved: (0\.\d{3}) \(trial (\d)/m.exec(r.out);
  assert.ok(best, r.out);
  const test = /^test accuracy of the best trial: (0\.\d{3}) \(300 records\)$/m.exec(r.out);
  assert.ok(test, r.out);
  const results = readJson<SweepResults>(path.join(dir, 'runs', 'sweep-cli', 'results.json'));
  assert.equal(results.workers, 2);
  assert.equal(results.best!.index, Number(best[2]));
  assert.equal(results.best!.valAcc.toFixed(3), best[1]);
  assert.equal(results.best!.testAcc!.toFixed(3), test[1]);
  // `train eval` on the best trial's folder agrees on the test accuracy.
  const e = train(['eval', path.join(results.folder, results.best!.dir), '--split', 'test', '--backend', E2E_BACKEND], dir);
  assert.equal(e.code, 0, e.err);
  assert.equal(Number(/test accuracy: (\d\.\d+)/.exec(e.out)?.[1]), Number(results.best!.testAcc!.toFixed(4)));

  const zero = train(['sweep', '--config', file, '--workers', '0'], dir);
  assert.equal(zero.code, 2, zero.err + zero.out);
  assert.match(zero.err, /--workers 0 is not allowed/);

  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ name: 'bad', base: BASE, grid: { lr: [0.1] }, workerz: 3 }));
  const u = train(['sweep', '--config', bad, '--workers', '2'], dir);
  assert.equal(u.code, 2, u.err + u.out);
  assert.match(u.err, /unknown key "workerz"/);
  assert.ok(!fs.existsSync(path.join(dir, 'runs', 'sweep-bad')), 'nothing written for a bad sweep file');
});

/** Run bin/train.js without waiting; resolves with its exit code and output. */
function trainAsync(args: string[], cwd: string, onOut?: (text: string, pid: number) => void) {
  const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b.toString();
    onOut?.(out, child.pid!);
  });
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string; pid: number }>((resolve) => child.on('close', (code) => resolve({ code, out, err, pid: child.pid! })));
  return { child, done };
}

test('issue 15 #10: two copies of one sweep started together: one runs it, the other says it is already running, by whom and where', async () => {
  const dir = tmp();
  const file = writeSweep(dir, { name: 'twice', grid: { lr: [0.5, 0.05], reg: [1e-5, 1e-2] }, trialReports: 'all' });
  const sweepDir = path.join(dir, 'runs', 'sweep-twice');
  const args = ['sweep', '--config', file, '--workers', '1'];
  const [a, b] = await Promise.all([trainAsync(args, dir).done, trainAsync(args, dir).done]);
  const [won, lost] = a.code === 0 ? [a, b] : [b, a];
  assert.equal(won.code, 0, `one copy runs the sweep:\n${a.err}${a.out}\n---\n${b.err}${b.out}`);
  assert.equal(lost.code, 1, `the other stops:\n${lost.err}${lost.out}`);
  assert.equal(
    lost.err,
    `error: sweep twice is already running in ${sweepDir} (process ${won.pid} on this host, started ${/started (\S+)\)/.exec(lost.err)?.[1]}); wait for it to finish, or if it is not running, delete ${path.join(sweepDir, 'sweep.lock')}\n`,
  );
  assert.match(lost.err, /started \d{4}-\d\d-\d\dT/);
  // The copy that ran finished every trial, and took its lock away at the end.
  const results = readJson<SweepResults>(path.join(sweepDir, 'results.json'));
  assert.deepEqual(
    results.trials.map((r) => r.status),
    ['ok', 'ok', 'ok', 'ok'],
  );
  for (const r of results.trials) assert.deepEqual(fs.readdirSync(path.join(sweepDir, r.dir)).sort(), TRIAL_FILES);
  assert.ok(!fs.existsSync(path.join(sweepDir, 'sweep.lock')), 'the lock is released');
});

test('issue 15 #10: the lock of a killed sweep (its process gone) is taken over with a note', async () => {
  const dir = tmp();
  const file = writeSweep(dir, { name: 'stale', grid: { lr: [0.5] } });
  const sweepDir = path.join(dir, 'runs', 'sweep-stale');
  // A sweep killed with SIGKILL while it held the lock.
  const victim = trainAsync(['sweep', '--config', file, '--workers', '1'], dir, (out, pid) => {
    if (/^data: /m.test(out)) process.kill(pid, 'SIGKILL');
  });
  const killed = await victim.done;
  assert.equal(killed.code, null, `killed: ${killed.err}${killed.out}`);
  const lock = readJson<{ pid: number; host: string }>(path.join(sweepDir, 'sweep.lock'));
  assert.equal(lock.pid, killed.pid);
  assert.equal(lock.host, os.hostname());
  const { results, lines } = await sweep(file, 1);
  assert.ok(
    lines.some((l) => l.startsWith(`note: took over ${path.join(sweepDir, 'sweep.lock')}, left by process ${killed.pid} (started `) && l.endsWith('), which is no longer running')),
    lines.join('\n'),
  );
  assert.deepEqual(
    results.trials.map((r) => r.status),
    ['ok'],
  );
  assert.ok(!fs.existsSync(path.join(sweepDir, 'sweep.lock')));
  // A lock held by a live process is respected, in-process too: the error names the holder.
  fs.writeFileSync(path.join(sweepDir, 'sweep.lock'), JSON.stringify({ pid: process.pid, host: os.hostname(), started: 'now' }));
  await assert.rejects(sweep(file, 1), (e: Error) => e.constructor.name === 'RunIoError' && e.message.includes(`(process ${process.pid} on this host, started now)`));
  fs.rmSync(path.join(sweepDir, 'sweep.lock'));
});

test('issue 15 #10: a disk that fills up under results.json ends the sweep with one clear line (exit 1), no crash', { timeout: 120_000 }, async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-small-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.skip(`cannot mount a small tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})`);
    fs.rmSync(mnt, { recursive: true, force: true });
    return;
  }
  try {
    const dir = tmp();
    const file = writeSweep(dir, { name: 'full', base: { runsDir: path.join(mnt, 'runs'), iterations: 60 }, grid: { lr: [0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.04, 0.03] } });
    let filled = false;
    const fill = () => {
      // Once the first trial is in, the disk fills up: every later write there fails with ENOSPC.
      filled = true;
      const fd = fs.openSync(path.join(mnt, 'filler'), 'w');
      const big = Buffer.alloc(1 << 16);
      try {
        for (;;) fs.writeSync(fd, big);
      } catch {
        /* full at 64 KB granularity */
      }
      try {
        for (;;) fs.writeSync(fd, big.subarray(0, 1));
      } catch {
        /* full */
      }
      fs.closeSync(fd);
    };
    const r = await trainAsync(['sweep', '--config', file, '--workers', '1'], dir, (out) => {
      if (!filled && /^trial 1\/8 /m.test(out)) fill();
    }).done;
    assert.ok(filled, r.out + r.err);
    assert.equal(r.code, 1, r.out + r.err);
    // The first write after the disk fills: the results, or the sweep's live report (rebuilt as trials finish).
    assert.match(
      r.err,
      /^error: cannot write \S+\/sweep-full\/(results\.(json|csv)|report\.html|sweep_\w+\.png): the disk is full\. Free some space, or pass --runs-dir on another disk \(ENOSPC\)\n$/,
    );
    assert.doesNotMatch(r.err, /^\s+at /m, 'no stack trace');
    const sweepDir = path.join(mnt, 'runs', 'sweep-full');
    assert.ok(!fs.existsSync(path.join(sweepDir, 'sweep.lock')), 'the lock is released');
    // What was saved before the disk filled is whole (written atomically).
    assert.ok(Array.isArray(readJson<SweepResults>(path.join(sweepDir, 'results.json')).trials));
  } finally {
    spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});

test('a list sweep runs its trials in order with the values that go together; its report overlays their curves and, with reg 0, draws no log lr × log reg scatter', async () => {
  const dir = tmp();
  const file = writeSweep(dir, {
    name: 'rules',
    base: { model: 'mlp', hidden: [16], reg: 0 },
    list: [
      { updateRule: 'sgd', lr: 0.1 },
      { updateRule: 'adam', lr: 1e-3 },
    ],
  });
  const { results, lines } = await sweep(file);
  assert.deepEqual(
    results.trials.map((t) => t.params),
    [
      { updateRule: 'sgd', lr: 0.1 },
      { updateRule: 'adam', lr: 1e-3 },
    ],
  );
  assert.ok(
    lines.some((l) => /2 trials \(list over updateRule, lr\)/.test(l)),
    lines.join('\n'),
  );
  const html = fs.readFileSync(path.join(dir, 'runs', 'sweep-rules', 'report.html'), 'utf8');
  assert.ok(!html.includes('scatter-val'), 'no lr × reg scatter at reg 0');
  assert.match(html, /updateRule=adam, lr=0\.001|updateRule=adam, lr=1\.00e-3/);
});
