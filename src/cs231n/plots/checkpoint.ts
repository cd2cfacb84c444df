/**
 * The figures drawn from a run's best checkpoint, as its run report draws them
 * (report/run_report.ts's addWeights and addExamples), for the first seed's run: softmax's and the
 * SVM's weight templates (one image per class), the two-layer net's first-layer grid
 * (visualize_grid), and features.ipynb's misclassified test images, one row per predicted class.
 */
import { DataError } from '../../data/errors.js';
import type { PageBlock } from '../../report/html.js';
import { addExamples, addWeights, type Parts } from '../../report/run_report.js';
import { readTestPredictions } from '../../report/test_predictions.js';
import { loadCheckpoint } from '../../runs/checkpoint.js';
import { runFile } from '../../runs/layout.js';
import { checkClasses } from '../../runs/read.js';
import { runFolderOf } from './folders.js';
import type { PlotInput } from './types.js';

/** Run folder `dir`'s best.ckpt and its class names. */
function bestCheckpoint(dir: string) {
  const file = runFile(dir, 'best');
  const ck = loadCheckpoint(file);
  return { ck, classes: checkClasses(file, ck.header.classes, ck.header.model.numClasses) };
}

/** Each image block's note, with whose it is. */
const whose = (blocks: PageBlock[], what: string) => blocks.map((b) => (b.kind === 'images' ? { ...b, note: `${b.note ?? ''} ${what}` } : b));

/** The first seed's best checkpoint's weights (softmax-templates, svm-templates: one template per class; twolayer-weights: the first layer's grid). */
export async function firstSeedWeights(input: PlotInput): Promise<PageBlock[]> {
  const { ck, classes } = bestCheckpoint(runFolderOf(input.folders[0]));
  const parts: Parts = { blocks: [], files: [] };
  await addWeights(parts, ck, classes);
  return whose(parts.blocks, `Seed ${input.seeds[0] ?? 0}'s best checkpoint.`);
}

/** features-mistakes: the first seed's misclassified test images, one row per predicted class (from its predictions.json). */
export async function featuresMistakes(input: PlotInput): Promise<PageBlock[]> {
  const dir = runFolderOf(input.folders[0]);
  const { ck, classes } = bestCheckpoint(dir);
  const p = readTestPredictions(dir, ck);
  if ('missing' in p) throw new DataError(`${p.missing}: rerun the features run to record its test predictions`);
  const parts: Parts = { blocks: [], files: [] };
  await addExamples(parts, p.ok, classes);
  return whose(parts.blocks, `Seed ${input.seeds[0] ?? 0}'s best checkpoint.`);
}
