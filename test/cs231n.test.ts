/**
 * `train cs231n`: the statistics over seeds and how a target is judged, the flags (bad ones get
 * one line), the figures' section, the update-rule checks against the notebook's arrays, and the
 * command itself on --quick for two cheap notebooks (Dropout: a sweep; two_layer_net: runs):
 * its folders, pages and progress lines, the reuse of finished folders on a rerun and the resume
 * of an interrupted run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, resolveConfig } from '../src/config/config.js';
import { initEngine } from '../src/linalg/engine.js';
import { timingsTable } from '../src/report/knn_report.js';
import { fitKnn } from '../src/train/knn_fit.js';
import { chooseNotebooks, onceEach, parseSeeds } from '../src/cs231n/command.js';
import { FIGURES_END, FIGURES_START, replaceSection } from '../src/cs231n/figures.js';
import { judge, meets, statsOf } from '../src/cs231n/measure.js';
import { NOTEBOOKS } from '../src/cs231n/notebooks.js';
import { OPTIM_EXPECTED } from '../src/cs231n/optim_expected.js';
import { PLOTS } from '../src/cs231n/plots/index.js';
import { QUESTIONS } from '../src/cs231n/questions.js';
import { runConfigOf, runFolderState, type RunPlan } from '../src/cs231n/run.js';
import type { Target } from '../src/cs231n/types.js';
import { relError, ruleCheck, ruleRelError } from '../src/cs231n/update_checks.js';
import { runFile } from '../src/runs/layout.js';
import { E2E_BACKEND, trainCli } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- statistics and targets

test('statsOf: mean, sample sd (n − 1), min and max; one value has sd 0; no values is an error', () => {
  const s = statsOf([0.39, 0.376, 0.383]);
  assert.ok(Math.abs(s.mean - 0.383) < 1e-12);
  // Σ(v − mean)² = 0.007² + 0.007² + 0 = 9.8e-5; / (3 − 1) = 4.9e-5; sqrt = 0.0070
  assert.ok(Math.abs(s.sd - Math.sqrt(4.9e-5)) < 1e-12, String(s.sd));
  assert.deepEqual([s.min, s.max, s.n], [0.376, 0.39, 3]);
  assert.deepEqual(statsOf([0.5]), { mean: 0.5, sd: 0, min: 0.5, max: 0.5, n: 1 });
  assert.throws(() => statsOf([]), /no values/);
});

test('meets: >, ≥, ≤ and about (within the tolerance)', () => {
  assert.equal(meets(0.36, '>', 0.36), false);
  assert.equal(meets(0.36, '>=', 0.36), true);
  assert.equal(meets(1e-9, '<=', 1e-8), true);
  assert.equal(meets(0.262, '≈', 0.264, 0.002 + 1e-9), true);
  assert.equal(meets(0.261, '≈', 0.264, 0.002 + 1e-9), false);
});

/** A target whose measure reads `values` by folder name. */
function fakeTarget(values: Record<string, number | null>, more: Partial<Target> = {}): Target {
  return { id: 't', what: 'val', experiment: 'e', measure: (f) => values[f] ?? null, op: '>', value: 0.36, editions: ['2026'], ...more };
}

test('judge: met on the mean of the seeds (a seed below the line does not fail it), each seed kept, a missing seed left out of the stats', () => {
  const r = judge(fakeTarget({ a: 0.35, b: 0.37, c: 0.38 }), ['a', 'b', 'c']);
  assert.deepEqual(r.values, [0.35, 0.37, 0.38]);
  assert.equal(r.met, true, 'mean 0.3667 > 0.36');
  const low = judge(fakeTarget({ a: 0.34, b: 0.36, c: 0.37 }), ['a', 'b', 'c']);
  assert.equal(low.met, false, 'mean 0.3567 is not above 0.36, though a seed is above it');
  const partial = judge(fakeTarget({ a: 0.4 }), ['a', 'b']);
  assert.deepEqual(partial.values, [0.4, null]);
  assert.equal(partial.stats!.n, 1);
  assert.equal(judge(fakeTarget({}), ['a']).met, null, 'not run: neither met nor missed');
});

