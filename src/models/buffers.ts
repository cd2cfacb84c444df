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
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';
import { type ParamSet, allocGrads, trainableSpecs, viewsOf } from './params.js';

const MAX_ROW_COUNTS = 4;

export interface Workspace<T extends FloatArray = FloatArray> {
  /** The gradient, laid out like the trainable parameters (beside them in memory where they were allocated so: ParamSet.gradFlat); no running statistics. */
  grads: ParamSet<T>;
  /** The activations and their gradients. */
  acts: Activations;
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
  return { grads, acts: new Activations(params.flat.constructor as FloatArrayCtor, alloc) };
}

/** Makes a model's activation matrices of `plan` for a batch of `rows` rows (act_plan.ts allocForwardActs, allocBackwardActs). */
export type AllocActs<P, A> = (plan: P, rows: number, Ctor: FloatArrayCtor, alloc: Allocator) => A;

/**
 * A model's activation matrices, one set per row count (the training batch, an evaluation chunk),
 * each made whole from the model's plan the first time that row count comes; at most
 * MAX_ROW_COUNTS sets are kept.
 */
export class Activations {
  private readonly sets = new Map<number, Map<AllocActs<unknown, unknown>, { acts: unknown }>>();

  constructor(
    private readonly Ctor: FloatArrayCtor,
    private readonly alloc: Allocator,
  ) {}

  /**
   * What `allocate` makes of `plan` for `rows` rows: made on the first call, the same on every
   * later one (a workspace serves one model, so its plan is the plan of every call).
   */
  get<P, A>(plan: P, rows: number, allocate: AllocActs<P, A>): A {
    let set = this.sets.get(rows);
    if (!set) {
      if (this.sets.size >= MAX_ROW_COUNTS) this.sets.delete(this.sets.keys().next().value as number);
      set = new Map();
      this.sets.set(rows, set);
    }
    const key = allocate as AllocActs<unknown, unknown>;
    let made = set.get(key);
    if (made === undefined) {
      made = { acts: allocate(plan, rows, this.Ctor, this.alloc) };
      set.set(key, made);
    }
    return made.acts as A;
  }
}
