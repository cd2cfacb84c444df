/**
 * The wasm engines: matrix products in WebAssembly SIMD on every core, their kernel either
 * TensorFlow.js's wasm backend (XNNPACK: the 'wasm' engine) or the hand-written one of
 * native/gemm.wat (gemm.ts: the 'simd' engine). Everything else is the same for both.
 *
 * The threaded build of the wasm backend does not run in Node, so these engines make their own
 * threads: the main thread and `threads − 1` worker threads (wasm_worker.ts), each with its own
 * instance of the kernel. A product is cut into one block per thread (wasm_block.ts, gemm.ts): by
 * columns of the result or by rows, in proportion to each thread's measured speed (cutBySpeed);
 * on the 'wasm' engine the input layer's product is cut into two halves of K instead (SPLIT_K
 * below). The main thread computes the first block itself while the workers compute theirs, then
 * waits for them. The vector passes over the weights (axpy: the SGD step; axpySumSq: the L2
 * gradient and loss in one pass) and the minibatch gather are cut into equal ranges; the weight
 * passes run as the SIMD kernels of simd.ts where the parameters and their gradient were
 * allocated as a pair (allocPair), else as the JS loops of blas1.ts.
 *
 * Workers read the operands and write their blocks in place when the arrays live in
 * SharedArrayBuffers, as every buffer training uses does (mat.ts allocFloat). Other arrays are
 * copied once into a shared staging buffer first, so any Mat works.
 *
 * Hand-off is through one small SharedArrayBuffer per worker: the main thread writes the task
 * there and bumps a counter; the worker writes back a done counter. No message passing or event
 * loop is on that path. Both sides poll for a moment before they sleep (Atomics.wait): waking a
 * sleeping thread takes longer on a VM than most of the products training asks for.
 */
import * as os from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { dotRange, gatherRange } from '../blas1.js';
import type { Mat } from '../mat.js';
import type { Engine } from '../matmul.js';
import { startWorker } from '../worker_threads.js';
import { type GemmVariant, WasmGemm } from './gemm.js';
import { JS_PASSES, type WeightPasses, simdKernelsFor, simdMemoryOf, vectorPair } from './simd.js';
import { type Block, type BlockProduct, blockProductOn } from './wasm_block.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/**
 * The kernel a wasm engine's threads compute their blocks with: TensorFlow.js's wasm backend
 * (already active on the main thread), or native/gemm.wat in one of its builds.
 */
export type ProductKernel = { kind: 'tfjs'; tf: Tf } | { kind: 'gemm'; variant: GemmVariant };

/**
 * A worker's control block: Int32 slots, then two Float64 slots (F64). One layout for every
 * task: an op, three operands, two flags and a range.
 */
export const CTRL = {
  /** Task counter, bumped by the main thread for each task; −1 tells the worker to stop. */
  seq: 0,
  /** The last task the worker finished. */
  done: 1,
  /** 0 if that task succeeded, 1 if it threw (its message follows on the port). */
  status: 2,
  /** What to do: OP.product, OP.axpy, OP.dot, OP.axpySumSq or OP.gather. */
  op: 3,
  /**
   * Operands a, b, out, OPERAND_SLOTS each: buffer id, element offset, element count, rows, cols
   * (for a gather: src, dst and the Int32Array of row indices).
   */
  operands: 4,
  /** transA, transB (0/1), then the block r0, r1, c0, c1, k0, k1 (for axpy, dot and gather: the range [r0, r1)). */
  args: 4 + 3 * 5,
  length: 4 + 3 * 5 + 8,
} as const;
export const OPERAND_SLOTS = 5;
export const OP = { product: 0, axpy: 1, dot: 2, gather: 3, axpySumSq: 4 } as const;
/** Float64 slots: alpha for axpy and axpySumSq; the partial sum a dot or axpySumSq task returns, or the ms a product block took. */
export const F64 = { alpha: 0, result: 1, length: 2 } as const;
/** Byte offset of the Float64 slots in the control block (8-aligned). */
export const F64_OFFSET = 8 * Math.ceil((4 * CTRL.length) / 8);

/** Messages on a worker's port. */
/** A buffer the worker will be handed, with the WebAssembly.Memory under it when it is a SIMD pair's (simd.ts). */
export type ToWasmWorker = { type: 'buffer'; id: number; sab: SharedArrayBuffer; memory?: object } | { type: 'forget'; id: number };
export type FromWasmWorker = { type: 'ready' } | { type: 'error'; message: string };
/** What a worker is started with: its control block, its port, and the kernel: gemm.wat's build, or null for TensorFlow.js. */
export type WasmWorkerData = { sab: SharedArrayBuffer; port: MessagePort; gemm: GemmVariant | null };

