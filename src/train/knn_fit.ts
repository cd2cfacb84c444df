/**
 * The other kind of run: a k-nearest-neighbour fit (knn.ipynb), from a resolved config to a run
 * folder. kNN has no SGD (no steps, losses, checkpoints or resume: that is run.ts's kind):
 * its "training" stores the training rows (raw pixels, no mean subtracted), so the run is
 *   1. the notebook's timing of the three distance forms, on its 500 test × 5,000 training rows
 *      (fewer when the split is smaller), with their differences to the two-loop form;
 *   2. the cross-validation over k (cvFolds folds of the training rows, kChoices);
 *   3. the test accuracy with cfg.k, the distances made in chunks of test rows.
 * The run folder holds config.json, train.log, summary.json (no iterations, losses or
 * checkpoints: there are none), cv.json and distances.png (the timed test × train distances as
 * a grey image); the report is the caller's to ask for, as for every run.
 */
import * as fs from 'node:fs';
import pino from 'pino';
import { type Config, ConfigError } from '../config/config.js';
import { loadDataset } from '../data/datasets.js';
import { preprocessRows, resolveSplit, type Rows } from '../data/split.js';
import type { EngineSelection } from '../linalg/engine.js';
import type { Logger } from 'pino';
import type { Mat } from '../linalg/mat.js';
import {
  accuracyOf,
  chunkRows,
  crossValidate,
  distancesNoLoops,
  distancesOneLoop,
  distancesTwoLoops,
  foldBounds,
  knnPredictMany,
  knnTrain,
  type CrossValidation,
  type KnnModel,
} from '../models/knn.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import { createRunDir, runFile } from '../runs/layout.js';
import type { KnnSummary } from '../runs/summary.js';
import type { Notes } from './recorder.js';
import { peakRssMB } from './summaries.js';

/** The rows the notebook times its distance forms on (and shows as an image). */
export const TIMED_TEST = 500;
export const TIMED_TRAIN = 5000;

export interface KnnOutcome {
  dir: string;
  summary: KnnSummary;
  test: Rows;
  /** The no-loop distances the notebook shows as an image (writeDistanceImage; the caller asks for it with the report). */
  distances: Mat;
}

/** ‖a − b‖_F, as the notebook's np.linalg.norm(dists - dists_two, ord='fro'), and the largest |a − b|. */
function difference(a: Mat, b: Mat): { fro: number; max: number } {
  let s = 0;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - b.data[i];
    s += d * d;
    max = Math.max(max, Math.abs(d));
  }
  return { fro: Math.sqrt(s), max };
}

const secondsSince = (t: number) => (performance.now() - t) / 1000;
const round = (x: number) => Math.round(x * 1000) / 1000;

/** Refuse a k, a fold count or a k choice the training split cannot give, before any work is done. */
export function checkKnn(cfg: Config, numTrain: number): void {
  if (cfg.k > numTrain) throw new ConfigError(`k = ${cfg.k} is more than the ${numTrain} training rows: use --k ≤ ${numTrain}`);
  if (cfg.cvFolds === 0) return;
  if (cfg.cvFolds === 1 || cfg.cvFolds > numTrain) throw new ConfigError(`cvFolds = ${cfg.cvFolds}: use 0 (no cross-validation) or 2 to ${numTrain} folds`);
  const b = foldBounds(numTrain, cfg.cvFolds);
  const smallest = numTrain - (b[1] - b[0]); // the training rows of the fold with the most validation rows
  const tooBig = cfg.kChoices.filter((k) => k > smallest);
  if (tooBig.length) throw new ConfigError(`kChoices ${tooBig.join(',')}: with ${cfg.cvFolds} folds of ${numTrain} rows a fold is validated against ${smallest} rows; use k ≤ ${smallest}`);
}

/** The rows a kNN run stores and tests: raw pixels, a mean of zeros, scale 1, no bias column (the notebook subtracts nothing). */
interface KnnData {
  train: Rows;
  test: Rows;
  dim: number;
  classes: number;
  source: string;
  loadSeconds: number;
}

/** What the steps of a kNN run write to: its folder, its log, the person. */
interface KnnOut {
  dir: string;
  log: Logger;
  ui: Notes;
}

/** Where a kNN run goes and how much of the notebook's timing it does. */
export interface KnnFitOptions {
  /** The run folder (made if need be; it should hold nothing else): default a new one under cfg.runsDir. */
  dir?: string;
  /** Time the two loop forms on the first `loopRows` timed test rows only (0: not at all; default all of them). The no-loop form always makes the whole image. */
  loopRows?: number;
}

