/**
 * `train compare RUN RUN …` end to end (bin/train.js on the built dist/): the page and its PNG
 * twins from two small MNIST runs, with the runs' curves and configs read from their folders, and
 * one clear line (exit 2, no stack trace) for whatever is not two or more run folders. The page in
 * a real browser is checked in report.browser.test.ts. `train compare SWEEP SWEEP …` on a real
 * tiny TPE and random sweep pair: the best-so-far chart and table from their results.json, and
 * one line for mixing run and sweep folders, sweeps of another metric, or one sweep.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { E2E_BACKEND, trainCli as train } from './helpers.js';

const small = ['--num-train', '600', '--num-val', '200', '--num-test', '200', '--num-dev', '50', '--backend', E2E_BACKEND];

/** The page's chart specs, as it embeds them for Chart.js. */
function specsOf(html: string): Record<string, { data: { datasets: { label: string; data: { x: number; y: number }[] }[] } }> {
  const m = /var specs = (\{.*?\});\n/s.exec(html);
  assert.ok(m, 'the page embeds its chart specs');
  return JSON.parse(m[1]);
}

test('train compare writes one page overlaying two runs, with their configs side by side, and refuses what is not a run', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'compare-'));
  try {
    const a = train([...small, '--epochs', '2', '--runs-dir', runs, '--name', 'lr-a', '--lr', '0.5']);
    assert.equal(a.code, 0, a.err);
    const b = train([...small, '--epochs', '3', '--runs-dir', runs, '--name', 'lr-b', '--lr', '0.1']);
    assert.equal(b.code, 0, b.err);
    const dirOf = (n: string) =>
      path.join(
        runs,
        fs.readdirSync(runs).find((d) => d.endsWith(`-${n}`))!,
      );
    const [da, db] = [dirOf('lr-a'), dirOf('lr-b')];

    const r = train(['compare', da, db]);
    assert.equal(r.code, 0, r.err);
    const want = path.join(runs, `compare-${path.basename(da)}-vs-${path.basename(db)}.html`);
    assert.equal(r.out, `compare: ${want}\n`);
    const html = fs.readFileSync(want, 'utf8');
    const specs = specsOf(html);
    assert.deepEqual(Object.keys(specs), ['overlay-loss', 'overlay-train', 'overlay-val']);
    for (const s of Object.values(specs))
      assert.deepEqual(
        s.data.datasets.map((d) => d.label),
        [path.basename(da), path.basename(db)],
      );
    // The curves are the runs' own: 3 and 3 × 3 iterations (600 rows, batch 200), 2 and 3 epochs of val accuracy.
    const loss = specs['overlay-loss'].data.datasets.map((d) => d.data.map((p) => p.x));
    assert.deepEqual(loss, [
      [1, 2, 3, 4, 5, 6],
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ]);
    const metricsVal = (dir: string) =>
      fs
        .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((m) => m.type === 'epoch')
        .map((m) => Number(m.valAcc.toPrecision(5)));
    assert.deepEqual(
      specs['overlay-val'].data.datasets.map((d) => d.data.map((p) => p.y)),
      [metricsVal(da), metricsVal(db)],
    );
    // Configs side by side: the differing keys (name, lr, epochs) highlighted, the shared ones not.
    const diff = [...html.matchAll(/<tr class="diff"><th>([^<]*)<\/th>/g)].map((m) => m[1]);
    assert.deepEqual(diff.sort(), ['epochs', 'lr', 'name']);
    for (const png of ['loss', 'train', 'val']) {
      const buf = fs.readFileSync(want.replace(/\.html$/, `_${png}.png`));
      assert.equal(buf.subarray(1, 4).toString(), 'PNG');
    }

    // --out: the page where it is asked for, no temporary file left beside it.
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'compare-out-'));
    try {
      const o = train(['compare', db, da, '--out', path.join(outDir, 'cmp.html')]);
      assert.equal(o.code, 0, o.err);
      assert.deepEqual(fs.readdirSync(outDir).sort(), ['cmp.html', 'cmp_loss.png', 'cmp_train.png', 'cmp_val.png']);
      assert.deepEqual(
        specsOf(fs.readFileSync(path.join(outDir, 'cmp.html'), 'utf8'))['overlay-val'].data.datasets.map((d) => d.label),
        [path.basename(db), path.basename(da)],
      );
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }

    // What is not two or more run folders: one line naming it and what would work, exit 2.
    const notRun = fs.mkdtempSync(path.join(runs, 'empty-'));
    const knnLike = path.join(runs, 'knn-like');
    fs.cpSync(da, knnLike, { recursive: true });
    const s = JSON.parse(fs.readFileSync(path.join(knnLike, 'summary.json'), 'utf8'));
    fs.writeFileSync(path.join(knnLike, 'summary.json'), JSON.stringify({ ...s, model: { kind: 'knn', k: 1 } }));
    const cases: [string[], RegExp][] = [
      [['compare', da], /^error: compare needs two or more run folders \(given 1: .*\): npx train compare RUN RUN …$/],
      [['compare', da, path.join(runs, 'nope')], /^error: compare: .*nope does not exist; give a run folder \(runs\/<time>-<name>, holding config\.json, summary\.json and metrics\.jsonl\)$/],
      [['compare', da, notRun], /^error: compare: .*empty-\w+ is not a run folder: it has no config\.json; give a run folder/],
      [['compare', da, path.join(da, 'summary.json')], /^error: compare: .*summary\.json is a file, not a folder; give a run folder/],
      [['compare', da, da], /^error: compare: .* is given twice; give each run folder once$/],
      [['compare', da, knnLike], /^error: compare: .*knn-like is a knn run, which has no training curves to compare/],
      [['compare', da, db, '--out', path.join(runs, 'page.txt')], /^error: --out .*page\.txt: give the page's file name, ending in \.html/],
      [['compare', da, db, '--out', path.join(runs, 'no', 'such', 'x.html')], /^error: --out .*x\.html: the folder .*such does not exist/],
    ];
    for (const [args, re] of cases) {
      const e = train(args);
      assert.equal(e.code, 2, `${args.join(' ')}: ${e.err}`);
      assert.match(e.err.trim(), re);
      assert.equal(e.err.trim().split('\n').length, 1, `one line: ${e.err}`);
    }
    // A sweep folder points to its own report.
    fs.mkdirSync(path.join(runs, 'sweep-x'));
    for (const f of ['results.json', 'sweep.json']) fs.writeFileSync(path.join(runs, 'sweep-x', f), '{}');
    const sw = train(['compare', da, path.join(runs, 'sweep-x')]);
    assert.equal(sw.code, 2);
    assert.match(sw.err, /sweep-x is a sweep folder; its report \(npx train report .*sweep-x\) overlays its trials/);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

/** Tiny MNIST softmax trials: 1 epoch of 1,000 rows, batch 100, no trial reports. */
const SWEEP_BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 1, batchSize: 100, backend: E2E_BACKEND };
const SPACE = { lr: { logUniform: [1e-4, 1] }, reg: { logUniform: [1e-5, 1e-1] } };

