/**
 * Predicting with a trained run, one code path for the library and the CLI:
 *
 *   loadModel       a run folder (its best.ckpt) or .ckpt file, ready to predict
 *   preprocessPixels  rows of raw pixels → the model's input rows, as training made them
 *   predict         rows of raw pixels → per row the label, class name, probabilities, top k
 *   predictImages   image files → decoded (predict/image.ts), then predict (`train predict`)
 *
 * Every pixel row is preprocessed exactly as training
 * preprocessed its rows, from the checkpoint (data/split.ts preprocessRows: (pixels − the train
 * mean image)·scale and the bias column; for a features run data/features.ts's HOG + hue features,
 * then (f − mean)/std as data/feature_data.ts featureRows), scored by the model, and turned into
 * probabilities by the softmax (layers/softmax.ts). An SVM run's scores are margins, not
 * probabilities: its predictions carry scores only.
 */
import { ConfigError, configKey } from '../config/config.js';
import { checkOptions, checkValue, keyKinds } from '../config/keys.js';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import { argmaxRows, type Mat } from '../linalg/mat.js';
import { softmaxForward } from '../layers/softmax.js';
import { featureRows } from '../data/feature_data.js';
import { featuresOfRows } from '../data/features.js';
import { preprocessRows, type Rows } from '../data/split.js';
import { modelFromCheckpoint } from '../models/index.js';
import { lossOf } from '../models/loss.js';
import type { Model } from '../models/model.js';
import type { Checkpoint } from '../runs/checkpoint.js';
import { DataError } from '../data/errors.js';
import { DEFAULT_MAX_PIXELS, type DecodedImage, decodeImageFile } from './image.js';
import { loadTrainedRun, RUN_ARG } from './trained.js';

const { int, bool } = keyKinds();

/** predict's options, for `train predict`'s flags and the library's loadModel, predict and predictImages: one table. */
export const PREDICT_OPTIONS = {
  top: int({ min: 1, default: 3, doc: 'how many classes to list per image, best first' }),
  invert: bool({ doc: 'invert the grey values (255 − v): for dark digits on light paper given to an MNIST model' }),
  maxPixels: int({ min: 1, max: 1_000_000_000, default: DEFAULT_MAX_PIXELS, doc: 'refuse an image of more pixels (width × height) than this, before decoding it' }),
  skipUnreadable: bool({ doc: 'leave out an image that cannot be read (listed in skipped) instead of failing the batch' }),
  backend: configKey('backend'),
};

/** The entries `keys` of PREDICT_OPTIONS: the options one function takes. */
const optionsOf = <K extends keyof typeof PREDICT_OPTIONS>(...keys: K[]) => Object.fromEntries(keys.map((k) => [k, PREDICT_OPTIONS[k]]));

/** A checkpoint, loaded, with what predicting needs. */
export interface TrainedModel {
  /** The .ckpt file it came from (a run folder's best.ckpt). */
  file: string;
  checkpoint: Checkpoint;
  model: Model<Float32Array>;
  /** Class names, in label order (MNIST: '0'…'9'; CIFAR-10: airplane … truck). */
  classes: string[];
  /** [height, width, channels] of the images it was trained on: a row of pixels is an image in that order (HWC). */
  imageShape: [number, number, number];
  /** Bytes a row of pixels has: height·width·channels (784 for MNIST, 3072 for CIFAR-10). */
  pixelsPerRow: number;
}

/**
 * Load a run folder (its best.ckpt) or a .ckpt file for predicting. Starts the matmul engine
 * `backend` (default auto), which predict uses. Throws CheckpointError on a damaged file or a
 * folder without a checkpoint, ConfigError for a kNN run (it has no trained weights).
 */
export async function loadModel(run: string, opts: { backend?: BackendChoice } = {}): Promise<TrainedModel> {
  checkValue({ ...RUN_ARG, key: 'run' }, run, 'loadModel()');
  const o = checkOptions('loadModel()', opts, optionsOf('backend')) as { backend?: BackendChoice };
  const { file, ck } = loadTrainedRun(run, 'predict with');
  await initEngine(o.backend ?? 'auto');
  const h = ck.header;
  return { file, checkpoint: ck, model: modelFromCheckpoint(ck), classes: h.classes, imageShape: h.imageShape, pixelsPerRow: h.imageShape[0] * h.imageShape[1] * h.imageShape[2] };
}