/** Below this many flops (2·M·N·K) a product is not worth a hand-off: the main thread does it all. */
const MIN_PARALLEL_FLOPS = 4e6;
/**
 * A product is cut by columns when every thread gets at least this many (else by rows); on the
 * simd engine also only when it has fewer rows than columns, since each thread copies all of
 * A for a cut by columns and all of B for a cut by rows.
 */
const MIN_COLS_PER_THREAD = 32;
/**
 * A product without transposes whose inner dimension K is at least SPLIT_K and whose result has at
 * least SPLIT_K_COLS columns (the input layer's X·W1 on CIFAR) is cut into two halves of K
 * instead: each half multiplies contiguous rows of the weights (where a block of columns would
 * be copied out row by row) and packs a panel as wide as the whole result, and the two half-sums
 * are then added. Measured on a CIFAR MLP's 200×3072·3072×500 on one thread of two: 12.9 ms a
 * half against 14.1 ms a column block. The cut does not depend on the thread count (one thread
 * computes both halves in turn), so results stay the same bit for bit on any number of threads.
 */
const SPLIT_K = 1024;
const SPLIT_K_COLS = 64;
/** Below this many elements an axpy or dot (or rows × columns, a gather) runs on the main thread alone. */
const MIN_PARALLEL_ELEMENTS = 1 << 16;
/** The same for a SIMD pass over a pair (simd.ts), 3-4× faster per element than the JS loops. */
const MIN_PARALLEL_SIMD = 1 << 18;
/** How long the main thread waits for a worker before it gives up (the worker is stuck or gone). */
const WORKER_TIMEOUT_MS = 120_000;

/** What a task names: a matrix, or a vector as one row (row indices for a gather are an Int32Array). */
type Operand = { rows: number; cols: number; data: Float32Array | Int32Array };

interface PoolWorker {
  worker: Worker;
  ctrl: Int32Array;
  f64: Float64Array;
  port: MessagePort;
  seq: number;
  /** Ids of the buffers this worker has been sent. */
  known: Set<number>;
}

export type WasmEngine = Engine & { threads: number; close(): Promise<void> };
/** The engine of each kernel ('wasm': TensorFlow.js; 'simd-plain', 'simd-fused': gemm.wat). */
const current = new Map<string, WasmEngine>();

/**
 * The engine on `threads` threads (the main thread plus threads − 1 workers) with `kernel`.
 * The engine is kept: asking again for the same kernel and thread count returns it, another
 * thread count replaces it.
 */
async function engineWith(kernel: ProductKernel, threads: number): Promise<WasmEngine> {
  const key = keyOf(kernel);
  const n = Math.max(1, Math.floor(threads));
  const kept = current.get(key);
  if (kept?.threads === n) return kept;
  await kept?.close();
  const engine = await startWasmEngine(kernel, n);
  current.set(key, engine);
  return engine;
}

/** The key of `kernel`'s engine in `current`. */
const keyOf = (kernel: ProductKernel): string => (kernel.kind === 'tfjs' ? 'wasm' : `simd-${kernel.variant}`);

/** The 'wasm' engine: TensorFlow.js's wasm backend, already active on this thread as `tf`. */
export function createWasmEngine(tf: Tf, threads = os.availableParallelism()): Promise<WasmEngine> {
  return engineWith({ kind: 'tfjs', tf }, threads);
}

/** The 'simd' engine: the kernel of native/gemm.wat, built as `variant`. */
export function createSimdEngine(variant: GemmVariant, threads = os.availableParallelism()): Promise<WasmEngine> {
  return engineWith({ kind: 'gemm', variant }, threads);
}

/**
 * [lo, hi) for each of `parts` threads over [0, len), in proportion to their speeds (rows or
 * columns per ms on the last products of this shape; equal parts without them). The VMs this runs
 * on have spells of seconds in which one vCPU computes 40% slower than the other; a product cut
 * in equal parts then waits for the slow thread, one cut by speed does not. Where a product is
 * cut by rows or by columns, every element is still computed whole by one thread with the same
 * kernel, so the cut changes no bit (tested). No speed counts for less than half or more than
 * twice the mean (one bad sample cannot starve a thread), and the cuts fall on multiples of 8.
 */
