/**
 * Affine (fully connected) layer, cs231n `affine_forward` / `affine_backward`.
 *
 *   forward:   out = x·w + b                       (b added to every row)
 *   backward:  dx = dout·wᵀ     dw = xᵀ·dout     db = Σ_rows dout
 *
 * Both products go through the matmul seam; the transposes are flags, never copies. The bias add
 * and the column sums are row passes of linalg/rows.ts.
 */
import { type FloatArray, type Mat, checkShape, shapeStr } from '../linalg/mat.js';
import { matmul } from '../linalg/matmul.js';
import { addRowVector, columnSums } from '../linalg/rows.js';

/** What forward saves for backward: the input and the weights (neither is changed). */
export interface AffineCache<T extends FloatArray = FloatArray> {
  /** Input x (N,D). */
  x: Mat<T>;
  /** Weights w (D,M). */
  w: Mat<T>;
  /** Whether forward added a bias, i.e. whether backward returns db. */
  hasBias: boolean;
}

export interface AffineGrads<T extends FloatArray = FloatArray> {
  /** dL/dx (N,D), or null when backward was told the input needs no gradient. */
  dx: Mat<T> | null;
  /** dL/dw (D,M). */
  dw: Mat<T>;
  /** dL/db (1,M), or null when forward had no bias. */
  db: Mat<T> | null;
}

/**
 * out = x·w + b. `into` (N,M), when given, receives out (a training loop's buffer; no allocation).
 * x (N,D), w (D,M), b (1,M) or null → out (N,M)
 */
export function affineForward<T extends FloatArray>(x: Mat<T>, w: Mat<T>, b: Mat<T> | null, into?: Mat<T>): { out: Mat<T>; cache: AffineCache<T> } {
  checkAffineInputs('affineForward', x, w, b);
  const out = matmul(x, w, into); // (N,D)·(D,M) = (N,M)
  if (b !== null) addRowVector(out, b.data); // out[i,:] += b
  return { out, cache: { x, w, hasBias: b !== null } };
}

/**
 * Gradients of the affine layer. `needDx = false` skips dx (the first layer's input is data).
 * dout (N,M) → dx (N,D) | null, dw (D,M), db (1,M) | null
 * `into` lets the caller name where dx, dw and db go (a model's gradient and activation
 * buffers), so they are written once, in place, instead of being allocated and copied.
 */
export function affineBackward<T extends FloatArray>(dout: Mat<T>, cache: AffineCache<T>, needDx = true, into: GradsInto<T> = {}): AffineGrads<T> {
  const { x, w } = cache;
  checkShape('affineBackward', 'dout', dout, x.rows, w.cols);
  if (dout.data.constructor !== x.data.constructor) {
    throw new Error(`affineBackward: dout is ${dout.data.constructor.name} but the cached x is ${x.data.constructor.name}`);
  }

  // dx[n,d] = Σ_m dout[n,m]·w[d,m]  →  dx = dout·wᵀ   (N,M)·(M,D) = (N,D)
  const dx = needDx ? matmul(dout, w, into.dx, { transB: true }) : null;
  // dw[d,m] = Σ_n x[n,d]·dout[n,m]  →  dw = xᵀ·dout   (D,N)·(N,M) = (D,M)
  if (into.dw) checkShape('affineBackward', 'into.dw', into.dw, w.rows, w.cols);
  const dw = matmul(x, dout, into.dw, { transA: true });

  // db[m] = Σ_n dout[n,m]: column sums, accumulated in float64 whatever the array type.
  let db: Mat<T> | null = null;
  if (cache.hasBias) {
    const M = dout.cols;
    if (into.db) checkShape('affineBackward', 'into.db', into.db, 1, M);
    const Ctor = dout.data.constructor as new (n: number) => T;
    db = into.db ?? { rows: 1, cols: M, data: new Ctor(M) };
    columnSums(dout, db.data);
  }
  return { dx, dw, db };
}

/** Where affineBackward writes its results, each optional: dx (N,D), dw (D,M), db (1,M). */
export interface GradsInto<T extends FloatArray = FloatArray> {
  dx?: Mat<T>;
  dw?: Mat<T>;
  db?: Mat<T>;
}

/**
 * Throw unless x (N,D), w (D,M) and b (1,M) or null fit together and share one array type; the
 * messages name both shapes. (The affine → ReLU sandwich checks its inputs the same way.)
 */
export function checkAffineInputs(where: string, x: Mat, w: Mat, b: Mat | null): void {
  checkShape(where, 'x', x, -1, -1);
  checkShape(where, 'w', w, -1, -1);
  if (x.cols !== w.rows) {
    throw new Error(`${where}: x ${shapeStr(x)} and w ${shapeStr(w)} do not fit: x has ${x.cols} columns but w has ${w.rows} rows`);
  }
  if (x.data.constructor !== w.data.constructor) {
    throw new Error(`${where}: x is ${x.data.constructor.name} but w is ${w.data.constructor.name}`);
  }
  const M = w.cols;
  if (b !== null) {
    if (b.rows !== 1 || b.cols !== M || b.data.length !== M) {
      throw new Error(`${where}: b has shape ${shapeStr(b)} but w ${shapeStr(w)} needs b (1,${M})`);
    }
    if (b.data.constructor !== w.data.constructor) {
      throw new Error(`${where}: b is ${b.data.constructor.name} but w is ${w.data.constructor.name}`);
    }
  }
}
