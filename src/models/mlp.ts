/**
 * Fully connected network, cs231n `fc_net.py` / `neural_net.py`:
 *
 *   affine → ReLU → affine → ReLU → … → affine → softmax loss (or the SVM's hinge, spec.loss svm)
 *   h1 = max(0, X·W1 + b1),  h2 = max(0, h1·W2 + b2),  …,  scores = hL·W(L+1) + b(L+1)
 *
 * With spec.normalization and spec.dropoutKeep, each hidden layer is cs231n FullyConnectedNet's
 *
 *   affine → [batchnorm | layernorm] → ReLU → [dropout]
 *
 * Parameters W1, b1, W2, b2, … in that order in one flat buffer; each b is a (1,M) matrix. With a
 * normalization, gamma1, beta1, …, gammaL, betaL (1,H_l) follow, and for batch norm the running
 * statistics running_mean1, running_var1, … last (stat specs: in the buffer and the checkpoint,
 * not trained). Weights start as initStd·randn (drawn in the order W1, W2, …), biases as 0,
 * gammas as 1, betas as 0, running means and variances as 0 (cs231n's np.zeros).
 *
 * Train mode is loss(X, y): batch statistics (running averages updated), dropout masks drawn from
 * the model's Rng (the run's), or from a fixed seed for gradient checks. Test mode is loss(X):
 * running statistics, no dropout.
 *
 * L2 convention (see model.ts): loss = data loss + reg·Σ_l ΣWl², dWl += 2·reg·Wl; biases, gammas
 * and betas are not regularized.
 */
import { type FloatArray, type FloatArrayCtor, type Mat, shapeStr } from '../linalg/mat.js';
import type { Rng } from '../linalg/rng.js';
import { type AffineCache, affineBackward, affineForward } from '../layers/affine.js';
import { type AffineReluCache, affineReluBackward, affineReluForward } from '../layers/affine_relu.js';
import { type AffineBnReluCache, type AffineLnReluCache, affineBnReluBackward, affineBnReluForward, affineLnReluBackward, affineLnReluForward } from '../layers/affine_norm_relu.js';
import type { NormMode } from '../layers/batchnorm.js';
import { type DropoutCache, dropoutBackward, dropoutForward } from '../layers/dropout.js';
import { addL2 } from '../layers/l2.js';
import type { Labels, LossKind, LossResult, Model, ModelSpec, Normalization } from './model.js';
import { dataLossOf } from './loss.js';
import type { Workspace } from './buffers.js';
import { type ActPlan, type BackwardActs, type ForwardActs, type HiddenActs, type HiddenGradActs, type SandwichKind, actPlan, backwardActs, forwardActs } from './act_plan.js';
import { type ParamSet, type ParamSpec, allocGrads, allocParams, trainableCount } from './params.js';
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
  /** affine → norm → ReLU per hidden layer; absent: none. */
  normalization?: Normalization;
  /** Dropout keep probability after each hidden ReLU; absent or 1: no dropout. */
  dropoutKeep?: number;
  /** A fixed dropout mask (cs231n's dropout_param seed, for gradient checks): every train-mode call draws the same one. Absent: masks from the model's Rng. */
  dropoutSeed?: number;
}

/** Where train-mode dropout masks come from: the run's Rng, or a fixed seed (gradient checks). */
export interface DropoutSource {
  rng?: Rng;
  seed?: number;
}

/**
 * Parameter layout: W1 (D,H1), b1 (1,H1), W2 (H1,H2), b2 (1,H2), …, W(L+1) (HL,C), b(L+1) (1,C);
 * with a normalization then gamma1, beta1, …, gammaL, betaL (1,H_l); with batch norm then the
 * stat specs running_mean1, running_var1, …, running_meanL, running_varL (1,H_l).
 */
export function mlpParamSpecs(inputDim: number, hidden: number[], numClasses: number, normalization?: Normalization): ParamSpec[] {
  const dims = [inputDim, ...hidden, numClasses];
  const specs: ParamSpec[] = [];
  for (let l = 1; l < dims.length; l++) {
    specs.push({ name: `W${l}`, rows: dims[l - 1], cols: dims[l] });
    specs.push({ name: `b${l}`, rows: 1, cols: dims[l] });
  }
  if (normalization === undefined) return specs;
  for (let l = 1; l <= hidden.length; l++) {
    specs.push({ name: `gamma${l}`, rows: 1, cols: hidden[l - 1] });
    specs.push({ name: `beta${l}`, rows: 1, cols: hidden[l - 1] });
  }
  if (normalization === 'batchnorm') {
    for (let l = 1; l <= hidden.length; l++) {
      specs.push({ name: `running_mean${l}`, rows: 1, cols: hidden[l - 1], stat: true });
      specs.push({ name: `running_var${l}`, rows: 1, cols: hidden[l - 1], stat: true });
    }
  }
  return specs;
}

