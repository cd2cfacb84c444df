/**
 * What training a model allocates, from its spec alone (nothing is allocated here): the
 * parameters per layer, their gradients, the optimizer's state, the copies the run keeps, the
 * activations of a batch and the data. train/run.ts and config.ts compare the total with the
 * memory the process may use before a model is built (data/fits.ts checkAgainstData).
 *
 * All arrays are float32 (4 bytes a number) except the loss history (a float64 per step).
 */
import { paramSpecsFor } from './index.js';
import type { ModelSpec } from './model.js';

const F32 = 4;

/** One parameter array: its name, shape and size. */
export interface LayerCount {
  name: string;
  rows: number;
  cols: number;
  numbers: number;
  /** A running statistic (batch norm's), not trained. */
  stat?: true;
}

/** What a run of one model will allocate, in bytes, by part. */
export interface RunMemory {
  /** The parameter arrays in buffer order, and their total (numbers, not bytes). */
  layers: LayerCount[];
  params: number;
  bytes: {
    /** The parameters, and their gradient (the trainable ones; the same size, counted in full). */
    parameters: number;
    gradients: number;
    /** The update rule's state: one array the size of the parameters per block (velocity; cache; m and v). */
    optimizer: number;
    /** The best parameters so far, the initial draw, and last.ckpt's write buffer (parameters, best, optimizer state). */
    copies: number;
    /** A batch's activations: per unit of every layer, its output and gradient and what the layer caches. */
    activations: number;
    /** The rows held in memory (train, val, test, dev), when known. */
    data: number;
    /** The loss history: a float64 per step. */
    history: number;
  };
  total: number;
}

/** How a run uses the model: sizes that are not in its spec. */
export interface RunShape {
  /** The minibatch size; evaluation goes in chunks of at least 1,000 rows, which sets the floor. */
  batchSize: number;
  /** Arrays the update rule keeps, each the size of the parameters (optim/rules.ts RULE_BLOCKS). */
  optimizerBlocks: number;
  /** SGD steps in all. */
  steps: number;
  /** Numbers in the data rows held (0: not counted). */
  dataNumbers?: number;
}

/** The parameter arrays of `spec` in buffer order, each with its size (models/summary.ts groups them by layer). */
export function paramCounts(spec: ModelSpec): LayerCount[] {
  return paramSpecsFor(spec).map((p) => ({ name: p.name, rows: p.rows, cols: p.cols, numbers: p.rows * p.cols, ...(p.stat ? { stat: true } : {}) }));
}

/** Rows evaluated at once (accuracy on val and on the train sample), the floor of a batch's activations. */
const EVAL_ROWS = 1000;

/**
 * What a run of `spec` allocates: spec → layers (N,D)… → bytes by part and their total.
 * Per unit of each layer's output, 4 float32 arrays (output, gradient, pre-activation and its
 * gradient); a normalization keeps 3 more (x̂, its output, its gradient), dropout 3 (out, mask, gradient).
 */
export function runMemory(spec: ModelSpec, run: RunShape): RunMemory {
  const layers = paramCounts(spec);
  const params = layers.reduce((n, l) => n + l.numbers, 0);
  const widths = [...spec.hidden, spec.numClasses];
  const perUnit = 4 + (spec.normalization ? 3 : 0) + (spec.dropoutKeep !== undefined && spec.dropoutKeep !== 1 ? 3 : 0);
  const k = run.optimizerBlocks;
  const bytes = {
    parameters: F32 * params,
    gradients: F32 * params,
    optimizer: F32 * k * params,
    copies: F32 * (2 + (2 + k)) * params,
    activations: F32 * perUnit * Math.max(run.batchSize, EVAL_ROWS) * widths.reduce((a, b) => a + b, 0),
    data: F32 * (run.dataNumbers ?? 0),
    history: 8 * run.steps,
  };
  return { layers, params, bytes, total: Object.values(bytes).reduce((a, b) => a + b, 0) };
}
