/**
 * Buffers a model reuses from one loss() call to the next while it trains, so that steady-state
 * training allocates nothing: activations, scores, their gradients and the parameter gradients.
 * A large typed array is not cheap to allocate (the 200×500 activation of a CIFAR MLP cost
 * 0.4 ms to allocate, more than the bias add and ReLU that fill it), and each step needs several.
 *
 * There is one set of buffers per row count (the training batch, an evaluation chunk), and at
 * most MAX_ROW_COUNTS sets are kept. With reuse off (a model's default) every call gets fresh
 * arrays, so a caller may keep what loss() returned.
 */
import type { FloatArray, FloatArrayCtor, Mat } from '../linalg/mat.js';
import { allocFloat } from '../linalg/mat.js';

const MAX_ROW_COUNTS = 4;

export class Buffers<T extends FloatArray> {
  private readonly sets = new Map<number, Map<string, Mat<T>>>();

  constructor(private readonly Ctor: FloatArrayCtor) {}

  /**
   * A (rows, cols) matrix named `name` for a batch of `rows` rows: the same one on every call
   * when `reuse`, else a new zero-filled one.
   */
  mat(name: string, rows: number, cols: number, reuse: boolean): Mat<T> {
    if (!reuse) return { rows, cols, data: allocFloat(this.Ctor, rows * cols) as T };
    let set = this.sets.get(rows);
    if (!set) {
      if (this.sets.size >= MAX_ROW_COUNTS) this.sets.delete(this.sets.keys().next().value as number);
      set = new Map();
      this.sets.set(rows, set);
    }
    let m = set.get(name);
    if (!m || m.cols !== cols) {
      m = { rows, cols, data: allocFloat(this.Ctor, rows * cols) as T };
      set.set(name, m);
    }
    return m;
  }
}