test("judge: a target the shared copy moves is judged against the peer's figure on the same copy, not the course's", () => {
  const t = fakeTarget({ a: 0.24 }, { op: '≈', value: 0.27, tolerance: 0.01, onThisCopy: { value: 0.24, tolerance: 0.002, source: 'numpy' } });
  assert.equal(judge(t, ['a']).met, true);
  assert.equal(judge({ ...t, onThisCopy: undefined }, ['a']).met, false, 'against the course figure it would be missed');
});

// ---------------------------------------------------------------- the registry

test('the registry: 8 notebooks; every plot, target and question names something that exists; 12 + 6 inline questions (2026)', () => {
  assert.deepEqual(
    NOTEBOOKS.map((n) => n.id),
    ['knn', 'svm', 'softmax', 'two_layer_net', 'features', 'FullyConnectedNets', 'BatchNormalization', 'Dropout'],
  );
  for (const nb of NOTEBOOKS) {
    const ids = new Set(nb.experiments.map((e) => e.id));
    for (const p of nb.plots) assert.ok(ids.has(p.experiment), `${nb.id}: plot ${p.plot} on ${p.experiment}`);
    for (const p of nb.plots) assert.equal(typeof PLOTS[p.plot], 'function', `${nb.id}: plot ${p.plot} has a builder in src/cs231n/plots`);
    for (const e of nb.experiments) assert.ok(fs.existsSync(path.join(root, 'configs', e.config)), `${nb.id}: configs/${e.config}`);
    for (const t of nb.targets) assert.ok(ids.has(t.experiment), `${nb.id}: target ${t.id} on ${t.experiment}`);
    for (const p of nb.plots)
      if (p.question)
        assert.ok(
          nb.questions.some((q) => q.id === p.question),
          `${nb.id}: question ${p.question}`,
        );
  }
  // Assignment 1 of 2025/2026 (knn 3, softmax 4, two_layer_net 2, features 1, FullyConnectedNets 2) and assignment 2's 6.
  const distinct = (ids: string[]) => new Set(NOTEBOOKS.filter((n) => ids.includes(n.id) && n.editions.includes('2026')).flatMap((n) => n.questions.map((q) => q.id))).size;
  assert.equal(distinct(['knn', 'softmax', 'two_layer_net', 'features', 'FullyConnectedNets']), 12);
  assert.equal(distinct(['BatchNormalization', 'Dropout']), 6);
  assert.equal(Object.keys(QUESTIONS).length, 12 + 6 + 1, "the 2024 svm.ipynb's Q2 as well");
  const plots = NOTEBOOKS.flatMap((n) => n.plots.map((p) => p.plot)).sort();
  assert.deepEqual(plots, [
    'bn-batch-size',
    'bn-weight-scale',
    'dropout-curves',
    'features-mistakes',
    'knn-cv',
    'knn-distances',
    'overfit',
    'softmax-grid',
    'softmax-templates',
    'svm-grid',
    'svm-templates',
    'twolayer-history',
    'twolayer-weights',
    'update-rules',
  ]);
});

test('chooseNotebooks: none is all; names in any case, with or without .ipynb, in the course order; an unknown one is refused naming the choices', () => {
  assert.equal(chooseNotebooks([]).length, 8);
  assert.deepEqual(
    chooseNotebooks(['dropout', 'KNN.ipynb']).map((n) => n.id),
    ['knn', 'Dropout'],
  );
  assert.throws(
    () => chooseNotebooks(['knn', 'svn']),
    (e: unknown) => e instanceof ConfigError && /^unknown notebook "svn": choose from knn, svm, softmax, two_layer_net, features, FullyConnectedNets, BatchNormalization, Dropout/.test(e.message),
  );
});

