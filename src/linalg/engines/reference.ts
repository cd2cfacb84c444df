/**
 * Reference matmul in plain JS loops, for any float array type. It serves float64 products
 * (gradient checks) and is the yardstick the other engines are tested against. The loop order
 * for each transpose case keeps the innermost loop on contiguous memory.
 */
import { PLAIN } from '../alloc.js';
import type { Mat, FloatArray } from '../mat.js';
import type { Engine, EngineDescriptor } from './types.js';

/** out (M,N) = op(a) · op(b), overwriting out. Shapes are checked by the seam. */
function matmulAny(a: Mat, b: Mat, out: Mat, transA: boolean, transB: boolean): void {
  const M = out.rows;
  const N = out.cols;
  const K = transA ? a.rows : a.cols;
  const A: FloatArray = a.data;
  const B: FloatArray = b.data;
  const C: FloatArray = out.data;
  C.fill(0);
  if (!transB) {
    // C[i,:] += op(a)[i,k] · B[k,:]   (B rows are contiguous)
    for (let i = 0; i < M; i++) {
      const ci = i * N;
      for (let k = 0; k < K; k++) {
        const aik = transA ? A[k * M + i] : A[i * K + k];
        if (aik === 0) continue;
        const bk = k * N;
        for (let j = 0; j < N; j++) C[ci + j] += aik * B[bk + j];
      }
    }
  } else if (!transA) {
    // C[i,j] = A[i,:] · B[j,:]   (both rows contiguous)
    for (let i = 0; i < M; i++) {
      const ai = i * K;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ai + k] * B[bj + k];
        C[i * N + j] = s;
      }
    }
  } else {
    // C[i,j] = Σ_k A[k,i] · B[j,k]
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[k * M + i] * B[bj + k];
        C[i * N + j] = s;
      }
    }
  }
}

export const referenceEngine: Engine & { matmulAny: typeof matmulAny } = {
  name: 'js',
  detail: 'reference JS loops',
  alloc: PLAIN,
  matmul: (a, b, out, transA, transB) => matmulAny(a, b, out, transA, transB),
  matmulAny,
};

/** --backend js: the reference loops, on the main thread only (never chosen by 'auto'). */
export const js = { name: 'js', start: () => referenceEngine } as const satisfies EngineDescriptor;