/** Fit `cfg` (model knn) on `engine`, chosen by the caller, into a new run folder: store the rows, time the distance forms, cross-validate k, test. */
export async function fitKnn(cfg: Config, engine: EngineSelection, ui: Notes, opts: KnnFitOptions = {}): Promise<KnnOutcome> {
  const t0 = performance.now();
  const d = await loadKnnData(cfg, engine);
  const out = openKnnFolder(cfg, d, engine, ui, opts.dir);
  // "Training": the rows are kept as they are (and their squared norms, for the no-loop form).
  const tTrain = performance.now();
  const model = knnTrain(d.train.X, d.train.y, d.classes);
  const trainSeconds = secondsSince(tTrain);
  const forms = timeDistanceForms(d, out, opts.loopRows ?? TIMED_TEST);
  const tCv = performance.now();
  const cv = cfg.cvFolds > 0 ? crossValidateK(cfg, d, model, engine, out) : null;
  const cvSeconds = secondsSince(tCv);
  const tTest = performance.now();
  const tested = testAccuracy(cfg, d, model, cv, engine, ui);
  const testSeconds = secondsSince(tTest);
  const summary: KnnSummary = {
    status: 'ok',
    name: cfg.name,
    dataset: cfg.dataset,
    model: { kind: 'knn', k: cfg.k, inputDim: d.dim, numClasses: model.numClasses, numTrain: d.train.n },
    engine: engine.engine.name,
    engineDetail: engine.engine.detail,
    ...tested,
    cv: cv ? { folds: cfg.cvFolds, bestK: cv.bestK, bestMeanAcc: cv.mean[cv.ks.indexOf(cv.bestK)] } : null,
    distances: forms.summary,
    seconds: { load: round(d.loadSeconds), train: round(trainSeconds), crossValidation: round(cvSeconds), test: round(testSeconds), total: round(secondsSince(t0)) },
    peakRssMB: peakRssMB(),
    checkpoint: null,
  };
  writeJsonAtomic(runFile(out.dir, 'summary'), summary);
  out.log.info(summary, 'summary');
  return { dir: out.dir, summary, test: d.test, distances: forms.none };
}

/** The dataset's split, as raw pixels in the engine's memory; k and the folds checked against it before any work. */
async function loadKnnData(cfg: Config, engine: EngineSelection): Promise<KnnData> {
  const t0 = performance.now();
  const raw = await loadDataset(cfg.dataset, cfg.dataDir || undefined, { verify: cfg.verify });
  const split = resolveSplit(raw, { numTrain: cfg.numTrain, numVal: cfg.numVal, numTest: cfg.numTest, numDev: cfg.numDev });
  checkKnn(cfg, split.numTrain);
  const zero = new Float32Array(raw.dim);
  const pre = { bias: false, scale: 1 };
  const train = preprocessRows(raw.train, 0, split.numTrain, zero, pre, raw.dim, engine.engine.alloc);
  const test = preprocessRows(raw.test, 0, split.numTest, zero, pre, raw.dim, engine.engine.alloc);
  return { train, test, dim: raw.dim, classes: raw.classes.length, source: raw.source, loadSeconds: secondsSince(t0) };
}

/** A new run folder with config.json and train.log; the engine and the data, in the log and to the person. */
function openKnnFolder(cfg: Config, d: KnnData, engine: EngineSelection, ui: Notes, given?: string): KnnOut {
  const dir = given ?? createRunDir(cfg.runsDir, cfg.name);
  if (given !== undefined) fs.mkdirSync(given, { recursive: true });
  writeJsonAtomic(runFile(dir, 'config'), cfg);
  const log = pino({ base: undefined }, pino.destination({ dest: runFile(dir, 'log'), sync: true }));
  log.info({ config: cfg }, 'config');
  ui.info(`run folder: ${dir}`);
  for (const s of engine.skipped) log.info({ backend: s.name, reason: s.reason }, 'backend unavailable');
  log.info({ engine: engine.engine.name, detail: engine.engine.detail }, 'engine');
  ui.info(`engine: ${engine.engine.name} (${engine.engine.detail})`);
  log.info({ source: d.source, train: d.train.n, test: d.test.n, dim: d.dim, seconds: d.loadSeconds }, 'data');
  ui.info(`data: ${cfg.dataset} from ${d.source} (train ${d.train.n}, test ${d.test.n}; ${d.dim} raw pixels a row, no mean subtracted), ${d.loadSeconds.toFixed(1)} s`);
  return { dir, log, ui };
}

/** `f`'s result and the seconds it took. */
function timed<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, secondsSince(t)];
}

/** The first `n` rows of `m` (a view, no copy). */
const firstRows = (m: Mat, n: number): Mat => ({ rows: n, cols: m.cols, data: m.data.subarray(0, n * m.cols) });

/**
 * The notebook's three distance forms, timed on its 500 test × 5,000 training rows (or the split,
 * when smaller), with their differences to the two-loop form. The loop forms take seconds each:
 * `loopRows` times them on fewer test rows (0: not at all), compared on those rows.
 */