test('onceEach: a warning that differs from an earlier one only in its numbers is left out; a different one is said', () => {
  const said: string[] = [];
  const warn = onceEach((l) => said.push(l));
  warn('the initial loss is 138% away from ln(10): the initial scores have std 3.1');
  warn('the initial loss is 195% away from ln(10): the initial scores have std 3.9');
  warn('stopped: finished folders are kept');
  warn('the initial loss is 12% away from C − 1 = 9: the initial scores have std 0.52');
  assert.deepEqual(said, [
    'the initial loss is 138% away from ln(10): the initial scores have std 3.1',
    'stopped: finished folders are kept',
    'the initial loss is 12% away from C − 1 = 9: the initial scores have std 0.52',
  ]);
});

test('parseSeeds: a count or a list; anything else is refused in one line', () => {
  assert.deepEqual(parseSeeds('3'), [0, 1, 2]);
  assert.deepEqual(parseSeeds('0,5,7'), [0, 5, 7]);
  for (const bad of ['0', 'abc', '-1', '1.5', '1,,2', '', '101'])
    assert.throws(
      () => parseSeeds(bad),
      (e: unknown) => e instanceof ConfigError && !e.message.includes('\n') && /--seeds/.test(e.message),
      bad,
    );
  assert.throws(() => parseSeeds('1,1'), /given twice/);
});

// ---------------------------------------------------------------- update rules, figures

test("the update-rule checks: the generated module holds the fixture's arrays; sgd_momentum within 1e-8, rmsprop and adam within the arrays' 8 printed decimals", () => {
  const nb = JSON.parse(fs.readFileSync(path.join(root, 'test/fixtures/optim-cs231n-notebook.json'), 'utf8'));
  for (const rule of ['sgd_momentum', 'rmsprop', 'adam'] as const)
    for (const [k, v] of Object.entries(OPTIM_EXPECTED[rule])) assert.deepEqual(v, nb[rule][k], `${rule} ${k}: regenerate with node tools/cs231n/optim_expected.mjs`);
  assert.ok(ruleRelError('sgd_momentum') <= 1e-8);
  // The notebook printed these rel_errors for a correct optim.py (its arrays' rounding): the same here.
  assert.ok(Math.abs(ruleRelError('adam') - nb.adam.printed.next_w) <= 1e-4 * nb.adam.printed.next_w);
  assert.ok(Math.abs(ruleRelError('rmsprop') - nb.rmsprop.printed.next_w) <= 1e-4 * nb.rmsprop.printed.next_w);
  for (const rule of ['sgd_momentum', 'rmsprop', 'adam'] as const) assert.equal(ruleCheck(rule).met, true, ruleCheck(rule).detail);
  // A wrong step (adam without its bias correction's t + 1) is far outside the rounding: the check is not vacuous.
  const w = Float64Array.from(nb.adam.expected_next_w as number[]);
  w[3] += 1e-6;
  assert.ok(relError(w, nb.adam.expected_next_w) > 1e-7);
});

test('replaceSection: the figures go between the markers, appended the first time; broken markers are refused', () => {
  const first = replaceSection('# Configs\n\ntext\n', 'TABLE 1');
  assert.equal(first, `# Configs\n\ntext\n\n${FIGURES_START}\nTABLE 1\n${FIGURES_END}\n`);
  const again = replaceSection(first + 'after\n', 'TABLE 2');
  assert.equal(again, `# Configs\n\ntext\n\n${FIGURES_START}\nTABLE 2\n${FIGURES_END}\nafter\n`);
  assert.throws(() => replaceSection(`x\n${FIGURES_END}\n${FIGURES_START}\n`, 'T'), /markers are broken/);
});

// ---------------------------------------------------------------- kNN's loop forms

