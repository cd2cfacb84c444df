/**
 * The run report: report.html (self-contained) plus the same figures as PNG files, built from
 * the run folder's own files (config.json, summary.json, metrics.jsonl, best.ckpt), so
 * `train report <run>` rebuilds exactly what training wrote.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config/config.js';
import { loadDataset } from '../data/datasets.js';
import { DataError } from '../data/errors.js';
import type { Rows } from '../data/split.js';
import { rowsOfCheckpoint } from '../data/feature_data.js';
import { modelFromCheckpoint } from '../models/index.js';
import { viewsOf } from '../models/params.js';
import { writeFileAtomic } from '../runs/atomic.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { predict, rowsView } from '../models/evaluate.js';
import { accuracyChart, confusionChart, lossChart, renderPng } from './charts.js';
import { type Block, dataUrl, esc, fmt, kvTable, page } from './html.js';
import { gridPng, imageOfRow, pngOf, stripPng, weightGrid, weightTemplates } from './images.js';
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
  const blocks: Block[] = [
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
  if (losses.length > 0) blocks.push({ kind: 'chart', id: 'loss', title: 'Loss per iteration', spec: lossChart(losses), height: 320, note: 'Minibatch loss (light) and its exponential moving average (red).' });
  if (epochs.length > 0) blocks.push({ kind: 'chart', id: 'accuracy', title: 'Accuracy per epoch', spec: accuracyChart(epochs), height: 320, note: `Train accuracy on ${cfg.trainAccSamples} fixed training rows; val accuracy on the whole val split.` });
  blocks.push(configBlock(cfg, p.epochs));
  const sub = `${cfg.dataset} · ${cfg.model} · running: epoch ${p.epoch}/${p.epochs} · ${path.basename(dir)}`;
  const out = runFile(dir, 'report');
  writeFileAtomic(out, page(`Run report: ${cfg.name} (running)`, sub, blocks, reloadJs(now, every, stale)));
  return out;
}

/** Misclassified test images shown. */
const MISCLASSIFIED = 16;

/**
 * Write report.html and the PNG figures into run folder `dir`; returns the report's path.
 * `test` is the preprocessed test split when the caller has it (else it is rebuilt). The matmul
 * engine must be initialised.
 */
