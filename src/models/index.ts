/**
 * Model construction by kind: fresh models for training (`createModel`) and models wrapped around
 * an existing parameter set, e.g. one loaded from a checkpoint (`modelFromParams`).
 *
 * L2 convention for both kinds (see model.ts): loss adds reg·ΣW² over weights, gradient 2·reg·W.
 */
import type { Allocator } from '../linalg/alloc.js';
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';
import type { Rng } from '../linalg/rng.js';
import { LOSS_KINDS, type Model, type ModelSpec, NORMALIZATIONS } from './model.js';
import { type ParamSet, type ParamSpec, viewsOf } from './params.js';
import { createMlp, mlpFromParams, mlpParamSpecs } from './mlp.js';
import { createSoftmax, softmaxFromParams, softmaxParamSpecs } from './softmax.js';

export { createSoftmax, softmaxParamSpecs, type SoftmaxOptions } from './softmax.js';
export { createMlp, mlpParamSpecs, type MlpOptions } from './mlp.js';

export interface CreateModelOptions {
  /** Weights start as initStd·N(0,1); MLP biases as 0. */
  initStd: number;
  /** L2 strength: loss adds reg·ΣW². */
  reg: number;
  /** Float32Array for training (default), Float64Array for gradient checks. */
  dtype?: FloatArrayCtor;
  /** Where the parameters (and room for their gradient) go: the engine's allocator (engine.alloc) for a model to train; plain arrays by default. */
  alloc?: Allocator;
  /** MLP with dropout: a fixed mask on every train-mode call (gradient checks); absent: masks from the Rng the model is created with. */
  dropoutSeed?: number;
}

/** The parameter layout a spec needs, in buffer order. */
export function paramSpecsFor(spec: ModelSpec): ParamSpec[] {
  checkSpec('paramSpecsFor', spec);
  return spec.kind === 'softmax' ? softmaxParamSpecs(spec.inputDim, spec.numClasses) : mlpParamSpecs(spec.inputDim, spec.hidden, spec.numClasses, spec.normalization);
}

/** A freshly initialised model of kind `spec.kind`. */
export function createModel(spec: ModelSpec, opts: CreateModelOptions & { dtype: Float64ArrayConstructor }, rng: Rng): Model<Float64Array>;
export function createModel(spec: ModelSpec, opts: CreateModelOptions & { dtype?: Float32ArrayConstructor }, rng: Rng): Model<Float32Array>;
export function createModel(spec: ModelSpec, opts: CreateModelOptions, rng: Rng): Model;
export function createModel(spec: ModelSpec, opts: CreateModelOptions, rng: Rng): Model {
  checkSpec('createModel', spec);
  const common = { inputDim: spec.inputDim, numClasses: spec.numClasses, initStd: opts.initStd, reg: opts.reg, dtype: opts.dtype, alloc: opts.alloc, loss: spec.loss };
  if (spec.kind === 'softmax') return createSoftmax(common, rng);
  return createMlp({ ...common, hidden: spec.hidden, normalization: spec.normalization, dropoutKeep: spec.dropoutKeep, dropoutSeed: opts.dropoutSeed }, rng);
}

/**
 * A model of kind `spec.kind` that uses `params` (not a copy) as its parameters. The layout must
 * be exactly the one the spec needs (names, shapes, order, which are running statistics, buffer
 * length); otherwise this throws naming the expected and the found sizes. An MLP with dropout
 * made here has no Rng for its masks unless `dropoutRng` is given: it is then for test mode only.
 */
