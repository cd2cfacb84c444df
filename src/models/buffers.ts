/**
 * What a training step computes in, allocated once by whoever trains (createWorkspace below: the
 * trainer makes one) and handed to every loss() call, as llm.c allocates its buffers once: the
 * parameters' gradient and the activations (scores, their gradients, hidden layers). Steady-state
 * training then allocates nothing. A large typed array is not cheap to allocate (an activation
 * costs more to allocate than the bias add and ReLU that fill it), and each step needs several.
 *
 * A loss() call given a workspace overwrites what the previous call with as many rows returned;
 * without one, every call gets fresh arrays, so a caller may keep what loss() returned.
 */
import { type Allocator, PLAIN } from '../linalg/alloc.js';
import type { FloatArray, FloatArrayCtor, Mat } from '../linalg/mat.js';
import { type ParamSet, allocGrads, trainableSpecs, viewsOf } from './params.js';

const MAX_ROW_COUNTS = 4;

export interface Workspace<T extends FloatArray = FloatArray> {
  /** The gradient, laid out like the trainable parameters (beside them in memory where they were allocated so: ParamSet.gradFlat); no running statistics. */
  grads: ParamSet<T>;
  /** The activations and their gradients. */
  acts: Activations<T>;
}

/**
 * A workspace for a model with parameters `params`, in `alloc`'s memory (the engine's: engine.alloc).
 * Its gradient takes the room set aside beside the parameters (params.gradFlat, which is then
 * handed over: a second workspace of the same parameters gets a buffer of its own), else a new one.
 */
export function createWorkspace<T extends FloatArray>(params: ParamSet<T>, alloc: Allocator = PLAIN): Workspace<T> {
  const room = params.gradFlat;
  params.gradFlat = undefined;
  const specs = trainableSpecs(params.specs);
  const grads = room !== undefined ? { specs, flat: room, views: viewsOf(specs, room) } : allocGrads(params, alloc);
  return { grads, acts: new Activations<T>(params.flat.constructor as FloatArrayCtor, alloc) };
}

/**
 * Named activation matrices, one set per row count (the training batch, an evaluation chunk); at
 * most MAX_ROW_COUNTS sets are kept.
 */
export class Activations<T extends FloatArray> {
  private readonly sets = new Map<number, Map<string, Mat<T>>>();
  private readonly fixedMats = new Map<string, Mat<T>>();

  constructor(
    private readonly Ctor: FloatArrayCtor,
    private readonly alloc: Allocator,
  ) {}

  /** The (rows, cols) matrix named `name` for a batch of `rows` rows: the same one on every call. */
  mat(name: string, rows: number, cols: number): Mat<T> {
    let set = this.sets.get(rows);
    if (!set) {
      if (this.sets.size >= MAX_ROW_COUNTS) this.sets.delete(this.sets.keys().next().value as number);
      set = new Map();
      this.sets.set(rows, set);
    }
    let m = set.get(name);
    if (!m || m.cols !== cols) {
      m = { rows, cols, data: this.alloc.float(this.Ctor, rows * cols) as T };
      set.set(name, m);
    }
    return m;
  }

  /**
   * The (rows, cols) matrix named `name` whatever the batch's row count (a layer's per-feature
   * statistics, such as batch norm's (3,D) mean, variance and 1/std): the same one on every call.
   */
  fixed(name: string, rows: number, cols: number): Mat<T> {
    let m = this.fixedMats.get(name);
    if (!m || m.rows !== rows || m.cols !== cols) {
      m = { rows, cols, data: this.alloc.float(this.Ctor, rows * cols) as T };
      this.fixedMats.set(name, m);
    }
    return m;
  }
}

/** (rows, cols) matrices named by a loss() call: the workspace's when it has one, else fresh zero-filled ones. */
export function matsFor<T extends FloatArray>(ws: Workspace<T> | undefined, Ctor: FloatArrayCtor, rows: number): (name: string, cols: number) => Mat<T> {
  if (ws !== undefined) return (name, cols) => ws.acts.mat(name, rows, cols);
  return (_name, cols) => ({ rows, cols, data: new Ctor(rows * cols) as T });
}

/** (rows, cols) matrices whose shape does not follow the batch (Activations.fixed): the workspace's when it has one, else fresh ones. */
export function fixedMatsFor<T extends FloatArray>(ws: Workspace<T> | undefined, Ctor: FloatArrayCtor): (name: string, rows: number, cols: number) => Mat<T> {
  if (ws !== undefined) return (name, rows, cols) => ws.acts.fixed(name, rows, cols);
  return (_name, rows, cols) => ({ rows, cols, data: new Ctor(rows * cols) as T });
}
