/**
 * Early stopping for sweeps: ASHA (asynchronous successive halving, Li et al. 2020) with Ray
 * Tune's semantics (its AsyncHyperBandScheduler: `max` as max_t, optional Hyperband brackets),
 * and the median stopping rule (Golovin et al. 2017, Google Vizier), over epochs.
 *
 *   "scheduler": { "asha": { "eta": 4, "grace": 1, "max": 9 } }
 *   "scheduler": { "asha": { "eta": 3, "grace": 1, "max": 27, "brackets": 3 } }
 *   "scheduler": { "median": { "grace": 1, "minSamples": 3 } }
 *
 * A trial reports a score after every epoch (higher is better: the caller turns the sweep's metric
 * into one) and is told to go on or stop. Both rules are rungs: at certain epochs the trial
 * records one number there and is judged against the numbers recorded at that rung before it
 * (asynchronous: nobody waits for a rung to fill).
 *   ASHA: `max` caps every trial's epochs (capEpochs, applied to its config); bracket s has rungs
 *     at grace·η^(s+k) epochs below max (below the trial's own epochs when max is not given); the
 *     number is the epoch's score; the trial stops when it is below the (1 − 1/η) quantile of the
 *     earlier ones (the first one goes on). Each trial belongs to one bracket, drawn as Ray draws
 *     it (bracketOf); with one bracket (the default) every trial is in bracket 0.
 *   median: a rung at every epoch from grace on; the number is the mean of the trial's scores so
 *     far; the trial stops when its best score so far is below the median of the earlier trials'
 *     means at that epoch, once minSamples trials have reported there.
 *
 * ASHA's defaults, η 4 and grace 1, are the ones that pay on this project's sweeps (docs/sweeps.md):
 * with trials of 6 or 7 epochs a grace of 2 already spends over half of a full search's epochs, and
 * η 3 lets too many trials past the first rung, since the first trials to reach a rung, having
 * no one to beat, always go on.
 *
 * The rungs live in a RungStore (rungs.ts): in memory for the local pool, in Redis for the queue,
 * and kept with the sweep in its folder, so a resumed or widened sweep judges its new trials
 * against the old rungs. A record is keyed by the trial, so a trial resumed after a kill that
 * reports an epoch again gets the decision it got before, judged against the same earlier numbers;
 * one resumed from the checkpoint of a rung's epoch asks that rung again (the kill may have come
 * before the word), so it stops where it would have stopped (train/trainer.ts resumeLoop).
 */
import { createHash } from 'node:crypto';
import { type Config, ConfigError, iterationsPerEpoch } from '../config/config.js';
import { isObj } from '../config/keys.js';
import { type RungBasis, rungId, type RungStore } from './rungs.js';
import { DEFAULT_METRIC, METRICS, type Metric, score, showValue } from './metric.js';

export { checkRungValue, MemoryRungStore, type RungStore } from './rungs.js';

/** ASHA's settings: `brackets` only when the sweep file gives it (one bracket otherwise). */
export interface AshaSpec {
  eta: number;
  grace: number;
  max: number | null;
  brackets?: number;
}

export type SchedulerSpec = { asha: AshaSpec } | { median: { grace: number; minSamples: number } };

/** ASHA's reduction factor and grace period (epochs) when the sweep file leaves them out. */
export const ASHA_DEFAULTS = { eta: 4, grace: 1 } as const;

const USAGE = '{"asha": {"eta": 4, "grace": 1, "max": 9}} or {"median": {"grace": 1, "minSamples": 3}}';

/** Check the sweep file's "scheduler" value; every refusal names what was given and what works. */
export function parseScheduler(v: unknown, where: string): SchedulerSpec {
  if (!isObj(v) || Object.keys(v).length !== 1) throw new ConfigError(`${where}: scheduler = ${JSON.stringify(v)} is not one of ${USAGE}`);
  const [kind, o] = Object.entries(v)[0];
  if (!isObj(o)) throw new ConfigError(`${where}: scheduler.${kind} must be an object, as in ${USAGE}`);
  if (kind === 'asha') return { asha: parseAsha(o, where) };
  if (kind !== 'median') throw new ConfigError(`${where}: unknown scheduler "${kind}"; use ${USAGE}`);
  checkKeys(o, 'median', ['grace', 'minSamples'], where, '(it takes grace, minSamples)');
  return { median: { grace: intKey(o, 'median', 'grace', 1, 1, where)!, minSamples: intKey(o, 'median', 'minSamples', 3, 1, where)! } };
}

