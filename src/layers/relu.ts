/**
 * ReLU, cs231n `relu_forward` / `relu_backward`.
 *
 *   forward:   out = max(0, x)
 *   backward:  dx = dout where x > 0, else 0      (the derivative at x = 0 is taken as 0)
 */
import { type FloatArray, type Mat, shapeStr } from '../linalg/mat.js';

/** What forward saves for backward: its input (not changed). */
export interface ReluCache<T extends FloatArray = FloatArray> {
  /** Input x (any shape). */
  x: Mat<T>;
}

/**
 * out = max(0, x), elementwise.
 * x (N,M) → out (N,M)
 */
export function reluForward<T extends FloatArray>(x: Mat<T>): { out: Mat<T>; cache: ReluCache<T> } {
  if (x.data.length !== x.rows * x.cols) {
    throw new Error(`reluForward: x has shape ${shapeStr(x)} but data length ${x.data.length}`);
  }
  const Ctor = x.data.constructor as new (n: number) => T;
  const out = new Ctor(x.data.length);
  const xd = x.data;
  for (let i = 0; i < xd.length; i++) out[i] = xd[i] > 0 ? xd[i] : 0;
  return { out: { rows: x.rows, cols: x.cols, data: out }, cache: { x } };
}

/**
 * dx = dout · [x > 0].
 * dout (N,M) → dx (N,M)
 */
export function reluBackward<T extends FloatArray>(dout: Mat<T>, cache: ReluCache<T>): Mat<T> {
  const { x } = cache;
  if (dout.rows !== x.rows || dout.cols !== x.cols || dout.data.length !== x.data.length) {
    throw new Error(`reluBackward: dout has shape ${shapeStr(dout)} but the cached x is ${shapeStr(x)}`);
  }
  const Ctor = x.data.constructor as new (n: number) => T;
  const dx = new Ctor(x.data.length);
  const xd = x.data;
  const d = dout.data;
  for (let i = 0; i < xd.length; i++) dx[i] = xd[i] > 0 ? d[i] : 0;
  return { rows: x.rows, cols: x.cols, data: dx };
}