export function cutBySpeed(len: number, parts: number, speed: number[] | undefined): [number, number][] {
  if (speed === undefined || speed.length !== parts) return Array.from({ length: parts }, (_, p) => part(p, parts, len));
  const mean = speed.reduce((x, y) => x + y, 0) / parts;
  const v = speed.map((s) => Math.min(2 * mean, Math.max(0.5 * mean, s)));
  const total = v.reduce((x, y) => x + y, 0);
  const cuts: [number, number][] = [];
  let lo = 0;
  let acc = 0;
  for (let p = 0; p < parts; p++) {
    acc += v[p] / total;
    let hi = p === parts - 1 ? len : Math.round((acc * len) / 8) * 8;
    hi = Math.min(len - (parts - 1 - p), Math.max(lo + 1, hi)); // every part at least one row or column
    cuts.push([lo, hi]);
    lo = hi;
  }
  return cuts;
}

/** The speeds after a product cut as `cuts` took `ms` per thread: a running average (weight 0.3 on the new). */
function updateSpeeds(old: number[] | undefined, cuts: [number, number][], ms: number[]): number[] | undefined {
  const now = cuts.map(([lo, hi], i) => (hi - lo) / Math.max(ms[i], 1e-3));
  if (!now.every(Number.isFinite)) return old;
  return old === undefined || old.length !== now.length ? now : old.map((v, i) => 0.7 * v + 0.3 * now[i]);
}

/** [lo, hi) of part p of `parts` equal parts of [0, len). */
function part(p: number, parts: number, len: number): [number, number] {
  return [Math.round((p * len) / parts), Math.round(((p + 1) * len) / parts)];
}

