/**
 * The plots a page draws where src/cs231n/plots has no builder of that name: the existing report
 * blocks, so every page has its data. A run folder: its accuracy per epoch (a kNN run: its
 * cross-validation and distance image); a sweep folder: its trials' overlaid curves. Each from
 * the first seed's folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { accuracyChart, knnCvChart } from '../report/charts.js';
import { dataUrl, type PageBlock } from '../report/html.js';
import { overlaySpecs, readCurves } from '../report/overlay.js';
import { runFile, sweepFile } from '../runs/layout.js';
import { readJsonOrNull, readSweepResults } from '../runs/read.js';
import type { PlotInput } from './types.js';

/** A kNN run's blocks: the distance image (for knn-distances), else the cross-validation chart. */
function knnBlocks(dir: string, id: string): PageBlock[] {
  const blocks: PageBlock[] = [];
  const cv = readJsonOrNull(runFile(dir, 'knnCv')) as Parameters<typeof knnCvChart>[0] | null;
  if (cv && id !== 'knn-distances') blocks.push({ kind: 'chart', title: 'Cross-validation on k', id: `${id}-cv`, spec: knnCvChart(cv) });
  const img = runFile(dir, 'distances');
  if (fs.existsSync(img) && id === 'knn-distances')
    blocks.push({ kind: 'images', title: 'Test × train distances', images: [{ src: dataUrl(fs.readFileSync(img)), caption: 'distances', width: 500, height: 500 }] });
  return blocks;
}

/** A sweep's blocks: its trials' curves overlaid. */
function sweepBlocks(dir: string, id: string): PageBlock[] {
  const r = readSweepResults(sweepFile(dir, 'results'));
  const runs = r.trials.map((t) => ({ name: `trial ${t.index}`, curves: readCurves(path.join(dir, t.dir)), score: t.valAcc }));
  return overlaySpecs(runs).map((s) => ({ kind: 'chart', title: s.title, id: `${id}-${s.id}`, spec: s.spec, note: s.note }));
}

/** The fallback blocks of an experiment's folders (the first seed's), ids prefixed by `id`. */
export function fallbackBlocks(input: PlotInput, id: string): PageBlock[] {
  const dir = input.folders[0];
  if (dir === undefined) return [];
  if (fs.existsSync(sweepFile(dir, 'results'))) return sweepBlocks(dir, id);
  if (fs.existsSync(runFile(dir, 'knnCv')) || fs.existsSync(runFile(dir, 'distances'))) return knnBlocks(dir, id);
  const curves = readCurves(dir);
  const epochs = curves.trainAcc.map((p, i) => ({ epoch: p.x, trainAcc: p.y, valAcc: curves.valAcc[i].y }));
  return epochs.length ? [{ kind: 'chart', title: 'Accuracy per epoch', id: `${id}-acc`, spec: accuracyChart(epochs) }] : [];
}
