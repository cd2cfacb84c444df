/**
 * The run report: report.html (self-contained) plus the same figures as PNG files, built from
 * the run folder's own files (config.json, summary.json, metrics.jsonl, best.ckpt, and
 * predictions.json for what it draws from the test split), so `train report <run>` rebuilds
 * exactly what training wrote, with or without the dataset.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config/config.js';
import { loadDataset } from '../data/datasets.js';
import type { Rows } from '../data/split.js';
import { viewsOf } from '../models/params.js';
import { writeFileAtomic } from '../runs/atomic.js';
import { type Checkpoint, loadCheckpoint } from '../runs/checkpoint.js';
import { accuracyChart, confusionChart, lossChart, renderPng } from './charts.js';
import { type PageBlock, dataUrl, esc, fmt, kvTable, page } from './html.js';
import { gridPng, pngOf, stripPng, toRgba, weightGrid, weightTemplates } from './images.js';
import { readTestPredictions, recordTestPredictions, type TestPredictions } from './test_predictions.js';
import { runFile } from '../runs/layout.js';
import { checkClasses, readMetrics, readRunConfig, readSummary } from '../runs/read.js';
import { buildKnnReport } from './knn_report.js';
import { configBlock } from './config_table.js';

/** What a live report knows of the run beyond its files. */
export interface LiveProgress {
  /** Epochs done and in all, steps done and in all. */
  epoch: number;
  epochs: number;
  it: number;
  iterations: number;
  /** When training started (Date.now()). */
  startedAt: number;
  /** The last epoch's seconds: the page reloads about twice an epoch (2–30 s). */
  epochSeconds: number;
  /** Steps a second so far, for the time left (null: not known yet). */
  stepsPerSecond: number | null;
}

/**
 * The page's reload: every `every` ms while the file is fresh; once it is older than `stale` ms
 * (the run was killed without a last word) it stops and says so. A finished, interrupted or
 * diverged run's report has no such script, so the page stops reloading when the run ends.
 */
function reloadJs(writtenAt: number, every: number, stale: number): string {
  return `(function () {
  var written = ${writtenAt}, every = ${every}, stale = ${stale};
  var el = document.getElementById('live');
  var age = Date.now() - written;
  if (age < stale) { setTimeout(function () { location.reload(); }, every); }
  else if (el) { el.textContent = 'No update for ' + Math.round(age / 60000) + ' min: the run seems to have stopped without finishing (killed?). This page no longer reloads.'; }
})();`;
}

/**
 * report.html of a run that is still training: the loss and accuracy curves so far, the progress
 * and the config, reloading itself in the browser. Cheap enough for every epoch (no PNG files, no
 * checkpoint read, no test pass: the final report adds those); written atomically, so a reload
 * never reads half a page. Returns the report's path.
 */
