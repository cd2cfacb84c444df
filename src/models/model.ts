/**
 * The model interface, as in cs231n: `loss(X)` returns class scores, `loss(X, y)` returns the
 * data loss plus the L2 term and gradients keyed like the parameters. As cs231n's
 * FullyConnectedNet, loss(X, y) is train mode (batch statistics, running averages updated,
 * dropout on) and loss(X) test mode (running statistics, no dropout).
 *
 * L2 convention (both models, as cs231n's softmax.py and neural_net.py): the loss adds
 * reg·ΣW² over weight matrices only (never biases), and its gradient adds 2·reg·W.
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import type { Workspace } from './buffers.js';
import type { ParamSet } from './params.js';

export type Labels = Int32Array | Uint8Array;

export interface LossResult<T extends FloatArray = FloatArray> {
  /** Data loss (mean cross-entropy, or mean hinge for spec.loss svm) plus the L2 term. */
  loss: number;
  /** Gradients, laid out exactly like `params` (grads.views.W1 ↔ params.views.W1). */
  grads: ParamSet<T>;
}

/**
 * 'softmax' is the linear model (the config's model linear), whichever its loss: the name every
 * checkpoint header, export and summary.json has carried since before the config took the loss
 * as its own key; renaming it would change those files and need an alias in each reader.
 */
export type ModelKind = 'softmax' | 'mlp';

/** The data loss on the scores: softmax cross-entropy, or the multiclass SVM's hinge (Δ = 1). */
export type LossKind = 'softmax' | 'svm';
export const LOSS_KINDS: readonly LossKind[] = ['softmax', 'svm'];

/** Where an MLP normalizes each hidden layer's affine output (cs231n FullyConnectedNet); absent: none. */
export type Normalization = 'batchnorm' | 'layernorm';
export const NORMALIZATIONS: readonly Normalization[] = ['batchnorm', 'layernorm'];

export interface ModelSpec {
  kind: ModelKind;
  /** Input columns D (for softmax this includes the bias column). */
  inputDim: number;
  /** Hidden layer sizes (mlp only; empty for softmax). */
  hidden: number[];
  numClasses: number;
  /** The data loss; absent means softmax. */
  loss?: LossKind;
  /** mlp only: affine → norm → ReLU per hidden layer; absent: no normalization. */
  normalization?: Normalization;
  /** mlp only: inverted dropout after each hidden ReLU, keeping units with this probability; absent: 1 (no dropout). */
  dropoutKeep?: number;
}

export interface Model<T extends FloatArray = FloatArray> {
  readonly spec: ModelSpec;
  /** Parameters; the optimizer updates params.flat in place. */
  readonly params: ParamSet<T>;
  /** L2 strength: loss term reg·ΣW² over weights. */
  reg: number;
  /**
   * X (N,D) → scores (N,C). With a workspace (buffers.ts) the scores are written into it, and
   * the next call with as many rows overwrites them; without one they are a fresh array.
   */
  loss(X: Mat<T>, y?: undefined, ws?: Workspace<T>): Mat<T>;
  /**
   * X (N,D), y (N) → { loss, grads }. With a workspace, its activations and gradient are used
   * (a training loop then allocates nothing per step; the trainer makes one); without one, every
   * call returns fresh arrays that the caller may keep.
   */
  loss(X: Mat<T>, y: Labels, ws?: Workspace<T>): LossResult<T>;
  /**
   * Train mode (loss(X, y)) changes more than its result: batch norm's running statistics and
   * the position of the Rng the dropout masks come from. This saves both; the function it
   * returns puts them back. Absent: loss changes nothing.
   */
  saveTrainState?(): () => void;
}
