/**
 * The messages between the page (main.ts) and the training worker (worker.ts). The worker owns the
 * data, the model and every number; the page only draws what a Snapshot carries.
 */
import type { SparseCheckRow } from '../src/linalg/gradcheck.js';

/** What the form sets: config keys (src/config/config.ts), as typed; absent keys take the preset's value. */
export type FormValues = Partial<{
  dataset: 'mnist' | 'cifar';
  model: 'linear' | 'mlp';
  hidden: number[];
  normalization: 'none' | 'batchnorm' | 'layernorm';
  dropoutKeep: number;
  updateRule: 'sgd' | 'sgd_momentum' | 'rmsprop' | 'adam';
  lr: number;
  reg: number;
  batchSize: number;
  epochs: number;
  seed: number;
}>;

export type ToWorker =
  | { type: 'setup'; form: FormValues }
  | { type: 'run' }
  | { type: 'pause' }
  | { type: 'step' }
  | { type: 'inspect'; index: number }
  | { type: 'gradcheck' }
  | { type: 'predict'; pixels: Uint8Array }
  | { type: 'checkpoint' }
  | { type: 'load'; bytes: Uint8Array; name: string }
  | { type: 'probe'; rows: number }
  | { type: 'bench'; steps: number };

/** A histogram: `counts` in equal bins over [lo, hi]. */
export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
}

/** One image of the training split seen through the model: the softmax's quantities for it. */
export interface Inspection {
  index: number;
  label: number;
  /** The raw bytes, `shape` (height, width, channels: HWC). */
  pixels: Uint8Array;
  shape: [number, number, number];
  /** The dataset's class names. */
  classes: string[];
  scores: number[];
  p: number[];
  loss: number;
  /** P − onehot(y): ∂L/∂scores for this one image. */
  dp: number[];
  /** diag(p) − ppᵀ, row-major C×C (layers/softmax.ts softmaxJacobian). */
  jacobian: number[];
}

export interface Snapshot {
  type: 'snapshot';
  it: number;
  iterations: number;
  epoch: number;
  lr: number;
  running: boolean;
  done: boolean;
  /** Losses of the steps since the last snapshot: [it, loss] pairs. */
  losses: [number, number][];
  /** Every epoch so far. */
  epochs: { epoch: number; it: number; trainAcc: number; valAcc: number }[];
  bestValAcc: number | null;
  /** Weight templates (softmax: one per class) or first-layer filters (MLP), each side×side×channels (HWC). */
  filters: { side: number; channels: number; count: number; data: Float32Array; title: string };
  /** The model's shape, e.g. `softmax: W (3073,10)`. */
  shape: string;
  /** Per layer: its output's and its gradient's histograms on the last minibatch. */
  layers: { name: string; acts: Histogram; grads: Histogram }[];
  /** ‖ΔW‖/‖W‖ of each weight matrix at the last step. */
  ratios: { name: string; value: number }[];
  inspect: Inspection;
  engine: string;
  config: Record<string, unknown>;
}

export type FromWorker =
  | Snapshot
  | { type: 'status'; text: string }
  | { type: 'error'; message: string }
  | { type: 'gradcheck'; params: { name: string; rows: (SparseCheckRow & { judged: number; resolved: boolean })[] }[]; threshold: number; pass: boolean; rowsUsed: number }
  | { type: 'prediction'; p: number[]; predicted: number }
  | { type: 'checkpoint'; bytes: Uint8Array; name: string; valAcc: number | null }
  | { type: 'probe'; loss: number; grad: Float32Array; engine: string }
  | { type: 'bench'; steps: number; msPerStep: number; engine: string };
