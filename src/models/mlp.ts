/**
 * Fully connected network, cs231n `fc_net.py` / `neural_net.py`:
 *
 *   affine → ReLU → affine → ReLU → … → affine → softmax loss (or the SVM's hinge, spec.loss svm)
 *   h1 = max(0, X·W1 + b1),  h2 = max(0, h1·W2 + b2),  …,  scores = hL·W(L+1) + b(L+1)
 *
 * Parameters W1, b1, W2, b2, … in that order in one flat buffer; each b is a (1,M) matrix.
 * Weights start as initStd·randn (drawn in the order W1, W2, …), biases as 0.
 *
 * L2 convention (see model.ts): loss = data loss + reg·Σ_l ΣWl², dWl += 2·reg·Wl; biases are
 * not regularized.
 */
import { type FloatArray, type FloatArrayCtor, type Mat, shapeStr } from '../linalg/mat.js';
import type { Rng } from '../linalg/rng.js';
import { affineBackward, affineForward } from '../layers/affine.js';
import { type AffineReluCache, affineReluBackward, affineReluForward } from '../layers/affine_relu.js';
import { addL2 } from '../layers/l2.js';
import type { Labels, LossKind, LossResult, Model, ModelSpec } from './model.js';
import { dataLossOf } from './loss.js';
import { type Workspace, matsFor } from './buffers.js';
import { type ParamSet, type ParamSpec, allocGrads, allocParams } from './params.js';
import type { Allocator } from '../linalg/alloc.js';

export interface MlpOptions {
  /** Input columns D (no bias column: the layers have their own biases). */
  inputDim: number;
  /** Hidden layer sizes, at least one, e.g. [100] or [100, 50]. */
  hidden: number[];
  /** Number of classes C. */
  numClasses: number;
  /** Weights start as initStd·N(0,1); biases as 0. */
  initStd: number;
  /** L2 strength: loss adds reg·ΣW² over the weight matrices. */
  reg: number;
  /** Array type of the parameters: Float32Array for training (default), Float64Array for gradient checks. */
  dtype?: FloatArrayCtor;
  /** Where the parameters (and room for their gradient) go: the engine's allocator for a model to train; plain arrays by default. */
  alloc?: Allocator;
  /** The data loss on the scores: softmax (default) or svm (the hinge of layers/svm_loss.ts). */
  loss?: LossKind;
}

/** Parameter layout: W1 (D,H1), b1 (1,H1), W2 (H1,H2), b2 (1,H2), …, W(L+1) (HL,C), b(L+1) (1,C). */
export function mlpParamSpecs(inputDim: number, hidden: number[], numClasses: number): ParamSpec[] {
  const dims = [inputDim, ...hidden, numClasses];
  const specs: ParamSpec[] = [];
  for (let l = 1; l < dims.length; l++) {
    specs.push({ name: `W${l}`, rows: dims[l - 1], cols: dims[l] });
    specs.push({ name: `b${l}`, rows: 1, cols: dims[l] });
  }
  return specs;
}

/**
 * An MLP with freshly initialised parameters.
 * X (N,D) → scores (N,C);  X (N,D), y (N) → { loss, grads W1, b1, … }
 */
export function createMlp(opts: MlpOptions & { dtype: Float64ArrayConstructor }, rng: Rng): Model<Float64Array>;
export function createMlp(opts: MlpOptions & { dtype?: Float32ArrayConstructor }, rng: Rng): Model<Float32Array>;
export function createMlp(opts: MlpOptions, rng: Rng): Model;
export function createMlp(opts: MlpOptions, rng: Rng): Model {
  const spec: ModelSpec = { kind: 'mlp', inputDim: opts.inputDim, hidden: [...opts.hidden], numClasses: opts.numClasses, ...(opts.loss ? { loss: opts.loss } : {}) };
  checkMlpOptions(spec, opts.initStd, opts.reg);
  const params = allocParams(mlpParamSpecs(spec.inputDim, spec.hidden, spec.numClasses), opts.dtype ?? Float32Array, opts.alloc);
  for (let l = 1; l <= spec.hidden.length + 1; l++) rng.fillNormal(params.views[`W${l}`].data, opts.initStd);
  return mlpFromParams(spec, params, opts.reg);
}

/**
 * Wrap an existing parameter set (layout already checked by the caller) as an MLP.
 * The model uses `params` itself, not a copy.
 */