/** One class of a prediction's top list. */
export interface ClassProbability {
  /** The class index. */
  label: number;
  className: string;
  /** Its softmax probability. */
  probability: number;
  /** The model's score for it (for an SVM run, the margin score). */
  score: number;
}

/** One row's prediction. */
export interface Prediction {
  /** The predicted label (the class with the highest score, as `evaluate` counts it). */
  label: number;
  /** Its class name. */
  className: string;
  /** Softmax of the model's scores, one per class (for an SVM-loss model these are softmax-normalised scores, not calibrated probabilities). */
  probabilities: Float32Array;
  /** The model's scores, one per class. */
  scores: Float32Array;
  /** The `top` best classes, best first. */
  top: ClassProbability[];
}

/**
 * The model's input rows for rows of raw pixels, preprocessed exactly as in training: the
 * training mean image subtracted and the scale applied (or, for a features model, HOG + hue
 * features normalised by the training mean and std), and the bias column where the model has one.
 */
export function preprocessPixels(m: TrainedModel, pixels: Uint8Array): Rows {
  checkModel(m, 'preprocessPixels()');
  const h = m.checkpoint.header;
  const per = m.pixelsPerRow;
  if (!(pixels instanceof Uint8Array))
    throw new ConfigError(`predict: pixels must be a Uint8Array of bytes 0-255 (${per} a row, HWC order), not ${pixels === null ? 'null' : ((pixels as object)?.constructor?.name ?? typeof pixels)}`);
  if (pixels.length === 0 || pixels.length % per !== 0) {
    throw new ConfigError(`predict: got ${pixels.length} bytes of pixels; ${m.file} takes rows of ${per} bytes (${m.imageShape.join('×')} images, HWC order), so a multiple of ${per}`);
  }
  const n = pixels.length / per;
  const labels = new Uint8Array(n); // unknown; the rows' y is not used
  const f = h.preprocess.features;
  if (f) return featureRows(featuresOfRows(pixels, 0, n, m.imageShape, { hueBins: f.hueBins }), labels, 0, n, m.checkpoint.mean, f.std, h.preprocess.bias);
  return preprocessRows({ x: pixels, y: labels, n }, 0, n, m.checkpoint.mean, h.preprocess, h.meanLength + (h.preprocess.bias ? 1 : 0));
}

/** Scores (N,C) of `model` on preprocessed rows, and their softmax. */
export function scoreRows(model: Model<Float32Array>, X: Mat<Float32Array>): { scores: Mat<Float32Array>; probabilities: Mat<Float32Array> } {
  const scores = model.loss(X);
  return { scores, probabilities: softmaxForward(scores).out };
}

/**
 * Predict rows of raw pixels: `pixels` holds one or more images of `m.imageShape` back to back,
 * bytes 0-255 in HWC order, as a dataset's rows are (`dataset.test.x`). One Prediction a row;
 * `top` (default 3) classes each, by score.
 */
export function predict(m: TrainedModel, pixels: Uint8Array, opts: { top?: number } = {}): Prediction[] {
  checkModel(m, 'predict()');
  const C = m.classes.length;
  const k = (checkOptions('predict()', opts, optionsOf('top')).top as number | undefined) ?? PREDICT_OPTIONS.top.default;
  const rows = preprocessPixels(m, pixels);
  const { scores, probabilities: p } = scoreRows(m.model, rows.X);
  const labels = argmaxRows(scores);
  const out: Prediction[] = [];
  for (let i = 0; i < rows.n; i++) {
    const s = scores.data.slice(i * C, (i + 1) * C);
    const probabilities = p.data.slice(i * C, (i + 1) * C);
    const order = Array.from({ length: C }, (_, j) => j).sort((a, b) => s[b] - s[a] || a - b);
    const label = labels[i];
    out.push({
      label,
      className: m.classes[label],
      probabilities,
      scores: s,
      top: order.slice(0, Math.min(k, C)).map((j) => ({ label: j, className: m.classes[j], probability: probabilities[j], score: s[j] })),
    });
  }
  return out;
}

export interface PredictOptions {
  /** How many classes to list per image (default 3; at most the number of classes). */
  top?: number;
  /** Invert grey values (255 − v) after decoding: for dark digits on light paper given to an MNIST model. */
  invert?: boolean;
  /** Matmul engine (default auto), when `run` is a path. */
  backend?: BackendChoice;
  /** Refuse an image of more pixels (width × height) than this, before decoding it (default 50 megapixels, image.ts DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
  /** An image that cannot be read or decoded is left out and listed in `skipped` (the CLI's way); by default its DataError is thrown. */
  skipUnreadable?: boolean;
}