export async function buildRunReport(dir: string, test?: Rows): Promise<string> {
  // Every file is checked before use: a malformed one is refused naming the file and field.
  const cfg: Config = readRunConfig(runFile(dir, 'config'));
  const summary = readSummary(runFile(dir, 'summary'));
  if ((summary.model.kind as string) === 'knn') return buildKnnReport(dir, cfg);
  const metricsFile = runFile(dir, 'metrics');
  const metrics = fs.existsSync(metricsFile) ? readMetrics(metricsFile) : [];
  const losses = metrics.filter((m) => m.type === 'iter' && typeof m.loss === 'number' && Number.isFinite(m.loss)).map((m) => m.loss as number);
  const epochs = metrics.filter((m) => m.type === 'epoch').map((m) => ({ epoch: m.epoch as number, trainAcc: m.trainAcc as number, valAcc: m.valAcc as number }));

  const blocks: Block[] = [];
  const files: [string, Buffer][] = [];
  const chart = async (id: string, title: string, spec: ReturnType<typeof lossChart>, note?: string, height = 320) => {
    blocks.push({ kind: 'chart', id, title, spec, height, ...(note ? { note } : {}) });
    files.push([`${id}.png`, await renderPng(spec, 760, height + 40)]);
  };

  if (losses.length > 0) await chart('loss', 'Loss per iteration', lossChart(losses), 'Minibatch loss (light) and its exponential moving average (red).');
  if (epochs.length > 0) await chart('accuracy', 'Accuracy per epoch', accuracyChart(epochs), `Train accuracy on ${cfg.trainAccSamples} fixed training rows; val accuracy on the whole val split.`);

  const ckFile = runFile(dir, 'best');
  if (fs.existsSync(ckFile)) {
    const ck = loadCheckpoint(ckFile);
    const h = ck.header;
    const classes = checkClasses(ckFile, h.classes, h.model.numClasses); // not the last spec's width: gammas, betas and running statistics come after the scoring layer
    const views = viewsOf(h.params, ck.params);
    const shape = h.imageShape;
    const zoom = shape[0] <= 32 ? 3 : 1;
    const features = h.preprocess.features;
    if (features) {
      blocks.push({ kind: 'html', title: 'Input', html: `<p>Image features (${esc(features.kind)}, ${features.hueBins} hue bins): ${h.meanLength} numbers a row, normalised by the train mean and std; the weights act on features, not pixels, so they are not shown as images.</p>` });
    } else if (h.model.kind === 'softmax') {
      const imgs = weightTemplates(views.W, shape);
      const pngs = await Promise.all(imgs.map((im) => pngOf(im, zoom)));
      blocks.push({
        kind: 'images',
        title: 'Learned weight templates',
        note: 'Each class’s column of W (bias dropped) as an image, rescaled over all of W to 0–255, as the cs231n notebook shows them.',
        images: pngs.map((p, c) => ({ src: dataUrl(p), caption: classes[c], width: shape[1] * zoom, height: shape[0] * zoom, cls: 'template' })),
      });
      files.push(['weights.png', await stripPng(imgs, classes, zoom)]);
    } else {
      const grid = weightGrid(views.W1, shape, 100);
      const png = await pngOf(grid, 2);
      const shown = Math.min(100, views.W1.cols);
      blocks.push({
        kind: 'images',
        title: 'First-layer weights',
        note: `The first ${shown} of ${views.W1.cols} hidden units’ input weights as images, each rescaled on its own (cs231n’s visualize_grid).`,
        images: [{ src: dataUrl(png), caption: `W1: ${shown} hidden units`, width: grid.width * 2, height: grid.height * 2, cls: 'grid' }],
      });
      files.push(['weights.png', png]);
    }

    const raw = test && !features ? undefined : await loadDataset(h.dataset, cfg.dataDir || undefined);
    const rows = test ?? (await rowsOfCheckpoint(raw!, 'test', h, ck.mean, ckFile));
    const model = modelFromCheckpoint(ck);
    const pred = predict(model, rows.X);
    const C = classes.length;
    const counts = Array.from({ length: C }, () => new Array<number>(C).fill(0));
    const wrong: number[] = [];
    for (let i = 0; i < rows.n; i++) {
      if (rows.y[i] >= C) throw new DataError(`${ckFile}: its ${C} classes do not cover the test labels (label ${rows.y[i]}); was it trained on another dataset?`);
      counts[rows.y[i]][pred[i]]++;
      if (pred[i] !== rows.y[i] && wrong.length < MISCLASSIFIED) wrong.push(i);
    }
    const acc = counts.reduce((s, r, t) => s + r[t], 0) / Math.max(1, rows.n);
    await chart('confusion', 'Confusion matrix', confusionChart(counts, classes), `Rows: true class; columns: predicted; shade: fraction of the row. Test accuracy ${acc.toFixed(3)} on ${rows.n} records.`, 420);
    const head = `<tr><th>true ↓ / predicted →</th>${classes.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
    const body = counts.map((r, t) => `<tr><th>${esc(classes[t])}</th>${r.map((v, p) => `<td class="num${p === t ? ' diag' : ''}">${v}</td>`).join('')}</tr>`).join('');
    blocks.push({ kind: 'html', title: 'Confusion counts', html: `<table class="trials">${head}${body}</table>` });
    if (features && raw) {
      // features.ipynb's grid of mistakes: one row per class, the first test images wrongly put in it (raw pixels).
      const PER_CLASS = 8;
      const rowsOf: { c: number; picks: number[] }[] = [];
      for (let c = 0; c < C; c++) {
        const picks: number[] = [];
        for (let i = 0; i < rows.n && picks.length < PER_CLASS; i++) if (pred[i] === c && rows.y[i] !== c) picks.push(i);
        if (picks.length > 0) rowsOf.push({ c, picks });
      }
      const px = raw.dim;
      const zero = new Float32Array(px);
      const grid = rowsOf.map(({ c, picks }) => ({
        label: classes[c],
        imgs: picks.map((i) => imageOfRow(raw.test.x.subarray(i * px, (i + 1) * px), zero, 1, shape)),
        captions: picks.map((i) => `← ${classes[rows.y[i]]}`),
      }));
      const images = await Promise.all(grid.flatMap((r) => r.imgs.map(async (im, k) => ({ src: dataUrl(await pngOf(im, zoom)), caption: r.captions[k], width: shape[1] * zoom, height: shape[0] * zoom, cls: 'wrong', row: r.label }))));
      blocks.push({
        kind: 'images',
        title: 'Mistakes by predicted class',
        note: `One row per class: up to ${PER_CLASS} test images the model wrongly put in it, each captioned with its true class, as features.ipynb shows them.`,
        images,
      });
      if (grid.length > 0) files.push(['mistakes.png', await gridPng(grid, zoom)]);
    } else if (wrong.length > 0) {
      const imgs = wrong.map((i) => imageOfRow(rowsView(rows.X, i, 1).data, ck.mean, h.preprocess.scale, shape));
      const caps = wrong.map((i) => `${classes[rows.y[i]]} → ${classes[pred[i]]}`);
      const pngs = await Promise.all(imgs.map((im) => pngOf(im, zoom)));
      blocks.push({
        kind: 'images',
        title: 'Misclassified test images',
        note: `The first ${wrong.length} test records the model gets wrong: true class → predicted class.`,
        images: pngs.map((p, k) => ({ src: dataUrl(p), caption: caps[k], width: shape[1] * zoom, height: shape[0] * zoom, cls: 'wrong' })),
      });
      files.push(['misclassified.png', await stripPng(imgs, caps, zoom)]);
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
