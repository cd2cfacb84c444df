/**
 * ReLU, cs231n `relu_forward` / `relu_backward`.
 *
 *   forward:   out = max(0, x)
 *   backward:  dx = dout where x > 0, else 0      (the derivative at x = 0 is taken as 0)
 *
 * The two elementwise loops are linalg/rows.ts reluInto and reluBackwardMask (branch-free, so a NaN
 * input gives NaN: a blow-up is not hidden).
 */
import { type FloatArray, type Mat, shapeStr } from '../linalg/mat.js';
import { reluBackwardMask, reluInto } from '../linalg/rows.js';

/** What forward saves for backward: its input (not changed). */
export interface ReluCache<T extends FloatArray = FloatArray> {
  /** Input x (any shape). */
  x: Mat<T>;
}

/**
 * out = max(0, x), elementwise. `into` (N,M), when given, receives out.
 * x (N,M) → out (N,M)
 */
export function reluForward<T extends FloatArray>(x: Mat<T>, into?: Mat<T>): { out: Mat<T>; cache: ReluCache<T> } {
  if (x.data.length !== x.rows * x.cols) {
    throw new Error(`reluForward: x has shape ${shapeStr(x)} but data length ${x.data.length}`);
  }
  const out = into ?? newLike(x);
  checkSame('reluForward', 'into', out, x);
  reluInto(x.data, out.data); // out = max(0, x)
  return { out, cache: { x } };
}

/**
 * dx = dout · [x > 0]. `into` (N,M), when given, receives dx; it must not be dout.
 * dout (N,M) → dx (N,M)
 */
export function reluBackward<T extends FloatArray>(dout: Mat<T>, cache: ReluCache<T>, into?: Mat<T>): Mat<T> {
  const { x } = cache;
  if (dout.rows !== x.rows || dout.cols !== x.cols || dout.data.length !== x.data.length) {
    throw new Error(`reluBackward: dout has shape ${shapeStr(dout)} but the cached x is ${shapeStr(x)}`);
  }
  if (into?.data === dout.data) throw new Error('reluBackward: into must not be dout (backward never changes its inputs)');
  const dx = into ?? newLike(x);
  checkSame('reluBackward', 'into', dx, x);
  reluBackwardMask(dout.data, x.data, dx.data); // dx = dout·[x > 0]
  return dx;
}

function newLike<T extends FloatArray>(x: Mat<T>): Mat<T> {
  const Ctor = x.data.constructor as new (n: number) => T;
  return { rows: x.rows, cols: x.cols, data: new Ctor(x.data.length) };
}

function checkSame(where: string, name: string, m: Mat, like: Mat): void {
  if (m.rows !== like.rows || m.cols !== like.cols || m.data.length !== like.data.length || m.data.constructor !== like.data.constructor) {
    throw new Error(`${where}: ${name} is ${m.data.constructor.name} ${shapeStr(m)}, expected ${like.data.constructor.name} ${shapeStr(like)}`);
  }
}
