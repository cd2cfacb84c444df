/**
 * What an engine is, and what an engine file exports so that engine.ts can list it.
 *
 * An engine must multiply matrices; every other operation is optional, and blas1.ts runs its JS
 * loop where an engine has none (the one place the default is written). A new vector operation is
 * therefore an optional member here, its JS loop and dispatch in blas1.ts, and the engines that do
 * it faster; a new engine is its own file exporting an EngineDescriptor, and one entry in the list
 * in engine.ts.
 */
import type { Allocator } from '../alloc.js';
import type { Mat } from '../mat.js';

/** A matrix-multiplication engine. `out` is overwritten; it never aliases `a` or `b`. */
export interface Engine {
  /** Short name shown in logs and summaries: 'openblas', 'simd', 'wasm', 'tfjs-node', 'cpu' or 'js'. */
  readonly name: string;
  /** Human-readable detail (library version, SIMD, threads). */
  readonly detail: string;
  /** The memory training's buffers should be in for this engine (alloc.ts). */
  readonly alloc: Allocator;
  matmul(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean): void;
  /** y += alpha·x over whole float32 arrays, where the engine has a faster one than JS (blas1.ts). */
  axpy?(alpha: number, x: Float32Array, y: Float32Array): void;
  /** Σ x·y over whole float32 arrays, accumulated in float64. */
  dot?(x: Float32Array, y: Float32Array): number;
  /** y += alpha·x and Σ x², in one pass (the L2 penalty), where the engine has one. */
  axpySumSq?(alpha: number, x: Float32Array, y: Float32Array): number;
  /**
   * One Adam step in place over whole float32 arrays w, dw, m, v (optim/adam.ts adamStep calls it): per
   * element exactly the JS loop of adamRange, so the bits are the same; where the engine has one.
   */
  adam?(w: Float32Array, dw: Float32Array, m: Float32Array, v: Float32Array, c: AdamCoeffs): void;
  /** One RMSprop step in place (optim/rmsprop.ts): exactly rmspropRange per element. */
  rmsprop?(w: Float32Array, dw: Float32Array, cache: Float32Array, lr: number, decayRate: number, eps: number): void;
  /** One SGD-with-momentum step in place (optim/sgd_momentum.ts): exactly sgdMomentumRange per element. */
  sgdMomentum?(w: Float32Array, dw: Float32Array, v: Float32Array, lr: number, momentum: number): void;
  /** dst row i = src row rows[i] (a minibatch), where the engine does it faster than JS (a memcpy per row; rows shared among threads). */
  gatherRows?(src: Mat<Float32Array>, rows: Int32Array, dst: Mat<Float32Array>): void;
}

/** Adam's scalars for one step, made once a step by optim/adam.ts: a1 = 1 − β1, a2 = 1 − β2, lrc1 = lr/(1 − β1ᵗ), c2 = 1/(1 − β2ᵗ). */
export interface AdamCoeffs {
  beta1: number;
  a1: number;
  beta2: number;
  a2: number;
  lrc1: number;
  c2: number;
  eps: number;
}

/** Why an engine cannot start on this machine (not installed, not built, no SIMD). */
export type NotStarted = { reason: string };

/** An engine as engine.ts lists it: its --backend name and how to start it. */
export interface EngineDescriptor<N extends string = string> {
  readonly name: N;
  /** Start the engine on `threads` threads (its share of the cores), or say why it cannot start here. */
  start(threads: number): Engine | NotStarted | Promise<Engine | NotStarted>;
  /** What to tell a user who asked for this engine by name when it could not start. */
  readonly hint?: string;
}

/** The message of a thrown error, first line only. */
export function firstLine(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}
