/**
 * The library: what the `train` command does, as typed functions (the package's main export,
 * `import { train, loadModel, predict } from 'tsnn-trainer'`). A thin layer over the modules the
 * CLI uses, so a run made here is the same run, folder and numbers as `npx train` makes:
 *
 *   loadDataset     read MNIST or CIFAR-10 into memory as raw bytes (data/datasets.ts)
 *   createModel     a fresh softmax classifier or MLP (models/index.ts)
 *   train           one run from a config, with event callbacks, into a run folder (train/run.ts, train/knn_fit.ts)
 *   evaluate        a checkpoint's accuracy on a split, as `train eval` (predict/evaluate.ts)
 *   loadModel       a run folder or .ckpt file as a model ready to predict (predict/predict.ts)
 *   predict         class probabilities for rows of raw pixels, preprocessed as in training
 *   predictImages   the same for PNG and JPEG files, as `train predict`
 *   exportRun       a run as ONNX, safetensors or npy files, as `train export` (export/export.ts)
 *   summary         a model's layers, output shapes and parameter counts, as `train summary` (models/summary.ts)
 *
 * Nothing here prints, except warnings when no onWarn is given. Every function checks its
 * arguments as the CLI checks the same flags, from the same tables, and throws a ConfigError
 * naming a bad value or an unknown option. docs/library.md has the details.
 */
import { type ConfigInput, ConfigError, checkPartial, resolveConfig } from './config/config.js';
import { FUNCTION_OPTION, type OptionCheck, checkOptions, checkValue, keyKinds } from './config/keys.js';
import { type BackendChoice, initEngine } from './linalg/engine.js';
import type { KnnSummary, Summary } from './runs/summary.js';
import { EVAL_OPTIONS, evaluateCheckpoint } from './predict/evaluate.js';
import { RUN_ARG } from './predict/trained.js';
import { type RunUi, rowWidth, runTraining, startRun } from './train/run.js';
import { fitKnn } from './train/knn_fit.js';
import { checkMemoryData, memoryRunData, type MemoryData } from './train/memory_data.js';
import type { EpochEvent, IterationEvent } from './train/trainer.js';
import { buildRunReport } from './report/run_report.js';
import { recordRunPredictions } from './report/test_predictions.js';
import { writeDistanceImage } from './report/knn_report.js';
import type { ModelSpec } from './models/model.js';
import { type ModelSummary, modelSummary } from './models/summary.js';
import { modelSpecOf } from './config/derive.js';
import { loadDataset } from './data/datasets.js';

// ---------------------------------------------------------------------------------------------
// Data, models, config: the modules themselves.

export { loadDataset, describeDataset, type RawDataset, type RawSplit, type LoadOptions, type DatasetDescription } from './data/datasets.js';
export { dataRoot, userCacheDir, DATA_ROOT_ENV } from './data/locations.js';
export { createModel, modelFromCheckpoint, paramSpecsFor, type CreateModelOptions } from './models/index.js';
export type { Model, ModelSpec, ModelKind, LossKind } from './models/model.js';
export { Rng } from './linalg/rng.js';
export { type Config, type ConfigInput, type DatasetName, DEFAULTS, resolveConfig, ConfigError } from './config/config.js';
export { type BackendChoice, BACKEND_CHOICES, initEngine, EngineError } from './linalg/engine.js';
export { type Checkpoint, type CheckpointHeader, loadCheckpoint, CheckpointError } from './runs/checkpoint.js';
export type { Summary, KnnSummary } from './runs/summary.js';
export { DivergedError, InterruptedError, type EpochEvent, type IterationEvent } from './train/trainer.js';
export { DataError } from './data/errors.js';
export type { Rows } from './data/split.js';
export type { MemoryData, MemorySplit } from './train/memory_data.js';

// ---------------------------------------------------------------------------------------------
// Training

