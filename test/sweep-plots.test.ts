/**
 * The sweep report's search figures without a browser: sweep.json's search read and checked, and
 * the figures' data (src/report/sweep_plots.ts), by the sweep's metric and mode: hand-made trials
 * by val loss (min), and a real tiny random search by val loss through runSweep and
 * buildSweepReport, its progress reports included. The compare page of sweeps
 * (src/report/sweep_compare.ts) on hand-written sweep folders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSweepSearch } from '../src/runs/read.js';
import { bestSoFarChart, importanceOf, parallelChart, sweepPlotBlocks } from '../src/report/sweep_plots.js';
import type { SweepResults, TrialResult } from '../src/runs/results.js';
import { fanovaImportance } from '../src/sweep/importance.js';
import { Rng } from '../src/linalg/rng.js';
import { DEFAULT_METRIC, type Metric, metricOfResults, resultValue } from '../src/sweep/metric.js';
import { runSweep, type SweepProgress } from '../src/sweep/sweep.js';
import { buildSweepComparePage } from '../src/report/sweep_compare.js';
import { E2E_BACKEND } from './helpers.js';

function sweepJson(spec: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-search-'));
  const file = path.join(dir, 'sweep.json');
  fs.writeFileSync(file, JSON.stringify({ spec, trials: [] }));
  return file;
}

test('readSweepSearch: a random or TPE search, null for a grid, and a malformed range refused naming the file and field', () => {
  const tpe = readSweepSearch(sweepJson({ name: 's', base: {}, tpe: { trials: 8, seed: 3, startupTrials: 4, params: { lr: { logUniform: [1e-4, 1] }, updateRule: { choice: ['sgd', 'adam'] } } } }));
  assert.deepEqual(tpe, { kind: 'tpe', seed: 3, startup: 4, params: { lr: { logUniform: [1e-4, 1] }, updateRule: { choice: ['sgd', 'adam'] } } });
  assert.equal(readSweepSearch(sweepJson({ name: 's', base: {}, grid: { lr: [0.1, 1] } })), null);
  const bad = sweepJson({ name: 's', base: {}, random: { trials: 8, seed: 0, params: { lr: { logUniform: [0, 1] } } } });
  assert.throws(
    () => readSweepSearch(bad),
    (e: Error) => e.message.includes(bad) && /spec\.random\.params\.lr = .* is not valid: expected \{"logUniform"/.test(e.message) && !e.message.includes('\n'),
  );
});

const trial = (index: number, valAcc: number | null, params: Record<string, unknown>, status: TrialResult['status'] = 'ok') =>
  ({ index, dir: `trials/trial-00${index}`, status, reason: null, params, trainAcc: valAcc, valAcc, bestEpoch: 1, seconds: 1, resumed: false }) as unknown as TrialResult;

test('parallel coordinates: log keys on a log axis, choices evenly spaced, val acc scaled to its range', () => {
  const params = { lr: { logUniform: [1e-4, 1] as [number, number] }, rule: { choice: ['sgd', 'momentum', 'adam'] } };
  const spec = parallelChart(params, [trial(1, 0.5, { lr: 1e-2, rule: 'momentum' }), trial(2, 0.7, { lr: 1e-4, rule: 'adam' })] as never);
  const ds = (spec.data as { datasets: { data: number[] }[] }).datasets;
  assert.deepEqual(ds[0].data, [0.5, 0.5, 0]);
  assert.deepEqual(ds[1].data, [0, 1, 1]);
});

test('best so far is the running maximum over finished trials in index order; no figures for a grid sweep', () => {
  const trials = [trial(3, 0.6, {}), trial(1, 0.4, {}), trial(2, 0.3, {}), trial(4, 0.9, {}, 'stopped')];
  const blocks = sweepPlotBlocks({ kind: 'random', seed: 0, startup: 0, params: { lr: { uniform: [0, 1] } } }, trials.map((t, i) => ({ ...t, params: { lr: i / 4 } })) as TrialResult[]);
  assert.deepEqual(
    blocks.map((b) => b.title),
    ['Parallel coordinates', 'Hyperparameter importance', 'Best so far'],
  );
  const curve = (bestSoFarChart(trials.filter((t) => t.status === 'ok').sort((a, b) => a.index - b.index) as never, 0).data as { datasets: { data: unknown[] }[] }).datasets[0].data;
  assert.deepEqual(curve, [
    { x: 1, y: 0.4 },
    { x: 2, y: 0.4 },
    { x: 3, y: 0.6 },
  ]);
  assert.deepEqual(sweepPlotBlocks(null, trials), []);
});

const LOSS: Metric = { name: 'valLoss', mode: 'min' };
type Spec = {
  options: { plugins: { title: { text: string } }; scales: Record<string, { title: { text: string } }> };
  data: { labels?: unknown[]; datasets: { label: string; data: unknown[]; borderColor: string }[] };
};
/** Four trials whose val loss ranks them otherwise than their val accuracy: by loss trial 2 is the best, by accuracy trial 4. */
const byLoss = () => [
  { ...trial(1, 0.8, { lr: 0.1 }), value: 0.9 },
  { ...trial(2, 0.3, { lr: 0.4 }), value: 0.4 },
  { ...trial(3, 0.6, { lr: 0.7 }), value: 0.7 },
  { ...trial(4, 0.9, { lr: 0.2 }), value: 0.5 },
];

