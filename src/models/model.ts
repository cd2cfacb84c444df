/**
 * The model interface, as in cs231n: `loss(X)` returns class scores, `loss(X, y)` returns the
 * data loss plus the L2 term and gradients keyed like the parameters.
 *
 * L2 convention (both models, as cs231n's softmax.py and neural_net.py): the loss adds
 * reg·ΣW² over weight matrices only (never biases), and its gradient adds 2·reg·W.
 */
import type { FloatArray, Mat } from '../linalg/mat.js';
import type { ParamSet } from './params.js';

export type Labels = Int32Array | Uint8Array;

export interface LossResult<T extends FloatArray = FloatArray> {
  /** Data loss (mean cross-entropy) plus the L2 term. */
  loss: number;
  /** Gradients, laid out exactly like `params` (grads.views.W1 ↔ params.views.W1). */
  grads: ParamSet<T>;
}

export type ModelKind = 'softmax' | 'mlp';

export interface ModelSpec {
  kind: ModelKind;
  /** Input columns D (for softmax this includes the bias column). */
  inputDim: number;
  /** Hidden layer sizes (mlp only; empty for softmax). */
  hidden: number[];
  numClasses: number;
}

export interface Model<T extends FloatArray = FloatArray> {
  readonly spec: ModelSpec;
  /** Parameters; the optimizer updates params.flat in place. */
  readonly params: ParamSet<T>;
  /** L2 strength: loss term reg·ΣW² over weights. */
  reg: number;
  /**
   * When true, loss() writes its activations, scores and gradients into buffers the model keeps
   * (one set per row count), so a training loop allocates nothing per step; each call then
   * overwrites what the previous call with as many rows returned. The trainer sets it (it uses
   * the results at once); left false, every call returns fresh arrays that the caller may keep.
   */
  reuseBuffers?: boolean;
  /** X (N,D) → scores (N,C). */
  loss(X: Mat<T>): Mat<T>;
  /** X (N,D), y (N) → { loss, grads }. */
  loss(X: Mat<T>, y: Labels): LossResult<T>;
}