function timeDistanceForms(d: KnnData, out: KnnOut, loopRows: number): { summary: KnnSummary['distances']; none: Mat } {
  const { ui, log } = out;
  const rows = Math.min(TIMED_TEST, d.test.n);
  const cols = Math.min(TIMED_TRAIN, d.train.n);
  const looped = Math.max(0, Math.min(loopRows, rows));
  const Xt = firstRows(d.test.X as Mat, rows);
  const Tt = firstRows(d.train.X as Mat, cols);
  ui.info(`distances of ${rows} test × ${cols} training rows in the notebook's three forms${looped < rows ? ` (the loop forms on the first ${looped} test rows)` : ''}:`);
  const [none, noneS] = timed(() => distancesNoLoops(Xt, Tt));
  const loops = looped > 0 ? timeLoops(firstRows(Xt, looped), Tt, firstRows(none, looped)) : null;
  sayForms(ui, noneS, loops);
  const summary = {
    rows,
    cols,
    ...(looped < rows ? { loopRows: looped } : {}),
    twoLoopsSeconds: loops ? round(loops.twoS) : null,
    oneLoopSeconds: loops ? round(loops.oneS) : null,
    noLoopsSeconds: round(noneS),
    oneLoopDifference: loops ? loops.dOne.fro : null,
    noLoopsDifference: loops ? loops.dNone.fro : null,
    noLoopsMaxAbsDifference: loops ? loops.dNone.max : null,
  };
  log.info(summary, 'distance forms');
  return { summary, none };
}

/** The two loop forms on `Xt` × `Tt`, timed, and how far the one-loop and no-loop (`none`, the same rows) forms are from the two-loop one. */
function timeLoops(Xt: Mat, Tt: Mat, none: Mat) {
  const [two, twoS] = timed(() => distancesTwoLoops(Xt, Tt));
  const [one, oneS] = timed(() => distancesOneLoop(Xt, Tt));
  return { twoS, oneS, dOne: difference(one, two), dNone: difference(none, two) };
}

/** The notebook's lines: each form's seconds, then the differences (when the loop forms were timed). */
function sayForms(ui: Notes, noneS: number, loops: ReturnType<typeof timeLoops> | null): void {
  if (loops) ui.info(`Two loop version took ${loops.twoS.toFixed(6)} seconds`);
  if (loops) ui.info(`One loop version took ${loops.oneS.toFixed(6)} seconds`);
  ui.info(`No loop version took ${noneS.toFixed(6)} seconds`);
  if (!loops) return;
  ui.info(`One loop difference was: ${loops.dOne.fro.toFixed(6)}`);
  ui.info(
    `No loop difference was: ${loops.dNone.fro.toFixed(6)} (Frobenius norm; the largest single difference ${loops.dNone.max.toPrecision(3)}: ` +
      `the loops sum in float64, the no-loop product is the engine's float32 matmul)`,
  );
}

/** The cross-validation over cfg.kChoices on cfg.cvFolds folds of the training rows, said, logged and written to cv.json. */
function crossValidateK(cfg: Config, d: KnnData, model: KnnModel, engine: EngineSelection, out: KnnOut): CrossValidation {
  const { ui, log } = out;
  const cv = crossValidate(d.train.X, d.train.y, model.numClasses, cfg.cvFolds, cfg.kChoices, undefined, engine.engine.alloc);
  cv.ks.forEach((k, q) => cv.accuracy[q].forEach((a) => ui.info(`k = ${k}, accuracy = ${a.toFixed(6)}`)));
  cv.ks.forEach((k, q) => ui.info(`k = ${k}: mean accuracy ${cv.mean[q].toFixed(4)} ± ${cv.std[q].toFixed(4)} over ${cfg.cvFolds} folds`));
  const best = cv.ks.indexOf(cv.bestK);
  ui.info(`best k by cross-validation: ${cv.bestK} (mean accuracy ${cv.mean[best].toFixed(4)})`);
  writeJsonAtomic(runFile(out.dir, 'knnCv'), { folds: cfg.cvFolds, numTrain: d.train.n, ...cv });
  log.info({ ks: cv.ks, mean: cv.mean, std: cv.std, bestK: cv.bestK }, 'cross-validation');
  return cv;
}

/** Test accuracy with cfg.k (and with the best k), from one pass of distances in chunks of test rows. */
function testAccuracy(cfg: Config, d: KnnData, model: KnnModel, cv: CrossValidation | null, engine: EngineSelection, ui: Notes): Pick<KnnSummary, 'testAcc' | 'testAccBestK'> {
  const ks = cv && cv.bestK !== cfg.k ? [cfg.k, cv.bestK] : [cfg.k];
  const chunk = chunkRows(d.train.n);
  const preds = knnPredictMany(model, d.test.X, ks, chunk, engine.engine.alloc);
  const testAcc = accuracyOf(preds[0], d.test.y);
  const testAccBestK = cv ? accuracyOf(preds[ks.indexOf(cv.bestK)], d.test.y) : null;
  ui.info(`Got ${Math.round(testAcc * d.test.n)} / ${d.test.n} correct => accuracy: ${testAcc.toFixed(6)} (k = ${cfg.k}; distances in chunks of ${Math.min(chunk, d.test.n)} test rows)`);
  if (cv && cv.bestK !== cfg.k) ui.info(`with the best k = ${cv.bestK}: test accuracy ${testAccBestK!.toFixed(6)}`);
  return { testAcc, testAccBestK };
}