test('by val loss (min): the parallel axis and colour, the importance target and the best-so-far minimum follow the metric, and name it', () => {
  const params = { lr: { uniform: [0, 1] as [number, number] } };
  const trials = byLoss();
  const blocks = sweepPlotBlocks({ kind: 'random', seed: 3, startup: 0, params }, trials, LOSS);
  const spec = (id: string) => (blocks.find((b) => b.kind === 'chart' && b.id === id) as { spec: Spec; note: string } | undefined)!;
  // Parallel coordinates: the last axis is val loss, from its lowest (0) to its highest (1); the lowest loss is yellow.
  const par = spec('parallel');
  assert.deepEqual(par.spec.data.labels!.at(-1), ['val loss', 'min · 0.4 – 0.9']);
  assert.deepEqual(
    par.spec.data.datasets.map((d) => d.data.at(-1)),
    [1, 0, 0.6, 0.2],
  );
  assert.equal(par.spec.data.datasets[1].borderColor, 'rgb(253,231,37)', 'trial 2, the lowest val loss, in viridis yellow');
  assert.equal(par.spec.data.datasets[0].borderColor, 'rgb(68,1,84)', 'trial 1, the highest, in dark purple');
  assert.match(par.spec.options.plugins.title.text, /coloured by val loss \(min\)$/);
  assert.match(par.note, /Colour: val loss \(min\), from dark purple \(the worst\) to yellow \(the best, the lowest\)/);
  // Importance: fANOVA of the trials' val losses (not their accuracies), named so.
  const imp = spec('importance');
  const want = fanovaImportance(
    { lr: { type: 'float', low: 0, high: 1 } },
    trials.map((t) => ({ params: t.params as Record<string, unknown>, value: t.value })),
    new Rng(3),
  );
  assert.deepEqual(importanceOf(params, trials, 3, LOSS), want);
  assert.match(imp.note, /finished trials' val loss \(min\)/);
  assert.match(imp.spec.options.plugins.title.text, /val loss \(min\)/);
  // Best so far: the running minimum of val loss, the points the trials' own losses.
  const bsf = spec('best-so-far');
  assert.deepEqual(bsf.spec.data.datasets[0].data, [
    { x: 1, y: 0.9 },
    { x: 2, y: 0.4 },
    { x: 3, y: 0.4 },
    { x: 4, y: 0.4 },
  ]);
  assert.deepEqual(
    bsf.spec.data.datasets[1].data.map((p) => (p as { y: number }).y),
    [0.9, 0.4, 0.7, 0.5],
  );
  assert.equal(bsf.spec.options.scales.y.title.text, 'val loss');
  assert.equal(bsf.spec.options.plugins.title.text, 'val loss (min): best so far by trial');
});

test('results.json written before sweeps had a metric reads as val accuracy (max), each trial by its val accuracy', () => {
  assert.deepEqual(metricOfResults({}), DEFAULT_METRIC);
  assert.deepEqual(metricOfResults({ metric: { name: 'valLoss', mode: 'min' } }), LOSS);
  assert.equal(resultValue(DEFAULT_METRIC, { valAcc: 0.7 }), 0.7);
  assert.equal(resultValue(LOSS, { valAcc: 0.7 }), null, 'no val loss in such a file');
  assert.equal(resultValue(LOSS, { valAcc: 0.7, value: 0.3 }), 0.3);
});

/** The page's chart specs, as it embeds them for Chart.js. */
function specsOf(html: string): Record<string, Spec> {
  const m = /var specs = (\{.*?\});\n/s.exec(html);
  assert.ok(m, 'the page embeds its chart specs');
  return JSON.parse(m[1]);
}

test("a real random search by val loss: its report's figures use val loss (min), and its progress reports the running minimum by name", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-plots-loss-'));
  try {
    const file = path.join(dir, 'by-loss.json');
    // MNIST, 1 epoch of 1,000 rows, as the other tiny sweeps.
    const base = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 1, batchSize: 100, backend: E2E_BACKEND, runsDir: dir };
    fs.writeFileSync(
      file,
      JSON.stringify({ name: 'by-loss', base, metric: 'valLoss', trialReports: 'none', random: { trials: 5, seed: 1, lr: { logUniform: [1e-4, 1] }, reg: { logUniform: [1e-5, 1e-1] } } }),
    );
    const progress: SweepProgress[] = [];
    const results: SweepResults = await runSweep({ file, flags: {}, workers: 2, out: () => {}, onProgress: (p) => progress.push(p) });
    const ok = results.trials.filter((t) => t.status === 'ok').sort((a, b) => a.index - b.index);
    assert.ok(ok.length >= 2 && new Set(ok.map((t) => t.value)).size >= 2, JSON.stringify(results.trials));
    const values = ok.map((t) => t.value!);
    const best = Math.min(...values);
    // The bar's figures: the metric, and the best (lowest) val loss so far, never rising.
    assert.deepEqual(progress.at(-1), { done: 5, total: 5, toRun: 5, ran: 5, metric: LOSS, best });
    const bests = progress.map((p) => p.best).filter((b): b is number => b !== null);
    assert.ok(
      bests.every((b, i) => i === 0 || b <= bests[i - 1]),
      `the best so far never rises: ${bests}`,
    );

    const html = fs.readFileSync(path.join(results.folder, 'report.html'), 'utf8');
    const specs = specsOf(html);
    const par = specs.parallel;
    assert.equal((par.data.labels!.at(-1) as string[])[0], 'val loss');
    const yellow = par.data.datasets.find((d) => d.borderColor === 'rgb(253,231,37)')!;
    assert.equal(yellow.label, `trial ${ok[values.indexOf(best)].index}`, 'the lowest val loss in yellow');
    assert.match(specs.importance.options.plugins.title.text, /val loss \(min\)/);
    let run = Infinity;
    assert.deepEqual(
      specs['best-so-far'].data.datasets[0].data,
      ok.map((t) => ({ x: t.index, y: Number((run = Math.min(run, t.value!)).toFixed(4)) })),
    );
    assert.equal(specs['best-so-far'].options.scales.y.title.text, 'val loss');
    assert.ok(html.includes('The best trial by val loss (min) is highlighted.'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A sweep folder written by hand: sweep.json's spec and results.json's metric and trials (index, value). */
function handSweep(root: string, name: string, spec: Record<string, unknown>, metric: Metric | null, values: (number | null)[]): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify({ spec: { name, base: {}, ...spec }, trials: [] }));
  const trials = values.map((v, i) => ({ ...trial(i + 1, 0.5, {}, v === null ? 'failed' : 'ok'), valAcc: v === null ? null : 0.5, value: v }));
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify({ name, workers: 1, seconds: 1, trials, best: null, ...(metric ? { metric } : {}) }));
  return dir;
}

test('the compare page of sweeps: best so far by the shared metric (min), trials to within 0.005 of the best of all, — when never', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-compare-'));
  try {
    const tpe = handSweep(root, 'a-tpe', { tpe: { trials: 4, seed: 2, startupTrials: 2, params: {} } }, LOSS, [0.9, 0.5, null, 0.204]);
    const rnd = handSweep(root, 'b-random', { random: { trials: 4, seed: 7, params: {} } }, LOSS, [0.3, 0.8, 0.2, 0.6]);
    const grid = handSweep(root, 'c-grid', { grid: { lr: [1, 2] } }, LOSS, [0.7, 0.6]);
    const out = path.join(root, 'cmp.html');
    assert.equal(
      await buildSweepComparePage(
        [tpe, rnd, grid].map((dir) => ({ dir, name: path.basename(dir) })),
        out,
      ),
      out,
    );
    assert.deepEqual(fs.readdirSync(root).sort(), ['a-tpe', 'b-random', 'c-grid', 'cmp.html', 'cmp_best_so_far.png']);
    const html = fs.readFileSync(out, 'utf8');
    const spec = specsOf(html)['sweeps-best-so-far'];
    assert.deepEqual(
      spec.data.datasets.map((d) => [d.label, d.borderColor, d.data]),
      [
        [
          'tpe, seed 2 (a-tpe)',
          '#1f77b4',
          [
            { x: 1, y: 0.9 },
            { x: 2, y: 0.5 },
            { x: 4, y: 0.204 },
          ],
        ],
        [
          'random, seed 7 (b-random)',
          '#ff7f0e',
          [
            { x: 1, y: 0.3 },
            { x: 2, y: 0.3 },
            { x: 3, y: 0.2 },
            { x: 4, y: 0.2 },
          ],
        ],
        [
          'grid (c-grid)',
          '#2ca02c',
          [
            { x: 1, y: 0.7 },
            { x: 2, y: 0.6 },
          ],
        ],
      ],
    );
    assert.equal(spec.options.scales.x.title.text, 'trial');
    assert.equal(spec.options.scales.y.title.text, 'best val loss so far');
    assert.equal(spec.options.plugins.title.text, 'val loss (min): best so far by trial');
    // The table: the best of all is 0.2 (b-random, at trial 3); a-tpe came within 0.005 of it at trial 4, c-grid never ("—").
    const rows = [...html.matchAll(/<tr( class="best")?><td data-v="[^"]*">(.*?)<\/tr>/g)].map((m) => [m[1] ? 'best' : '', ...[...m[0].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1])]);
    assert.deepEqual(rows, [
      ['', 'a-tpe', 'tpe', '2', '3 of 4', '0.2040', '4'],
      ['best', 'b-random', 'random', '7', '4 of 4', '0.2000', '3'],
      ['', 'c-grid', 'grid', '—', '2 of 2', '0.6000', '—'],
    ]);
    // A sweep of another metric: refused in one line naming both.
    const acc = handSweep(root, 'd-acc', { random: { trials: 1, seed: 0, params: {} } }, null, [0.5]);
    await assert.rejects(
      buildSweepComparePage(
        [tpe, acc].map((dir) => ({ dir, name: path.basename(dir) })),
        out,
      ),
      {
        message: `compare: ${tpe} is a sweep by val loss (min) and ${acc} by val accuracy (max); compare sweeps of the same metric and mode`,
      },
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
