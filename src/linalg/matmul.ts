/**
 * The matmul seam: every matrix product in the project goes through `matmul` below.
 *
 *   out = op(a) · op(b),   op(x) = xᵀ when the matching flag is set, else x.
 *
 * Transposes are flags handed to the engine: no transposed copy is ever made in JS. Float32
 * products run on the active engine (chosen by `initEngine`, engine.ts). Float64
 * products, which only gradient checks use, always run on the reference JS kernel: TensorFlow.js
 * has no float64 dtype, and a gradient check must not be rounded to float32.
 */
import { type Mat, type FloatArray, shapeStr } from './mat.js';
import { referenceEngine } from './engines/reference.js';
import type { Engine } from './engines/types.js';

export interface MatmulOptions {
  /** Use aᵀ in place of a. */
  transA?: boolean;
  /** Use bᵀ in place of b. */
  transB?: boolean;
}

export type { Engine } from './engines/types.js';

let active: Engine = referenceEngine;

/** The engine float32 products run on now. */
export function getEngine(): Engine {
  return active;
}

/**
 * Route float32 products and vector operations to `engine` (initEngine does; tests use this to
 * compare engines). Memory is not its business: buffers get theirs from an allocator (engine.alloc).
 */
export function useEngine(engine: Engine): void {
  active = engine;
}

/**
 * out (M,N) = op(a) (M,K) · op(b) (K,N). With `out` omitted a new matrix is allocated.
 * Shapes are checked on entry and both shapes are named in the error.
 */
export function matmul<T extends FloatArray>(a: Mat<T>, b: Mat<T>, out?: Mat<T>, opts: MatmulOptions = {}): Mat<T> {
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const M = transA ? a.cols : a.rows;
  const K = transA ? a.rows : a.cols;
  const Kb = transB ? b.cols : b.rows;
  const N = transB ? b.rows : b.cols;
  if (K !== Kb) {
    throw new Error(`matmul: inner dimensions differ: a${transA ? 'ᵀ' : ''} ${shapeStr(a)} · b${transB ? 'ᵀ' : ''} ${shapeStr(b)}`);
  }
  if (a.data.constructor !== b.data.constructor) {
    throw new Error(`matmul: a is ${a.data.constructor.name} but b is ${b.data.constructor.name}`);
  }
  const Ctor = a.data.constructor as new (n: number) => T;
  const res: Mat<T> = out ?? { rows: M, cols: N, data: new Ctor(M * N) };
  if (res.rows !== M || res.cols !== N || res.data.length !== M * N) {
    throw new Error(`matmul: out has shape ${shapeStr(res)}, expected (${M},${N})`);
  }
  if (res.data.constructor !== a.data.constructor) {
    throw new Error(`matmul: out is ${res.data.constructor.name} but inputs are ${a.data.constructor.name}`);
  }
  if (res.data.buffer === a.data.buffer || res.data.buffer === b.data.buffer) {
    // Views into one buffer may overlap; engines write out while reading a and b.
    if (overlaps(res.data, a.data) || overlaps(res.data, b.data)) throw new Error('matmul: out overlaps an input');
  }
  if (M === 0 || N === 0) return res;
  if (K === 0) {
    res.data.fill(0);
    return res;
  }
  if (a.data instanceof Float64Array) {
    referenceEngine.matmulAny(a, b, res, transA, transB);
  } else {
    active.matmul(a as Mat<Float32Array>, b as Mat<Float32Array>, res as Mat<Float32Array>, transA, transB);
  }
  return res;
}

function overlaps(x: FloatArray, y: FloatArray): boolean {
  const x0 = x.byteOffset;
  const x1 = x0 + x.byteLength;
  const y0 = y.byteOffset;
  const y1 = y0 + y.byteLength;
  return x0 < y1 && y0 < x1;
}
