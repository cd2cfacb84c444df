/**
 * The wasm engines: matrix products in WebAssembly SIMD on every core, their kernel either
 * TensorFlow.js's wasm backend (XNNPACK: the 'wasm' engine) or the hand-written one of
 * native/gemm.wat (gemm.ts: the 'simd' engine); kernels.ts starts either. Everything else is the
 * same for both, and is in three modules: the thread pool (pool.ts), how a product or a pass is
 * cut among its threads (cuts.ts), and the SIMD weight passes (simd.ts). This file puts them
 * together: each product is planned (cuts.ts planProduct) and its blocks handed to the pool; the
 * vector passes over the weights (axpy: the SGD step; axpySumSq: the L2 gradient and loss in one
 * pass) and the minibatch gather are cut into equal ranges. The weight passes run as the SIMD
 * kernels of simd.ts where the parameters and their gradient were allocated as a pair (this
 * engine's allocator, alloc.ts), else as the JS loops of blas1.ts.
 */
import * as os from 'node:os';
import { makeAllocator } from '../alloc.js';
import type { Mat } from '../mat.js';
import { type Block, MIN_PARALLEL_ELEMENTS, MIN_PARALLEL_SIMD, Speeds, blocksOf, planProduct, splitKBlocks, vectorParts } from './cuts.js';
import { gemmVariant } from './gemm.js';
import { type BlockKernel, type KernelSpec, startKernel } from './kernels.js';
import { type BlockTask, type RulePass, ThreadPool, VECTOR_OPS, type VectorOp, adamCoeffs } from './pool.js';
import { JS_PASSES, vectorPair, weightPasses } from './simd.js';
import { activeTf } from './tfjs.js';
import { type Engine, type EngineDescriptor, type NotStarted, firstLine } from './types.js';

export type WasmEngine = Engine & { threads: number; close(): Promise<void> };
/** The engine of each kernel ('wasm': TensorFlow.js; 'simd-plain', 'simd-fused': gemm.wat). */
const current = new Map<string, WasmEngine>();

/**
 * The engine on `threads` threads (the main thread plus threads − 1 workers) with `kernel`.
 * The engine is kept: asking again for the same kernel and thread count returns it, another
 * thread count replaces it.
 */