/** scheduler.asha: eta, grace, max and brackets, checked. */
function parseAsha(o: Record<string, unknown>, where: string): AshaSpec {
  checkKeys(o, 'asha', ['eta', 'grace', 'max', 'brackets'], where, '(it takes eta, grace, max) or "brackets" for Hyperband');
  const s: AshaSpec = { eta: intKey(o, 'asha', 'eta', ASHA_DEFAULTS.eta, 2, where)!, grace: intKey(o, 'asha', 'grace', ASHA_DEFAULTS.grace, 1, where)!, max: intKey(o, 'asha', 'max', null, 1, where) };
  if (s.max !== null && s.max < s.grace) throw new ConfigError(`${where}: scheduler.asha.max = ${s.max} is below grace = ${s.grace}`);
  if (o.brackets === undefined) return s;
  const brackets = intKey(o, 'asha', 'brackets', 1, 1, where)!;
  if (brackets > 1 && s.max === null) throw new ConfigError(`${where}: scheduler.asha.brackets = ${brackets} needs "max": every bracket's rungs count up to it (Ray Tune's max_t)`);
  return { ...s, brackets };
}

function checkKeys(o: Record<string, unknown>, kind: string, allowed: string[], where: string, takes: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new ConfigError(`${where}: scheduler.${kind} has no key "${k}" ${takes}`);
}

/** scheduler.<kind>.<k>: an integer ≥ min, `dflt` when absent. */
function intKey(o: Record<string, unknown>, kind: string, k: string, dflt: number | null, min: number, where: string): number | null {
  const x = o[k] ?? dflt;
  if (x === null) return null;
  if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new ConfigError(`${where}: scheduler.${kind}.${k} = ${JSON.stringify(o[k])} must be an integer ≥ ${min}`);
  return x;
}

/** "ASHA (η 3, grace 1, max 9 epochs)", "ASHA (η 3, grace 1, max 27 epochs, 3 brackets)". */
export function describeScheduler(s: SchedulerSpec): string {
  if ('asha' in s) {
    const b = bracketsOf(s.asha);
    return `ASHA (η ${s.asha.eta}, grace ${s.asha.grace}${s.asha.max !== null ? `, max ${s.asha.max}` : ''} epochs${b > 1 ? `, ${b} brackets` : ''})`;
  }
  return `median stopping rule (grace ${s.median.grace} epochs, ${s.median.minSamples} samples)`;
}

/**
 * Linear-interpolated quantile q ∈ [0, 1] of `xs`: numpy's default (method "linear"), to the last
 * bit, as Ray's cutoff computes it: index (n − 1)·q, and between neighbours a and b at fraction
 * g, a + (b − a)·g below one half, b − (b − a)·(1 − g) from one half on.
 */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  if (pos >= s.length - 1) return s[s.length - 1];
  const lo = Math.floor(pos);
  const [a, b, g] = [s[lo], s[lo + 1], pos - lo];
  return g < 0.5 ? a + (b - a) * g : b - (b - a) * (1 - g);
}

// ---------------------------------------------------------------------------------------------
// ASHA: max, brackets, rungs

/** How many brackets `s` has (1 unless the sweep file says more). */
export const bracketsOf = (s: AshaSpec): number => s.brackets ?? 1;

/**
 * The rungs (epochs) of bracket `bracket`: grace·η^(bracket+k) below max, or below the trial's
 * own `epochs` when max is not given. A trial records its score at each rung it reaches (with max,
 * its last epoch too, when that is a rung, as Ray records it); it can be stopped at those before
 * its last epoch.
 */
export function ashaRungs(s: AshaSpec, epochs: number, bracket = 0): number[] {
  const top = s.max ?? epochs;
  const out: number[] = [];
  for (let r = s.grace * s.eta ** bracket; r < top; r *= s.eta) out.push(r);
  return out;
}

/**
 * Each bracket's rung count as Ray counts it, its top rung at max included: bracket s has the
 * rungs grace·η^j ≤ max with j ≥ s. (Ray computes it in floating point, int(log(max/grace)/log(η)
 * − s + 1), which for a max that is exactly grace·η^n can drop the top rung: np.log(243)/np.log(3)
 * is 4.999…; here it is counted exactly.)
 */
export function bracketSizes(s: AshaSpec): number[] {
  let n = 0; // the largest j with grace·η^j ≤ max
  while (s.max !== null && s.grace * s.eta ** (n + 1) <= s.max) n++;
  return Array.from({ length: bracketsOf(s) }, (_, b) => Math.max(0, n - b + 1));
}

/** Ray's odds of each bracket: a softmax over the brackets' rung counts, e^(size − max size), normalised. */
export function bracketOdds(s: AshaSpec): number[] {
  const sizes = bracketSizes(s);
  const top = Math.max(...sizes);
  const w = sizes.map((n) => Math.exp(n - top));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / sum);
}

/**
 * The bracket of trial `trialId` (its folder, relative to the sweep folder): drawn with Ray's odds
 * (bracketOdds), from a uniform number made of the SHA-256 of the id instead of Ray's unseeded
 * np.random, so every worker, a resumed trial and a widened sweep give a trial the same bracket.
 */
export function bracketOf(s: AshaSpec, trialId: string): number {
  const odds = bracketOdds(s);
  if (odds.length === 1) return 0;
  const u = parseInt(createHash('sha256').update(trialId).digest('hex').slice(0, 12), 16) / 2 ** 48;
  let acc = 0;
  for (let b = 0; b < odds.length; b++) if (u < (acc += odds[b])) return b;
  return odds.length - 1;
}

