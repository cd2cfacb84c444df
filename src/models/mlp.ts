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
import { type BatchnormCache, batchnormBackwardAlt, batchnormForward } from '../layers/batchnorm.js';
import { type DropoutCache, dropoutBackward, dropoutForward } from '../layers/dropout.js';
import { type LayernormCache, layernormBackward, layernormForward } from '../layers/layernorm.js';
import { type ReluCache, reluBackward, reluForward } from '../layers/relu.js';
import { addL2 } from '../layers/l2.js';
import type { Labels, LossKind, LossResult, Model, ModelSpec, Normalization } from './model.js';
import { dataLossOf } from './loss.js';
import { type Workspace, fixedMatsFor, matsFor } from './buffers.js';
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
  const L = spec.hidden.length; // number of hidden layers; there are L+1 affine layers
  const dims = [spec.inputDim, ...spec.hidden, spec.numClasses]; // layer l maps dims[l-1] → dims[l]
  const Ctor = params.flat.constructor as FloatArrayCtor;
  const dataLoss = dataLossOf(spec); // softmax cross-entropy, or the SVM's hinge
  const norm = spec.normalization;
  const keep = spec.dropoutKeep ?? 1;
  const useDropout = keep !== 1; // cs231n: use_dropout = keep_ratio != 1
  const trainable = trainableCount(params.specs);
  const dropoutRng = dropout.rng;

  /** What one hidden layer's forward saves for its backward. */
  interface HiddenCache {
    affineRelu?: AffineReluCache<T>; // no normalization: the fused sandwich
    affine?: AffineCache<T>; //         with a normalization: affine, norm, ReLU one by one
    bn?: BatchnormCache<T>;
    ln?: LayernormCache<T>;
    relu?: ReluCache<T>;
    drop?: DropoutCache<T>;
  }

  function loss(X: Mat<T>, y?: undefined, ws?: Workspace<T>): Mat<T>;
  function loss(X: Mat<T>, y: Labels, ws?: Workspace<T>): LossResult<T>;
  function loss(X: Mat<T>, y?: Labels, ws?: Workspace<T>): Mat<T> | LossResult<T> {
    const v = params.views;
    checkInput('mlp.loss', X, v.W1);
    const N = X.rows;
    const mat = matsFor(ws, Ctor, N);
    const fixed = fixedMatsFor(ws, Ctor);
    const mode = y === undefined ? 'test' : 'train';
    if (mode === 'train' && useDropout && dropout.seed === undefined && dropoutRng === undefined) {
      throw new Error('mlp.loss: this model has dropout but no Rng for its masks (a model built from a checkpoint is for test mode, loss(X), only)');
    }

    // Forward: L hidden layers, then the scoring affine layer.
    const hiddenCaches: HiddenCache[] = [];
    let h = X;
    for (let l = 1; l <= L; l++) {
      const c: HiddenCache = {};
      if (norm === undefined) {
        const r = affineReluForward(h, v[`W${l}`], v[`b${l}`], mat(`h${l}`, dims[l]));
        c.affineRelu = r.cache;
        h = r.out;
      } else {
        const a = affineForward(h, v[`W${l}`], v[`b${l}`], mat(`a${l}`, dims[l]));
        c.affine = a.cache;
        let z: Mat<T>;
        if (norm === 'batchnorm') {
          const bnParam = { mode, runningMean: v[`running_mean${l}`], runningVar: v[`running_var${l}`] } as const;
          const into = mode === 'train' ? { out: mat(`n${l}`, dims[l]), xhat: mat(`xhat${l}`, dims[l]), stats: fixed(`bnstats${l}`, 3, dims[l]) } : { out: mat(`n${l}`, dims[l]) };
          const r = batchnormForward(a.out, v[`gamma${l}`], v[`beta${l}`], bnParam, into);
          if (r.cache) c.bn = r.cache;
          z = r.out;
        } else {
          const r = layernormForward(a.out, v[`gamma${l}`], v[`beta${l}`], {}, { out: mat(`n${l}`, dims[l]), xhat: mat(`xhat${l}`, dims[l]), invStd: mat(`lninv${l}`, 1) });
          c.ln = r.cache;
          z = r.out;
        }
        // ReLU in place: its backward needs only where z > 0, which is where its output is > 0.
        const r = reluForward(z, z);
        c.relu = r.cache;
        h = r.out;
      }
      if (useDropout) {
        const r = dropoutForward(h, { p: keep, mode, seed: dropout.seed, rng: dropoutRng }, { out: mat(`drop${l}`, dims[l]), mask: mat(`mask${l}`, dims[l]) });
        c.drop = r.cache;
        h = r.out;
      }
      hiddenCaches.push(c);
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
      const c = hiddenCaches[l - 1];
      if (c.drop) dh = dropoutBackward(dh, c.drop, mat(`ddrop${l}`, dims[l])); // dh·mask
      const dx = l > 1 ? mat(`dh${l - 1}`, dims[l - 1]) : undefined;
      if (c.affineRelu) {
        // No normalization: the fused affine → ReLU sandwich.
        const into = { da: mat(`da${l}`, dims[l]), dx, dw: g[`W${l}`], db: g[`b${l}`] };
        const r = affineReluBackward(dh, c.affineRelu, l > 1, into);
        if (r.dx !== null) dh = r.dx;
        continue;
      }
      //   dz{l}: gradient at the norm's output (after the ReLU mask);  da{l}: at the affine output
      const dz = reluBackward(dh, c.relu!, mat(`dz${l}`, dims[l]));
      const normInto = { dx: mat(`da${l}`, dims[l]), dgamma: g[`gamma${l}`], dbeta: g[`beta${l}`] };
      const da = c.bn ? batchnormBackwardAlt(dz, c.bn, normInto).dx : layernormBackward(dz, c.ln!, normInto).dx;
      const r = affineBackward(da, c.affine!, l > 1, { dx, dw: g[`W${l}`], db: g[`b${l}`] });
      if (r.dx !== null) dh = r.dx;
    }

    // L2 on the weights only.
    let regLoss = 0;
    for (let l = 1; l <= L + 1; l++) regLoss += addL2(v[`W${l}`], model.reg, g[`W${l}`]);
    return { loss: data.loss + regLoss, grads };
  }

  // What train mode changes besides its result: the running statistics (after the trainable
  // parameters in the buffer) and the dropout Rng's position.
  const saveTrainState = (): (() => void) => {
    const stats = trainable < params.flat.length ? params.flat.slice(trainable) : null;
    const rngState = useDropout && dropoutRng ? dropoutRng.getState() : null;
    return () => {
      if (stats) params.flat.set(stats, trainable);
      if (rngState) dropoutRng!.setState(rngState);
    };
  };
  const model: Model<T> = { spec, params, reg, loss, saveTrainState };
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
  if (spec.normalization !== undefined && spec.normalization !== 'batchnorm' && spec.normalization !== 'layernorm') {
    throw new Error(`${where}: normalization must be batchnorm or layernorm (or absent), got ${String(spec.normalization)}`);
  }
  if (spec.dropoutKeep !== undefined && !(spec.dropoutKeep > 0 && spec.dropoutKeep <= 1)) {
    throw new Error(`${where}: dropoutKeep (the keep probability) must be in (0, 1], got ${spec.dropoutKeep}`);
  }
}
