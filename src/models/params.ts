/**
 * Parameters live in one flat buffer with named matrix views into it (as llm.c does), so the
 * optimizer step is one loop over one array and a checkpoint is one block of floats.
 */
import { type Allocator, PLAIN } from '../linalg/alloc.js';
import type { FloatArray, FloatArrayCtor, Mat } from '../linalg/mat.js';

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
  /**
   * Room for the gradient of these parameters, allocated beside `flat` in one block (allocParams
   * with an engine's allocator, alloc.ts pair): a training workspace puts its gradient here
   * (buffers.ts createWorkspace), so the SGD step and the L2 term pass over parameters and
   * gradient in one block (the wasm engines' SIMD passes need both in one WebAssembly.Memory).
   * Absent on float64 parameters and on those made around existing values (a checkpoint's).
   */
  gradFlat?: T;
}

/**
 * A zero-filled parameter set laid out by `specs`, in `alloc`'s memory; a float32 one with room
 * for its gradient beside it (gradFlat).
 */
export function allocParams<T extends FloatArray>(specs: ParamSpec[], Ctor: FloatArrayCtor, alloc: Allocator = PLAIN): ParamSet<T> {
  const total = specs.reduce((s, p) => s + p.rows * p.cols, 0);
  if (Ctor !== Float32Array) {
    const flat = alloc.float(Ctor, total) as T;
    return { specs, flat, views: viewsOf(specs, flat) };
  }
  const [flat, gradFlat] = alloc.pair(total) as [T, T];
  return { specs, flat, views: viewsOf(specs, flat), gradFlat };
}

/** A new zero-filled gradient set for `params`, same layout, in `alloc`'s memory. */
export function allocGrads<T extends FloatArray>(params: ParamSet<T>, alloc: Allocator = PLAIN): ParamSet<T> {
  const flat = alloc.float(params.flat.constructor as FloatArrayCtor, params.flat.length) as T;
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