/** What `train` reports while it runs; every callback is optional. */
export interface TrainCallbacks {
  /** Training starts: the number of SGD steps the run will take. */
  onStart?(totalIterations: number): void;
  /** After every SGD step: the step count, its epoch, the minibatch loss and the learning rate. */
  onIteration?(e: IterationEvent): void;
  /** After every epoch: train and val accuracy, the next learning rate, whether these are the best parameters so far. */
  onEpoch?(e: EpochEvent): void;
  /** Training has ended (the test accuracy and the summary come after). */
  onEnd?(): void;
  /** The lines the CLI prints as information (data, engine, initial loss). Default: dropped. */
  onInfo?(line: string): void;
  /** Warnings. Default: written to stderr as `warning: …`. */
  onWarn?(line: string): void;
}

export interface TrainOptions extends TrainCallbacks {
  /** Aborting stops the run after the current step with a resumable last.ckpt; `train` then rejects with an InterruptedError. */
  signal?: AbortSignal;
  /** Also write the run's report.html and its figures, as the CLI does (default false: `npx train report <dir>` makes them later). */
  report?: boolean;
}

export interface TrainOutcome {
  /** The run folder (under config.runsDir, by default runs/ in the working folder). */
  dir: string;
  /** Its summary.json: accuracies, times, engine (a KnnSummary for model knn). */
  summary: Summary | KnnSummary;
  /** report.html, when asked for with `report: true`. */
  report: string | null;
}

/** train()'s options: `report` as a key of its own, the callbacks and the signal as what they must be. */
const TRAIN_OPTIONS = { report: keyKinds().bool({ doc: "also write the run's report.html and its figures" }) };
const TRAIN_CALLBACKS: Record<string, OptionCheck> = {
  ...Object.fromEntries(['onStart', 'onIteration', 'onEpoch', 'onEnd', 'onInfo', 'onWarn'].map((k) => [k, FUNCTION_OPTION])),
  signal: [(v) => v instanceof AbortSignal, 'an AbortSignal'],
};

/** The CLI's console interface, implemented by callbacks. */
function callbackUi(cb: TrainCallbacks): RunUi {
  return {
    info: (line) => cb.onInfo?.(line),
    warn: (line) => (cb.onWarn ? cb.onWarn(line) : process.stderr.write(`warning: ${line}\n`)),
    startTraining: (n) => cb.onStart?.(n),
    iteration: (e) => cb.onIteration?.(e),
    epoch: (e) => cb.onEpoch?.(e),
    endTraining: () => cb.onEnd?.(),
  };
}

/**
 * Train one run, exactly as `npx train` with these settings: `config` holds any config keys
 * (as in a --config file; see configs/README.md), the presets of its dataset and model fill in
 * the rest. With `data`, the run trains on rows given in memory instead of the named dataset
 * (train/memory_data.ts: the split and preprocessing are the dataset's; `dataset` then only
 * picks the presets and is what the run folder records). Writes a run folder and resolves with it and its summary. Rejects with ConfigError
 * or DataError on bad settings (before any run folder is made), DivergedError when the loss is
 * no longer finite, InterruptedError when `signal` aborts.
 */
