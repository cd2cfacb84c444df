/**
 * knn.ipynb's two figures, from a knn run folder (train/knn_fit.ts writes both files): the test ×
 * train distance matrix as a grey image (distances.png) and the cross-validation accuracy against
 * k (cv.json), each fold a point and the mean with ± one standard deviation error bars. The run's
 * own report draws both the same way (report/knn_report.ts); the first seed's run is shown.
 */
import * as fs from 'node:fs';
import { DataError } from '../../data/errors.js';
import { type PageBlock } from '../../report/html.js';
import { cvChartBlock, distanceImageBlock, type KnnCv } from '../../report/knn_report.js';
import { runFile } from '../../runs/layout.js';
import { readJsonObject } from '../../runs/read.js';
import type { KnnSummary } from '../../runs/summary.js';
import { runFolderOf } from './folders.js';
import type { PlotInput } from './types.js';

/** The first seed's knn run folder (a sweep folder's best trial). */
function knnRun(input: PlotInput): string {
  if (input.folders.length === 0) throw new DataError('a knn plot needs at least one run folder');
  return runFolderOf(input.folders[0]);
}

/** knn-distances: the distance matrix image, test rows × train columns, black near and white far. */
export function knnDistances(input: PlotInput): PageBlock[] {
  const dir = knnRun(input);
  const summary = readJsonObject(runFile(dir, 'summary')) as unknown as KnnSummary;
  const block = distanceImageBlock(dir, summary.distances);
  if (!block) throw new DataError(`${runFile(dir, 'distances')} is missing: rerun the knn run (it writes the distance image)`);
  return [{ ...block, note: `${block.note} Seed ${input.seeds[0] ?? 0}'s run.` }];
}

/** knn-cv: cross-validation accuracy against k, as the run's cv.json holds it. */
export function knnCv(input: PlotInput): PageBlock[] {
  const dir = knnRun(input);
  const file = runFile(dir, 'knnCv');
  if (!fs.existsSync(file)) throw new DataError(`${file} is missing: the knn run made no cross-validation (set cvFolds ≥ 2)`);
  const cv = readJsonObject(file) as unknown as KnnCv;
  return [cvChartBlock(cv, 'knn-cv')];
}