/**
 * An MLP with freshly initialised parameters. Its train-mode dropout masks come from `rng`
 * itself (the same object, so a run whose Rng state is restored draws the same masks), unless
 * opts.dropoutSeed fixes them.
 * X (N,D) → scores (N,C);  X (N,D), y (N) → { loss, grads W1, b1, … }
 */
export function createMlp(opts: MlpOptions & { dtype: Float64ArrayConstructor }, rng: Rng): Model<Float64Array>;
export function createMlp(opts: MlpOptions & { dtype?: Float32ArrayConstructor }, rng: Rng): Model<Float32Array>;
export function createMlp(opts: MlpOptions, rng: Rng): Model;
export function createMlp(opts: MlpOptions, rng: Rng): Model {
  const spec: ModelSpec = {
    kind: 'mlp',
    inputDim: opts.inputDim,
    hidden: [...opts.hidden],
    numClasses: opts.numClasses,
    ...(opts.loss ? { loss: opts.loss } : {}),
    ...(opts.normalization ? { normalization: opts.normalization } : {}),
    ...(opts.dropoutKeep !== undefined ? { dropoutKeep: opts.dropoutKeep } : {}),
  };
  checkMlpOptions(spec, opts.initStd, opts.reg);
  const params = allocParams(mlpParamSpecs(spec.inputDim, spec.hidden, spec.numClasses, spec.normalization), opts.dtype ?? Float32Array, opts.alloc);
  for (let l = 1; l <= spec.hidden.length + 1; l++) rng.fillNormal(params.views[`W${l}`].data, opts.initStd);
  if (spec.normalization) for (let l = 1; l <= spec.hidden.length; l++) params.views[`gamma${l}`].data.fill(1);
  return mlpFromParams(spec, params, opts.reg, opts.dropoutSeed !== undefined ? { seed: opts.dropoutSeed } : { rng });
}

/**
 * Wrap an existing parameter set (layout already checked by the caller) as an MLP.
 * The model uses `params` itself, not a copy. `dropout` says where train-mode masks come from;
 * a model with dropout and neither can only be used in test mode (eval).
 */
export function mlpFromParams<T extends FloatArray>(spec: ModelSpec, params: ParamSet<T>, reg: number, dropout: DropoutSource = {}): Model<T> {
  const net: Net<T> = { plan: actPlan(spec), params, keep: spec.dropoutKeep ?? 1, dropout, Ctor: params.flat.constructor as FloatArrayCtor };
  const dataLoss = dataLossOf(spec); // softmax cross-entropy, or the SVM's hinge

  // cs231n FullyConnectedNet.loss: forward through the hidden layers and the scoring layer; with
  // labels, the data loss, backward, and the L2 term on the weights.
  function loss(X: Mat<T>, y?: undefined, ws?: Workspace<T>): Mat<T>;
  function loss(X: Mat<T>, y: Labels, ws?: Workspace<T>): LossResult<T>;
  function loss(X: Mat<T>, y?: Labels, ws?: Workspace<T>): Mat<T> | LossResult<T> {
    checkInput('mlp.loss', X, params.views.W1);
    const mode = y === undefined ? 'test' : 'train';
    if (mode === 'train') checkDropoutSource(net);
    const fwd = mlpForward(net, X, mode, forwardActs(ws, net.plan, X.rows, net.Ctor));
    if (y === undefined) return fwd.scores;

    const bwd = backwardActs(ws, net.plan, X.rows, net.Ctor);
    const data = dataLoss(fwd.scores, y, bwd.dscores);
    // Every entry of grads is overwritten below, so a workspace's needs no clearing.
    const grads = ws?.grads ?? allocGrads(params);
    mlpBackward(net, data.dscores, fwd, bwd, grads.views);
    let regLoss = 0;
    for (let l = 1; l <= net.plan.hidden.length + 1; l++) regLoss += addL2(params.views[`W${l}`], model.reg, grads.views[`W${l}`]);
    return { loss: data.loss + regLoss, grads };
  }

  const model: Model<T> = { spec, params, reg, loss, saveTrainState: () => saveTrainState(params, dropout.rng, net.keep !== 1) };
  return model;
}

