/**
 * `train predict RUN image… [--top 3] [--json] [--invert] [--max-pixels N]`: the top classes of
 * each image, one line per image on stdout; with --json one JSON object on stdout
 * (predict/predict.ts PredictResult) and the hints on stderr. An image that cannot be read or
 * decoded (a dangling symlink or a sub-folder in a folder of images, a truncated file, one above
 * --max-pixels) is skipped with a line saying why, the rest are predicted, and the exit code is 1.
 */
import type { BackendChoice } from '../linalg/engine.js';
import { listImageFiles } from '../predict/image.js';
import { predictImages, type PredictResult } from '../predict/predict.js';
import { jsonLine, writeLines } from './output.js';

export interface PredictArgs {
  run: string;
  images: string[];
  top: number;
  json: boolean;
  invert: boolean;
  maxPixels: number;
  backend: BackendChoice;
}

/** One readable line per image: `file: cat 0.712, dog 0.201, frog 0.041` (an SVM run: `cat (score 2.310)`). */
export function predictionLines(r: PredictResult): string[] {
  return r.predictions.map((p) => `${p.file}: ${p.top.map((c) => `${c.className} ${r.loss !== 'svm' ? c.probability.toFixed(3) : `(score ${c.score.toFixed(3)})`}`).join(', ')}`);
}

/** The lines for the skipped images: errors when nothing could be predicted, else `skipped:` beside the predictions. */
function skippedLines(r: PredictResult): string[] {
  const head = r.predictions.length === 0 ? 'error' : 'skipped';
  return r.skipped.map((s) => `${head}: ${s.reason}`);
}

export async function predictCommand(args: PredictArgs): Promise<void> {
  const files = listImageFiles(args.images);
  const r = await predictImages(args.run, files, { top: args.top, invert: args.invert, backend: args.backend, maxPixels: args.maxPixels, skipUnreadable: true });
  if (r.skipped.length > 0) process.exitCode = 1;
  writeLines(process.stderr, ...skippedLines(r));
  writeLines(process.stderr, ...r.predictions.filter((p) => p.hint).map((p) => `note: ${p.file}: ${p.hint}`));
  if (args.json) {
    process.stdout.write(jsonLine(r) + '\n');
    return;
  }
  if (r.predictions.length === 0) return;
  writeLines(
    process.stderr,
    `checkpoint: ${r.checkpoint} (${r.dataset}, ${r.imageShape[1]}×${r.imageShape[0]} ${r.imageShape[2] === 1 ? 'grey' : 'RGB'}${r.loss === 'svm' ? '; an SVM: scores, not probabilities' : ''})`,
  );
  writeLines(process.stdout, ...predictionLines(r));
}
