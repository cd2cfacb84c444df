/**
 * Linear softmax classifier, cs231n `softmax.py`: scores = X·W, softmax cross-entropy loss.
 * With spec.loss svm the same model is cs231n's linear SVM (`linear_svm.py`): the hinge loss of
 * layers/svm_loss.ts on the same scores, everything else alike.
 *
 * The bias is folded into W by the bias trick: the data carries a trailing column of ones, so
 * `inputDim` D includes it and W is (D,C) with the bias in its last row. That row is therefore
 * regularized too, as in cs231n's linear classifier.
 *
 * L2 convention (see model.ts): loss = data loss + reg·ΣW², dW += 2·reg·W.
 */
import { type FloatArray, type FloatArrayCtor, type Mat, shapeStr } from '../linalg/mat.js';
import type { Rng } from '../linalg/rng.js';
import { affineBackward, affineForward } from '../layers/affine.js';
import { addL2 } from '../layers/l2.js';
import type { Labels, LossKind, LossResult, Model, ModelSpec } from './model.js';
import { dataLossOf } from './loss.js';
import type { Workspace } from './buffers.js';
import { actPlan, backwardActs, forwardActs } from './act_plan.js';
import { type ParamSet, type ParamSpec, allocGrads, allocParams } from './params.js';
import type { Allocator } from '../linalg/alloc.js';

export interface SoftmaxOptions {
  /** Input columns D, including the bias column of ones. */
  inputDim: number;
  /** Number of classes C. */
  numClasses: number;
  /** W starts as initStd·N(0,1); small (e.g. 1e-3) so the initial loss is near ln C. */
  initStd: number;
  /** L2 strength: loss adds reg·ΣW². */
  reg: number;
  /** Array type of the parameters: Float32Array for training (default), Float64Array for gradient checks. */
  dtype?: FloatArrayCtor;
  /** Where the parameters (and room for their gradient) go: the engine's allocator for a model to train; plain arrays by default. */
  alloc?: Allocator;
  /** The data loss: softmax (default), or svm for the linear multiclass SVM (cs231n `linear_svm.py`). */
  loss?: LossKind;
}

/** Parameter layout of the softmax classifier: W (D,C). */
export function softmaxParamSpecs(inputDim: number, numClasses: number): ParamSpec[] {
  return [{ name: 'W', rows: inputDim, cols: numClasses }];
}

/**
 * A softmax classifier with freshly initialised weights W = initStd·randn (D,C).
 * X (N,D) → scores (N,C);  X (N,D), y (N) → { loss, grads.W (D,C) }
 */
export function createSoftmax(opts: SoftmaxOptions & { dtype: Float64ArrayConstructor }, rng: Rng): Model<Float64Array>;
export function createSoftmax(opts: SoftmaxOptions & { dtype?: Float32ArrayConstructor }, rng: Rng): Model<Float32Array>;
export function createSoftmax(opts: SoftmaxOptions, rng: Rng): Model;
export function createSoftmax(opts: SoftmaxOptions, rng: Rng): Model {
  const spec: ModelSpec = { kind: 'softmax', inputDim: opts.inputDim, hidden: [], numClasses: opts.numClasses, ...(opts.loss ? { loss: opts.loss } : {}) };
  for (const [name, n] of [
    ['inputDim', spec.inputDim],
    ['numClasses', spec.numClasses],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`createSoftmax: ${name} must be a positive integer, got ${n}`);
  }
  if (!(Number.isFinite(opts.initStd) && opts.initStd >= 0)) throw new Error(`createSoftmax: initStd must be a finite number ≥ 0, got ${opts.initStd}`);
  if (!(Number.isFinite(opts.reg) && opts.reg >= 0)) throw new Error(`createSoftmax: reg must be a finite number ≥ 0, got ${opts.reg}`);
  const params = allocParams(softmaxParamSpecs(spec.inputDim, spec.numClasses), opts.dtype ?? Float32Array, opts.alloc);
  rng.fillNormal(params.views.W.data, opts.initStd);
  return softmaxFromParams(spec, params, opts.reg);
}

/**
 * Wrap an existing parameter set (layout already checked by the caller) as a softmax model.
 * The model uses `params` itself, not a copy.
 */
export function softmaxFromParams<T extends FloatArray>(spec: ModelSpec, params: ParamSet<T>, reg: number): Model<T> {
  const Ctor = params.flat.constructor as FloatArrayCtor;
  const dataLoss = dataLossOf(spec); // softmax cross-entropy, or the SVM's hinge
  const plan = actPlan(spec); // no hidden layers: the scores and their gradient
  function loss(X: Mat<T>, y?: undefined, ws?: Workspace<T>): Mat<T>;
  function loss(X: Mat<T>, y: Labels, ws?: Workspace<T>): LossResult<T>;
  function loss(X: Mat<T>, y?: Labels, ws?: Workspace<T>): Mat<T> | LossResult<T> {
    const W = params.views.W;
    if (X.cols !== W.rows || X.data.length !== X.rows * X.cols) {
      throw new Error(`softmax.loss: X has shape ${shapeStr(X)} but the model takes (N,${W.rows}) inputs (the bias column included)`);
    }
    if (X.data.constructor !== W.data.constructor) {
      throw new Error(`softmax.loss: X is ${X.data.constructor.name} but W is ${W.data.constructor.name}; convert X, or build the model with the matching dtype`);
    }
    // Forward: scores = X·W (no separate bias: it is the last row of W).
    const { out: scores, cache } = affineForward(X, W, null, forwardActs(ws, plan, X.rows, Ctor).scores);
    if (y === undefined) return scores;

    const data = dataLoss(scores, y, backwardActs(ws, plan, X.rows, Ctor).dscores);
    // Every entry of grads is overwritten below, so a workspace's needs no clearing.
    const grads = ws?.grads ?? allocGrads(params);
    // Backward: dW = Xᵀ·dscores; X is data, so no dX.
    affineBackward(data.dscores, cache, false, { dw: grads.views.W }); // dW = Xᵀ·dscores, written in place
    const regLoss = addL2(W, model.reg, grads.views.W);
    return { loss: data.loss + regLoss, grads };
  }
  const model: Model<T> = { spec, params, reg, loss };
  return model;
}