async function engineWith(kernel: KernelSpec, threads: number): Promise<WasmEngine> {
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
const keyOf = (kernel: KernelSpec): string => (kernel.kind === 'tfjs' ? 'wasm' : `simd-${kernel.variant}`);

/** The 'simd' engine: the kernel of native/gemm.wat, in the build this runtime runs best. */
export const simd = {
  name: 'simd',
  async start(threads = os.availableParallelism()): Promise<Engine | NotStarted> {
    try {
      const variant = gemmVariant();
      return variant === null ? { reason: 'this runtime has no WebAssembly SIMD' } : await engineWith({ kind: 'gemm', variant }, threads);
    } catch (e) {
      return { reason: firstLine(e) };
    }
  },
} as const satisfies EngineDescriptor;

/** The 'wasm' engine: TensorFlow.js's wasm backend, made active on this thread first. */
export const wasm = {
  name: 'wasm',
  async start(threads = os.availableParallelism()): Promise<Engine | NotStarted> {
    const tf = await activeTf('wasm');
    return 'reason' in tf ? tf : engineWith({ kind: 'tfjs' }, threads);
  },
} as const satisfies EngineDescriptor;

/** What the engine's operations share: the kernel, its thread pool, the cuts' speed record and the split-K scratch. */
interface WasmState {
  kernel: BlockKernel;
  pool: ThreadPool;
  /** Threads: the main one plus n − 1 workers. */
  n: number;
  speeds: Speeds;
  /** The second half-sum of a product cut in two halves of K (cuts.ts SPLIT_K), grown on demand. */
  partial: Float32Array;
}

async function startWasmEngine(spec: KernelSpec, n: number): Promise<WasmEngine> {
  const kernel: BlockKernel = await startKernel(spec);
  const pool = await ThreadPool.start(n, spec, kernel.product);
  const st: WasmState = { kernel, pool, n, speeds: new Speeds(), partial: new Float32Array(0) };
  const threadsText = n > 1 ? `${n} threads (main + ${n - 1} worker${n > 2 ? 's' : ''})` : '1 thread';
  const engine: WasmEngine = {
    name: spec.kind === 'tfjs' ? 'wasm' : 'simd',
    detail: `${kernel.detail}, ${threadsText}`,
    threads: n,
    // Shared memory when there are workers to read and write operands in place; the parameters
    // and their gradient side by side in a WebAssembly.Memory the SIMD weight passes work on.
    alloc: makeAllocator({ shared: n > 1, pair: vectorPair }),
    matmul: (a, b, out, transA, transB) => product(st, a, b, out, transA, transB),
    axpy: (alpha, x, y) => void vectorPass(st, 'axpy', alpha, x, y),
    dot: (x, y) => vectorPass(st, 'dot', 0, x, y),
    axpySumSq: (alpha, x, y) => vectorPass(st, 'axpySumSq', alpha, x, y),
    // The update rules' JS loops (optim/adam.ts adamRange, …) in equal ranges on every thread, when
    // all the arrays are shared (the optimizer's state comes from this engine's allocator, as w
    // and dw do).
    adam: (w, dw, m, v, c) => rulePass(st, 'adam', [w, dw, m, v], adamCoeffs(c)),
    rmsprop: (w, dw, cache, lr, decayRate, eps) => rulePass(st, 'rmsprop', [w, dw, cache], [lr, decayRate, eps]),
    sgdMomentum: (w, dw, v, lr, momentum) => rulePass(st, 'sgdMomentum', [w, dw, v], [lr, momentum]),
    gatherRows(src: Mat<Float32Array>, rows: Int32Array, dst: Mat<Float32Array>) {
      // The rows are split among the threads; each copies its share straight from the data.
      const parts = Math.min(vectorParts(rows.length * src.cols, [src.data, dst.data, rows].every(isShared), n, MIN_PARALLEL_ELEMENTS), rows.length);
      pool.gather(parts, src, rows, dst);
    },
    async close() {
      await pool.close();
      if (current.get(keyOf(spec)) === engine) current.delete(keyOf(spec));
    },
  };
  return engine;
}

/** out (M,N) = op(a)·op(b), as cuts.ts planProduct says: whole on this thread, in blocks on every thread, or in two halves of K. */
function product(st: WasmState, a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean): void {
  const M = out.rows;
  const N = out.cols;
  const K = transA ? a.rows : a.cols;
  const plan = planProduct(M, N, K, transA, transB, st.n, st.kernel);
  if (plan.kind === 'splitK') return splitK(st, a, b, out);
  if (plan.kind === 'whole') return st.kernel.product(a, b, out, transA, transB, { r0: 0, r1: M, c0: 0, c1: N });
  productBlocks(st, a, b, out, transA, transB, plan.byCols, plan.len, plan.parts);
}

/** A cut of op(a)·op(b) into `parts` blocks along rows or columns, by each thread's speed on this shape. */
function productBlocks(st: WasmState, a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean, byCols: boolean, len: number, parts: number): void {
  const { pool, speeds } = st;
  const M = out.rows;
  const N = out.cols;
  const K = transA ? a.rows : a.cols;
  // Cut in proportion to how fast each thread did its share of this shape last time.
  const shape = `${M}x${N}x${K}${transA ? 'T' : ''}${transB ? 'T' : ''}`;
  const cuts = speeds.cuts(shape, len, parts);
  const blks = blocksOf(M, N, byCols, cuts);
  // This thread writes its block into `out` itself; the workers into `out` when it is shared,
  // else into a staged copy whose blocks are copied over after.
  const so = pool.shared(out, 2, false);
  const ms = pool.runBlocks(
    pool.shared(a, 0, true),
    pool.shared(b, 1, true),
    transA,
    transB,
    blks.map((blk, i) => ({ into: i === 0 ? out : so, blk })),
  );
  if (so !== out) for (let i = 1; i < parts; i++) copyBlock(so, out, blks[i]);
  speeds.update(shape, cuts, ms);
}

/** out = a[:, 0:h]·b[0:h, :] + a[:, h:K]·b[h:K, :]: the first half into out, the second into st.partial, then out += partial. */
function splitK(st: WasmState, a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>): void {
  const { pool } = st;
  const M = out.rows;
  const N = out.cols;
  if (st.partial.length < M * N) st.partial = new Float32Array(new SharedArrayBuffer(4 * M * N));
  const second: Mat<Float32Array> = { rows: M, cols: N, data: st.partial.subarray(0, M * N) };
  const sa = pool.shared(a, 0, true);
  const sb = pool.shared(b, 1, true);
  const so = pool.shared(out, 2, false);
  const tasks: BlockTask[] = splitKBlocks(M, N, a.cols, st.n).map(({ half, blk }) => ({ into: half === 0 ? so : second, blk }));
  pool.runBlocks(sa, sb, false, false, tasks);
  vectorPass(st, 'axpy', 1, second.data, so.data); // out += the second half-sum
  if (so !== out) out.data.set(so.data);
}

/** Vector pass `name` over x and y, on all threads when the arrays are shared and the pass is big enough. */
function vectorPass(st: WasmState, name: VectorOp, alpha: number, x: Float32Array, y: Float32Array): number {
  const passes = VECTOR_OPS[name].simd ? weightPasses(x, y) : JS_PASSES;
  const min = passes !== JS_PASSES ? MIN_PARALLEL_SIMD : MIN_PARALLEL_ELEMENTS;
  const parts = vectorParts(y.length, [x, y].every(isShared), st.n, min);
  return st.pool.vectorPass(name, parts, passes, alpha, x, y);
}

/** Update rule `name`'s pass over `arrays`, on all threads when they are all shared and big enough. */
function rulePass(st: WasmState, name: RulePass, arrays: Float32Array[], c: number[]): void {
  st.pool.rulePass(name, vectorParts(arrays[0].length, arrays.every(isShared), st.n, MIN_PARALLEL_ELEMENTS), arrays, c);
}

const isShared = (a: ArrayBufferView): boolean => a.buffer instanceof SharedArrayBuffer;

/** Copy block `blk` of `from` into `to` (both (M,N)). */
function copyBlock(from: Mat<Float32Array>, to: Mat<Float32Array>, blk: Block): void {
  const N = to.cols;
  for (let i = blk.r0; i < blk.r1; i++) to.data.set(from.data.subarray(i * N + blk.c0, i * N + blk.c1), i * N + blk.c0);
}