export function writeLiveReport(dir: string, p: LiveProgress, now = Date.now()): string {
  const cfg: Config = readRunConfig(runFile(dir, 'config'));
  const metricsFile = runFile(dir, 'metrics');
  const metrics = fs.existsSync(metricsFile) ? readMetrics(metricsFile) : [];
  const losses = metrics.filter((m) => m.type === 'iter' && typeof m.loss === 'number' && Number.isFinite(m.loss)).map((m) => m.loss as number);
  const epochs = metrics.filter((m) => m.type === 'epoch').map((m) => ({ epoch: m.epoch as number, trainAcc: m.trainAcc as number, valAcc: m.valAcc as number }));
  const best = epochs.reduce<{ epoch: number; valAcc: number } | null>((b, e) => (b === null || e.valAcc > b.valAcc ? e : b), null);
  const every = Math.round(1000 * Math.min(30, Math.max(2, p.epochSeconds / 2)));
  const stale = Math.max(10 * 60_000, 5 * 1000 * p.epochSeconds);
  const secs = (now - p.startedAt) / 1000;
  const left = p.stepsPerSecond ? (p.iterations - p.it) / p.stepsPerSecond : NaN;
  const blocks: PageBlock[] = [
    {
      kind: 'html',
      title: 'Training…',
      html:
        `<p id="live" class="note">Live report: written after every epoch, this page reloads itself every ${every / 1000} s until the run ends; then the full report (weights, confusion matrix, test accuracy) replaces it.</p>` +
        kvTable({
          status: 'running',
          epoch: `${p.epoch} of ${p.epochs}`,
          iteration: `${p.it} of ${p.iterations}`,
          'best val accuracy so far': best ? `${fmt(best.valAcc)} (epoch ${best.epoch})` : null,
          'seconds so far': Math.round(secs),
          'seconds left (estimate)': Number.isFinite(left) ? Math.round(left) : null,
          written: new Date(now).toISOString(),
        }),
    },
  ];
  if (losses.length > 0)
    blocks.push({ kind: 'chart', id: 'loss', title: 'Loss per iteration', spec: lossChart(losses), height: 320, note: 'Minibatch loss (light) and its exponential moving average (red).' });
  if (epochs.length > 0)
    blocks.push({
      kind: 'chart',
      id: 'accuracy',
      title: 'Accuracy per epoch',
      spec: accuracyChart(epochs),
      height: 320,
      note: `Train accuracy on ${cfg.trainAccSamples} fixed training rows; val accuracy on the whole val split.`,
    });
  blocks.push(configBlock(cfg, p.epochs));
  const sub = `${cfg.dataset} · ${cfg.model} · running: epoch ${p.epoch}/${p.epochs} · ${path.basename(dir)}`;
  const out = runFile(dir, 'report');
  writeFileAtomic(out, page(`Run report: ${cfg.name} (running)`, sub, blocks, reloadJs(now, every, stale)));
  return out;
}

/** What buildRunReport adds to the page and writes beside it (the cs231n pages' plots take the blocks of addWeights and addExamples). */
export interface Parts {
  blocks: PageBlock[];
  files: [string, Buffer][];
}

/**
 * Write report.html and the PNG figures into run folder `dir`; returns the report's path.
 * `test` is the preprocessed test split when the caller has it (the run that made the folder):
 * its predictions are then recorded in predictions.json. Without it (`train report`) the
 * report is drawn from the folder's files alone, and what they lack is left out, said on the page
 * and to `warn`. The matmul engine must be initialised.
 */