export async function train(config: ConfigInput & { data?: MemoryData } = {}, opts: TrainOptions = {}): Promise<TrainOutcome> {
  checkOptions('train()', opts, TRAIN_OPTIONS, TRAIN_CALLBACKS);
  const { data: given, ...keys } = config;
  const cfg = resolveConfig(checkPartial(keys, 'train()'), {});
  const mem = given === undefined ? undefined : checkMemoryData(given, 'train()');
  if (mem && (cfg.model === 'knn' || cfg.dataDir))
    throw new ConfigError(`train(): ${cfg.model === 'knn' ? 'model knn reads a dataset by name' : `dataDir names a dataset to read`}, and data gives the rows: leave one out`);
  const ui = callbackUi(opts);
  const engine = await initEngine(cfg.backend); // the engine of this call's run, chosen once
  if (cfg.model === 'knn') {
    const { dir, summary, test, distances } = await fitKnn(cfg, engine, ui);
    let report: string | null = null;
    if (opts.report) {
      await writeDistanceImage(dir, distances);
      report = await buildRunReport(dir, test);
    }
    return { dir, summary, report };
  }
  const run = await startRun(cfg, engine, mem ? { data: memoryRunData(mem, cfg, engine.engine.alloc) } : {});
  const signal = opts.signal;
  const { dir, summary } = await runTraining(run, ui, signal ? { shouldStop: () => signal.aborted } : {});
  const test = run.runData.data.test.n > 0 ? run.runData.data.test : undefined; // data in memory may have none
  const report = opts.report ? await buildRunReport(dir, test) : null;
  if (!opts.report && test) await recordRunPredictions(dir, test, cfg.dataDir); // what `train report` draws later, without the data
  return { dir, summary, report };
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface EvaluateOptions {
  /** Which split to score (default test); `all` scores train, val and test. */
  split?: 'train' | 'val' | 'test' | 'all';
  /** Dataset location, when not where training read it (the run's config.dataDir). */
  dataDir?: string;
  /** Matmul engine (default auto). */
  backend?: BackendChoice;
}

/**
 * Accuracy of a run folder's best.ckpt (or any .ckpt file) on a split, rebuilt exactly as
 * training made it (same records, the mean image stored in the checkpoint), as `npx train eval`.
 */
export async function evaluate(run: string, opts: EvaluateOptions = {}): Promise<{ file: string; accuracies: Record<string, { acc: number; n: number }> }> {
  checkValue({ ...RUN_ARG, key: 'run' }, run, 'evaluate()');
  const o = checkOptions('evaluate()', opts, EVAL_OPTIONS) as EvaluateOptions; // as `train eval` checks its flags
  return evaluateCheckpoint({ run, split: o.split ?? EVAL_OPTIONS.split.default, ...(o.dataDir ? { dataDir: o.dataDir } : {}), backend: o.backend ?? 'auto' });
}

// ---------------------------------------------------------------------------------------------
// Using a trained model: the code `npx train predict` runs (predict/predict.ts), rows of pixels
// (predict) or image files (predictImages).

export {
  loadModel,
  predict,
  predictImages,
  preprocessPixels,
  type TrainedModel,
  type Prediction,
  type ClassProbability,
  type ImagePrediction,
  type PredictResult,
  type PredictOptions,
  type SkippedImage,
} from './predict/predict.js';
export { DEFAULT_MAX_PIXELS } from './predict/image.js';

// ---------------------------------------------------------------------------------------------
// Export to ONNX / safetensors / npy, as `npx train export` (export/export.ts).

export { exportRun, EXPORT_FORMATS, type ExportFormat, type ExportResult } from './export/export.js';
export { ExportError } from './export/plan.js';

// ---------------------------------------------------------------------------------------------
// Model summary, as Keras's model.summary() and `npx train summary` (models/summary.ts).

export { modelSummary, formatSummary, type ModelSummary, type SummaryLayer } from './models/summary.js';

/**
 * The layers, output shapes and parameter counts of a model: of a ModelSpec as it is, or of the
 * model a config (any config keys, as train() takes) would train, whose input width and classes
 * are read from its dataset (the image features' width for a features run; a softmax model's
 * bias column counted, as training appends it). A knn config has no layers: ConfigError.
 */
export async function summary(x: ModelSpec | ConfigInput): Promise<ModelSummary> {
  if (isSpec(x)) return modelSummary(x);
  const cfg = resolveConfig(checkPartial(x, 'summary()'), {});
  if (cfg.model === 'knn') throw new ConfigError('summary(): a knn model has no layers or parameters (it stores the training rows)');
  const raw = await loadDataset(cfg.dataset, cfg.dataDir);
  return modelSummary(modelSpecOf(cfg, rowWidth(cfg, raw), raw.classes.length));
}

function isSpec(x: object): x is ModelSpec {
  return 'kind' in x && 'inputDim' in x;
}