/** An image left out under `skipUnreadable`, and why. */
export interface SkippedImage {
  file: string;
  /** The DataError's message: one line naming the file and the problem. */
  reason: string;
}

/** One image's prediction: predict's label, class name and top list (no per-class arrays), and the file. */
export interface ImagePrediction {
  file: string;
  /** The image's own size, before crop and resize. */
  width: number;
  height: number;
  label: number;
  className: string;
  /** The best `top` classes, best first. */
  top: ClassProbability[];
  /** Set for an MNIST model given an image with a light border, not inverted: it is probably dark on light. */
  hint?: string;
}

export interface PredictResult {
  checkpoint: string;
  dataset: string;
  /** The model's input image [height, width, channels]. */
  imageShape: [number, number, number];
  /** softmax, or svm: the probabilities are then softmax-normalised margins, and the CLI prints scores. */
  loss: 'softmax' | 'svm';
  classes: string[];
  predictions: ImagePrediction[];
  /** The images left out (only under `skipUnreadable`), in the order given. */
  skipped: SkippedImage[];
}

/** Decode `files` for `m`; under `skipUnreadable` a file that fails is listed in `skipped`, else its DataError is thrown. */
async function decodeAll(m: TrainedModel, files: readonly string[], opts: PredictOptions): Promise<{ decoded: { file: string; image: DecodedImage }[]; skipped: SkippedImage[] }> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const decoded: { file: string; image: DecodedImage }[] = [];
  const skipped: SkippedImage[] = [];
  for (const file of files) {
    try {
      decoded.push({ file, image: await decodeImageFile(file, m.imageShape, { invert: opts.invert, maxPixels }) });
    } catch (e) {
      if (!(opts.skipUnreadable && e instanceof DataError)) throw e;
      skipped.push({ file, reason: e.message });
    }
  }
  return { decoded, skipped };
}

/**
 * Predict each image file (PNG or JPEG) of `files` with `run`: a run folder or .ckpt file, or a
 * loaded model. Images are refused above `maxPixels` before they are decoded, and when truncated.
 */
export async function predictImages(run: string | TrainedModel, files: readonly string[], opts: PredictOptions = {}): Promise<PredictResult> {
  const o = checkOptions('predictImages()', opts, optionsOf('top', 'invert', 'maxPixels', 'skipUnreadable', 'backend')) as PredictOptions;
  if (!Array.isArray(files) || !files.every((f) => typeof f === 'string'))
    throw new ConfigError(`predictImages(): files must be a list of image file names, not ${JSON.stringify(files) ?? String(files)}`);
  const m = typeof run === 'string' ? await loadModel(run, { backend: o.backend }) : checkModel(run, 'predictImages()');
  const h = m.checkpoint.header;
  const top = Math.min(o.top ?? PREDICT_OPTIONS.top.default, m.classes.length);
  const px = m.pixelsPerRow;
  const { decoded, skipped } = await decodeAll(m, files, o);
  const pixels = new Uint8Array(decoded.length * px);
  decoded.forEach((d, i) => pixels.set(d.image.pixels, i * px));
  const preds = decoded.length > 0 ? predict(m, pixels, { top }) : [];
  const predictions = decoded.map(({ file, image: d }, i): ImagePrediction => {
    const { label, className, top: best } = preds[i];
    const p: ImagePrediction = { file, width: d.width, height: d.height, label, className, top: best };
    if (m.imageShape[2] === 1 && !o.invert && d.borderMean > 127) {
      p.hint = `its border is light (mean grey ${d.borderMean.toFixed(0)}); MNIST digits are white on black: for a dark digit on light paper pass --invert`;
    }
    return p;
  });
  return { checkpoint: m.file, dataset: h.dataset, imageShape: m.imageShape, loss: lossOf(h.model), classes: m.classes, predictions, skipped };
}

/** `m` as loadModel returns it; anything else is refused naming `origin`. */
function checkModel(m: TrainedModel, origin: string): TrainedModel {
  const ok = typeof m === 'object' && m !== null && typeof m.model?.loss === 'function' && Array.isArray(m.classes) && Number.isInteger(m.pixelsPerRow) && typeof m.checkpoint === 'object';
  if (!ok)
    throw new ConfigError(
      `${origin}: the model must be what loadModel() returns (a run loaded for predicting), not ${typeof m === 'object' && m !== null ? `an object with ${Object.keys(m).join(', ') || 'no keys'}` : String(m)}`,
    );
  return m;
}
