/**
 * The matrix record used everywhere: row-major `{ rows, cols, data }`.
 *
 * `data[i * cols + j]` is element (i, j). Training uses Float32Array; gradient checks use
 * Float64Array. Kernels produce outputs of the same array type as their inputs, so one kernel
 * serves both precisions. A vector of length M is a Mat with rows = 1, or a bare typed array
 * where only its length matters (biases).
 */

export type FloatArray = Float32Array | Float64Array;
export type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;

export interface Mat<T extends FloatArray = FloatArray> {
  rows: number;
  cols: number;
  data: T;
}

let sharedMemory = false;

/**
 * Whether allocFloat puts its arrays in SharedArrayBuffers: on while the active engine computes
 * on worker threads that read and write operands in place (the wasm engine; set by setEngine).
 * Off otherwise, because V8 copies to and from shared memory about 2.5× slower (a relaxed-atomic
 * copy instead of memcpy: 15 against 39 GB/s for a 1 MB array in cache), which a minibatch
 * gather would pay every step.
 */
export function useSharedMemory(on: boolean): void {
  sharedMemory = on;
}

/** Arrays from allocFloat of at least this many bytes get huge-page advice (numpy's threshold). */
export const HUGE_PAGE_MIN_BYTES = 4 << 20;
let adviseHugePages: ((a: FloatArray) => boolean) | null = null;

/**
 * How allocFloat asks the OS for huge pages under a large array, or null for not at all: set by
 * setEngine from the native engine, whose addon has the call (madvise on Linux). numpy does the
 * same for its arrays of 4 MiB and more; a training set's rows, read at random for each
 * minibatch, then cost fewer TLB misses (a CIFAR minibatch gather: 0.27 → 0.24 ms).
 */
export function useHugePages(advise: ((a: FloatArray) => boolean) | null): void {
  adviseHugePages = advise;
}

/**
 * A zero-filled array of `n` numbers of type `Ctor`, for the buffers training works in
 * (data splits, parameters, gradients, activations, minibatches), in shared memory when the engine
 * wants it (useSharedMemory) or `shared` is set (a sweep's data, read by all its workers). A large
 * one is advised onto huge pages before it is first written (useHugePages).
 */
export function allocFloat(Ctor: Float32ArrayConstructor, n: number, shared?: boolean): Float32Array;
export function allocFloat(Ctor: Float64ArrayConstructor, n: number, shared?: boolean): Float64Array;
export function allocFloat(Ctor: FloatArrayCtor, n: number, shared?: boolean): FloatArray;
export function allocFloat(Ctor: FloatArrayCtor, n: number, shared = false): FloatArray {
  const bytes = n * Ctor.BYTES_PER_ELEMENT;
  const buf = shared || sharedMemory ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
  const a = Ctor === Float64Array ? new Float64Array(buf) : new Float32Array(buf);
  if (adviseHugePages !== null && bytes >= HUGE_PAGE_MIN_BYTES) adviseHugePages(a);
  return a;
}

let pairAlloc: ((n: number) => [Float32Array, Float32Array] | null) | null = null;

/**
 * How allocFloatPair puts two float32 arrays side by side in one block of memory that the engine's
 * own vector kernels work on, or null where the engine has none: set by setEngine from the wasm
 * engine, whose SIMD passes need both arrays of a pass in one WebAssembly.Memory (engines/simd.ts).
 */
export function usePairAlloc(alloc: ((n: number) => [Float32Array, Float32Array] | null) | null): void {
  pairAlloc = alloc;
}

/**
 * A zero-filled float32 array of `n` numbers and a second one beside it in the same block, where
 * the engine wants that (usePairAlloc): a model's parameters and their gradient, which the SGD
 * step and the L2 term pass over together. Elsewhere the first is an allocFloat array and the
 * second null.
 */
export function allocFloatPair(n: number): [Float32Array, Float32Array | null] {
  return pairAlloc?.(n) ?? [allocFloat(Float32Array, n), null];
}

/** A zero-filled Int32Array of `n` numbers, in shared memory when the engine wants it (as allocFloat). */
export function allocInt32(n: number): Int32Array {
  return sharedMemory ? new Int32Array(new SharedArrayBuffer(4 * n)) : new Int32Array(n);
}

/** A new zero-filled (rows, cols) matrix whose data has the array type `Ctor`. */
export function zeros<T extends FloatArray>(rows: number, cols: number, like: T): Mat<T>;
export function zeros(rows: number, cols: number, like?: FloatArray | FloatArrayCtor): Mat;
export function zeros(rows: number, cols: number, like: FloatArray | FloatArrayCtor = Float32Array): Mat {
  const Ctor = ctorOf(like);
  return { rows, cols, data: new Ctor(rows * cols) };
}

/** Wrap existing data as a (rows, cols) matrix, checking the length. */
export function fromArray<T extends FloatArray>(rows: number, cols: number, data: T): Mat<T> {
  if (data.length !== rows * cols) {
    throw new Error(`fromArray: data has length ${data.length}, expected ${rows}×${cols} = ${rows * cols}`);
  }
  return { rows, cols, data };
}

/** The typed-array constructor of an array, or the constructor itself. */
export function ctorOf(like: FloatArray | FloatArrayCtor): FloatArrayCtor {
  if (typeof like === 'function') return like;
  return like instanceof Float64Array ? Float64Array : Float32Array;
}

/** Deep copy. */
export function clone<T extends FloatArray>(m: Mat<T>): Mat<T> {
  return { rows: m.rows, cols: m.cols, data: m.data.slice() as T };
}

/** Copy of `m` converted to the array type `Ctor` (e.g. Float32 → Float64 for a gradient check). */
export function convert(m: Mat, Ctor: FloatArrayCtor): Mat {
  return { rows: m.rows, cols: m.cols, data: Ctor.from(m.data) };
}

/** "(rows,cols)" for error messages. */
export function shapeStr(m: Mat): string {
  return `(${m.rows},${m.cols})`;
}

/** Throw unless `m` is (rows, cols); `rows`/`cols` of -1 match anything. */
export function checkShape(where: string, name: string, m: Mat, rows: number, cols: number): void {
  if ((rows >= 0 && m.rows !== rows) || (cols >= 0 && m.cols !== cols) || m.data.length !== m.rows * m.cols) {
    const want = `(${rows < 0 ? '*' : rows},${cols < 0 ? '*' : cols})`;
    throw new Error(`${where}: ${name} has shape ${shapeStr(m)} (data length ${m.data.length}), expected ${want}`);
  }
}

/** Index of the largest entry of each row: (N,C) → N labels. */
export function argmaxRows(m: Mat): Int32Array {
  const out = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    const row = i * m.cols;
    let best = 0;
    let bestVal = m.data[row];
    for (let j = 1; j < m.cols; j++) {
      const v = m.data[row + j];
      if (v > bestVal) {
        bestVal = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}
