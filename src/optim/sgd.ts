/**
 * Stochastic gradient descent, cs231n optim.sgd (default lr 1e-2), on the flat parameter buffer:
 *
 *   w ← w − lr·dw
 *
 * The loss owns regularization (its gradient already includes 2·reg·W); the optimizer only steps.
 * Plain SGD keeps no state. The other update rules (sgd_momentum.ts, rmsprop.ts, adam.ts) sit
 * beside this one; rules.ts picks one by name for the trainer.
 */
import { axpy } from '../linalg/blas1.js';
import type { FloatArray } from '../linalg/mat.js';

export const SGD_DEFAULTS = { lr: 1e-2 } as const;

/** One step in place: w (P), dw (P). */
export function sgdStep(w: FloatArray, dw: FloatArray, lr: number): void {
  if (w.length !== dw.length) throw new Error(`sgdStep: w has ${w.length} numbers but dw has ${dw.length}`);
  axpy(-lr, dw, w); // w −= lr·dw
}
