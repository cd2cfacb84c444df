/**
 * The matmul seam: every matrix product in the project goes through `matmul` below.
 *
 *   out = op(a) · op(b),   op(x) = xᵀ when the matching flag is set, else x.
 *
 * Transposes are flags handed to the engine: no transposed copy is ever made in JS. Float32
 * products run on the active engine (a TensorFlow.js backend, chosen by `initEngine`). Float64
 * products, which only gradient checks use, always run on the reference JS kernel: TensorFlow.js
 * has no float64 dtype, and a gradient check must not be rounded to float32.
 */
import { type Mat, type FloatArray, shapeStr, useHugePages, usePairAlloc, useSharedMemory } from './mat.js';
import { referenceEngine } from './engines/reference.js';

export interface MatmulOptions {
  /** Use aᵀ in place of a. */
  transA?: boolean;
  /** Use bᵀ in place of b. */
  transB?: boolean;
}

/** A matrix-multiplication engine. `out` is overwritten; it never aliases `a` or `b`. */
export interface Engine {
  /** Short name shown in logs and summaries: 'tfjs-node', 'wasm', 'cpu' or 'js'. */
  readonly name: string;
  /** Human-readable detail (library version, SIMD, threads). */
  readonly detail: string;
  matmul(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean): void;
  /** y += alpha·x over whole float32 arrays, where the engine has a faster one than JS (blas1.ts). */
  axpy?(alpha: number, x: Float32Array, y: Float32Array): void;
  /** Σ x·y over whole float32 arrays, accumulated in float64. */
  dot?(x: Float32Array, y: Float32Array): number;
  /** y += alpha·x and Σ x², in one pass (the L2 penalty), where the engine has one. */
  axpySumSq?(alpha: number, x: Float32Array, y: Float32Array): number;
  /** dst row i = src row rows[i] (a minibatch), where the engine does it faster than JS (a memcpy per row; rows shared among threads). */
  gatherRows?(src: Mat<Float32Array>, rows: Int32Array, dst: Mat<Float32Array>): void;
  /** True when its worker threads read and write operands in place if they are in shared memory (mat.ts allocFloat). */
  readonly sharedMemory?: boolean;
  /** Ask the OS for huge pages under a large array before it is written (mat.ts useHugePages); false if not taken. */
  adviseHugePages?(a: FloatArray): boolean;
  /** Two float32 arrays of n numbers in one block its axpy and axpySumSq run faster on (mat.ts allocFloatPair), or null. */
  allocPair?(n: number): [Float32Array, Float32Array] | null;
}

let active: Engine = referenceEngine;

/** The engine float32 products run on now. */
export function getEngine(): Engine {
  return active;
}

/** Route float32 products to `engine` (tests use this to compare engines). */
export function setEngine(engine: Engine): void {
  active = engine;
  useSharedMemory(engine.sharedMemory === true);
  useHugePages(engine.adviseHugePages ?? null);
  usePairAlloc(engine.allocPair ?? null);
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
    throw new Error(
      `matmul: inner dimensions differ: a${transA ? 'ᵀ' : ''} ${shapeStr(a)} · b${transB ? 'ᵀ' : ''} ${shapeStr(b)}`,
    );
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
