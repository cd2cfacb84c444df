/**
 * The product kernels the wasm engines' threads compute their blocks with: TensorFlow.js's wasm
 * backend (XNNPACK, wasm_block.ts: the 'wasm' engine) or the hand-written native/gemm.wat in one of
 * its builds (gemm.ts: the 'simd' engine). The main thread and every worker thread start their own
 * instance from the same KernelSpec, so the thread pool (pool.ts) and the cuts (cuts.ts) need not
 * know which kernel runs.
 */
import type { BlockProduct, ProductCut } from './cuts.js';
import { type GemmVariant, WasmGemm } from './gemm.js';
import { blockProductOn } from './wasm_block.js';

/** Which kernel, as a worker thread is told it: TensorFlow.js's wasm backend, or gemm.wat built as `variant`. */
export type KernelSpec = { kind: 'tfjs' } | { kind: 'gemm'; variant: GemmVariant };

/** A kernel started on this thread: its block product, how it likes products cut, and a line for the engine's detail. */
export interface BlockKernel extends ProductCut {
  product: BlockProduct;
  detail: string;
}

/** Start `spec`'s kernel on this thread. */
export async function startKernel(spec: KernelSpec): Promise<BlockKernel> {
  if (spec.kind === 'gemm') {
    const gemm = new WasmGemm(spec.variant);
    return {
      product: (...args) => gemm.block(...args),
      // Each thread copies all of A for a cut by columns and all of B for a cut by rows: columns only for wide results.
      byCols: (M, N) => M < N,
      splitK: false,
      detail: `WebAssembly SIMD kernel native/gemm.wat (${spec.variant === 'fused' ? 'fused multiply-add, relaxed SIMD' : 'multiply, then add'})`,
    };
  }
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  return {
    product: blockProductOn(tf),
    byCols: (_M, _N, transA) => !transA,
    splitK: true,
    detail: `TensorFlow.js ${tf.version_core} wasm backend (SIMD ${tf.env().features['WASM_HAS_SIMD_SUPPORT'] ? 'on' : 'off'})`,
  };
}