async function startWasmEngine(kernel: ProductKernel, n: number): Promise<WasmEngine> {
  /** This thread's block of a product; `gemm` is this thread's instance of gemm.wat on the simd engine. */
  let product: BlockProduct;
  let gemm: WasmGemm | null = null;
  if (kernel.kind === 'tfjs') product = blockProductOn(kernel.tf);
  else {
    const g = (gemm = new WasmGemm(kernel.variant));
    product = (...args) => g.block(...args);
  }
  const workers: PoolWorker[] = [];
  try {
    for (let i = 1; i < n; i++) workers.push(await startPoolWorker(gemm?.variant ?? null));
  } catch (e) {
    await Promise.all(workers.map((w) => w.worker.terminate()));
    throw e;
  }

  // Shared buffers get a number the workers know them by. The main thread's SharedArrayBuffer
  // object is only a handle: once it is collected, the workers are told to drop theirs.
  const ids = new WeakMap<SharedArrayBuffer, number>();
  let nextId = 1;
  const forget = new FinalizationRegistry<number>((id) => {
    for (const w of workers) {
      if (w.known.delete(id)) w.port.postMessage({ type: 'forget', id } satisfies ToWasmWorker);
    }
  });
  const idOf = (sab: SharedArrayBuffer): number => {
    let id = ids.get(sab);
    if (id === undefined) {
      id = nextId++;
      ids.set(sab, id);
      forget.register(sab, id);
    }
    return id;
  };

  // Staging for product operands that are not in shared memory, one per position, grown on demand.
  const staging: Float32Array[] = [];
  /** `m` itself when it is in shared memory, else a staged copy (with its values when `copyIn`). */
  const sharedMat = (m: Mat<Float32Array>, slot: number, copyIn: boolean): Mat<Float32Array> => {
    if (m.data.buffer instanceof SharedArrayBuffer) return m;
    if ((staging[slot]?.length ?? -1) < m.data.length) staging[slot] = new Float32Array(new SharedArrayBuffer(4 * m.data.length));
    const s = staging[slot].subarray(0, m.data.length);
    if (copyIn) s.set(m.data);
    return { rows: m.rows, cols: m.cols, data: s };
  };

  /** Write operand `m` (in shared memory) into operand slot `slot` of `w`'s task. */
  const setOperand = (w: PoolWorker, slot: number, m: Operand): void => {
    const sab = m.data.buffer as SharedArrayBuffer;
    const id = idOf(sab);
    if (!w.known.has(id)) {
      w.port.postMessage({ type: 'buffer', id, sab, memory: simdMemoryOf(sab) } satisfies ToWasmWorker);
      w.known.add(id);
    }
    const at = CTRL.operands + slot * OPERAND_SLOTS;
    const c = w.ctrl;
    c[at] = id;
    c[at + 1] = m.data.byteOffset / 4;
    c[at + 2] = m.data.length;
    c[at + 3] = m.rows;
    c[at + 4] = m.cols;
  };

  /** Hand `w` a task: op, operands, flags and block; it starts at once. */
  const post = (w: PoolWorker, op: number, operands: Operand[], transA: boolean, transB: boolean, blk: Block): void => {
    const c = w.ctrl;
    c[CTRL.op] = op;
    operands.forEach((m, slot) => setOperand(w, slot, m));
    c[CTRL.args] = transA ? 1 : 0;
    c[CTRL.args + 1] = transB ? 1 : 0;
    c[CTRL.args + 2] = blk.r0;
    c[CTRL.args + 3] = blk.r1;
    c[CTRL.args + 4] = blk.c0;
    c[CTRL.args + 5] = blk.c1;
    c[CTRL.args + 6] = blk.k0 ?? -1; // −1: all of k
    c[CTRL.args + 7] = blk.k1 ?? -1;
    w.seq = (w.seq + 1) & 0x3fffffff;
    Atomics.store(c, CTRL.seq, w.seq);
    Atomics.notify(c, CTRL.seq);
  };

  /**
   * Run `mine` on this thread while `busy` work on their tasks, then wait for all of them. Every
   * worker is waited for even when `mine` throws, so none is left writing into a buffer.
   */
  const together = (busy: PoolWorker[], mine: () => void): void => {
    let err: unknown = null;
    try {
      mine();
    } catch (e) {
      err = e;
    }
    for (const w of busy) {
      try {
        waitDone(w);
      } catch (e) {
        err ??= e;
      }
    }
    if (err !== null) throw err;
  };

  /** How many threads share a pass over `elements` numbers of these arrays: all when they are shared and it is big enough. */
  const vectorParts = (elements: number, arrays: ArrayBufferView[], min = MIN_PARALLEL_ELEMENTS): number => {
    const shared = arrays.every((a) => a.buffer instanceof SharedArrayBuffer);
    return shared && elements >= min ? workers.length + 1 : 1;
  };
  const row = (v: Float32Array | Int32Array): Operand => ({ rows: 1, cols: v.length, data: v });

  /**
   * A vector pass (`op`: axpy, dot or axpySumSq) over [0, y.length), cut into one range per
   * thread: the workers take the later ranges, this thread the first (`mine`). On a SIMD pair
   * (simd.ts) every thread runs the SIMD kernels on its range, else the JS loops. Returns the ranges'
   * partial sums added in range order, so the same threads give the same sum (for dot and
   * axpySumSq; an axpy's is meaningless).
   */
  const vectorPass = (op: number, alpha: number, x: Float32Array, y: Float32Array, mine: (lo: number, hi: number) => number, min = MIN_PARALLEL_ELEMENTS): number => {
    const parts = vectorParts(y.length, [x, y], min);
    const busy = workers.slice(0, parts - 1);
    busy.forEach((w, i) => {
      w.f64[F64.alpha] = alpha;
      const [lo, hi] = part(i + 1, parts, y.length);
      post(w, op, [row(x), row(y)], false, false, { r0: lo, r1: hi, c0: 0, c1: 0 });
    });
    let s = 0;
    together(busy, () => (s = mine(0, part(0, parts, y.length)[1])));
    for (const w of busy) s += w.f64[F64.result];
    return s;
  };

  /**
   * Product blocks of op(a)·op(b), each into its own output: the first on this thread, the next
   * ones on the workers, and any beyond the workers on this thread too, in turn.
   */
  const runBlocks = (a: Mat<Float32Array>, b: Mat<Float32Array>, transA: boolean, transB: boolean, tasks: { into: Mat<Float32Array>; blk: Block }[]): number[] => {
    const busy = workers.slice(0, tasks.length - 1);
    busy.forEach((w, i) => post(w, OP.product, [a, b, tasks[i + 1].into], transA, transB, tasks[i + 1].blk));
    const own = [0];
    for (let i = busy.length + 1; i < tasks.length; i++) own.push(i);
    const ms = new Array<number>(tasks.length).fill(0);
    together(busy, () => {
      for (const i of own) {
        const t0 = performance.now();
        product(a, b, tasks[i].into, transA, transB, tasks[i].blk);
        ms[i] = performance.now() - t0;
      }
    });
    busy.forEach((w, i) => (ms[i + 1] = w.f64[F64.result])); // the worker's own time for its block
    return ms;
  };

  /** Per product shape, each thread's recent speed on its block (see cutBySpeed). */
  const speeds = new Map<string, number[]>();

  // The second half-sum of a product cut in two halves of K (SPLIT_K), grown on demand.
  let partial: Float32Array = new Float32Array(0);

  /**
   * out = a[:, 0:h]·b[0:h, :] + a[:, h:K]·b[h:K, :], h = ⌊K/2⌋. The first half goes into out, the
   * second into `partial`, each half cut by columns among half the threads (one thread does both
   * halves in turn), then out += partial.
   */
  const splitK = (a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>): void => {
    const M = out.rows;
    const N = out.cols;
    const K = a.cols;
    const h = K >> 1;
    if (partial.length < M * N) partial = new Float32Array(new SharedArrayBuffer(4 * M * N));
    const second: Mat<Float32Array> = { rows: M, cols: N, data: partial.subarray(0, M * N) };
    const sa = sharedMat(a, 0, true);
    const sb = sharedMat(b, 1, true);
    const so = sharedMat(out, 2, false);
    const cols = Math.max(1, Math.floor(n / 2));
    const tasks: { into: Mat<Float32Array>; blk: Block }[] = [];
    for (const [into, k0, k1] of [[so, 0, h], [second, h, K]] as const) {
      for (let p = 0; p < cols; p++) {
        const [c0, c1] = part(p, cols, N);
        tasks.push({ into, blk: { r0: 0, r1: M, c0, c1, k0, k1 } });
      }
    }
    runBlocks(sa, sb, false, false, tasks);
    engine.axpy!(1, second.data, so.data); // out += the second half-sum
    if (so !== out) out.data.set(so.data);
  };

  const threadsText = n > 1 ? `${n} threads (main + ${n - 1} worker${n > 2 ? 's' : ''})` : '1 thread';
  const engine: WasmEngine = {
    name: kernel.kind === 'tfjs' ? 'wasm' : 'simd',
    detail:
      kernel.kind === 'tfjs'
        ? `TensorFlow.js ${kernel.tf.version_core} wasm backend (SIMD ${kernel.tf.env().features['WASM_HAS_SIMD_SUPPORT'] ? 'on' : 'off'}), ${threadsText}`
        : `WebAssembly SIMD kernel native/gemm.wat (${kernel.variant === 'fused' ? 'fused multiply-add, relaxed SIMD' : 'multiply, then add'}), ${threadsText}`,
    threads: n,
    sharedMemory: n > 1,

    matmul(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean) {
      const M = out.rows;
      const N = out.cols;
      const K = transA ? a.rows : a.cols;
      if (gemm === null && 2 * M * N * K >= MIN_PARALLEL_FLOPS && !transA && !transB && K >= SPLIT_K && N >= SPLIT_K_COLS) return splitK(a, b, out);
      const byCols = (gemm === null ? !transA : M < N) && N >= MIN_COLS_PER_THREAD * n;
      const len = byCols ? N : M;
      const parts = 2 * M * N * K < MIN_PARALLEL_FLOPS ? 1 : Math.min(n, len);
      if (parts === 1) return product(a, b, out, transA, transB, { r0: 0, r1: M, c0: 0, c1: N });
      // Cut in proportion to how fast each thread did its share of this shape last time.
      const shape = `${M}x${N}x${K}${transA ? 'T' : ''}${transB ? 'T' : ''}`;
      const cuts = cutBySpeed(len, parts, speeds.get(shape));
      const blocks = cuts.map(([lo, hi]): Block => (byCols ? { r0: 0, r1: M, c0: lo, c1: hi } : { r0: lo, r1: hi, c0: 0, c1: N }));
      // This thread writes its block into `out` itself; the workers into `out` when it is shared,
      // else into a staged copy whose blocks are copied over after.
      const so = sharedMat(out, 2, false);
      const ms = runBlocks(sharedMat(a, 0, true), sharedMat(b, 1, true), transA, transB, blocks.map((blk, i) => ({ into: i === 0 ? out : so, blk })));
      if (so !== out) for (let i = 1; i < parts; i++) copyBlock(so, out, blocks[i]);
      const v = updateSpeeds(speeds.get(shape), cuts, ms);
      if (v !== undefined) speeds.set(shape, v);
    },

    axpy(alpha: number, x: Float32Array, y: Float32Array) {
      const [passes, min] = weightPasses(x, y);
      vectorPass(OP.axpy, alpha, x, y, (lo, hi) => (passes.axpyRange(alpha, x, y, lo, hi), 0), min);
    },

    dot(x: Float32Array, y: Float32Array): number {
      return vectorPass(OP.dot, 0, x, y, (lo, hi) => dotRange(x, y, lo, hi));
    },

    axpySumSq(alpha: number, x: Float32Array, y: Float32Array): number {
      const [passes, min] = weightPasses(x, y);
      return vectorPass(OP.axpySumSq, alpha, x, y, (lo, hi) => passes.axpySumSqRange(alpha, x, y, lo, hi), min);
    },

    allocPair: vectorPair,

    gatherRows(src: Mat<Float32Array>, rows: Int32Array, dst: Mat<Float32Array>) {
      // The rows are split among the threads; each copies its share straight from the data.
      const parts = Math.min(vectorParts(rows.length * src.cols, [src.data, dst.data, rows]), rows.length);
      const busy = workers.slice(0, parts - 1);
      busy.forEach((w, i) => {
        const [lo, hi] = part(i + 1, parts, rows.length);
        post(w, OP.gather, [src, dst, row(rows)], false, false, { r0: lo, r1: hi, c0: 0, c1: 0 });
      });
      together(busy, () => gatherRange(src, rows, dst, 0, part(0, parts, rows.length)[1]));
    },

    async close() {
      for (const w of workers) {
        Atomics.store(w.ctrl, CTRL.seq, -1);
        Atomics.notify(w.ctrl, CTRL.seq);
      }
      await Promise.all(workers.map((w) => w.worker.terminate()));
      workers.length = 0;
      if (current.get(keyOf(kernel)) === engine) current.delete(keyOf(kernel));
    },
  };
  return engine;
}

