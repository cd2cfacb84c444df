/**
 * One thread's share of a matrix product on the TensorFlow.js wasm backend. The main thread and
 * each worker of the wasm engine (wasm.ts, pool.ts) run this same function on their own block:
 *
 *   out[r0:r1, c0:c1] = op(a)[r0:r1, :] · op(b)[:, c0:c1]        op(x) = xᵀ when its flag is set
 *
 * The operands are copied straight into the wasm heap (the only copy TensorFlow.js needs), a
 * transposed operand is transposed there by TensorFlow.js, and the product is always asked for
 * without transpose flags, because only that form reaches XNNPACK's fast kernel: with a flag
 * the wasm backend falls back to a plain loop, an order of magnitude slower. The result is read
 * from the heap straight into `out`: dataSync() would first copy it into a fresh array.
 */
import type { Mat } from '../mat.js';
import type { Block, BlockProduct } from './cuts.js';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;
type TensorInfo = import('@tensorflow/tfjs-core').TensorInfo;

/** The methods of the wasm backend used here (BackendWasm in @tensorflow/tfjs-backend-wasm). */
interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/** blockProduct on `tf` (its wasm backend active). */
export function blockProductOn(tf: Tf): BlockProduct {
  return (a, b, out, transA, transB, blk) => blockProduct(tf, a, b, out, transA, transB, blk);
}

/** A (rows, cols) tensor in the wasm heap, filled in place by `fill` (no intermediate array). */
function heapTensor(tf: Tf, be: WasmBackend, rows: number, cols: number, fill: (dst: Float32Array) => void): Tensor2D {
  const info = be.makeOutput([rows, cols], 'float32');
  // Read the heap view right after the allocation: a later allocation may grow (and move) the heap.
  fill(be.typedArrayFromHeap(info));
  return tf.engine().makeTensorFromTensorInfo(info) as Tensor2D;
}

/** dst (R, c1−c0) = columns [c0, c1) of rows [0, R) of the row-major (R, C) array src. */
function copyCols(src: Float32Array, C: number, R: number, c0: number, c1: number, dst: Float32Array): void {
  const n = c1 - c0;
  if (n === C) {
    dst.set(src.subarray(0, R * C));
    return;
  }
  for (let r = 0; r < R; r++) dst.set(src.subarray(r * C + c0, r * C + c1), r * n);
}

/**
 * out[r0:r1, c0:c1] = op(a)[r0:r1, k0:k1] · op(b)[k0:k1, c0:c1] on the active wasm backend (k0..k1
 * all of K unless the block names a range; a range only without transposes).
 */
export function blockProduct(tf: Tf, a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean, blk: Block): void {
  const be = tf.backend() as unknown as WasmBackend;
  const { r0, r1, c0, c1 } = blk;
  const m = r1 - r0;
  const n = c1 - c0;
  const Kall = transA ? a.rows : a.cols;
  const k0 = blk.k0 ?? 0;
  const k1 = blk.k1 ?? Kall;
  const K = k1 - k0;
  if (K !== Kall && (transA || transB)) throw new Error('blockProduct: a range of k is only for products without transposes');
  const c = tf.tidy(() => {
    // op(a)[r0:r1, k0:k1] as an (m, K) tensor.
    const opA = transA
      ? tf.transpose(heapTensor(tf, be, K, m, (d) => copyCols(a.data, a.cols, K, r0, r1, d))) // a is (K, M)
      : heapTensor(tf, be, m, K, (d) => copyCols(a.data.subarray(r0 * Kall), Kall, m, k0, k1, d)); // one copy when k0..k1 is all of K
    // op(b)[k0:k1, c0:c1] as a (K, n) tensor.
    const opB = transB
      ? tf.transpose(heapTensor(tf, be, n, K, (d) => d.set(b.data.subarray(c0 * K, c1 * K)))) // b is (N, K)
      : heapTensor(tf, be, K, n, (d) => copyCols(b.data.subarray(k0 * b.cols), b.cols, K, c0, c1, d)); // one copy when c0..c1 is all of N
    return tf.matMul(opA, opB);
  });
  try {
    const res = be.typedArrayFromHeap(c);
    const N = out.cols;
    if (n === N) out.data.set(res, r0 * N);
    else for (let i = 0; i < m; i++) out.data.set(res.subarray(i * n, (i + 1) * n), (r0 + i) * N + c0);
  } finally {
    c.dispose();
  }
}
