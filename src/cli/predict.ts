/**
 * `train predict RUN image… [--top 3] [--json] [--invert]`: the top classes of each image, one
 * line per image on stdout; with --json one JSON object on stdout (predict/predict.ts
 * PredictResult) and the hints on stderr.
 */
import type { BackendChoice } from '../linalg/engine.js';
import { listImageFiles } from '../predict/image.js';
import { predictImages, type PredictResult } from '../predict/predict.js';

export interface PredictArgs {
  run: string;
  images: string[];
  top: number;
  json: boolean;
  invert: boolean;
  backend: BackendChoice;
}

/** One readable line per image: `file: cat 0.712, dog 0.201, frog 0.041` (an SVM run: `cat (score 2.310)`). */
export function predictionLines(r: PredictResult): string[] {
  return r.predictions.map((p) => `${p.file}: ${p.top.map((c) => `${c.className} ${r.loss !== 'svm' ? c.probability.toFixed(3) : `(score ${c.score.toFixed(3)})`}`).join(', ')}`);
}

export async function predictCommand(args: PredictArgs): Promise<void> {
  const files = listImageFiles(args.images);
  const r = await predictImages(args.run, files, { top: args.top, invert: args.invert, backend: args.backend });
  for (const p of r.predictions) if (p.hint) process.stderr.write(`note: ${p.file}: ${p.hint}\n`);
  if (args.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  process.stderr.write(`checkpoint: ${r.checkpoint} (${r.dataset}, ${r.imageShape[1]}×${r.imageShape[0]} ${r.imageShape[2] === 1 ? 'grey' : 'RGB'}${r.loss === 'svm' ? '; an SVM: scores, not probabilities' : ''})\n`);
  for (const line of predictionLines(r)) process.stdout.write(line + '\n');
}