export function mlpFromParams<T extends FloatArray>(spec: ModelSpec, params: ParamSet<T>, reg: number): Model<T> {
  const L = spec.hidden.length; // number of hidden layers; there are L+1 affine layers
  const dims = [spec.inputDim, ...spec.hidden, spec.numClasses]; // layer l maps dims[l-1] → dims[l]
  const Ctor = params.flat.constructor as FloatArrayCtor;
  const dataLoss = dataLossOf(spec); // softmax cross-entropy, or the SVM's hinge
  function loss(X: Mat<T>, y?: undefined, ws?: Workspace<T>): Mat<T>;
  function loss(X: Mat<T>, y: Labels, ws?: Workspace<T>): LossResult<T>;
  function loss(X: Mat<T>, y?: Labels, ws?: Workspace<T>): Mat<T> | LossResult<T> {
    const v = params.views;
    checkInput('mlp.loss', X, v.W1);
    const N = X.rows;
    const mat = matsFor(ws, Ctor, N);

    // Forward: L affine→ReLU layers, then the scoring affine layer.
    const hiddenCaches: AffineReluCache<T>[] = [];
    let h = X;
    for (let l = 1; l <= L; l++) {
      const r = affineReluForward(h, v[`W${l}`], v[`b${l}`], mat(`h${l}`, dims[l]));
      hiddenCaches.push(r.cache);
      h = r.out;
    }
    const last = affineForward(h, v[`W${L + 1}`], v[`b${L + 1}`], mat('scores', dims[L + 1]));
    const scores = last.out;
    if (y === undefined) return scores;

    const data = dataLoss(scores, y, mat('dscores', dims[L + 1]));
    // Every entry of grads is overwritten below, so a workspace's needs no clearing.
    const grads = ws?.grads ?? allocGrads(params);
    const g = grads.views;

    // Backward, last layer first, each layer writing dW and db straight into the gradient
    // buffer. Layer 1's input is the data, so its dx is skipped.
    //   dh{l}: gradient at hidden layer l's output;  da{l}: at its pre-activation (after the ReLU mask)
    const top = affineBackward(data.dscores, last.cache, true, { dx: mat(`dh${L}`, dims[L]), dw: g[`W${L + 1}`], db: g[`b${L + 1}`] }); // L ≥ 1
    let dh = top.dx!;
    for (let l = L; l >= 1; l--) {
      const into = { da: mat(`da${l}`, dims[l]), dx: l > 1 ? mat(`dh${l - 1}`, dims[l - 1]) : undefined, dw: g[`W${l}`], db: g[`b${l}`] };
      const r = affineReluBackward(dh, hiddenCaches[l - 1], l > 1, into);
      if (r.dx !== null) dh = r.dx;
    }

    // L2 on the weights only.
    let regLoss = 0;
    for (let l = 1; l <= L + 1; l++) regLoss += addL2(v[`W${l}`], model.reg, g[`W${l}`]);
    return { loss: data.loss + regLoss, grads };
  }
  const model: Model<T> = { spec, params, reg, loss };
  return model;
}

/** X must be (N,D) with the parameters' array type. */
function checkInput<T extends FloatArray>(where: string, X: Mat<T>, W1: Mat<T>): void {
  if (X.cols !== W1.rows || X.data.length !== X.rows * X.cols) {
    throw new Error(`${where}: X has shape ${shapeStr(X)} but the model takes (N,${W1.rows}) inputs`);
  }
  if (X.data.constructor !== W1.data.constructor) {
    throw new Error(
      `${where}: X is ${X.data.constructor.name} but the parameters are ${W1.data.constructor.name}; ` +
        'convert X, or build the model with the matching dtype',
    );
  }
}

/** Positive integer sizes, at least one hidden layer, finite initStd ≥ 0 and reg ≥ 0. */
function checkMlpOptions(spec: ModelSpec, initStd: number, reg: number): void {
  const where = 'createMlp';
  const sizes: [string, number][] = [
    ['inputDim', spec.inputDim],
    ['numClasses', spec.numClasses],
    ...spec.hidden.map((h, i): [string, number] => [`hidden[${i}]`, h]),
  ];
  for (const [name, n] of sizes) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${n}`);
  }
  if (spec.hidden.length === 0) {
    throw new Error(`${where}: hidden must list at least one layer size (for a linear classifier use the softmax model)`);
  }
  if (!(Number.isFinite(initStd) && initStd >= 0)) throw new Error(`${where}: initStd must be a finite number ≥ 0, got ${initStd}`);
  if (!(Number.isFinite(reg) && reg >= 0)) throw new Error(`${where}: reg must be a finite number ≥ 0, got ${reg}`);
}