type SweepJson = { trials: { index: number; status: string; valAcc: number | null; value?: number | null }[]; metric: { name: string; mode: string } };

test("train compare SWEEP SWEEP overlays a TPE and a random sweep's best so far, one dataset per sweep, and tabulates how soon each came near the best", () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'compare-sweeps-'));
  try {
    const sweep = (name: string, search: Record<string, unknown>) => {
      const f = path.join(runs, `${name}.json`);
      fs.writeFileSync(f, JSON.stringify({ name, base: SWEEP_BASE, trialReports: 'none', ...search }));
      const r = train(['sweep', '--config', f, '--workers', '2', '--runs-dir', runs]);
      assert.equal(r.code, 0, r.err + r.out);
      return path.join(runs, `sweep-${name}`);
    };
    const tpe = sweep('cmp-tpe', { tpe: { trials: 6, seed: 0, startupTrials: 3, ...SPACE } });
    const rnd = sweep('cmp-random', { random: { trials: 6, seed: 0, ...SPACE } });

    const r = train(['compare', tpe, rnd]);
    assert.equal(r.code, 0, r.err);
    const want = path.join(runs, 'compare-sweep-cmp-tpe-vs-sweep-cmp-random.html');
    assert.equal(r.out, `compare: ${want}\n`);
    assert.equal(
      fs
        .readFileSync(want.replace(/\.html$/, '_best_so_far.png'))
        .subarray(1, 4)
        .toString(),
      'PNG',
    );
    const html = fs.readFileSync(want, 'utf8');
    const specs = specsOf(html) as unknown as Record<
      string,
      { data: { datasets: { label: string; borderColor: string; data: { x: number; y: number }[] }[] }; options: { scales: Record<string, { title: { text: string } }> } }
    >;
    assert.deepEqual(Object.keys(specs), ['sweeps-best-so-far']);
    const chart = specs['sweeps-best-so-far'];
    assert.equal(chart.options.scales.x.title.text, 'trial');
    assert.equal(chart.options.scales.y.title.text, 'best val accuracy so far');
    // One dataset per sweep, coloured by its search, whose points are its finished trials' running best, by trial number.
    const results = [tpe, rnd].map((d) => JSON.parse(fs.readFileSync(path.join(d, 'results.json'), 'utf8')) as SweepJson);
    assert.deepEqual(
      chart.data.datasets.map((d) => [d.label, d.borderColor]),
      [
        ['tpe, seed 0 (sweep-cmp-tpe)', '#1f77b4'],
        ['random, seed 0 (sweep-cmp-random)', '#ff7f0e'],
      ],
    );
    const bests: number[] = [];
    chart.data.datasets.forEach((d, i) => {
      const ok = results[i].trials.filter((t) => t.status === 'ok').sort((a, b) => a.index - b.index);
      assert.ok(ok.length >= 2, JSON.stringify(results[i].trials));
      let run = -Infinity;
      assert.deepEqual(
        d.data,
        ok.map((t) => ({ x: t.index, y: Number((run = Math.max(run, t.value!)).toFixed(4)) })),
      );
      assert.ok(
        d.data.every((p, k) => k === 0 || (p.y >= d.data[k - 1].y && p.x > d.data[k - 1].x)),
        `monotone: ${JSON.stringify(d.data)}`,
      );
      bests.push(run);
    });
    // The table: each sweep's best, and the first trial within 0.005 of the best of both.
    const overall = Math.max(...bests);
    const rows = [...html.matchAll(/<tr( class="best")?><td data-v="[^"]*">(.*?)<\/tr>/g)].map((m) => [...m[0].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]));
    rows.forEach((cells, i) => {
      const ok = results[i].trials.filter((t) => t.status === 'ok').sort((a, b) => a.index - b.index);
      let run = -Infinity;
      const first = ok.find((t) => (run = Math.max(run, t.value!)) >= overall - 0.005 - 1e-12);
      assert.deepEqual(cells.slice(1), [i === 0 ? 'tpe' : 'random', '0', `${ok.length} of 6`, bests[i].toFixed(4), first ? String(first.index) : '—']);
    });

    // One clear line, exit 2: a run folder among sweeps, one sweep, a sweep given twice, sweeps of different metrics.
    const trialDir = path.join(tpe, 'trials', fs.readdirSync(path.join(tpe, 'trials'))[0]);
    const byLoss = path.join(runs, 'sweep-by-loss');
    fs.cpSync(rnd, byLoss, { recursive: true });
    const res = JSON.parse(fs.readFileSync(path.join(byLoss, 'results.json'), 'utf8'));
    fs.writeFileSync(path.join(byLoss, 'results.json'), JSON.stringify({ ...res, metric: { name: 'valLoss', mode: 'min' } }));
    const cases: [string[], RegExp][] = [
      [
        ['compare', tpe, trialDir],
        /^error: compare: .*sweep-cmp-tpe is a sweep folder; its report \(npx train report .*sweep-cmp-tpe\) overlays its trials, and .*trial-\S+ is not: compare sweep folders with sweep folders \(npx train compare SWEEP SWEEP …\) or run folders with run folders/,
      ],
      [['compare', trialDir, rnd], /^error: compare: .*sweep-cmp-random is a sweep folder; .* and .*trial-\S+ is not: compare sweep folders with sweep folders/],
      [['compare', tpe], /^error: compare needs two or more sweep folders \(given 1: .*sweep-cmp-tpe\): npx train compare SWEEP SWEEP …$/],
      [['compare', tpe, tpe], /^error: compare: .*sweep-cmp-tpe is given twice; give each sweep folder once$/],
      [['compare', tpe, byLoss], /^error: compare: .*sweep-cmp-tpe is a sweep by val accuracy \(max\) and .*sweep-by-loss by val loss \(min\); compare sweeps of the same metric and mode$/],
    ];
    for (const [args, re] of cases) {
      const e = train(args);
      assert.equal(e.code, 2, `${args.join(' ')}: ${e.err}`);
      assert.match(e.err.trim(), re);
      assert.equal(e.err.trim().split('\n').length, 1, `one line: ${e.err}`);
    }
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
