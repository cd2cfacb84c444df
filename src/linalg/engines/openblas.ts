/**
 * The native engine: `cblas_sgemm` from the system BLAS (OpenBLAS on Linux, Accelerate on macOS)
 * through the small N-API addon in native/tsnn_blas.c, built by node-gyp at install time where a
 * compiler and OpenBLAS are present. It reads and writes the Mat typed arrays in place (row-major,
 * transposes passed as flags, leading dimensions = the stored column counts), so a product costs
 * no copy at all, and OpenBLAS uses every core.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { makeAllocator } from '../alloc.js';
import type { Mat } from '../mat.js';
import { type Engine, type EngineDescriptor, type NotStarted, firstLine } from './types.js';

interface Addon {
  sgemm(transA: boolean, transB: boolean, M: number, N: number, K: number, A: Float32Array, lda: number, B: Float32Array, ldb: number, C: Float32Array, ldc: number): void;
  info(): { library: string; threads: number };
  setThreads(n: number): void;
  saxpy(alpha: number, x: Float32Array, y: Float32Array): void;
  dsdot(x: Float32Array, y: Float32Array): number;
  gatherRows(src: Float32Array, cols: number, rows: Int32Array, dst: Float32Array): void;
  adviseHugePages(a: ArrayBufferView): boolean;
  rmsprop(w: Float32Array, dw: Float32Array, cache: Float32Array, lr: number, decayRate: number, eps: number): void;
  sgdMomentum(w: Float32Array, dw: Float32Array, v: Float32Array, lr: number, momentum: number): void;
  adam(w: Float32Array, dw: Float32Array, m: Float32Array, v: Float32Array, beta1: number, a1: number, beta2: number, a2: number, lrc1: number, c2: number, eps: number): void;
}

/** Where node-gyp puts the addon: <package root>/native/build/Release/tsnn_blas.node. */
const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/tsnn_blas.node', import.meta.url));

/** Load the addon, or say why it cannot be used. */
function loadAddon(): Addon | NotStarted {
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as Addon;
  } catch (e) {
    return { reason: (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? `${ADDON_PATH} was not built (apt-get install libopenblas-dev, then npm run build:native)` : firstLine(e) };
  }
}

/** The native engine on `threads` threads per product (a process-wide setting of OpenBLAS). */
function start(threads: number): Engine | NotStarted {
  const addon = loadAddon();
  if ('reason' in addon) return addon;
  const own = Math.max(1, Math.floor(threads));
  addon.setThreads(own);
  const info = addon.info(); // after the thread count is set: the detail names the threads the products use
  return {
    name: 'openblas',
    detail: `${info.library.trim()}${info.threads ? `, ${info.threads} thread${info.threads === 1 ? '' : 's'}` : ''}`,
    // Plain memory (its threads are OpenBLAS's own), large arrays on huge pages.
    alloc: makeAllocator({ adviseHugePages: (a) => addon.adviseHugePages(a) }),
    matmul(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean) {
      const K = transA ? a.rows : a.cols;
      // The count is process-wide: another engine (a sweep's workers, on C/W threads each) may have
      // changed it since this one started, and it would stay changed for the runs after the sweep.
      addon.setThreads(own);
      addon.sgemm(transA, transB, out.rows, out.cols, K, a.data, a.cols, b.data, b.cols, out.data, out.cols);
    },
    axpy: (alpha, x, y) => addon.saxpy(alpha, x, y),
    dot: (x, y) => addon.dsdot(x, y),
    // Adam's loop in C over doubles, vectorised, on two threads for big arrays (native/tsnn_blas.c adam_range).
    adam: (w, dw, m, v, c) => addon.adam(w, dw, m, v, c.beta1, c.a1, c.beta2, c.a2, c.lrc1, c.c2, c.eps),
    rmsprop: (w, dw, cache, lr, decayRate, eps) => addon.rmsprop(w, dw, cache, lr, decayRate, eps),
    sgdMomentum: (w, dw, v, lr, momentum) => addon.sgdMomentum(w, dw, v, lr, momentum),
    gatherRows: (src, rows, dst) => addon.gatherRows(src.data, src.cols, rows, dst.data),
  };
}

export const openblas = { name: 'openblas', start } as const satisfies EngineDescriptor;

/** The threads OpenBLAS uses for the next product, process-wide (0 where it does not say: Accelerate), or null without the addon. */
export function openblasThreadsNow(): number | null {
  const addon = loadAddon();
  return 'reason' in addon ? null : addon.info().threads;
}