export function modelFromParams<T extends FloatArray>(spec: ModelSpec, params: ParamSet<T>, reg: number, dropoutRng?: Rng): Model<T> {
  const want = paramSpecsFor(spec);
  const wantTotal = want.reduce((s, p) => s + p.rows * p.cols, 0);
  const describe = (specs: ParamSpec[]) => specs.map((p) => `${p.name} (${p.rows},${p.cols})${p.stat ? ' stat' : ''}`).join(', ');
  const what = `a ${spec.kind} model with inputDim ${spec.inputDim}${spec.kind === 'mlp' ? `, hidden [${spec.hidden.join(',')}]` : ''} and ${spec.numClasses} classes`;
  const sameLayout =
    params.specs.length === want.length &&
    want.every((p, i) => params.specs[i].name === p.name && params.specs[i].rows === p.rows && params.specs[i].cols === p.cols && !params.specs[i].stat === !p.stat);
  if (!sameLayout) {
    throw new Error(`modelFromParams: ${what} needs parameters ${describe(want)}, but found ${describe(params.specs)}`);
  }
  if (params.flat.length !== wantTotal) {
    throw new Error(`modelFromParams: ${what} needs ${wantTotal} numbers, but the parameter buffer holds ${params.flat.length}`);
  }
  if (!(Number.isFinite(reg) && reg >= 0)) throw new Error(`modelFromParams: reg must be a finite number ≥ 0, got ${reg}`);
  for (const p of want) {
    const v = params.views[p.name];
    if (v === undefined || v.rows !== p.rows || v.cols !== p.cols || v.data.length !== p.rows * p.cols) {
      throw new Error(`modelFromParams: the view ${p.name} is missing or not (${p.rows},${p.cols}); build views with viewsOf`);
    }
  }
  return spec.kind === 'softmax' ? softmaxFromParams(spec, params, reg) : mlpFromParams(spec, params, reg, dropoutRng ? { rng: dropoutRng } : {});
}

/** Known kind, positive integer sizes, hidden layers exactly for the MLP. */
function checkSpec(where: string, spec: ModelSpec): void {
  if (spec.kind !== 'softmax' && spec.kind !== 'mlp') {
    throw new Error(`${where}: unknown model kind "${String(spec.kind)}" (expected softmax or mlp)`);
  }
  const sizes: [string, number][] = [['inputDim', spec.inputDim], ['numClasses', spec.numClasses], ...spec.hidden.map((h, i): [string, number] => [`hidden[${i}]`, h])];
  for (const [name, n] of sizes) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: ${name} must be a positive integer, got ${n}`);
  }
  if (spec.loss !== undefined && !LOSS_KINDS.includes(spec.loss)) {
    throw new Error(`${where}: unknown loss "${String(spec.loss)}" (expected ${LOSS_KINDS.join(' or ')})`);
  }
  if (spec.kind === 'softmax' && spec.hidden.length > 0) {
    throw new Error(`${where}: a softmax model has no hidden layers, but hidden is [${spec.hidden.join(',')}]`);
  }
  if (spec.kind === 'mlp' && spec.hidden.length === 0) {
    throw new Error(`${where}: an mlp needs at least one hidden layer size (for a linear classifier use kind softmax)`);
  }
  if (spec.normalization !== undefined && !NORMALIZATIONS.includes(spec.normalization)) {
    throw new Error(`${where}: unknown normalization "${String(spec.normalization)}" (expected ${NORMALIZATIONS.join(' or ')}, or none: leave it out)`);
  }
  if (spec.dropoutKeep !== undefined && !(typeof spec.dropoutKeep === 'number' && spec.dropoutKeep > 0 && spec.dropoutKeep <= 1)) {
    throw new Error(`${where}: dropoutKeep (the keep probability) must be a number in (0, 1], got ${String(spec.dropoutKeep)}`);
  }
  if (spec.kind !== 'mlp' && (spec.normalization !== undefined || spec.dropoutKeep !== undefined)) {
    throw new Error(`${where}: normalization and dropoutKeep are layers of the mlp's hidden layers; a ${spec.kind} model has none`);
  }
}

/** The float32 model a checkpoint holds (its spec, parameter layout and values), for evaluation. */
export function modelFromCheckpoint(ck: { header: { model: ModelSpec; params: ParamSpec[] }; params: Float32Array }): Model<Float32Array> {
  const { model, params } = ck.header;
  return modelFromParams(model, { specs: params, flat: ck.params, views: viewsOf(params, ck.params) }, 0);
}
