/**
 * Early stopping for sweeps: ASHA (asynchronous successive halving, Li et al. 2020, as Ray Tune's
 * ASHAScheduler) and the median stopping rule (Golovin et al. 2017, Google Vizier), over epochs.
 *
 *   "scheduler": { "asha": { "eta": 4, "grace": 1, "max": 9 } }
 *   "scheduler": { "median": { "grace": 1, "minSamples": 3 } }
 *
 * A trial reports its val accuracy after every epoch and is told to go on or stop. Both rules
 * are rungs: at certain epochs the trial records one number there and is judged against the
 * numbers recorded at that rung before it (asynchronous: nobody waits for a rung to fill).
 *   ASHA: rungs at grace·η^k epochs below max; the number is the epoch's val accuracy; the trial
 *     stops when it is below the (1 − 1/η) quantile of the earlier ones (the first one goes on).
 *   median: a rung at every epoch from grace on; the number is the mean of the trial's val
 *     accuracies so far; the trial stops when its best val accuracy so far is below the median
 *     of the earlier trials' means at that epoch, once minSamples trials have reported there.
 *
 * ASHA's defaults, η 4 and grace 1, are the ones that pay on this project's sweeps (docs/sweeps.md):
 * with trials of 6 or 7 epochs a grace of 2 already spends over half of a full search's epochs, and
 * η 3 lets too many trials past the first rung, since the first trials to reach a rung, having
 * no one to beat, always go on.
 *
 * The rungs live in a RungStore: in memory for the local pool, in Redis for the queue (queue.ts).
 * A record is keyed by the trial, so a trial resumed after a kill that reports an epoch again
 * gets the decision it got before, judged against the same earlier numbers.
 */
import { ConfigError } from '../config/config.js';
import { isObj } from '../config/keys.js';
import { DEFAULT_METRIC, METRICS, type Metric, score, showValue } from './metric.js';

export type SchedulerSpec = { asha: { eta: number; grace: number; max: number | null } } | { median: { grace: number; minSamples: number } };

/** ASHA's reduction factor and grace period (epochs) when the sweep file leaves them out. */
export const ASHA_DEFAULTS = { eta: 4, grace: 1 } as const;

/** Check the sweep file's "scheduler" value; every refusal names what was given and what works. */
export function parseScheduler(v: unknown, where: string): SchedulerSpec {
  const usage = '{"asha": {"eta": 4, "grace": 1, "max": 9}} or {"median": {"grace": 1, "minSamples": 3}}';
  if (!isObj(v) || Object.keys(v).length !== 1) throw new ConfigError(`${where}: scheduler = ${JSON.stringify(v)} is not one of ${usage}`);
  const [kind, o] = Object.entries(v)[0];
  if (!isObj(o)) throw new ConfigError(`${where}: scheduler.${kind} must be an object, as in ${usage}`);
  const int = (k: string, dflt: number | null, min: number): number | null => {
    const x = o[k] ?? dflt;
    if (x === null) return null;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min) throw new ConfigError(`${where}: scheduler.${kind}.${k} = ${JSON.stringify(o[k])} must be an integer ≥ ${min}`);
    return x;
  };
  const allowed = kind === 'asha' ? ['eta', 'grace', 'max'] : ['grace', 'minSamples'];
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new ConfigError(`${where}: scheduler.${kind} has no key "${k}" (it takes ${allowed.join(', ')})`);
  if (kind === 'asha') {
    const s = { eta: int('eta', ASHA_DEFAULTS.eta, 2)!, grace: int('grace', ASHA_DEFAULTS.grace, 1)!, max: int('max', null, 1) };
    if (s.max !== null && s.max < s.grace) throw new ConfigError(`${where}: scheduler.asha.max = ${s.max} is below grace = ${s.grace}`);
    return { asha: s };
  }
  if (kind === 'median') return { median: { grace: int('grace', 1, 1)!, minSamples: int('minSamples', 3, 1)! } };
  throw new ConfigError(`${where}: unknown scheduler "${kind}"; use ${usage}`);
}

