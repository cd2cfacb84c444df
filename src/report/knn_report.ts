/**
 * The report of a knn run (train/knn_fit.ts), from its folder's files: the cross-validation plot
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
import { configBlock } from './config_table.js';
import { greyImage, pngOf } from './images.js';
import { type PageBlock, dataUrl, esc, fmt, kvTable, page } from './html.js';

/** The test × train distance matrix as a grey image (knn.ipynb's plt.imshow(dists)), distances.png in the run folder. */
export async function writeDistanceImage(dir: string, distances: Mat): Promise<void> {
  writeFileAtomic(runFile(dir, 'distances'), await pngOf(greyImage(distances)));
}

/** Write report.html (and cv.png) into knn run folder `dir`; returns the report's path. */
export async function buildKnnReport(dir: string, cfg: Config): Promise<string> {
  const summary = readJsonObject(runFile(dir, 'summary')) as unknown as KnnSummary;
  const blocks: PageBlock[] = [];
  const files: [string, Buffer][] = [];
  const cvFile = runFile(dir, 'knnCv');
  if (fs.existsSync(cvFile)) {
    const cv = readJsonObject(cvFile) as unknown as KnnCv;
    const block = cvChartBlock(cv, 'cv');
    blocks.push(block);
    files.push(['cv.png', await renderPng(block.spec, 760, 400)]);
    const head = `<tr><th>k</th>${cv.accuracy[0].map((_, f) => `<th>fold ${f + 1}</th>`).join('')}<th>mean</th><th>std</th></tr>`;
    const body = cv.ks
      .map(
        (k, q) =>
          `<tr${k === cv.bestK ? ' class="best"' : ''}><td class="num">${k}</td>${cv.accuracy[q].map((a) => `<td class="num">${a.toFixed(3)}</td>`).join('')}<td class="num">${cv.mean[q].toFixed(4)}</td><td class="num">${cv.std[q].toFixed(4)}</td></tr>`,
      )
      .join('');
    blocks.push({ kind: 'html', title: 'Cross-validation accuracy', html: `<table class="trials">${head}${body}</table>` });
  }
  const image = distanceImageBlock(dir, summary.distances);
  if (image) blocks.push(image);
  blocks.push({ kind: 'html', title: 'Timings', html: timingsTable(summary) });
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
      'seconds (total)': summary.seconds.total,
      engine: `${summary.engine} (${summary.engineDetail})`,
    }),
  });
  blocks.push(configBlock(cfg, null));
  const sub = `${summary.dataset} · kNN (k = ${summary.model.k}) · test ${fmt(summary.testAcc)}${summary.cv ? ` · best k ${summary.cv.bestK}` : ''} · ${path.basename(dir)}`;
  const html = page(`Run report: ${cfg.name}`, sub, blocks);
  for (const [name, buf] of files) writeFileAtomic(path.join(dir, name), buf);
  const out = runFile(dir, 'report');
  writeFileAtomic(out, html);
  return out;
}

/** A knn run's cv.json: each k's accuracy on each fold, their mean and standard deviation, and the best k. */
export interface KnnCv {
  folds: number;
  ks: number[];
  accuracy: number[][];
  mean: number[];
  std: number[];
  bestK: number;
}

/** The cross-validation plot (knn.ipynb's) as a chart block with canvas id `id`. */
export function cvChartBlock(cv: KnnCv, id: string): PageBlock & { kind: 'chart' } {
  return {
    kind: 'chart',
    id,
    title: 'Cross-validation on k',
    spec: knnCvChart(cv),
    height: 360,
    note: `Each point is one fold's accuracy (${cv.folds} folds of the training rows); the line is the mean over folds, the bars ± one standard deviation. Best k: ${cv.bestK}.`,
  };
}

/** The distance matrix of knn run folder `dir` (its distances.png, of the `d` rows and columns its summary gives) as a page block; null when the folder has none. */
export function distanceImageBlock(dir: string, d: KnnSummary['distances']): (PageBlock & { kind: 'images' }) | null {
  const imgFile = runFile(dir, 'distances');
  if (!fs.existsSync(imgFile)) return null;
  return {
    kind: 'images',
    title: 'Distance matrix',
    note: `The L2 distances of the first ${d.rows} test images (rows) to the first ${d.cols} training images (columns), black the smallest, white the largest, as knn.ipynb shows them. Rows of light pixels are test images far from most training images; light columns, training images far from the test images.`,
    images: [
      {
        src: dataUrl(readRegularFile(imgFile, MAX_BYTES.image, 'a PNG image')),
        caption: `${d.rows} × ${d.cols} distances`,
        width: Math.min(d.cols, 960),
        height: Math.round((d.rows * Math.min(d.cols, 960)) / d.cols),
        cls: 'grid',
      },
    ],
  };
}

/**
 * The run's timings as tables: the three distance forms of knn.ipynb (seconds, and how far each
 * is from the two-loop form) and the phases of the run (load, train, cross-validation, test).
 */
/** Where the loop forms were timed on fewer rows (or not at all), the note says so. */
function loopNote(loopRows: number | undefined): string {
  if (loopRows === undefined) return '';
  return loopRows === 0 ? ' (the loop forms were not timed: – )' : ` (the loop forms, and the differences, on the first ${loopRows} test rows)`;
}

export function timingsTable(summary: KnnSummary): string {
  const d = summary.distances;
  const num = (v: unknown) => `<td class="num">${esc(fmt(v))}</td>`;
  const forms: [string, number | null, number | null, number | null][] = [
    ['two loops', d.twoLoopsSeconds, null, null],
    ['one loop', d.oneLoopSeconds, d.oneLoopDifference, null],
    ['no loops', d.noLoopsSeconds, d.noLoopsDifference, d.noLoopsMaxAbsDifference],
  ];
  const formRows = forms.map(([name, sec, fro, max]) => `<tr><th>${name}</th>${num(sec)}${num(fro)}${num(max)}</tr>`).join('');
  const phases: [string, number][] = [
    ['load', summary.seconds.load],
    ['train', summary.seconds.train],
    ['cross-validation', summary.seconds.crossValidation],
    ['test', summary.seconds.test],
    ['total', summary.seconds.total],
  ];
  const phaseRows = phases.map(([name, sec]) => `<tr><th>${name}</th>${num(sec)}</tr>`).join('');
  return (
    `<p class="note">The distances of ${d.rows} test × ${d.cols} training rows, in the three forms of knn.ipynb; differences from the two-loop form${loopNote(d.loopRows)}.</p>` +
    `<table class="timings"><thead><tr><th>form</th><th>seconds</th><th>difference (Frobenius)</th><th>largest difference</th></tr></thead><tbody>${formRows}</tbody></table>` +
    `<p class="note">The run's phases.</p><table class="timings"><thead><tr><th>phase</th><th>seconds</th></tr></thead><tbody>${phaseRows}</tbody></table>`
  );
}