/** The weight passes over x and y (the SIMD kernels on a pair, else the JS loops), and the size from which threads share them. */
function weightPasses(x: Float32Array, y: Float32Array): [WeightPasses, number] {
  const simd = simdKernelsFor(x, y);
  return simd !== null ? [simd, MIN_PARALLEL_SIMD] : [JS_PASSES, MIN_PARALLEL_ELEMENTS];
}

/** Wait until `w` has finished its current task; throw its error if it failed. */
function waitDone(w: PoolWorker): void {
  const c = w.ctrl;
  const t0 = performance.now();
  // Poll first: the worker's block takes about as long as the main thread's, so it is usually
  // done within a millisecond, sooner than a sleeping thread would be woken.
  for (let n = 1; Atomics.load(c, CTRL.done) !== w.seq && (n & 0xffff) !== 0; n++);
  let d: number;
  while ((d = Atomics.load(c, CTRL.done)) !== w.seq) {
    if (Atomics.wait(c, CTRL.done, d, 1000) === 'timed-out' && performance.now() - t0 > WORKER_TIMEOUT_MS) {
      throw new Error(`wasm engine: a worker thread has not answered for ${WORKER_TIMEOUT_MS / 1000} s; it may have run out of memory. Rerun with --backend js to train without worker threads.`);
    }
  }
  if (Atomics.load(c, CTRL.status) !== 0) {
    const msg = receiveMessageOnPort(w.port)?.message as FromWasmWorker | undefined;
    throw new Error(`wasm engine worker: ${msg?.type === 'error' ? msg.message : 'failed without a message'}`);
  }
}

