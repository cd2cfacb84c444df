/**
 * Parameters live in one flat buffer with named matrix views into it (as llm.c does), so the
 * optimizer step is one loop over one array and a checkpoint is one block of floats.
 */
import { type FloatArray, type FloatArrayCtor, type Mat, allocFloat, allocFloatPair } from '../linalg/mat.js';

export interface ParamSpec {
  name: string;
  rows: number;
  cols: number;
}

export interface ParamSet<T extends FloatArray = FloatArray> {
  specs: ParamSpec[];
  /** All parameters back to back, in `specs` order. */
  flat: T;
  /** Named views into `flat`, e.g. views.W1 is a (D,H) matrix sharing flat's memory. */
  views: Record<string, Mat<T>>;
}

/** The gradient buffer set aside beside a float32 parameter buffer (allocParamFlat), until a model takes it. */
const gradBeside = new WeakMap<FloatArray, Float32Array>();

/**
 * A zero-filled buffer for `total` parameters. A float32 one gets a buffer for its gradient set
 * aside beside it in the same block of memory where the engine wants that (mat.ts
 * allocFloatPair: the wasm engine's SGD step and L2 term then run as SIMD passes over the pair).
 */
export function allocParamFlat(Ctor: FloatArrayCtor, total: number): FloatArray {
  if (Ctor !== Float32Array) return allocFloat(Ctor, total);
  const [flat, grad] = allocFloatPair(total);
  if (grad !== null) gradBeside.set(flat, grad);
  return flat;
}

/** A zero-filled parameter set laid out by `specs`. */
export function allocParams<T extends FloatArray>(specs: ParamSpec[], Ctor: FloatArrayCtor): ParamSet<T> {
  const total = specs.reduce((s, p) => s + p.rows * p.cols, 0);
  const flat = allocParamFlat(Ctor, total) as T;
  return { specs, flat, views: viewsOf(specs, flat) };
}

/**
 * The gradient buffer a model keeps for `params` (model.reuseBuffers), zero-filled, same layout:
 * the one set aside beside the parameters (allocParamFlat), for the first model that asks; else a
 * new one.
 */
export function keptGrads<T extends FloatArray>(params: ParamSet<T>): ParamSet<T> {
  const beside = gradBeside.get(params.flat) as T | undefined;
  if (beside === undefined) return allocGrads(params);
  gradBeside.delete(params.flat);
  return { specs: params.specs, flat: beside, views: viewsOf(params.specs, beside) };
}

/** A new zero-filled gradient set for `params`, same layout (a gradient needs no buffer set aside beside it). */
export function allocGrads<T extends FloatArray>(params: ParamSet<T>): ParamSet<T> {
  const flat = allocFloat(params.flat.constructor as FloatArrayCtor, params.flat.length) as T;
  return { specs: params.specs, flat, views: viewsOf(params.specs, flat) };
}

/** Named views of `flat` laid out by `specs`. */
export function viewsOf<T extends FloatArray>(specs: ParamSpec[], flat: T): Record<string, Mat<T>> {
  const views: Record<string, Mat<T>> = {};
  let off = 0;
  for (const p of specs) {
    const n = p.rows * p.cols;
    views[p.name] = { rows: p.rows, cols: p.cols, data: flat.subarray(off, off + n) as T };
    off += n;
  }
  if (off !== flat.length) throw new Error(`viewsOf: specs cover ${off} numbers but the buffer holds ${flat.length}`);
  return views;
}

/** A parameter set with the same layout and a copy of the values. */
export function cloneParams<T extends FloatArray>(p: ParamSet<T>): ParamSet<T> {
  const flat = allocFloat(p.flat.constructor as FloatArrayCtor, p.flat.length) as T;
  flat.set(p.flat);
  return { specs: p.specs, flat, views: viewsOf(p.specs, flat) };
}