/**
 * Trial config `cfg` with its epochs capped at ASHA's max, as Ray's max_t caps every trial: a
 * config counting epochs runs min(epochs, max); one counting iterations runs at most max epochs'
 * worth of steps (max × steps per epoch, from its numTrain, which must then be a number). The
 * trial's folder and config.json hold the capped config: what it ran.
 */
export function capEpochs(cfg: Config, s: SchedulerSpec | undefined, where: string): Config {
  const max = s && 'asha' in s ? s.asha.max : null;
  if (max === null || cfg.model === 'knn') return cfg;
  if (cfg.iterations <= 0) return cfg.epochs > max ? { ...cfg, epochs: max } : cfg;
  if (cfg.numTrain === 'all') {
    throw new ConfigError(
      `${where}: scheduler.asha.max = ${max} caps every trial's epochs, but this trial counts iterations (${cfg.iterations}) over numTrain "all", whose epochs are known only once the data is read: give numTrain a number, or epochs instead of iterations`,
    );
  }
  const cap = max * iterationsPerEpoch(cfg.numTrain, cfg.batchSize);
  return cfg.iterations > cap ? { ...cfg, iterations: cap } : cfg;
}

// ---------------------------------------------------------------------------------------------
// Decisions

export interface Decision {
  stop: boolean;
  /** Why it stopped, for results and the log: "val 0.310 < 0.352, the 67th percentile of 5 trials at epoch 3 (ASHA)". */
  reason: string | null;
}

const GO: Decision = { stop: false, reason: null };

/**
 * The decision after epoch `epoch` of trial `trial`, which runs `epochs` in all, with its values of
 * the sweep's metric `m` so far (`metricHistory[epoch - 1]` is this epoch's; val accuracy by
 * default). Deterministic given what the store returns.
 */
export async function decide(s: SchedulerSpec, store: RungStore, trial: string, epoch: number, epochs: number, metricHistory: number[], m: Metric = DEFAULT_METRIC): Promise<Decision> {
  // The metric's values enter as scores (metric.ts): larger is better, whatever the mode; the rungs hold scores.
  const scores = metricHistory.map((v) => score(m, v));
  if ('asha' in s) return decideAsha(s.asha, store, trial, bracketOf(s.asha, trial), epoch, epochs, scores[epoch - 1], m);
  if (epoch >= epochs || epoch < s.median.grace) return GO; // finishing anyway, or too early
  const seen = scores.slice(0, epoch);
  const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
  const best = Math.max(...seen);
  const before = await store.record(epoch, trial, mean);
  if (before.length < s.median.minSamples) return GO;
  const median = quantile(before, 0.5);
  if (best < median) return { stop: true, reason: `best ${worse(m, best, median)}, the median of ${before.length} earlier trials' mean ${METRICS[m.name].short} at epoch ${epoch} (median rule)` };
  return GO;
}

/** "val acc 0.3100 < 0.3520" (or "val loss 1.9 > 1.7" for a min metric), from two scores. */
function worse(m: Metric, a: number, b: number): string {
  return `${showValue(m, score(m, a))} ${m.mode === 'max' ? '<' : '>'} ${score(m, b).toFixed(4)}`;
}

/**
 * ASHA's decision for trial `trial` of bracket `bracket` after epoch `epoch`, its score there
 * `value` (higher is better): recorded at the bracket's rung (Ray's _Bracket.on_result), judged
 * against the earlier records there unless this is its last epoch.
 */
export async function decideAsha(s: AshaSpec, store: RungStore, trial: string, bracket: number, epoch: number, epochs: number, value: number, m: Metric = DEFAULT_METRIC): Promise<Decision> {
  if (epoch > epochs || !ashaRungs(s, epochs, bracket).includes(epoch)) return GO;
  const before = await store.record(rungId(bracket, epoch), trial, value);
  if (epoch === epochs || before.length === 0) return GO; // finishing anyway; the first has no one to beat
  const percentile = (1 - 1 / s.eta) * 100; // as Ray hands it to np.percentile, which divides by 100 (for η 6, one ulp off 1 − 1/η)
  const cutoff = quantile(before, percentile / 100);
  if (value >= cutoff) return GO;
  const where = bracketsOf(s) > 1 ? `ASHA, bracket ${bracket}` : 'ASHA';
  const shown = Math.round(m.mode === 'max' ? percentile : 100 - percentile);
  return { stop: true, reason: `${worse(m, value, cutoff)}, the ${shown}th percentile of ${before.length} earlier trials at epoch ${epoch} (${where})` };
}

/** The basis of a sweep's kept scores (rungs.json): its metric `m` and its scheduler `s`. */
export function rungBasisOf(m: Metric, s: SchedulerSpec): RungBasis {
  return { metric: m.name, mode: m.mode, scheduler: 'asha' in s ? 'asha' : 'median' };
}
