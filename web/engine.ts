/**
 * The engine of the training Web Worker: the simd engine of src/linalg/engines/wasm.ts itself
 * (native/gemm.wat in the build this browser runs best), on one thread. Its thread pool starts
 * its extra threads with node:worker_threads; on one thread it starts none, so the same
 * descriptor runs here unchanged and its products are the Node engine's bit for bit.
 */
import { useEngine } from '../src/linalg/matmul.js';
import { simd } from '../src/linalg/engines/wasm.js';
import type { Engine, EngineDescriptor, NotStarted } from '../src/linalg/engines/types.js';

export const webSimd = {
  name: 'simd',
  start: (): Promise<Engine | NotStarted> => simd.start(1),
  hint: 'use a browser with WebAssembly SIMD (Chromium 91+, Firefox 89+, Safari 16.4+)',
} as const satisfies EngineDescriptor;

/** Start the worker's engine and route products to it (as engine.ts initEngine does in Node). */
export async function initWebEngine(): Promise<Engine> {
  const e = await webSimd.start();
  if ('reason' in e) throw new Error(`the simd engine could not start: ${e.reason}; ${webSimd.hint}`);
  useEngine(e);
  return e;
}
