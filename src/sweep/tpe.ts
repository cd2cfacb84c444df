/**
 * The Tree-structured Parzen Estimator (Bergstra et al. 2011), as Optuna's default `TPESampler`
 * does it (Optuna 3.1, `optuna/samplers/_tpe/`): univariate, every parameter on its own.
 *
 * For each parameter, the finished trials are ranked (finished before stopped early, stopped later
 * before stopped sooner, then by value) and split: the best γ(n) = min(⌈0.1·n⌉, 25) go "below", the
 * rest "above". A Parzen estimator (a mixture of truncated normals, one per observation plus a
 * wide prior) is fitted to each side; 24 candidates are drawn from the "below" one, and the one
 * with the largest log l(x) − log g(x) is suggested. Before `startupTrials` trials have finished,
 * values are drawn at random. Trials still running count as the worst "above" observations (Optuna's
 * `constant_liar`), so workers asking at the same time are not all sent to the same place.
 *
 * A conditional axis (`when`, space.ts) is suggested only where its condition holds on the values
 * suggested before it, in the space's order (Optuna's define-by-run); its estimators are fitted on
 * the trials that have it, the split into "below" and "above" being made over every trial, as
 * Optuna 3.1's independent sampler does (`sample_independent`: the masks over `indices_below`).
 *
 * Pure: the space, the trials and a seeded Rng in, the suggestion out. Values are maximised.
 */
import type { Rng } from '../linalg/rng.js';
import { type Condition, holds } from './space.js';
import { logGaussMass, truncnormLogPdf, truncnormPpf } from './truncnorm.js';

/** One axis of the search space. Integers have step 1; `log` searches log(x) (low > 0). `when`: it takes part only where that holds. */
export type TpeParam = (
  { type: 'float'; low: number; high: number; log: boolean } | { type: 'int'; low: number; high: number; log: boolean } | { type: 'categorical'; choices: readonly unknown[] }
) & { when?: Condition };
export type TpeSpace = Record<string, TpeParam>;

/**
 * A trial the sampler learns from. `complete`: finished with `value`. `pruned`: stopped early
 * after epoch `step` with `value` (or diverged: step 0, value −∞). `running`: suggested, not done.
 */
export interface TpeTrial {
  params: Record<string, unknown>;
  state: 'complete' | 'pruned' | 'running';
  value?: number;
  step?: number;
}

export interface TpeOptions {
  /** Random suggestions until this many trials have finished (Optuna: n_startup_trials). */
  startupTrials: number;
  /** Candidates drawn from l(x) per suggestion (n_ei_candidates). */
  eiCandidates: number;
  /** Weight of the prior component, a normal over the whole range (prior_weight). */
  priorWeight: number;
  /** Floor the bandwidths at range / min(100, components + 1) (consider_magic_clip). */
  magicClip: boolean;
  /** Let the outermost observations' bandwidths reach the bounds (consider_endpoints). */
  endpoints: boolean;
  /** Count running trials as the worst observations (constant_liar). */
  constantLiar: boolean;
  /**
   * Score continuous axes with the truncated normal's true density, as Optuna ≥ 3.5 does. Off, as
   * in Optuna 3.1, each component's log-density lacks its −log(sigma) term (optuna#5109), which
   * favours the wide components; on the benchmarks of test/tpe.test.ts that version finds better
   * values, in Optuna and here alike.
   */
  normalizedDensity: boolean;
}

/** Optuna 3.1's TPESampler defaults, except constantLiar (Optuna: false), which parallel workers need. */
export const TPE_DEFAULTS: TpeOptions = {
  startupTrials: 10, // n_startup_trials
  eiCandidates: 24, // n_ei_candidates
  priorWeight: 1.0, // prior_weight
  magicClip: true, // consider_magic_clip
  endpoints: false, // consider_endpoints
  constantLiar: true, // constant_liar (Optuna's default is false)
  normalizedDensity: false, // Optuna 3.1's log-pdf, without −log(sigma)
};

/** Optuna's default_gamma: how many of n finished trials go "below". */
export const gammaOf = (n: number): number => Math.min(Math.ceil(0.1 * n), 25);

/** Optuna's default_weights: equal up to 25 observations, older ones ramped down beyond. */
export function weightsOf(n: number): number[] {
  if (n < 25) return new Array<number>(n).fill(1);
  const ramp = Array.from({ length: n - 25 }, (_, i) => (n - 25 === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (n - 26)));
  return [...ramp, ...new Array<number>(25).fill(1)];
}

