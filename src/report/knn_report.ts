/**
 * The report of a knn run (train/knn_run.ts), from its folder's files: the cross-validation plot
 * as knn.ipynb draws it (cv.json), the test × train distance matrix as a grey image
 * (distances.png, written by the run), the timing of the three distance forms, the summary and
 * the config. A knn run has no loss curve, weights or checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MAX_BYTES, readRegularFile } from '../io/files.js';
import type { Config } from '../config/config.js';
import { writeFileAtomic } from '../runs/atomic.js';
import { readJsonObject } from '../runs/read.js';
import { runFile } from '../runs/layout.js';
import type { KnnSummary } from '../runs/summary.js';
import type { Mat } from '../linalg/mat.js';
import { knnCvChart, renderPng } from './charts.js';
import { greyImage, pngOf } from './images.js';
import { type Block, dataUrl, fmt, kvTable, page } from './html.js';

/** The test × train distance matrix as a grey image (knn.ipynb's plt.imshow(dists)), distances.png in the run folder. */
export async function writeDistanceImage(dir: string, distances: Mat): Promise<void> {
  writeFileAtomic(runFile(dir, 'distances'), await pngOf(greyImage(distances)));
}

/** Write report.html (and cv.png) into knn run folder `dir`; returns the report's path. */
export async function buildKnnReport(dir: string, cfg: Config): Promise<string> {
  const summary = readJsonObject(runFile(dir, 'summary')) as unknown as KnnSummary;
  const blocks: Block[] = [];
  const files: [string, Buffer][] = [];
  const cvFile = runFile(dir, 'knnCv');
  if (fs.existsSync(cvFile)) {
    const cv = readJsonObject(cvFile) as unknown as { folds: number; ks: number[]; accuracy: number[][]; mean: number[]; std: number[]; bestK: number };
    const spec = knnCvChart(cv);
    blocks.push({ kind: 'chart', id: 'cv', title: 'Cross-validation on k', spec, height: 360, note: `Each point is one fold's accuracy (${cv.folds} folds of the training rows); the line is the mean over folds, the bars ± one standard deviation. Best k: ${cv.bestK}.` });
    files.push(['cv.png', await renderPng(spec, 760, 400)]);
    const head = `<tr><th>k</th>${cv.accuracy[0].map((_, f) => `<th>fold ${f + 1}</th>`).join('')}<th>mean</th><th>std</th></tr>`;
    const body = cv.ks.map((k, q) => `<tr${k === cv.bestK ? ' class="best"' : ''}><td class="num">${k}</td>${cv.accuracy[q].map((a) => `<td class="num">${a.toFixed(3)}</td>`).join('')}<td class="num">${cv.mean[q].toFixed(4)}</td><td class="num">${cv.std[q].toFixed(4)}</td></tr>`).join('');
    blocks.push({ kind: 'html', title: 'Cross-validation accuracy', html: `<table class="trials">${head}${body}</table>` });
  }
  const d = summary.distances;
  const imgFile = runFile(dir, 'distances');
  if (fs.existsSync(imgFile)) {
    blocks.push({
      kind: 'images',
      title: 'Distance matrix',
      note: `The L2 distances of the first ${d.rows} test images (rows) to the first ${d.cols} training images (columns), black the smallest, white the largest, as knn.ipynb shows them. Rows of light pixels are test images far from most training images; light columns, training images far from the test images.`,
      images: [{ src: dataUrl(readRegularFile(imgFile, MAX_BYTES.image, 'a PNG image')), caption: `${d.rows} × ${d.cols} distances`, width: Math.min(d.cols, 960), height: Math.round((d.rows * Math.min(d.cols, 960)) / d.cols), cls: 'grid' }],
    });
  }
  blocks.push({
    kind: 'html',
    title: 'The three distance forms',
    html: kvTable({
      'two loops (seconds)': d.twoLoopsSeconds,
      'one loop (seconds)': d.oneLoopSeconds,
      'no loops (seconds)': d.noLoopsSeconds,
      'one loop − two loops (Frobenius)': d.oneLoopDifference,
      'no loops − two loops (Frobenius)': d.noLoopsDifference,
      'no loops − two loops (largest)': d.noLoopsMaxAbsDifference,
      on: `${d.rows} test × ${d.cols} training rows`,
    }),
  });
  blocks.push({
    kind: 'html',
    title: 'Summary',
    html: kvTable({
      status: summary.status,
      k: summary.model.k,
      'test accuracy': summary.testAcc,
      'best k (cross-validation)': summary.cv?.bestK ?? null,
      'mean cross-validation accuracy of the best k': summary.cv?.bestMeanAcc ?? null,
      'test accuracy with the best k': summary.testAccBestK,
      'training rows': summary.model.numTrain,
      seconds: summary.seconds,
      engine: `${summary.engine} (${summary.engineDetail})`,
    }),
  });
  blocks.push({ kind: 'html', title: 'Config', html: kvTable(cfg as unknown as Record<string, unknown>) });
  const sub = `${summary.dataset} · kNN (k = ${summary.model.k}) · test ${fmt(summary.testAcc)}${summary.cv ? ` · best k ${summary.cv.bestK}` : ''} · ${path.basename(dir)}`;
  const html = page(`Run report: ${cfg.name}`, sub, blocks);
  for (const [name, buf] of files) writeFileAtomic(path.join(dir, name), buf);
  const out = runFile(dir, 'report');
  writeFileAtomic(out, html);
  return out;
}
