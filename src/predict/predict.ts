/**
 * Predict the class of images of one's own with a trained run (`train predict`): each image is
 * decoded and sized to the model's input (predict/image.ts), preprocessed exactly as training
 * preprocessed its rows, from the checkpoint (data/split.ts preprocessRows: (pixels − the train
 * mean image)·scale and the bias column; for a features run data/features.ts's HOG + hue features,
 * then (f − mean)/std as data/feature_data.ts featureRows), scored by the model, and turned into
 * probabilities by the softmax (layers/softmax.ts). An SVM run's scores are margins, not
 * probabilities: its predictions carry scores only.
 */
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import type { Mat } from '../linalg/mat.js';
import { softmaxForward } from '../layers/softmax.js';
import { featureRows } from '../data/feature_data.js';
import { featuresOfRows } from '../data/features.js';
import { preprocessRows, type Rows } from '../data/split.js';
import { modelFromCheckpoint } from '../models/index.js';
import { lossOf } from '../models/loss.js';
import type { Checkpoint } from '../runs/checkpoint.js';
import { type DecodedImage, decodeImageFile } from './image.js';
import { loadTrainedRun } from './trained.js';

export interface PredictOptions {
  /** How many classes to list per image (default 3; at most the number of classes). */
  top?: number;
  /** Invert grey values (255 − v) after decoding: for dark digits on light paper given to an MNIST model. */
  invert?: boolean;
  /** Matmul engine (default auto). */
  backend?: BackendChoice;
}

export interface ClassScore {
  index: number;
  label: string;
  /** Softmax probability (softmax runs); absent for an SVM run. */
  probability?: number;
  score: number;
}

export interface ImagePrediction {
  file: string;
  /** The image's own size, before crop and resize. */
  width: number;
  height: number;
  /** The best `top` classes, best first. */
  top: ClassScore[];
  /** Set for an MNIST model given an image with a light border, not inverted: it is probably dark on light. */
  hint?: string;
}

export interface PredictResult {
  checkpoint: string;
  dataset: string;
  /** The model's input image [height, width, channels]. */
  imageShape: [number, number, number];
  /** softmax: top lists probabilities; svm: scores only. */
  loss: 'softmax' | 'svm';
  classes: string[];
  predictions: ImagePrediction[];
}

/** The rows a checkpoint's model takes for images `pixels` (n rows of HWC bytes), preprocessed as training did. */
export function rowsOfImages(ck: Checkpoint, pixels: Uint8Array, n: number): Rows {
  const h = ck.header;
  const y = new Uint8Array(n);
  const f = h.preprocess.features;
  if (!f) return preprocessRows({ x: pixels, y, n }, 0, n, ck.mean, h.preprocess, h.meanLength + (h.preprocess.bias ? 1 : 0));
  const feats = featuresOfRows(pixels, 0, n, h.imageShape, { hueBins: f.hueBins });
  return featureRows(feats, y, 0, n, ck.mean, f.std, h.preprocess.bias);
}

/** Scores (N,C) of a checkpoint's model on preprocessed rows, and the softmax probabilities unless it is an SVM. */
export function scoreRows(ck: Checkpoint, X: Mat<Float32Array>): { scores: Mat<Float32Array>; probabilities: Mat<Float32Array> | null } {
  const scores = modelFromCheckpoint(ck).loss(X);
  const probabilities = lossOf(ck.header.model) === 'svm' ? null : softmaxForward(scores).out;
  return { scores, probabilities };
}

/** Predict each image of `files` with the run (folder or .ckpt) `run`. */
export async function predictImages(run: string, files: readonly string[], opts: PredictOptions = {}): Promise<PredictResult> {
  const { file: checkpoint, ck } = loadTrainedRun(run, 'predict with');
  const h = ck.header;
  const C = h.classes.length;
  const top = Math.min(opts.top ?? 3, C);
  if (!(Number.isInteger(top) && top >= 1)) throw new Error(`predictImages: top must be a whole number ≥ 1, got ${opts.top}`);
  await initEngine(opts.backend ?? 'auto');
  const px = h.imageShape[0] * h.imageShape[1] * h.imageShape[2];
  const pixels = new Uint8Array(files.length * px);
  const decoded: DecodedImage[] = [];
  for (let i = 0; i < files.length; i++) {
    const d = await decodeImageFile(files[i], h.imageShape, { invert: opts.invert });
    pixels.set(d.pixels, i * px);
    decoded.push(d);
  }
  const rows = rowsOfImages(ck, pixels, files.length);
  const { scores, probabilities } = scoreRows(ck, rows.X);
  const predictions = files.map((file, i): ImagePrediction => {
    const order = Array.from({ length: C }, (_, k) => k).sort((a, b) => scores.data[i * C + b] - scores.data[i * C + a] || a - b);
    const best: ClassScore[] = order.slice(0, top).map((k) => ({
      index: k,
      label: h.classes[k],
      ...(probabilities ? { probability: probabilities.data[i * C + k] } : {}),
      score: scores.data[i * C + k],
    }));
    const p: ImagePrediction = { file, width: decoded[i].width, height: decoded[i].height, top: best };
    if (h.imageShape[2] === 1 && !opts.invert && decoded[i].borderMean > 127) {
      p.hint = `its border is light (mean grey ${decoded[i].borderMean.toFixed(0)}); MNIST digits are white on black: for a dark digit on light paper pass --invert`;
    }
    return p;
  });
  return { checkpoint, dataset: h.dataset, imageShape: h.imageShape, loss: lossOf(h.model), classes: h.classes, predictions };
}