/** The next suggestion: a value for every key of `space` that takes part, in its order. */
export function suggestTpe(space: TpeSpace, trials: TpeTrial[], rng: Rng, options: Partial<TpeOptions> = {}): Record<string, unknown> {
  const o = { ...TPE_DEFAULTS, ...options };
  const seen = o.constantLiar ? trials : trials.filter((t) => t.state !== 'running');
  const n = seen.filter((t) => t.state !== 'running').length;
  const out: Record<string, unknown> = {};
  if (n < o.startupTrials) {
    for (const [k, p] of Object.entries(space)) if (holds(p.when, out)) out[k] = sampleUniform(p, rng);
    return out;
  }
  const split = splitTrials(seen, gammaOf(n));
  for (const [k, p] of Object.entries(space)) {
    if (!holds(p.when, out)) continue;
    const { below, above } = sidesOf(split, k, p);
    const l = parzenEstimator(below, p, o);
    const g = parzenEstimator(above, p, o);
    const xs = parzenSample(l, rng, o.eiCandidates);
    const ll = parzenLogPdf(l, xs);
    const lg = parzenLogPdf(g, xs);
    let best = 0;
    for (let i = 1; i < xs.length; i++) if (ll[i] - lg[i] > ll[best] - lg[best]) best = i;
    out[k] = fromInternal(p, xs[best]);
  }
  return out;
}

/**
 * Axis `k`'s internal values on each side of `split`: the trials that have it, the others left out
 * after the split (Optuna 3.1's sample_independent masks `indices_below` and `indices_above`).
 */
export function sidesOf(split: { below: TpeTrial[]; above: TpeTrial[] }, k: string, p: TpeParam): { below: number[]; above: number[] } {
  const obs = (ts: TpeTrial[]) => ts.filter((t) => k in t.params).map((t) => toInternal(p, t.params[k]));
  return { below: obs(split.below), above: obs(split.above) };
}

/** Rank as Optuna does (by (−step, −value), finished first, running last; stable) and split off the best `nBelow`. */
export function splitTrials(trials: TpeTrial[], nBelow: number): { below: TpeTrial[]; above: TpeTrial[] } {
  const key = (t: TpeTrial): [number, number] => {
    if (t.state === 'running') return [Infinity, Infinity];
    const loss = t.value === undefined || Number.isNaN(t.value) ? Infinity : -t.value;
    return t.state === 'complete' ? [-Infinity, loss] : [-(t.step ?? 0), loss];
  };
  const order = trials.map((t, i) => ({ i, k: key(t) })).sort((a, b) => cmp(a.k[0], b.k[0]) || cmp(a.k[1], b.k[1]) || a.i - b.i);
  const isBelow = new Set(order.slice(0, nBelow).map((e) => e.i));
  // Chronological order within each side, as Optuna keeps it (the weights ramp by age).
  return { below: trials.filter((_, i) => isBelow.has(i)), above: trials.filter((_, i) => !isBelow.has(i)) };
}

const cmp = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);

/** A value as the estimator sees it: log(x) for log axes, the index of a choice. */
export function toInternal(p: TpeParam, v: unknown): number {
  if (p.type === 'categorical') {
    const key = JSON.stringify(v);
    const i = p.choices.findIndex((c) => JSON.stringify(c) === key);
    if (i < 0) throw new Error(`TPE: ${JSON.stringify(v)} is not one of the choices ${JSON.stringify(p.choices)}`);
    return i;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`TPE: expected a number, got ${JSON.stringify(v)}`);
  return p.log ? Math.log(v) : v;
}

/** The inverse of toInternal, rounding and clipping integers as Optuna does. */
export function fromInternal(p: TpeParam, x: number): unknown {
  if (p.type === 'categorical') return p.choices[x];
  const v = p.log ? Math.exp(x) : x;
  if (p.type === 'float') return Math.min(Math.max(v, p.low), p.high);
  return Math.min(Math.max(Math.round(v), p.low), p.high);
}

/** Optuna's RandomSampler: uniform in the internal space (integers over [low − ½, high + ½]). */
function sampleUniform(p: TpeParam, rng: Rng): unknown {
  if (p.type === 'categorical') return p.choices[rng.int(p.choices.length)];
  const [lo, hi] = p.type === 'int' ? [p.low - 0.5, p.high + 0.5] : [p.low, p.high];
  const [a, b] = p.log ? [Math.log(lo), Math.log(hi)] : [lo, hi];
  return fromInternal(p, a + (b - a) * rng.uniform());
}

/**
 * A univariate Parzen estimator. Numbers: a truncated normal per observation (mu, sigma) on
 * [low, high] of the internal space, plus the prior (mid-range, sigma = high − low). Categories:
 * per component, a distribution over the choices.
 */
export interface Parzen {
  param: TpeParam;
  /** Mixture weights, summing to 1; the prior's last. */
  weights: number[];
  low: number;
  high: number;
  /** Integers on a linear axis: bins of width q (the mass of [x − q/2, x + q/2] is the probability). */
  q: number | null;
  mus: number[];
  sigmas: number[];
  /** Categorical: weights[component][choice]. */
  catWeights: number[][];
  /** TpeOptions.normalizedDensity. */
  normalized: boolean;
}