test("fitKnn's loopRows: the loop forms timed and compared on the first rows only, or not at all; the no-loop image always whole", async () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-knn-'));
  try {
    const engine = await initEngine(E2E_BACKEND);
    const cfg = resolveConfig({}, { model: 'knn', numTrain: 300, numVal: 50, numDev: 50, numTest: 60, k: 3, cvFolds: 0, backend: E2E_BACKEND, runsDir: runs });
    const lines: string[] = [];
    const ui = { info: (l: string) => lines.push(l), warn: () => {} };
    const some = await fitKnn(cfg, engine, ui, { dir: path.join(runs, 'some'), loopRows: 20 });
    assert.equal(some.dir, path.join(runs, 'some'), 'the folder given');
    assert.deepEqual([some.distances.rows, some.distances.cols], [60, 300], 'the whole no-loop image');
    const d = some.summary.distances;
    assert.equal(d.loopRows, 20);
    assert.ok(typeof d.twoLoopsSeconds === 'number' && d.oneLoopDifference === 0 && d.noLoopsDifference !== null && d.noLoopsDifference < 1e-2 * 60 * 300);
    assert.match(lines.join('\n'), /60 test × 300 training rows in the notebook's three forms \(the loop forms on the first 20 test rows\)/);
    assert.match(timingsTable(some.summary), /the loop forms, and the differences, on the first 20 test rows/);
    lines.length = 0;
    const none = await fitKnn(cfg, engine, ui, { dir: path.join(runs, 'none'), loopRows: 0 });
    const n = none.summary.distances;
    assert.deepEqual([n.loopRows, n.twoLoopsSeconds, n.oneLoopSeconds, n.oneLoopDifference, n.noLoopsDifference], [0, null, null, null, null]);
    assert.ok(!lines.some((l) => /Two loop|One loop/.test(l)), 'no loop form was run');
    assert.deepEqual([none.distances.rows, none.distances.cols], [60, 300]);
    assert.equal(none.summary.testAcc, some.summary.testAcc, 'the same kNN either way');
    const all = await fitKnn(cfg, engine, ui, { dir: path.join(runs, 'all') });
    assert.ok(!('loopRows' in all.summary.distances), 'by default the loop forms run on every timed row, as before');
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------- the command

test('bad flags and unknown notebooks get one line and exit 2', () => {
  for (const [args, re] of [
    [['cs231n', 'svn', '--quick'], /unknown notebook "svn": choose from knn, /],
    [['cs231n', 'knn', '--seeds', 'x'], /--seeds "x" is not allowed: give a count/],
    [['cs231n', 'knn', '--knn-loop-rows', '600'], /--knn-loop-rows 600 is not allowed/],
    [['cs231n', 'knn', '--bogus'], /Unknown argument: bogus/i],
  ] as const) {
    const r = trainCli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, re);
  }
});

const haveCifar = fs.existsSync(path.join(root, 'data', 'cifar-10-batches-bin', 'test_batch.bin'));

test(
  'cs231n --quick Dropout two_layer_net: sweep and run folders per seed, pages and progress lines; a rerun reuses every finished folder, an interrupted run resumes',
  { skip: !haveCifar && 'data/cifar-10-batches-bin is not there (npx train data cifar)', timeout: 600_000 },
  () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-'));
    try {
      const args = ['cs231n', 'Dropout', 'two_layer_net', '--quick', '--out', out, '--workers', '1'];
      const md = path.join(out, 'README.md');
      fs.writeFileSync(md, '# Configs\n\nnotes\n');
      const r = trainCli([...args, '--write-figures', md]);
      assert.equal(r.code, 0, r.err + r.out);
      const lines = r.out.trim().split('\n');
      assert.match(lines[0], /^cs231n: two_layer_net, Dropout; seeds 0 \(--quick\); engine \S+; into /);
      for (const job of ['two_layer_net/baseline', 'two_layer_net/tuned', 'Dropout/dropout'])
        assert.ok(
          lines.some((l) => new RegExp(`^${job}  seed 1/1 \\(seed 0\\)  done in [\\d.]+ s  \\[elapsed \\d+:\\d\\d\\]$`).test(l)),
          `${job}: ${r.out}`,
        );
      assert.ok(!lines.some((l) => l.startsWith('two_layer_net/search')), 'the tuning sweep runs only with --tuning');
      // Ordinary folders: a run folder and a sweep folder, each with its report.
      const baseline = path.join(out, 'two_layer_net', 'baseline', 'seed-0');
      for (const f of ['config.json', 'summary.json', 'last.ckpt', 'report.html']) assert.ok(fs.existsSync(path.join(baseline, f)), f);
      assert.equal(JSON.parse(fs.readFileSync(runFile(baseline, 'config'), 'utf8')).iterations, 20, '--quick: 20 of 1,000 iterations');
      const sweep = path.join(out, 'Dropout', 'dropout', 'seed-0');
      for (const f of ['results.json', 'sweep.json', 'report.html']) assert.ok(fs.existsSync(path.join(sweep, f)), f);
      for (const f of ['two_layer_net/notebook.html', 'Dropout/notebook.html', 'cs231n.html', 'figures.md']) assert.ok(fs.existsSync(path.join(out, f)), f);
      const figures = fs.readFileSync(path.join(out, 'figures.md'), 'utf8');
      assert.match(figures, /\| two_layer_net\.ipynb \| tuned \| `configs\/cs231n-twolayer\.json` \| val 0\.\d{3} \(one seed\); test 0\.\d{3} \(one seed\) \| 0 \| \S+ \|/);
      // --write-figures: the same table, between its markers, after the file's own text.
      assert.equal(fs.readFileSync(md, 'utf8'), `# Configs\n\nnotes\n\n${FIGURES_START}\n${figures}${FIGURES_END}\n`);
      const page = fs.readFileSync(path.join(out, 'two_layer_net', 'notebook.html'), 'utf8');
      assert.match(page, /two_layer_net\.ipynb, Inline Question 2/);
      assert.match(page, /<a href="tuned\/seed-0\/report\.html">seed 0<\/a>/);

      // A rerun: every folder finished, nothing retrained or rewritten.
      const stamp = fs.statSync(runFile(baseline, 'summary')).mtimeMs;
      const record = fs.readFileSync(path.join(out, 'two_layer_net', 'notebook.json'), 'utf8');
      const again = trainCli(args);
      assert.equal(again.code, 0, again.err);
      for (const job of ['two_layer_net/baseline', 'two_layer_net/tuned', 'Dropout/dropout']) assert.match(again.out, new RegExp(`${job}  seed 1/1 \\(seed 0\\)  finished earlier, reused  `));
      assert.equal(fs.statSync(runFile(baseline, 'summary')).mtimeMs, stamp, 'the finished run was not retrained');
      assert.equal(fs.readFileSync(path.join(out, 'two_layer_net', 'notebook.json'), 'utf8'), record, "the page still says when and in how long the numbers were made, not the rerun's 0 s");

      // An interrupted run (no summary, its last.ckpt kept) is resumed, not started afresh.
      const tuned = path.join(out, 'two_layer_net', 'tuned', 'seed-0');
      fs.rmSync(runFile(tuned, 'summary'));
      const plan: RunPlan = { out, seeds: [0], quick: true, knnLoopRows: 0, tuning: false, flags: {} };
      const exp = NOTEBOOKS.find((n) => n.id === 'two_layer_net')!.experiments.find((e) => e.id === 'tuned')!;
      assert.equal(runFolderState(tuned, runConfigOf(exp, 0, plan)), 'resume');
      const third = trainCli(args);
      assert.equal(third.code, 0, third.err);
      assert.match(third.out, /two_layer_net\/tuned  seed 1\/1 \(seed 0\)  resumed and done in /);
      assert.ok(fs.existsSync(runFile(tuned, 'summary')));
      // A folder holding another config's run is refused, in one line, never overwritten.
      assert.throws(
        () => runFolderState(tuned, runConfigOf(exp, 1, plan)),
        (e: unknown) => e instanceof ConfigError && /holds a run of another config than this command's: remove that folder, or give another --out/.test(e.message),
      );
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  },
);
