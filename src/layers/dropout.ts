/**
 * Inverted dropout, cs231n `dropout_forward` / `dropout_backward` (layers.py). p is the
 * probability of KEEPING a unit, as in cs231n.
 *
 *   train:  mask = [u < p]/p with u uniform in [0,1) per unit     out = x·mask
 *   test:   out = x                                              (the 1/p in train mode keeps
 *                                                                 the expected activation the same)
 *   backward (train): dx = dout·mask;   (test): dx = dout
 *
 * The mask comes from a seeded Rng: the run's (so resuming a run restores the masks' stream
 * with the Rng's state), or, with `seed`, a fresh Rng(seed) on every call, so every call draws
 * the same mask (cs231n's dropout_param['seed'], for gradient checks). One uint32 a unit: u < p
 * is taken as r < p·2³² for r a uniform uint32 (p = 1 keeps every unit).
 */
import { type FloatArray, type Mat, shapeStr } from '../linalg/mat.js';
import { Rng } from '../linalg/rng.js';
import type { NormMode } from './batchnorm.js';
import { intoOrNew } from './batchnorm.js';

/** cs231n's dropout_param. */
export interface DropoutParam {
  /** Keep probability, in (0, 1]. */
  p: number;
  mode: NormMode;
  /** A fixed mask: a fresh Rng(seed) on every call. */
  seed?: number;
  /** Where the masks come from when there is no seed (the run's generator). */
  rng?: Rng;
}

/** What forward saves for backward: the mask (0 or 1/p per unit), or null in test mode. */
export interface DropoutCache<T extends FloatArray = FloatArray> {
  mask: Mat<T> | null;
}

/**
 * Dropout forward. In test mode out is x itself (no copy). `into` names where out and the mask go.
 * x (N,D) → out (N,D)
 */
export function dropoutForward<T extends FloatArray>(x: Mat<T>, param: DropoutParam, into: { out?: Mat<T>; mask?: Mat<T> } = {}): { out: Mat<T>; cache: DropoutCache<T> } {
  const { p, mode } = param;
  if (!(p > 0 && p <= 1)) throw new Error(`dropoutForward: p (the keep probability) must be in (0, 1], got ${p}`);
  if (x.data.length !== x.rows * x.cols) throw new Error(`dropoutForward: x has shape ${shapeStr(x)} but data length ${x.data.length}`);
  if (mode === 'test') return { out: x, cache: { mask: null } };
  if (mode !== 'train') throw new Error(`dropoutForward: mode must be train or test, got ${String(mode)}`);
  const rng = param.seed !== undefined ? new Rng(param.seed) : param.rng;
  if (rng === undefined) throw new Error('dropoutForward: train mode needs an rng (or a seed) to draw the mask from');
  const out = intoOrNew('dropoutForward', 'into.out', into.out, x, x.rows, x.cols);
  const mask = intoOrNew('dropoutForward', 'into.mask', into.mask, x, x.rows, x.cols);
  const threshold = p * 4294967296; // u < p  ⇔  r < p·2³²
  const keep = 1 / p;
  const md = mask.data;
  const xd = x.data;
  const od = out.data;
  for (let i = 0; i < xd.length; i++) {
    const m = rng.nextUint32() < threshold ? keep : 0;
    md[i] = m;
    od[i] = xd[i] * m;
  }
  return { out, cache: { mask } };
}

/**
 * Dropout backward: dout·mask in train mode, dout itself in test mode. `into` receives dx.
 * dout (N,D) → dx (N,D)
 */
export function dropoutBackward<T extends FloatArray>(dout: Mat<T>, cache: DropoutCache<T>, into?: Mat<T>): Mat<T> {
  const { mask } = cache;
  if (mask === null) return dout;
  if (dout.rows !== mask.rows || dout.cols !== mask.cols || dout.data.length !== mask.data.length) {
    throw new Error(`dropoutBackward: dout has shape ${shapeStr(dout)} but the mask is ${shapeStr(mask)}`);
  }
  if (into?.data === dout.data) throw new Error('dropoutBackward: into must not be dout (backward never changes its inputs)');
  const dx = intoOrNew('dropoutBackward', 'into', into, mask, mask.rows, mask.cols);
  const dd = dout.data;
  const md = mask.data;
  for (let i = 0; i < dd.length; i++) dx.data[i] = dd[i] * md[i];
  return dx;
}