/** The estimator of `obs` (internal values, oldest first), as Optuna's `_ParzenEstimator` (univariate, consider_prior). */
export function parzenEstimator(obs: number[], p: TpeParam, o: TpeOptions): Parzen {
  const n = obs.length;
  const w = [...weightsOf(n), o.priorWeight];
  const sum = w.reduce((a, b) => a + b, 0);
  const weights = w.map((x) => x / sum);
  if (p.type === 'categorical') {
    const k = p.choices.length;
    const catWeights = [...obs, -1].map((c) => {
      const row = new Array<number>(k).fill(o.priorWeight / (n + 1));
      if (c >= 0) row[c] += 1;
      const s = row.reduce((a, b) => a + b, 0);
      return row.map((x) => x / s);
    });
    return { param: p, weights, low: 0, high: 0, q: null, mus: [], sigmas: [], catWeights, normalized: o.normalizedDensity };
  }
  const { low, high, q } = boundsOf(p);
  const mus = [...obs, 0.5 * (low + high)];
  return { param: p, weights, low, high, q, mus, sigmas: bandwidths(mus, low, high, o), catWeights: [], normalized: o.normalizedDensity };
}

/** The internal interval of a numeric axis: integers widened by half a step on each side. */
function boundsOf(p: Exclude<TpeParam, { type: 'categorical' }>): { low: number; high: number; q: number | null } {
  if (p.type === 'float') return p.log ? { low: Math.log(p.low), high: Math.log(p.high), q: null } : { low: p.low, high: p.high, q: null };
  return p.log ? { low: Math.log(p.low - 0.5), high: Math.log(p.high + 0.5), q: null } : { low: p.low - 0.5, high: p.high + 0.5, q: 1 };
}

/** Each component's sigma: the larger gap to its sorted neighbours (the bounds at the ends), clipped; the prior's last is high − low. */
function bandwidths(mus: number[], low: number, high: number, o: TpeOptions): number[] {
  const order = mus.map((_, i) => i).sort((a, b) => mus[a] - mus[b] || a - b);
  const s = [low, ...order.map((i) => mus[i]), high];
  const sorted = order.map((_, j) => Math.max(s[j + 1] - s[j], s[j + 2] - s[j + 1]));
  if (!o.endpoints && s.length >= 4) {
    sorted[0] = s[2] - s[1];
    sorted[sorted.length - 1] = s[s.length - 2] - s[s.length - 3];
  }
  const maxSigma = high - low;
  const minSigma = o.magicClip ? (high - low) / Math.min(100, 1 + mus.length) : 1e-12;
  const sigmas = new Array<number>(mus.length);
  order.forEach((i, j) => (sigmas[i] = Math.min(Math.max(sorted[j], minSigma), maxSigma)));
  sigmas[mus.length - 1] = high - low;
  return sigmas;
}

/** `size` internal values drawn from the mixture: a component by weight, then its truncated normal or its categories. */
export function parzenSample(pe: Parzen, rng: Rng, size: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < size; s++) {
    const c = pickIndex(pe.weights, rng.uniform());
    if (pe.param.type === 'categorical') {
      out.push(pickIndex(pe.catWeights[c], rng.uniform()));
      continue;
    }
    const mu = pe.mus[c];
    const sigma = pe.sigmas[c];
    const x = truncnormPpf(rng.uniform(), (pe.low - mu) / sigma, (pe.high - mu) / sigma) * sigma + mu;
    // Optuna rounds to the axis (integers to the step) before scoring, and scores the rounded value.
    out.push(toInternal(pe.param, fromInternal(pe.param, x)));
  }
  return out;
}

/** The first index whose cumulative weight exceeds u (numpy's choice with p, and Optuna's categorical draw). */
function pickIndex(w: number[], u: number): number {
  let acc = 0;
  for (let i = 0; i < w.length; i++) {
    acc += w[i];
    if (u < acc) return i;
  }
  return w.length - 1;
}

/**
 * log of the mixture's density (or, for integers on a linear axis and categories, probability) at
 * internal values `xs`; on continuous axes without −log(sigma) unless `normalized` (TpeOptions).
 */
export function parzenLogPdf(pe: Parzen, xs: number[]): number[] {
  return xs.map((x) => {
    const terms = pe.weights.map((w, c) => Math.log(w) + componentLogPdf(pe, c, x));
    const m = Math.max(...terms);
    if (m === -Infinity) return -Infinity;
    return m + Math.log(terms.reduce((a, t) => a + Math.exp(t - m), 0));
  });
}

function componentLogPdf(pe: Parzen, c: number, x: number): number {
  if (pe.param.type === 'categorical') return Math.log(pe.catWeights[c][x]);
  const mu = pe.mus[c];
  const sigma = pe.sigmas[c];
  const a = (pe.low - mu) / sigma;
  const b = (pe.high - mu) / sigma;
  if (pe.q === null) return truncnormLogPdf(x, a, b, mu, sigma) + (pe.normalized ? 0 : Math.log(sigma));
  const lo = Math.max(x - pe.q / 2, pe.low);
  const hi = Math.min(x + pe.q / 2, pe.high);
  return logGaussMass((lo - mu) / sigma, (hi - mu) / sigma) - logGaussMass(a, b);
}