/** "ASHA (η 3, grace 1, max 9 epochs)". */
export function describeScheduler(s: SchedulerSpec): string {
  if ('asha' in s) return `ASHA (η ${s.asha.eta}, grace ${s.asha.grace}${s.asha.max !== null ? `, max ${s.asha.max}` : ''} epochs)`;
  return `median stopping rule (grace ${s.median.grace} epochs, ${s.median.minSamples} samples)`;
}

/** Where the rungs are kept. `record` adds `value` for `trial` at `rung` (once) and returns the values recorded there before it. */
export interface RungStore {
  record(rung: number, trial: string, value: number): Promise<number[]>;
}

/** A rung holds numbers only: anything else (a resumed trial's missing history, read as undefined) is refused, never recorded. */
export function checkRungValue(value: unknown, trial: string, rung: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`the scheduler was given ${String(value)} for ${trial} at epoch ${rung}, not a number: nothing is recorded`);
}

export class MemoryRungStore implements RungStore {
  private readonly rungs = new Map<number, [string, number][]>();
  record(rung: number, trial: string, value: number): Promise<number[]> {
    checkRungValue(value, trial, rung);
    const list = this.rungs.get(rung) ?? [];
    this.rungs.set(rung, list);
    let at = list.findIndex(([t]) => t === trial);
    if (at < 0) at = list.push([trial, value]) - 1;
    return Promise.resolve(list.slice(0, at).map(([, v]) => v));
  }
}

/** Linear-interpolated quantile q ∈ [0, 1] of `xs` (numpy's default percentile). */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** The ASHA rungs (epochs) below `max`: grace, grace·η, grace·η², … */
export function ashaRungs(s: { eta: number; grace: number; max: number | null }, epochs: number): number[] {
  const top = Math.min(s.max ?? epochs, epochs);
  const out: number[] = [];
  for (let r = s.grace; r < top; r *= s.eta) out.push(r);
  return out;
}

export interface Decision {
  stop: boolean;
  /** Why it stopped, for results and the log: "val 0.310 < 0.352, the 67th percentile of 5 trials at epoch 3 (ASHA)". */
  reason: string | null;
}

/**
 * The decision after epoch `epoch` of a trial that runs `epochs` in all, with its values of the
 * sweep's metric `m` so far (`metricHistory[epoch - 1]` is this epoch's; val accuracy by default).
 * Deterministic given what the store returns.
 */
export async function decide(s: SchedulerSpec, store: RungStore, trial: string, epoch: number, epochs: number, metricHistory: number[], m: Metric = DEFAULT_METRIC): Promise<Decision> {
  const go: Decision = { stop: false, reason: null };
  if (epoch >= epochs) return go; // finishing anyway
  // The metric's values enter as scores (metric.ts): larger is better, whatever the mode; the rungs hold scores.
  const valHistory = metricHistory.map((v) => score(m, v));
  const val = valHistory[epoch - 1];
  const worse = (a: number, b: number) => `${showValue(m, score(m, a))} ${m.mode === 'max' ? '<' : '>'} ${score(m, b).toFixed(4)}`;
  if ('asha' in s) {
    if (!ashaRungs(s.asha, epochs).includes(epoch)) return go;
    const before = await store.record(epoch, trial, val);
    if (before.length === 0) return go;
    const q = 1 - 1 / s.asha.eta;
    const cutoff = quantile(before, q);
    if (val < cutoff)
      return { stop: true, reason: `${worse(val, cutoff)}, the ${Math.round(100 * (m.mode === 'max' ? q : 1 - q))}th percentile of ${before.length} earlier trials at epoch ${epoch} (ASHA)` };
    return go;
  }
  if (epoch < s.median.grace) return go;
  const seen = valHistory.slice(0, epoch);
  const mean = seen.reduce((a, b) => a + b, 0) / seen.length;
  const best = Math.max(...seen);
  const before = await store.record(epoch, trial, mean);
  if (before.length < s.median.minSamples) return go;
  const median = quantile(before, 0.5);
  if (best < median) return { stop: true, reason: `best ${worse(best, median)}, the median of ${before.length} earlier trials' mean ${METRICS[m.name].short} at epoch ${epoch} (median rule)` };
  return go;
}
