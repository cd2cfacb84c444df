/**
 * The activation plan, as llm.c's act_sizes: from the model spec alone, every matrix a loss()
 * call computes in, layer by layer, with its width. allocActs then makes all of them for a batch
 * of N rows at once (N is known when a batch arrives: the training batch, an evaluation chunk),
 * the forward part for every call and the backward part for train mode only.
 *
 * Per hidden layer l, H units, its input D wide (cs231n's names):
 *   forward   out (N,H)   the sandwich's output (affine → [norm] → ReLU)
 *             a (N,H)     with a norm: the affine output x·W + b (without one the fused
 *                         affine → ReLU writes straight into out)
 *             xhat (N,H)  with a norm: x̂;  stats (3,H) batch norm's μ, σ², 1/σ;  invStd (N,1) layer norm's 1/σ per row
 *             drop, mask (N,H)   with dropout: its output and mask
 *   backward  ddrop (N,H) with dropout: the gradient at the ReLU's output
 *             dz (N,H)    with a norm: at the norm's output;   da (N,H): at the affine output
 *             dx (N,D)    at the layer's input (the layer below's output); none for layer 1 (its input is data)
 * and on top scores (N,C), dscores (N,C), and dtop (N,H_L): the gradient at the last hidden
 * layer's output. The linear model is the same plan with no hidden layers.
 */
import { type Allocator, PLAIN } from '../linalg/alloc.js';
import type { FloatArray, FloatArrayCtor, Mat } from '../linalg/mat.js';
import type { Workspace } from './buffers.js';
import type { ModelSpec } from './model.js';

/** The hidden layer's sandwich (cs231n layer_utils): affine → ReLU, or with batch or layer norm between. */
export type SandwichKind = 'affine_relu' | 'affine_bn_relu' | 'affine_ln_relu';

/** One hidden layer of the plan: its sandwich, its input and output widths, and whether dropout follows. */
export interface HiddenPlan {
  kind: SandwichKind;
  inCols: number;
  cols: number;
  dropout: boolean;
}

export interface ActPlan {
  hidden: HiddenPlan[];
  /** Classes C: the width of the scores. */
  classes: number;
}

/** One hidden layer's forward matrices for a batch (see the top of the file). */
export interface HiddenActs<T extends FloatArray = FloatArray> {
  out: Mat<T>;
  a?: Mat<T>;
  xhat?: Mat<T>;
  stats?: Mat<T>;
  invStd?: Mat<T>;
  drop?: Mat<T>;
  mask?: Mat<T>;
}

/** One hidden layer's backward matrices for a batch. */
export interface HiddenGradActs<T extends FloatArray = FloatArray> {
  ddrop?: Mat<T>;
  dz?: Mat<T>;
  da: Mat<T>;
  dx?: Mat<T>;
}

export interface ForwardActs<T extends FloatArray = FloatArray> {
  hidden: HiddenActs<T>[];
  scores: Mat<T>;
}

export interface BackwardActs<T extends FloatArray = FloatArray> {
  hidden: HiddenGradActs<T>[];
  dscores: Mat<T>;
  /** At the last hidden layer's output (N,H_L); absent without hidden layers. */
  dtop?: Mat<T>;
}

const SANDWICH: Record<'none' | NonNullable<ModelSpec['normalization']>, SandwichKind> = {
  none: 'affine_relu',
  batchnorm: 'affine_bn_relu',
  layernorm: 'affine_ln_relu',
};

/** The plan of a model: its hidden layers (none for the linear model) and the width of its scores. */
export function actPlan(spec: ModelSpec): ActPlan {
  const kind = SANDWICH[spec.normalization ?? 'none'];
  const dropout = spec.dropoutKeep !== undefined && spec.dropoutKeep !== 1; // cs231n: use_dropout = keep_ratio != 1
  const dims = [spec.inputDim, ...spec.hidden];
  const hidden = spec.hidden.map((cols, i) => ({ kind, inCols: dims[i], cols, dropout }));
  return { hidden, classes: spec.numClasses };
}

/** Numbers in one matrix of `rows` rows, `cols` columns, in `alloc`'s memory. */
function newMat<T extends FloatArray>(rows: number, cols: number, Ctor: FloatArrayCtor, alloc: Allocator): Mat<T> {
  return { rows, cols, data: alloc.float(Ctor, rows * cols) as T };
}

/** Every forward matrix of `plan` for a batch of N rows. */
export function allocForwardActs<T extends FloatArray>(plan: ActPlan, N: number, Ctor: FloatArrayCtor, alloc: Allocator): ForwardActs<T> {
  const mat = (rows: number, cols: number) => newMat<T>(rows, cols, Ctor, alloc);
  const hidden = plan.hidden.map(({ kind, cols: H, dropout }) => {
    const acts: HiddenActs<T> = { out: mat(N, H) };
    if (kind !== 'affine_relu') Object.assign(acts, { a: mat(N, H), xhat: mat(N, H) });
    if (kind === 'affine_bn_relu') acts.stats = mat(3, H);
    if (kind === 'affine_ln_relu') acts.invStd = mat(N, 1);
    if (dropout) Object.assign(acts, { drop: mat(N, H), mask: mat(N, H) });
    return acts;
  });
  return { hidden, scores: mat(N, plan.classes) };
}

/** Every backward matrix of `plan` for a batch of N rows. */
export function allocBackwardActs<T extends FloatArray>(plan: ActPlan, N: number, Ctor: FloatArrayCtor, alloc: Allocator): BackwardActs<T> {
  const mat = (rows: number, cols: number) => newMat<T>(rows, cols, Ctor, alloc);
  const hidden = plan.hidden.map(({ kind, inCols, cols: H, dropout }, i) => {
    const acts: HiddenGradActs<T> = { da: mat(N, H) };
    if (dropout) acts.ddrop = mat(N, H);
    if (kind !== 'affine_relu') acts.dz = mat(N, H);
    if (i > 0) acts.dx = mat(N, inCols);
    return acts;
  });
  const L = plan.hidden.length;
  const acts: BackwardActs<T> = { hidden, dscores: mat(N, plan.classes) };
  if (L > 0) acts.dtop = mat(N, plan.hidden[L - 1].cols);
  return acts;
}

/** The forward matrices for N rows: the workspace's (the same on every call with N rows), else fresh ones. */
export function forwardActs<T extends FloatArray>(ws: Workspace<T> | undefined, plan: ActPlan, N: number, Ctor: FloatArrayCtor): ForwardActs<T> {
  return ws !== undefined ? ws.acts.get(plan, N, allocForwardActs<T>) : allocForwardActs<T>(plan, N, Ctor, PLAIN);
}

/** The backward matrices for N rows: the workspace's, else fresh ones. */
export function backwardActs<T extends FloatArray>(ws: Workspace<T> | undefined, plan: ActPlan, N: number, Ctor: FloatArrayCtor): BackwardActs<T> {
  return ws !== undefined ? ws.acts.get(plan, N, allocBackwardActs<T>) : allocBackwardActs<T>(plan, N, Ctor, PLAIN);
}
