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
  /**
   * A running statistic (batch norm's running mean and variance): part of `flat` and of every
   * checkpoint, but not trained (no gradient, no L2, never stepped, skipped by gradient checks).
   * Every stat spec comes after every trainable one, so the trainable parameters are
   * flat[0, trainableCount(specs)).
   */
  stat?: true;
}

/** The specs that are trained (all but the running statistics), in buffer order. */
export function trainableSpecs(specs: ParamSpec[]): ParamSpec[] {
  return specs.filter((p) => !p.stat);
}

/** How many numbers the trainable parameters take: the length of the gradient. */
export function trainableCount(specs: ParamSpec[]): number {
  return trainableSpecs(specs).reduce((s, p) => s + p.rows * p.cols, 0);
}

/** Throws unless every stat spec comes after every trainable one. */
export function checkStatsLast(specs: ParamSpec[]): void {
  const firstStat = specs.findIndex((p) => p.stat);
  if (firstStat >= 0 && specs.slice(firstStat).some((p) => !p.stat)) {
    throw new Error(`parameter specs: the running statistics must come after every trainable parameter, got ${specs.map((p) => p.name + (p.stat ? ' (stat)' : '')).join(', ')}`);
  }
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
   * As long as the trainable parameters (trainableCount): running statistics have no gradient.
   */
  gradFlat?: T;
}

/**
 * A zero-filled parameter set laid out by `specs`, in `alloc`'s memory; a float32 one with room
 * for its gradient beside it (gradFlat).
 */
export function allocParams<T extends FloatArray>(specs: ParamSpec[], Ctor: FloatArrayCtor, alloc: Allocator = PLAIN): ParamSet<T> {
  checkStatsLast(specs);
  const total = specs.reduce((s, p) => s + p.rows * p.cols, 0);
  if (Ctor !== Float32Array) {
    const flat = alloc.float(Ctor, total) as T;
    return { specs, flat, views: viewsOf(specs, flat) };
  }
  const [flat, pairGrad] = alloc.pair(total) as [T, T];
  const trainable = trainableCount(specs);
  const gradFlat = (trainable === total ? pairGrad : pairGrad.subarray(0, trainable)) as T;
  return { specs, flat, views: viewsOf(specs, flat), gradFlat };
}

/** A new zero-filled gradient set for `params`' trainable parameters (no running statistics), same layout, in `alloc`'s memory. */
export function allocGrads<T extends FloatArray>(params: ParamSet<T>, alloc: Allocator = PLAIN): ParamSet<T> {
  const specs = trainableSpecs(params.specs);
  const flat = alloc.float(params.flat.constructor as FloatArrayCtor, trainableCount(params.specs)) as T;
  return { specs, flat, views: viewsOf(specs, flat) };
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
