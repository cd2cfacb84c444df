/**
 * Where training's buffers live: an engine hands out its Allocator (engine.alloc), and whoever
 * allocates a buffer the engine computes on (a data split, the parameters and their gradient, the
 * activations, the minibatch) is given one. Nothing is decided by a global: a buffer gets the
 * memory of the allocator it was made with.
 *
 * - Shared memory (SharedArrayBuffers) for an engine whose worker threads read and write operands
 *   in place (the threaded wasm engines). Plain memory otherwise, because V8 copies to and from
 *   shared memory with relaxed-atomic copies instead of memcpy, more slowly, which a minibatch
 *   gather would pay every step.
 * - Huge pages under a large array, where the engine can ask the OS for them (the native engine's
 *   addon: madvise on Linux). numpy does the same for its arrays of 4 MiB and more; a training
 *   set's rows, read at random for each minibatch, then cost fewer TLB misses.
 * - Pairs: two float32 arrays side by side in one block the engine's own vector kernels work on (a
 *   model's parameters and their gradient, which the SGD step and the L2 term pass over together:
 *   the wasm engines' SIMD passes need both in one WebAssembly.Memory, engines/simd.ts).
 */
import type { FloatArray, FloatArrayCtor } from './mat.js';

export interface Allocator {
  /** True when its arrays are in SharedArrayBuffers. */
  readonly shared: boolean;
  /** A zero-filled array of `n` numbers of type `Ctor`. */
  float(Ctor: Float32ArrayConstructor, n: number): Float32Array;
  float(Ctor: Float64ArrayConstructor, n: number): Float64Array;
  float(Ctor: FloatArrayCtor, n: number): FloatArray;
  /** A zero-filled Int32Array of `n` numbers (row indices a worker thread reads). */
  int32(n: number): Int32Array;
  /** Two zero-filled float32 arrays of `n` numbers, side by side in one block where the engine has such blocks. */
  pair(n: number): [Float32Array, Float32Array];
}

/** Arrays from an allocator that advises huge pages get the advice from this many bytes on (numpy's threshold). */
export const HUGE_PAGE_MIN_BYTES = 4 << 20;

export interface AllocatorOptions {
  /** Put every array in a SharedArrayBuffer. */
  shared?: boolean;
  /** Ask the OS for huge pages under a large array before it is first written; false if not taken. */
  adviseHugePages?: (a: FloatArray) => boolean;
  /** Two float32 arrays of n numbers in one block the engine's vector kernels run faster on, or null (then two arrays of this allocator). */
  pair?: (n: number) => [Float32Array, Float32Array] | null;
}

/** An allocator with these properties. */
export function makeAllocator(opts: AllocatorOptions = {}): Allocator {
  const shared = opts.shared ?? false;
  const advise = opts.adviseHugePages ?? null;
  function float(Ctor: Float32ArrayConstructor, n: number): Float32Array;
  function float(Ctor: Float64ArrayConstructor, n: number): Float64Array;
  function float(Ctor: FloatArrayCtor, n: number): FloatArray;
  function float(Ctor: FloatArrayCtor, n: number): FloatArray {
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    const buf = shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
    const a = Ctor === Float64Array ? new Float64Array(buf) : new Float32Array(buf);
    if (advise !== null && bytes >= HUGE_PAGE_MIN_BYTES) advise(a);
    return a;
  }
  return {
    shared,
    float,
    int32: (n) => (shared ? new Int32Array(new SharedArrayBuffer(4 * n)) : new Int32Array(n)),
    pair: (n) => opts.pair?.(n) ?? [float(Float32Array, n), float(Float32Array, n)],
  };
}

/** Plain arrays: what an engine without threads or special memory hands out, and the default. */
export const PLAIN: Allocator = makeAllocator();

/** Arrays in shared memory, for data every worker thread of a sweep reads. */
export const SHARED: Allocator = makeAllocator({ shared: true });
