/**
 * The wasm engine's vector passes over a model's weights (the SGD step, the L2 term), in
 * WebAssembly SIMD: native/simd.wat, four elements at a time with the JS loops' own arithmetic,
 * so the results are the JS loops' bit for bit (blas1.ts), at several times their speed.
 *
 * WebAssembly code reads only its own memory, so both arrays of a pass must live in one. A model's
 * parameters and its gradient are therefore allocated as a pair (vectorPair below), side by side
 * in a WebAssembly.Memory of their own with its own instance of the kernels. The memory is shared
 * (a SharedArrayBuffer underneath), so the engine's worker threads read the weights in place as
 * they read any shared buffer, and it lives exactly as long as any array over it: nothing is freed
 * by hand.
 */
import { axpyRange, axpySumSqRange } from '../blas1.js';
import { SIMD_MODULE_BASE64 } from './simd_module.js';

/** The two weight passes over [lo, hi) of x and y, with the signatures of the JS loops in blas1.ts. */
export interface WeightPasses {
  axpyRange(alpha: number, x: Float32Array, y: Float32Array, lo: number, hi: number): void;
  axpySumSqRange(alpha: number, x: Float32Array, y: Float32Array, lo: number, hi: number): number;
}

/** The JS loops themselves: what a pass runs on arrays that are not a pair. */
export const JS_PASSES: WeightPasses = { axpyRange, axpySumSqRange };

/** The exports of native/simd.wat; x and y are byte offsets into the memory, n an element count. */
interface SimdExports {
  axpy(alpha: number, x: number, y: number, n: number): void;
  axpySumSq(alpha: number, x: number, y: number, n: number): number;
}

/**
 * The part of the WebAssembly API used here and in gemm.ts. Node has it all; TypeScript declares
 * it only in its DOM library, which this build leaves out, so it is named here.
 */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { readonly buffer: SharedArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
/** WebAssembly, as this module and gemm.ts use it. */
export const webAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const PAGE = 65536;
/** The largest pair placed in wasm memory: the kernels address it with 32-bit offsets. */
const MAX_PAIR_BYTES = 2 ** 31;

let compiled: object | null = null;
/** Each pair's memory and this thread's kernels on it, by the SharedArrayBuffer under it. */
const blocks = new WeakMap<ArrayBufferLike, { memory: object; kernels: WeightPasses }>();

/**
 * The kernels on `memory` (a pair's WebAssembly.Memory, here or posted from another thread, which
 * then runs its own instance on the same memory).
 */
export function simdKernelsOn(memory: object): WeightPasses {
  compiled ??= new webAssembly.Module(Buffer.from(SIMD_MODULE_BASE64, 'base64'));
  const k = new webAssembly.Instance(compiled, { env: { memory } }).exports as SimdExports;
  return {
    axpyRange: (alpha, x, y, lo, hi) => k.axpy(alpha, x.byteOffset + 4 * lo, y.byteOffset + 4 * lo, hi - lo),
    axpySumSqRange: (alpha, x, y, lo, hi) => k.axpySumSq(alpha, x.byteOffset + 4 * lo, y.byteOffset + 4 * lo, hi - lo),
  };
}

/**
 * Two zero-filled float32 arrays of `n` numbers side by side in a shared WebAssembly.Memory of
 * their own, which the kernels work on; null when they would not fit in 32-bit offsets or the
 * memory cannot be had (the caller then allocates plain arrays, on which the JS loops run).
 */
export function vectorPair(n: number): [Float32Array, Float32Array] | null {
  const stride = Math.ceil((4 * n) / 16) * 16; // the second array starts 16-byte aligned
  if (2 * stride > MAX_PAIR_BYTES) return null;
  const pages = Math.max(1, Math.ceil((2 * stride) / PAGE));
  let memory: { readonly buffer: SharedArrayBuffer };
  try {
    memory = new webAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null; // out of address space for one more memory (each reserves ~10 GB): plain arrays do
  }
  const buf = memory.buffer;
  blocks.set(buf, { memory, kernels: simdKernelsOn(memory) });
  return [new Float32Array(buf, 0, n), new Float32Array(buf, stride, n)];
}

/**
 * A worker thread's kernels on a pair it was sent: `buf` is its SharedArrayBuffer (the one the
 * operands' views are made on), `memory` the WebAssembly.Memory under it (simdMemoryOf).
 */
export function adoptPair(buf: SharedArrayBuffer, memory: object): void {
  blocks.set(buf, { memory, kernels: simdKernelsOn(memory) });
}

/** The weight passes over x and y: the SIMD kernels when both lie in one pair's memory, else the JS loops. */
export function weightPasses(x: Float32Array, y: Float32Array): WeightPasses {
  return simdKernelsFor(x, y) ?? JS_PASSES;
}

/** The kernels that can run a pass over x and y: when both lie in one pair's memory, else null. */
export function simdKernelsFor(x: Float32Array, y: Float32Array): WeightPasses | null {
  return x.buffer === y.buffer ? (blocks.get(x.buffer)?.kernels ?? null) : null;
}

/** The WebAssembly.Memory under a pair's SharedArrayBuffer (for a worker thread to run kernels on), else undefined. */
export function simdMemoryOf(buf: ArrayBufferLike): object | undefined {
  return blocks.get(buf)?.memory;
}