/** Copy block `blk` of `from` into `to` (both (M,N)). */
function copyBlock(from: Mat<Float32Array>, to: Mat<Float32Array>, blk: Block): void {
  const N = to.cols;
  for (let i = blk.r0; i < blk.r1; i++) to.data.set(from.data.subarray(i * N + blk.c0, i * N + blk.c1), i * N + blk.c0);
}

async function startPoolWorker(gemm: GemmVariant | null): Promise<PoolWorker> {
  const sab = new SharedArrayBuffer(F64_OFFSET + 8 * F64.length);
  const ctrl = new Int32Array(sab, 0, CTRL.length);
  const f64 = new Float64Array(sab, F64_OFFSET, F64.length);
  const { port1, port2 } = new MessageChannel();
  const worker = startWorker(import.meta.url, 'wasm_worker', { sab, port: port2, gemm } satisfies WasmWorkerData, [port2]);
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => reject(new Error(`wasm engine: a worker thread could not start: ${e instanceof Error ? e.message : String(e)}`));
    worker.once('error', fail);
    worker.once('exit', (code) => fail(`it exited with code ${code}`));
    port1.once('message', (msg: FromWasmWorker) => {
      worker.off('error', fail);
      worker.removeAllListeners('exit');
      if (msg.type === 'ready') resolve();
      else fail(msg.message);
    });
  });
  port1.unref();
  return { worker, ctrl, f64, port: port1, seq: 0, known: new Set() };
}