/** What the forward and backward passes read: the plan, the parameters, and dropout's keep probability and mask source. */
interface Net<T extends FloatArray> {
  plan: ActPlan;
  /** Read at every call: a caller may give the parameters another buffer (params.flat and views). */
  params: ParamSet<T>;
  keep: number;
  dropout: DropoutSource;
  Ctor: FloatArrayCtor;
}

/** What one hidden layer's forward saves for its backward: its sandwich's caches, and dropout's (null without dropout). */
interface HiddenCache<T extends FloatArray> {
  sandwich: SandwichCache<T>;
  drop: DropoutCache<T> | null;
}

type SandwichCache<T extends FloatArray> =
  { kind: 'affine_relu'; cache: AffineReluCache<T> } | { kind: 'affine_bn_relu'; cache: AffineBnReluCache<T> } | { kind: 'affine_ln_relu'; cache: AffineLnReluCache<T> };

interface Forward<T extends FloatArray> {
  scores: Mat<T>;
  hidden: HiddenCache<T>[];
  top: AffineCache<T>;
}

function checkDropoutSource<T extends FloatArray>(net: Net<T>): void {
  if (net.keep !== 1 && net.dropout.seed === undefined && net.dropout.rng === undefined) {
    throw new Error('mlp.loss: this model has dropout but no Rng for its masks (a model built from a checkpoint is for test mode, loss(X), only)');
  }
}

/** X (N,D) → scores (N,C) and every layer's cache: L hidden layers, then the scoring affine layer. */
function mlpForward<T extends FloatArray>(net: Net<T>, X: Mat<T>, mode: NormMode, acts: ForwardActs<T>): Forward<T> {
  const hidden: HiddenCache<T>[] = [];
  let h = X;
  net.plan.hidden.forEach((layer, i) => {
    const r = hiddenForward(net, i + 1, layer.kind, h, mode, acts.hidden[i]);
    hidden.push(r.cache);
    h = r.out;
  });
  const L = net.plan.hidden.length;
  const top = affineForward(h, net.params.views[`W${L + 1}`], net.params.views[`b${L + 1}`], acts.scores);
  return { scores: top.out, hidden, top: top.cache };
}

/** Hidden layer l: its sandwich (affine → [norm] → ReLU), then dropout. h (N,D) → out (N,H) */
function hiddenForward<T extends FloatArray>(net: Net<T>, l: number, kind: SandwichKind, h: Mat<T>, mode: NormMode, acts: HiddenActs<T>): { out: Mat<T>; cache: HiddenCache<T> } {
  const v = net.params.views;
  const [W, b] = [v[`W${l}`], v[`b${l}`]];
  let s: { out: Mat<T>; cache: SandwichCache<T> };
  if (kind === 'affine_relu') {
    const r = affineReluForward(h, W, b, acts.out);
    s = { out: r.out, cache: { kind, cache: r.cache } };
  } else if (kind === 'affine_bn_relu') {
    const bnParam = { mode, runningMean: v[`running_mean${l}`], runningVar: v[`running_var${l}`] };
    const r = affineBnReluForward(h, W, b, v[`gamma${l}`], v[`beta${l}`], bnParam, acts);
    s = { out: r.out, cache: { kind, cache: r.cache } };
  } else {
    const r = affineLnReluForward(h, W, b, v[`gamma${l}`], v[`beta${l}`], acts);
    s = { out: r.out, cache: { kind, cache: r.cache } };
  }
  if (net.keep === 1) return { out: s.out, cache: { sandwich: s.cache, drop: null } };
  const param = { p: net.keep, mode, seed: net.dropout.seed, rng: net.dropout.rng };
  const d = dropoutForward(s.out, param, { out: acts.drop, mask: acts.mask });
  return { out: d.out, cache: { sandwich: s.cache, drop: d.cache } };
}

/**
 * Backward, last layer first, each layer writing dW and db (and dgamma, dbeta) straight into the
 * gradient `g`. Layer 1's input is the data, so its dx is skipped.
 */
