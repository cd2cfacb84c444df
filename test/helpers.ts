/** Small seeded fixtures shared by the test files. */
import type { Mat } from '../src/linalg/mat.js';
import type { Rng } from '../src/linalg/rng.js';

/** A (rows, cols) matrix of std·N(0,1) draws, of the array type `Ctor`. */
export function randnMat<C extends Float32ArrayConstructor | Float64ArrayConstructor>(Ctor: C, rows: number, cols: number, rng: Rng, std = 1): Mat<InstanceType<C>> {
  const data = new Ctor(rows * cols) as InstanceType<C>;
  rng.fillNormal(data, std);
  return { rows, cols, data };
}

/** n labels drawn uniformly from [0, c). */
export function randomLabels(n: number, c: number, rng: Rng): Int32Array {
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.int(c);
  return y;
}