export async function buildRunReport(dir: string, test?: Rows, opts: { warn?: (line: string) => void } = {}): Promise<string> {
  // Every file is checked before use: a malformed one is refused naming the file and field.
  const cfg: Config = readRunConfig(runFile(dir, 'config'));
  const summary = readSummary(runFile(dir, 'summary'));
  if ((summary.model.kind as string) === 'knn') return buildKnnReport(dir, cfg);
  const metricsFile = runFile(dir, 'metrics');
  const metrics = fs.existsSync(metricsFile) ? readMetrics(metricsFile) : [];
  const losses = metrics.filter((m) => m.type === 'iter' && typeof m.loss === 'number' && Number.isFinite(m.loss)).map((m) => m.loss as number);
  const epochs = metrics.filter((m) => m.type === 'epoch').map((m) => ({ epoch: m.epoch as number, trainAcc: m.trainAcc as number, valAcc: m.valAcc as number }));

  const parts: Parts = { blocks: [], files: [] };
  const { blocks, files } = parts;
  if (losses.length > 0) await addChart(parts, 'loss', 'Loss per iteration', lossChart(losses), 'Minibatch loss (light) and its exponential moving average (red).');
  if (epochs.length > 0)
    await addChart(parts, 'accuracy', 'Accuracy per epoch', accuracyChart(epochs), `Train accuracy on ${cfg.trainAccSamples} fixed training rows; val accuracy on the whole val split.`);

  const ckFile = runFile(dir, 'best');
  if (fs.existsSync(ckFile)) {
    const ck = loadCheckpoint(ckFile);
    const classes = checkClasses(ckFile, ck.header.classes, ck.header.model.numClasses); // not the last spec's width: gammas, betas and running statistics come after the scoring layer
    await addWeights(parts, ck, classes);
    const features = ck.header.preprocess.features;
    // The run's own test rows; a features run's example images are raw pixels, from its dataset.
    const raw = test && features ? await loadDataset(ck.header.dataset, cfg.dataDir || undefined) : undefined;
    const preds = test ? { ok: recordTestPredictions(dir, ck, ckFile, test, raw) } : readTestPredictions(dir, ck);
    if ('ok' in preds) {
      await addPredictions(parts, preds.ok, classes);
    } else {
      const line = `${preds.missing}: the report leaves out the confusion matrix and the test images, which are drawn from it. \`train eval ${dir}\` measures the test accuracy where the dataset is.`;
      opts.warn?.(line);
      blocks.push({ kind: 'html', title: 'Test predictions', html: `<p class="note">${esc(line)}</p>` });
    }
  }

  const s = summary as unknown as Record<string, unknown>;
  const shown: Record<string, unknown> = {
    status: s.status,
    ...(s.error ? { error: s.error } : {}),
    'best val accuracy': s.bestValAcc,
    'train accuracy (best epoch)': s.bestTrainAcc,
    'best epoch': s.bestEpoch,
    'test accuracy': s.testAcc,
    'final val accuracy': s.finalValAcc,
    'final loss': s.finalLoss,
    'initial loss (reg 0)': s.initialLoss,
    'expected initial loss': s.expectedInitialLoss,
    iterations: s.iterations,
    'seconds (total)': (s.seconds as { total: number }).total,
    'examples per second': s.examplesPerSecond,
    engine: `${s.engine} (${s.engineDetail})`,
  };
  blocks.push({ kind: 'html', title: 'Summary', html: kvTable(shown) });
  blocks.push(configBlock(cfg, summary.epochs));

  const svm = summary.model.loss === 'svm';
  const model = summary.model.kind === 'mlp' ? `MLP (hidden ${summary.model.hidden.join(', ')})${svm ? ' with the SVM loss' : ''}` : svm ? 'linear SVM' : 'softmax';
  const sub = `${summary.dataset} · ${model} · best val ${fmt(summary.bestValAcc)} · test ${fmt(summary.testAcc)} · ${path.basename(dir)}`;
  const html = page(`Run report: ${cfg.name}`, sub, blocks);
  for (const [name, buf] of files) writeFileAtomic(path.join(dir, name), buf);
  const out = runFile(dir, 'report');
  writeFileAtomic(out, html);
  return out;
}

async function addChart(parts: Parts, id: string, title: string, spec: ReturnType<typeof lossChart>, note?: string, height = 320): Promise<void> {
  parts.blocks.push({ kind: 'chart', id, title, spec, height, ...(note ? { note } : {}) });
  parts.files.push([`${id}.png`, await renderPng(spec, 760, height + 40)]);
}

/** Pixels a side are enlarged this many times (CIFAR's and MNIST's small images). */
const zoomOf = (shape: [number, number, number]) => (shape[0] <= 32 ? 3 : 1);

/** What the weights look like: softmax templates, the MLP's first layer, or a note for a features run. */
export async function addWeights(parts: Parts, ck: Checkpoint, classes: string[]): Promise<void> {
  const h = ck.header;
  const views = viewsOf(h.params, ck.params);
  const shape = h.imageShape;
  const zoom = zoomOf(shape);
  const features = h.preprocess.features;
  if (features) {
    parts.blocks.push({
      kind: 'html',
      title: 'Input',
      html: `<p>Image features (${esc(features.kind)}, ${features.hueBins} hue bins): ${h.meanLength} numbers a row, normalised by the train mean and std; the weights act on features, not pixels, so they are not shown as images.</p>`,
    });
  } else if (h.model.kind === 'softmax') {
    const imgs = weightTemplates(views.W, shape);
    const pngs = await Promise.all(imgs.map((im) => pngOf(im, zoom)));
    parts.blocks.push({
      kind: 'images',
      title: 'Learned weight templates',
      note: 'Each class’s column of W (bias dropped) as an image, rescaled over all of W to 0–255, as the cs231n notebook shows them.',
      images: pngs.map((p, c) => ({ src: dataUrl(p), caption: classes[c], width: shape[1] * zoom, height: shape[0] * zoom, cls: 'template' })),
    });
    parts.files.push(['weights.png', await stripPng(imgs, classes, zoom)]);
  } else {
    const grid = weightGrid(views.W1, shape, 100);
    const png = await pngOf(grid, 2);
    const shown = Math.min(100, views.W1.cols);
    parts.blocks.push({
      kind: 'images',
      title: 'First-layer weights',
      note: `The first ${shown} of ${views.W1.cols} hidden units’ input weights as images, each rescaled on its own (cs231n’s visualize_grid).`,
      images: [{ src: dataUrl(png), caption: `W1: ${shown} hidden units`, width: grid.width * 2, height: grid.height * 2, cls: 'grid' }],
    });
    parts.files.push(['weights.png', png]);
  }
}

