/**
 * Stochastic gradient descent with optional momentum, on the flat parameter buffer.
 * The loss owns regularization (its gradient already includes 2·reg·W); the optimizer only steps.
 *
 *   plain:     w ← w − lr·dw                     (cs231n optim.sgd, default lr 1e-2)
 *   momentum:  v ← μ·v − lr·dw;  w ← w + v      (cs231n optim.sgd_momentum: sgd_momentum.ts)
 *
 * The other update rules (sgd_momentum.ts, rmsprop.ts, adam.ts) sit beside this one; rules.ts
 * picks one by name for the trainer.
 */
import { axpy } from '../linalg/blas1.js';
import type { FloatArray } from '../linalg/mat.js';
import { type SgdMomentumState, sgdMomentumStep } from './sgd_momentum.js';

export const SGD_DEFAULTS = { lr: 1e-2 } as const;

export interface SgdState {
  /** Velocity, same length as the parameters; null for plain SGD. */
  velocity: Float32Array | Float64Array | null;
}

/** A fresh optimizer state for `n` parameters. */
export function sgdInit(n: number, momentum: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array): SgdState {
  return { velocity: momentum > 0 ? new Ctor(n) : null };
}

/** One step in place: params (P), grads (P). */
export function sgdStep(params: FloatArray, grads: FloatArray, lr: number, momentum: number, state: SgdState): void {
  if (params.length !== grads.length) {
    throw new Error(`sgdStep: params has ${params.length} numbers but grads has ${grads.length}`);
  }
  const v = state.velocity;
  if (momentum > 0) {
    if (v === null || v.length !== params.length) throw new Error('sgdStep: momentum > 0 needs a velocity buffer (sgdInit)');
    sgdMomentumStep(params, grads, lr, momentum, state as SgdMomentumState);
  } else {
    axpy(-lr, grads, params); // params −= lr·grads
  }
}

/**
 * The optimizer's state as named blocks of one value per parameter, for a checkpoint: what a
 * resume must restore, committed in the same file as the parameters (an optimizer with more
 * state, such as Adam's m and v, lists each of its buffers here).
 */
export function sgdStateBlocks(state: SgdState): Record<string, Float32Array | Float64Array> {
  return state.velocity ? { velocity: state.velocity } : {};
}

/** The block names `sgdStateBlocks` gives for this momentum. */
export function sgdStateNames(momentum: number): string[] {
  return momentum > 0 ? ['velocity'] : [];
}

/** Restore blocks saved by `sgdStateBlocks`; throws naming what is missing, extra or mis-sized. */
export function sgdSetStateBlocks(state: SgdState, blocks: Record<string, ArrayLike<number>>): void {
  const want = state.velocity ? ['velocity'] : [];
  const got = Object.keys(blocks).sort();
  if (got.join(',') !== want.join(',')) {
    throw new Error(`the optimizer state holds [${got.join(', ')}], SGD with${state.velocity ? '' : 'out'} momentum needs [${want.join(', ')}]`);
  }
  if (state.velocity) {
    const v = blocks.velocity;
    if (v.length !== state.velocity.length) throw new Error(`the saved velocity has ${v.length} values for ${state.velocity.length} parameters`);
    state.velocity.set(v);
  }
}

/** Learning rate after `epoch` completed epochs: lr0 · decay^epoch. */
export function lrAtEpoch(lr0: number, decay: number, epoch: number): number {
  return lr0 * Math.pow(decay, epoch);
}
