/**
 * FullyConnectedNets.ipynb's checks of the update rules, computed now: each rule's step on the
 * notebook's inputs (np.linspace, N, D = 4, 5) against the notebook's expected arrays, as its
 * rel_error, max |x − y| / max(1e-8, |x| + |y|). The expected arrays are printed to 8 decimals,
 * so a correct step is off by up to half a unit of the 8th decimal: the rel_error a correct
 * optim.py prints (`correct`) is the floor, above 1e-8 for rmsprop's and adam's next_w.
 */
import { adamStep } from '../optim/adam.js';
import { rmspropStep } from '../optim/rmsprop.js';
import { sgdMomentumStep } from '../optim/sgd_momentum.js';
import { OPTIM_EXPECTED } from './optim_expected.js';

/** np.linspace(a, b, num): a + i·step, the last value b exactly. */
export function linspace(a: number, b: number, num: number): Float64Array {
  const step = (b - a) / (num - 1);
  const out = Float64Array.from({ length: num }, (_, i) => a + i * step);
  out[num - 1] = b;
  return out;
}

/** The notebook's rel_error: max |x − y| / max(1e-8, |x| + |y|). */
export function relError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]) / Math.max(1e-8, Math.abs(x[i]) + Math.abs(y[i])));
  return m;
}

export type RuleName = 'sgd_momentum' | 'rmsprop' | 'adam';

/** Each array the rule's check compares, by the notebook's name (next_w, velocity…), as computed now. */
export function ruleOutputs(rule: RuleName): Record<string, Float64Array> {
  const w = linspace(-0.4, 0.6, 20);
  const dw = linspace(-0.6, 0.4, 20);
  if (rule === 'sgd_momentum') {
    const s = { velocity: linspace(0.6, 0.9, 20) };
    sgdMomentumStep(w, dw, 1e-3, 0.9, s);
    return { next_w: w, velocity: s.velocity };
  }
  if (rule === 'rmsprop') {
    const s = { cache: linspace(0.6, 0.9, 20) };
    rmspropStep(w, dw, 1e-2, { decayRate: 0.99, eps: 1e-8 }, s);
    return { next_w: w, cache: s.cache };
  }
  const s = { m: linspace(0.6, 0.9, 20), v: linspace(0.7, 0.5, 20), t: 5 };
  adamStep(w, dw, 1e-2, { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, s);
  return { next_w: w, v: s.v, m: s.m };
}

/** The rule's largest rel_error over its arrays, against the notebook's expected ones. */
export function ruleRelError(rule: RuleName): number {
  const expected = OPTIM_EXPECTED[rule] as Record<string, readonly number[]>;
  const got = ruleOutputs(rule);
  return Math.max(...Object.entries(got).map(([name, x]) => relError(x, expected[`expected_${name}`])));
}

/** Half a unit of the 8th decimal: how far a correct step may be from the notebook's printed arrays. */
export const PRINTED_HALF_UNIT = 5e-9;

/** The rule's largest |x − expected| over its arrays. */
export function ruleMaxAbs(rule: RuleName): number {
  const expected = OPTIM_EXPECTED[rule] as Record<string, readonly number[]>;
  const got = ruleOutputs(rule);
  return Math.max(...Object.entries(got).map(([name, x]) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[`expected_${name}`][i])), 0)));
}

/**
 * The check of `rule` as the course states it (rel_error within 1e-8), judged as the expected
 * arrays allow: met when the rel_error is within 1e-8, or when every value is within half a unit
 * of the 8th decimal the arrays are printed to (where that rounding alone exceeds 1e-8).
 */
export function ruleCheck(rule: RuleName): { value: number; met: boolean; detail: string } {
  const rel = ruleRelError(rule);
  const abs = ruleMaxAbs(rule);
  const rounded = abs <= PRINTED_HALF_UNIT + 1e-15;
  const met = rel <= 1e-8 || rounded;
  const detail =
    rel <= 1e-8
      ? `rel_error ${rel.toExponential(2)} ≤ 1e-8`
      : `rel_error ${rel.toExponential(2)} is set by the expected arrays' 8 printed decimals: every value is within ${abs.toExponential(2)} of them (half a unit of the 8th decimal is 5e-9)${rounded ? '' : ', which is more than the rounding'}`;
  return { value: rel, met, detail };
}
