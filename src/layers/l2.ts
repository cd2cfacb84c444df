/**
 * L2 weight penalty. Convention (the same as model.ts and cs231n's softmax.py/neural_net.py):
 *
 *   loss = reg·ΣW²        dW = 2·reg·W
 *
 * (not 0.5·reg·ΣW²). Models apply it to weight matrices only, never to biases.
 */
import { axpySumSq } from '../linalg/blas1.js';
import { type FloatArray, type Mat, shapeStr } from '../linalg/mat.js';

/**
 * The penalty and its gradient, as a layer would return them.
 * w (D,M) → loss (scalar), dw (D,M)
 */
export function l2Loss<T extends FloatArray>(w: Mat<T>, reg: number): { loss: number; dw: Mat<T> } {
  const Ctor = w.data.constructor as new (n: number) => T;
  const dw: Mat<T> = { rows: w.rows, cols: w.cols, data: new Ctor(w.data.length) };
  const loss = addL2(w, reg, dw);
  return { loss, dw };
}

/**
 * Adds 2·reg·W into an existing gradient `dw` in place and returns reg·ΣW² (what models use,
 * after the data gradient is already in dw). `w` is not changed.
 * w (D,M), dw (D,M) → loss (scalar)
 */
export function addL2<T extends FloatArray>(w: Mat<T>, reg: number, dw: Mat<T>): number {
  if (dw.rows !== w.rows || dw.cols !== w.cols || dw.data.length !== w.data.length) {
    throw new Error(`addL2: dw has shape ${shapeStr(dw)} but w is ${shapeStr(w)}`);
  }
  const sumSq = axpySumSq(2 * reg, w.data, dw.data); // dW += 2·reg·W, and ΣW² (float64), in one pass over W
  return reg * sumSq;
}