function mlpBackward<T extends FloatArray>(net: Net<T>, dscores: Mat<T>, fwd: Forward<T>, acts: BackwardActs<T>, g: Record<string, Mat<T>>): void {
  const L = net.plan.hidden.length; // ≥ 1: there are L+1 affine layers
  const top = affineBackward(dscores, fwd.top, true, { dx: acts.dtop, dw: g[`W${L + 1}`], db: g[`b${L + 1}`] });
  let dh = top.dx; // the gradient at hidden layer l's output
  for (let l = L; l >= 1 && dh !== null; l--) dh = hiddenBackward(l, dh, fwd.hidden[l - 1], acts.hidden[l - 1], g);
}

/** Hidden layer l's backward: dropout, then its sandwich. dout (N,H) → dx (N,D), or null for layer 1. */
function hiddenBackward<T extends FloatArray>(l: number, dout: Mat<T>, c: HiddenCache<T>, acts: HiddenGradActs<T>, g: Record<string, Mat<T>>): Mat<T> | null {
  const dh = c.drop === null ? dout : dropoutBackward(dout, c.drop, acts.ddrop); // dout·mask
  const into = { ...acts, dw: g[`W${l}`], db: g[`b${l}`], dgamma: g[`gamma${l}`], dbeta: g[`beta${l}`] };
  const s = c.sandwich;
  if (s.kind === 'affine_relu') return affineReluBackward(dh, s.cache, l > 1, into).dx;
  if (s.kind === 'affine_bn_relu') return affineBnReluBackward(dh, s.cache, l > 1, into).dx;
  return affineLnReluBackward(dh, s.cache, l > 1, into).dx;
}

/**
 * What train mode changes besides its result: the running statistics (after the trainable
 * parameters in the buffer) and the dropout Rng's position. This saves both; the function it
 * returns puts them back.
 */
function saveTrainState<T extends FloatArray>(params: ParamSet<T>, rng: Rng | undefined, useDropout: boolean): () => void {
  const trainable = trainableCount(params.specs);
  const stats = trainable < params.flat.length ? params.flat.slice(trainable) : null;
  const rngState = useDropout && rng ? rng.getState() : null;
  return () => {
    if (stats) params.flat.set(stats, trainable);
    if (rng && rngState) rng.setState(rngState);
  };
}

/** X must be (N,D) with the parameters' array type. */
function checkInput<T extends FloatArray>(where: string, X: Mat<T>, W1: Mat<T>): void {
  if (X.cols !== W1.rows || X.data.length !== X.rows * X.cols) {
    throw new Error(`${where}: X has shape ${shapeStr(X)} but the model takes (N,${W1.rows}) inputs`);
  }
  if (X.data.constructor !== W1.data.constructor) {
    throw new Error(`${where}: X is ${X.data.constructor.name} but the parameters are ${W1.data.constructor.name}; ` + 'convert X, or build the model with the matching dtype');
  }
}

/** Positive integer sizes, at least one hidden layer, finite initStd ≥ 0 and reg ≥ 0. */
function checkMlpOptions(spec: ModelSpec, initStd: number, reg: number): void {
  const where = 'createMlp';
  const sizes: [string, number][] = [['inputDim', spec.inputDim], ['numClasses', spec.numClasses], ...spec.hidden.map((h, i): [string, number] => [`hidden[${i}]`, h])];
  for (const [name, n] of sizes) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${n}`);
  }
  if (spec.hidden.length === 0) {
    throw new Error(`${where}: hidden must list at least one layer size (for a linear classifier use the softmax model)`);
  }
  if (!(Number.isFinite(initStd) && initStd >= 0)) throw new Error(`${where}: initStd must be a finite number ≥ 0, got ${initStd}`);
  if (!(Number.isFinite(reg) && reg >= 0)) throw new Error(`${where}: reg must be a finite number ≥ 0, got ${reg}`);
  if (spec.normalization !== undefined && spec.normalization !== 'batchnorm' && spec.normalization !== 'layernorm') {
    throw new Error(`${where}: normalization must be batchnorm or layernorm (or absent), got ${String(spec.normalization)}`);
  }
  if (spec.dropoutKeep !== undefined && !(spec.dropoutKeep > 0 && spec.dropoutKeep <= 1)) {
    throw new Error(`${where}: dropoutKeep (the keep probability) must be in (0, 1], got ${spec.dropoutKeep}`);
  }
}