/** The confusion matrix and counts, and the example images, from the test predictions. */
async function addPredictions(parts: Parts, p: TestPredictions, classes: string[]): Promise<void> {
  const C = classes.length;
  const n = p.labels.length;
  const counts = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let i = 0; i < n; i++) counts[p.labels[i]][p.predicted[i]]++;
  const acc = counts.reduce((s, r, t) => s + r[t], 0) / Math.max(1, n);
  await addChart(
    parts,
    'confusion',
    'Confusion matrix',
    confusionChart(counts, classes),
    `Rows: true class; columns: predicted; shade: fraction of the row. Test accuracy ${acc.toFixed(3)} on ${n} records.`,
    420,
  );
  const head = `<tr><th>true ↓ / predicted →</th>${classes.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = counts.map((r, t) => `<tr><th>${esc(classes[t])}</th>${r.map((v, q) => `<td class="num${q === t ? ' diag' : ''}">${v}</td>`).join('')}</tr>`).join('');
  parts.blocks.push({ kind: 'html', title: 'Confusion counts', html: `<table class="trials">${head}${body}</table>` });
  await addExamples(parts, p, classes);
}

/** The example images of the test predictions: a features run's mistakes grid (a row per predicted class), else the first misclassified images. */
export async function addExamples(parts: Parts, p: TestPredictions, classes: string[]): Promise<void> {
  const { kind, items } = p.examples;
  if (items.length === 0) return;
  const shape = p.imageShape;
  const zoom = zoomOf(shape);
  const imgs = items.map((e) => toRgba(e.pixels, shape));
  const pngs = await Promise.all(imgs.map((im) => pngOf(im, zoom)));
  if (kind === 'byPredictedClass') {
    // features.ipynb's grid of mistakes: one row per class, the test images wrongly put in it, each captioned with its true class.
    const rows = classes.map((c, k) => ({ label: c, at: items.flatMap((e, i) => (e.predicted === k ? [i] : [])) })).filter((r) => r.at.length > 0);
    parts.blocks.push({
      kind: 'images',
      title: 'Mistakes by predicted class',
      note: `One row per class: up to 8 test images the model wrongly put in it, each captioned with its true class, as features.ipynb shows them.`,
      images: rows.flatMap((r) => r.at.map((i) => ({ src: dataUrl(pngs[i]), caption: `← ${classes[items[i].label]}`, width: shape[1] * zoom, height: shape[0] * zoom, cls: 'wrong', row: r.label }))),
    });
    const grid = rows.map((r) => ({ label: r.label, imgs: r.at.map((i) => imgs[i]), captions: r.at.map((i) => `← ${classes[items[i].label]}`) }));
    parts.files.push(['mistakes.png', await gridPng(grid, zoom)]);
    return;
  }
  const caps = items.map((e) => `${classes[e.label]} → ${classes[e.predicted]}`);
  parts.blocks.push({
    kind: 'images',
    title: 'Misclassified test images',
    note: `The first ${items.length} test records the model gets wrong: true class → predicted class.`,
    images: pngs.map((png, k) => ({ src: dataUrl(png), caption: caps[k], width: shape[1] * zoom, height: shape[0] * zoom, cls: 'wrong' })),
  });
  parts.files.push(['misclassified.png', await stripPng(imgs, caps, zoom)]);
}
