/**
 * The cs231n notebooks' plot builders (src/cs231n/plots) on small real folders: a knn run, a random
 * lr × reg search, a two-layer net on two seeds and the committed FC-net sweeps with a shrunk base
 * (test/cs231n_plot_fixtures.ts, made by the CLI in the before hook). Each plot's data is checked
 * against the folders' own files: the fold points and error bars against cv.json, the curves against
 * metrics.jsonl, the weight-scale lines against each trial's config and metrics.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PLOTS } from '../src/cs231n/plots/index.js';
import type { PageBlock } from '../src/report/html.js';
import { readCurves } from '../src/report/overlay.js';
import { readSweepResults, readSweepTrials } from '../src/runs/read.js';
import { CIFAR_PRESENT, type Fixtures, makeFixtures } from './cs231n_plot_fixtures.js';

type Ds = { label: string; data: { x: number; y: number | null }[]; faint?: boolean; borderDash?: number[]; borderColor: string; backgroundColor: string };
type Chart = PageBlock & { kind: 'chart' };
type Images = PageBlock & { kind: 'images' };

let fx: Fixtures;
const built: Record<string, PageBlock[]> = {};

before(async () => {
  fx = makeFixtures(fs.mkdtempSync(path.join(os.tmpdir(), 'cs231n-plots-')));
  for (const [name, input] of Object.entries(fx)) built[name] = await PLOTS[name](input);
});

const charts = (name: string) => built[name].filter((b): b is Chart => b.kind === 'chart');
const datasets = (c: Chart) => (c.spec.data as { datasets: Ds[] }).datasets;
const named = (c: Chart) => datasets(c).filter((d) => !d.faint);
const scales = (c: Chart) => c.spec.options.scales as Record<string, { type?: string; title: { text: string }; bounds?: string }>;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const sweepFiles = (dir: string) => ({ results: readSweepResults(path.join(dir, 'results.json')), trials: readSweepTrials(path.join(dir, 'sweep.json')) });

test('PLOTS names every plot of the contract', () => {
  const names = [
    'knn-distances',
    'knn-cv',
    'softmax-grid',
    'svm-grid',
    'softmax-templates',
    'svm-templates',
    'twolayer-history',
    'twolayer-weights',
    'features-mistakes',
    'overfit',
    'update-rules',
    'bn-weight-scale',
    'bn-batch-size',
    'dropout-curves',
  ];
  assert.deepEqual(Object.keys(PLOTS).sort(), names.sort());
});

test('every chart: titled axes, a legend whose swatches are their lines, canvas ids unique over all plots', () => {
  const all = Object.values(built).flat();
  const ids = all.flatMap((b) => (b.kind === 'chart' ? [b.id] : []));
  assert.equal(new Set(ids).size, ids.length, `canvas ids ${ids.join(', ')}`);
  for (const c of all.filter((b): b is Chart => b.kind === 'chart')) {
    for (const [k, s] of Object.entries(scales(c))) assert.ok(s.title.text.length > 0, `${c.id}: axis ${k} has a title`);
    assert.ok(datasets(c).length > 0 && datasets(c).every((d) => d.data.length > 0), `${c.id} has data`);
    for (const d of named(c)) assert.equal(d.backgroundColor, d.borderColor, `${c.id}: ${d.label}'s swatch is its line's colour`);
  }
});

test('knn-cv: each fold a point, the mean line, and error bars of mean ± population sd of the folds (cv.json)', () => {
  const cv = JSON.parse(fs.readFileSync(path.join(fx['knn-cv'].folders[0], 'cv.json'), 'utf8')) as { ks: number[]; accuracy: number[][] };
  const [c] = charts('knn-cv');
  const [folds, mean, bars] = datasets(c);
  assert.deepEqual(
    folds.data,
    cv.ks.flatMap((k, q) => cv.accuracy[q].map((a) => ({ x: k, y: round3(a) }))),
  );
  cv.ks.forEach((k, q) => {
    const a = cv.accuracy[q];
    const m = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
    assert.deepEqual(mean.data[q], { x: k, y: round3(m) });
    assert.deepEqual(bars.data.slice(3 * q, 3 * q + 3), [
      { x: k, y: round3(m - sd) },
      { x: k, y: round3(m + sd) },
      { x: k, y: null },
    ]);
  });
});

test('knn-distances: the run’s test × train distance image at its size', () => {
  const [b] = built['knn-distances'] as Images[];
  assert.equal(b.kind, 'images');
  const png = Buffer.from(b.images[0].src.split(',')[1], 'base64');
  assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [300, 40], 'width = training rows, height = test rows');
  assert.deepEqual([b.images[0].width, b.images[0].height], [300, 40]);
});

test('softmax-grid: one point per finished trial at its config’s (lr, reg) on log axes, in the band of its val accuracy', () => {
  const { results, trials } = sweepFiles(fx['softmax-grid'].folders[0]);
  const [c] = charts('softmax-grid');
  const pts = datasets(c).flatMap((d) => (d.data as unknown as { x: number; y: number; acc: number; trial: number }[]).map((p) => ({ ...p, band: d.label })));
  const ok = results.trials.filter((t) => t.status === 'ok');
  assert.equal(pts.length, ok.length);
  const accs = ok.map((t) => t.valAcc!);
  const [lo, hi] = [Math.min(...accs), Math.max(...accs)];
  for (const t of ok) {
    const p = pts.find((q) => q.trial === t.index)!;
    const cfg = trials.find((x) => x.index === t.index)!.config;
    assert.deepEqual([p.x, p.y, p.acc], [cfg.lr, cfg.reg, Number(t.valAcc!.toFixed(4))]);
    const [from, to] = p.band.replace('val ', '').split('–').map(Number);
    assert.ok(t.valAcc! >= from - 5e-4 && t.valAcc! <= to + 5e-4, `trial ${t.index} (val ${t.valAcc}) in band ${p.band}`);
  }
  assert.equal(Number(datasets(c)[0].label.slice(4, 9)), Number(lo.toFixed(3)), 'the first band starts at the lowest val accuracy');
  assert.ok(datasets(c).at(-1)!.label.endsWith(hi.toFixed(3)), 'the last ends at the highest');
  assert.deepEqual([scales(c).x.type, scales(c).y.type], ['logarithmic', 'logarithmic']);
});

test('softmax-templates: one template per class; twolayer-weights: one first-layer grid', () => {
  const [t] = built['softmax-templates'] as Images[];
  assert.deepEqual(
    t.images.map((i) => i.caption),
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  );
  const [w] = built['twolayer-weights'] as Images[];
  assert.equal(w.images.length, 1);
  assert.match(w.images[0].caption, /W1: 20 hidden units/);
});

test('twolayer-history: every seed drawn (the first bold and named, the second faint), each from its metrics.jsonl', () => {
  const [loss, acc] = charts('twolayer-history');
  assert.deepEqual(
    datasets(loss).map((d) => [d.label, !!d.faint]),
    [
      ['training loss (smoothed)', false],
      ['training loss (smoothed), seed 1', true],
    ],
  );
  const curves = fx['twolayer-history'].folders.map(readCurves);
  const [train0, train1, val0, val1] = datasets(acc);
  assert.deepEqual(
    named(acc).map((d) => d.label),
    ['train', 'val'],
  );
  for (const [d, pts] of [
    [train0, curves[0].trainAcc],
    [train1, curves[1].trainAcc],
    [val0, curves[0].valAcc],
    [val1, curves[1].valAcc],
  ] as const)
    assert.deepEqual(
      d.data,
      pts.map((p) => ({ x: p.x, y: Number(p.y.toPrecision(5)) })),
    );
  assert.equal(scales(acc).x.bounds, 'data', 'the x axis ends at the data');
});

test('overfit: the 3- and 5-layer nets of the committed sweep, over two seeds, train accuracy per epoch', () => {
  const [loss, train] = charts('overfit');
  assert.deepEqual(
    named(train).map((d) => d.label),
    ['3-layer net (hidden 100, 100)', '5-layer net (hidden 100, 100, 100, 100)'],
  );
  assert.equal(datasets(train).length, 4, 'two nets × two seeds');
  assert.equal(scales(loss).y.type, 'logarithmic');
  const { results } = sweepFiles(fx.overfit.folders[1]);
  const second = readCurves(path.join(fx.overfit.folders[1], results.trials[1].dir));
  assert.deepEqual(
    datasets(train)[3].data,
    second.trainAcc.map((p) => ({ x: p.x, y: Number(p.y.toPrecision(5)) })),
    "the 5-layer net's second seed, from its own sweep",
  );
});

test('update-rules: loss, train and val accuracy, one named line per rule', () => {
  const cs = charts('update-rules');
  assert.equal(cs.length, 3);
  for (const c of cs)
    assert.deepEqual(
      named(c).map((d) => d.label),
      ['sgd', 'sgd_momentum', 'rmsprop', 'adam'],
    );
});

test('bn-weight-scale: on the 40-trial sweep, 2 lines × 20 weight scales for best train, best val and final loss', () => {
  const dir = fx['bn-weight-scale'].folders[0];
  const { results, trials } = sweepFiles(dir);
  assert.equal(results.trials.length, 40);
  const cs = charts('bn-weight-scale');
  assert.equal(cs.length, 3);
  const scalesOf = [...new Set(trials.map((t) => t.config.initStd))].sort((a, b) => a - b);
  for (const c of cs) {
    assert.deepEqual(
      named(c).map((d) => [d.label, d.data.length]),
      [
        ['without batch norm', 20],
        ['with batch norm', 20],
      ],
    );
    assert.deepEqual(
      named(c)[0].data.map((p) => p.x),
      scalesOf,
    );
    assert.equal(scales(c).x.type, 'logarithmic');
  }
  assert.equal(scales(cs[2]).y.type, 'logarithmic', 'the loss on a log axis');
  // Each point against its trial's metrics: best train accuracy, mean of the last 100 losses.
  for (const t of trials) {
    const line = t.config.normalization === 'none' ? 0 : 1;
    const at = scalesOf.indexOf(t.config.initStd);
    const curves = readCurves(path.join(dir, results.trials.find((r) => r.index === t.index)!.dir));
    const last = curves.loss.slice(-100);
    assert.equal(named(cs[0])[line].data[at].y, Number(Math.max(...curves.trainAcc.map((p) => p.y)).toPrecision(5)));
    assert.equal(named(cs[2])[line].data[at].y, Number((last.reduce((s, p) => s + p.y, 0) / last.length).toPrecision(5)));
  }
});

test('bn-weight-scale: a diverged trial leaves its line and is drawn apart', async () => {
  const src = fx['bn-weight-scale'].folders[0];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bn-diverged-'));
  fs.cpSync(src, dir, { recursive: true });
  const file = path.join(dir, 'results.json');
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const biggest = readSweepTrials(path.join(dir, 'sweep.json')).find((t) => t.config.normalization === 'none' && t.config.initStd === 1)!;
  r.trials.find((t: { index: number }) => t.index === biggest.index).status = 'diverged';
  fs.writeFileSync(file, JSON.stringify(r));
  const loss = (await PLOTS['bn-weight-scale']({ folders: [dir], seeds: [0] }))[2] as Chart;
  const [without] = named(loss).filter((d) => d.label === 'without batch norm');
  assert.equal(without.data[19].y, null, 'the largest scale without batch norm is a gap in its line');
  const apart = datasets(loss).find((d) => d.label.startsWith('diverged'))!;
  assert.equal(apart.data.length, 1);
  assert.equal(apart.data[0].x, 1);
});

test('bn-batch-size: for batch norm and for layer norm, train and val accuracy at batch 5, 10, 50 with and without', () => {
  const cs = charts('bn-batch-size');
  assert.deepEqual(
    cs.map((c) => c.id),
    ['bn-batch-size-batchnorm-train', 'bn-batch-size-batchnorm-val', 'bn-batch-size-layernorm-train', 'bn-batch-size-layernorm-val'],
  );
  for (const [c, norm] of cs.map((c, i) => [c, i < 2 ? 'batch norm' : 'layer norm'] as const)) {
    assert.deepEqual(
      named(c).map((d) => [d.label, !!d.borderDash]),
      [5, 10, 50].map((b) => [`no normalization, batch ${b}`, true]).concat([5, 10, 50].map((b) => [`${norm}, batch ${b}`, false])),
    );
    assert.equal(named(c)[0].borderColor, named(c)[3].borderColor, 'one colour per batch size');
  }
});

test('dropout-curves: train and val accuracy with and without dropout', () => {
  const cs = charts('dropout-curves');
  assert.deepEqual(
    cs.map((c) => named(c).map((d) => d.label)),
    [
      ['no dropout', 'dropout, keep 0.25'],
      ['no dropout', 'dropout, keep 0.25'],
    ],
  );
});

test('features-mistakes: one row per predicted class, each image one of its mistakes (predictions.json)', (t) => {
  if (!CIFAR_PRESENT) return t.skip('CIFAR-10 is absent');
  const p = JSON.parse(fs.readFileSync(path.join(fx['features-mistakes'].folders[0], 'predictions.json'), 'utf8')) as { examples: { items: { label: number; predicted: number }[] } };
  const classes = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  const [b] = built['features-mistakes'] as Images[];
  const rows = [...new Set(b.images.map((i) => i.row))];
  assert.deepEqual(
    rows,
    classes.filter((_, c) => p.examples.items.some((e) => e.predicted === c)),
  );
  assert.equal(rows.length, 10, 'every class has mistakes on 300 test images');
  assert.deepEqual(
    b.images.map((i) => [i.row, i.caption]),
    p.examples.items.map((e) => [classes[e.predicted], `← ${classes[e.label]}`]),
  );
});

test('a plot of sweeps given a run folder says what it needs in one line', async () => {
  await assert.rejects(
    async () => PLOTS['bn-batch-size']({ folders: fx['twolayer-history'].folders.slice(0, 1), seeds: [0] }),
    (e: Error) => /is not a sweep folder \(it has no results\.json\)/.test(e.message) && !e.message.includes('\n'),
  );
});
