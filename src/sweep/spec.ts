/**
 * Sweep files: which trials a hyperparameter sweep runs.
 *
 *   {
 *     "name": "cifar-softmax",                       // the sweep folder is <runsDir>/sweep-<name>
 *     "base": "cs231n-softmax.json",                 // a config file (relative to this file) or an object
 *     "grid": { "lr": [1e-7, 1e-6], "reg": [1e2, 1e3] }           // every combination, last key fastest
 *   }
 *
 *   { "name": …, "base": …,
 *     "random": { "trials": 20, "seed": 1,
 *                 "lr": { "logUniform": [1e-7, 1e-5] }, "reg": { "logUniform": [1e1, 1e4] },
 *                 "hidden": { "choice": [[100], [500]] }, "lrDecay": { "uniform": [0.9, 1] } } }
 *
 *   { "name": …, "base": …,                      // Optuna's TPE (tpe.ts): each trial suggested from the results so far
 *     "tpe": { "trials": 40, "seed": 1, "startupTrials": 10,        // the first startupTrials at random (10 if not given)
 *              "lr": { "logUniform": [1e-7, 1e-5] }, "reg": { "logUniform": [1e1, 1e4] }, "hidden": { "choice": [[100], [500]] } } }
 *
 *   Conditional keys and layered nets (space.ts): a key's "when" names the values other keys must take;
 *   "hidden" may be built from a depth and a width per layer.
 *     "tpe": { …, "updateRule": { "choice": ["sgd", "sgd_momentum"] },
 *              "momentum": { "uniform": [0.5, 0.99], "when": { "updateRule": "sgd_momentum" } },
 *              "hidden": { "layers": { "depth": { "choice": [1, 2] }, "width": { "logUniform": [32, 512] } } } }
 *     "grid": { "updateRule": ["sgd", "sgd_momentum"], "momentum": { "values": [0.5, 0.9], "when": { "updateRule": "sgd_momentum" } },
 *               "hidden": { "layers": { "depth": [1, 2], "width": [100, 500] } } }
 *   { "name": …, "base": …, "grid": …,
 *     "metric": "valLoss", "mode": "min",        // what is optimised (metric.ts); default valAcc, max
 *     "retries": 2 }                             // further attempts after a worker is lost (default 2)
 *
 *   { "name": …, "base": …,
 *     "list": [ { "updateRule": "sgd", "lr": 5e-3 }, { "updateRule": "adam", "lr": 1e-3 } ] }   // these trials, in order
 *
 * Only training hyperparameters can vary (SWEEPABLE); the data and the model kind are shared by
 * every trial, since the preprocessed data is loaded once for all of them.
 */
import * as path from 'node:path';
import { type Config, ConfigError, KEY_BY_NAME, SWEEPABLE, type SweepKey, checkPartial, checkValue, isFolderName, readJsonFile, resolveConfig } from '../config/config.js';
import { Rng } from '../linalg/rng.js';
import { isObj } from '../config/keys.js';
import { capEpochs, parseScheduler, type SchedulerSpec } from './scheduler.js';
import { type LayersDistribution, type PlainDistribution, type When, gridCombos, gridLayers, orderKeys, parseLayers, sampleTrial, splitWhen } from './space.js';
import { DEFAULT_METRIC, type Metric, parseMetric } from './metric.js';
import { parseTrialReports, type TrialReports } from './trial_reports.js';

/** (SweepKey: the config table's sweep column, config.ts.) */
export type { SweepKey };

/**
 * The most trials one sweep may hold. Counted before anything is expanded, so a grid of 10⁷
 * points or `"trials": 1e8` is refused at once instead of filling memory; a sweep of more than
 * this is better split into several sweeps (or a coarse search and then a finer one).
 */
export const MAX_TRIALS = 10_000;

/** A key's distribution in "random" or "tpe": a range, a choice, or (space.ts) a depth and widths. */
export type Distribution = PlainDistribution | LayersDistribution;
export type { PlainDistribution, LayersDistribution, When };
export { roundValue } from './space.js';

export interface SweepSpec {
  name: string;
  /** Config keys every trial shares. */
  base: Partial<Config>;
  grid?: Partial<Record<SweepKey, unknown[]>>;
  random?: { trials: number; seed: number; params: Partial<Record<SweepKey, Distribution>> };
  /** Optuna's TPE: trials suggested one at a time from the results so far (tpe.ts, tpe_sweep.ts); none is known in advance. */
  tpe?: { trials: number; seed: number; startupTrials: number; params: Partial<Record<SweepKey, Distribution>> };
  /** Trials given one by one: values that go together, e.g. each update rule with its own learning rate. */
  list?: Partial<Record<SweepKey, unknown>>[];
  /** Early stopping (scheduler.ts): ASHA or the median rule; absent, every trial runs to its end. */
  scheduler?: SchedulerSpec;
  /** The conditional keys of a grid, random or tpe sweep (space.ts): each key's "when". */
  when?: When;
  /** What selection, the schedulers and TPE optimise (metric.ts); absent: val accuracy, max. */
  metric?: Metric;
  /** Further attempts at a trial whose host failed it (a worker or thread lost, killed, its lock stalled); absent: RETRIES_DEFAULT. */
  retries?: number;
  /** Which trials get their full run report, and when (trial_reports.ts); absent: DEFAULT_TRIAL_REPORTS. */
  trialReports?: TrialReports;
}

// ---------------------------------------------------------------------------------------------
// The objective and retries: "metric", "mode" and "retries" of the sweep file

/**
 * Further attempts at a trial after a failure of its host, when the sweep file gives no
 * "retries": a worker process or training thread lost (killed, out of memory) or its lock
 * stalled. A trial's own failure (divergence, a bad config) is never retried.
 */
export const RETRIES_DEFAULT = 2;
/** The most "retries" allowed: a trial that keeps killing its worker should not take the whole pool with it. */
export const MAX_RETRIES = 10;

/** The sweep's metric (val accuracy, max, when the file names none). */
export const metricOf = (spec: SweepSpec): Metric => spec.metric ?? DEFAULT_METRIC;
/** The sweep's retry count. */
export const retriesOf = (spec: SweepSpec): number => spec.retries ?? RETRIES_DEFAULT;

/** "metric", "mode" and "retries" checked; each absent one is left out (its default applies). */
function parseObjective(obj: Record<string, unknown>, origin: string): Pick<SweepSpec, 'metric' | 'retries'> {
  const out: Pick<SweepSpec, 'metric' | 'retries'> = {};
  if (obj.metric !== undefined || obj.mode !== undefined) out.metric = parseMetric(obj.metric, obj.mode, origin);
  const r = obj.retries;
  if (r !== undefined) {
    if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r > MAX_RETRIES) {
      throw new ConfigError(`${origin}: retries = ${JSON.stringify(r)} must be an integer from 0 to ${MAX_RETRIES} (further attempts after a worker is lost; default ${RETRIES_DEFAULT})`);
    }
    out.retries = r;
  }
  return out;
}

export interface Trial {
  /** 1-based position in the sweep: trial 1 is trials/trial-001. */
  index: number;
  /** The swept keys and this trial's values, in the order the sweep file gives them. */
  params: Partial<Config>;
  config: Config;
}

/** Read and check a sweep file. `flags` (from the command line) override the base config. */
export function readSweepFile(file: string): SweepSpec {
  return parseSweep(readJsonFile(file, `sweep file ${file}`), file);
}

export function parseSweep(obj: unknown, origin: string): SweepSpec {
  if (!isObj(obj)) throw new ConfigError(`${origin}: expected a JSON object with "base" and "grid", "random", "tpe" or "list"`);
  for (const k of Object.keys(obj)) {
    if (!['name', 'base', 'grid', 'random', 'tpe', 'list', 'scheduler', 'metric', 'mode', 'retries', 'trialReports', '$comment', 'description'].includes(k)) {
      throw new ConfigError(`${origin}: unknown key "${k}" (a sweep file has name, base, grid, random, tpe or list, scheduler, trialReports, metric, mode and retries)`);
    }
  }
  const name =
    obj.name === undefined
      ? path
          .basename(origin)
          .replace(/\.json$/, '')
          .replace(/^sweep-/, '')
      : obj.name;
  if (!isFolderName(name)) {
    throw new ConfigError(`${origin}: name = ${JSON.stringify(name)} is not allowed: use letters, digits, '.', '_' and '-'`);
  }
  const base = parseBase(obj.base, origin);
  if ([obj.grid, obj.random, obj.tpe, obj.list].filter((x) => x !== undefined).length !== 1) {
    throw new ConfigError(
      `${origin}: give exactly one of "grid" (values per key), "random" (trials and a range per key), "tpe" (the same, searched by Optuna's TPE) or "list" (the trials one by one)`,
    );
  }
  const sched = {
    ...(obj.scheduler === undefined ? {} : { scheduler: parseScheduler(obj.scheduler, origin) }),
    ...(obj.trialReports === undefined ? {} : { trialReports: parseTrialReports(obj.trialReports, origin) }),
    ...parseObjective(obj, origin),
  };
  if (obj.list !== undefined) return { name, base, list: parseList(obj.list, origin), ...sched };
  const when: When = {};
  const conditional = (spec: SweepSpec): SweepSpec => withWhen(spec, when, origin);
  if (obj.grid !== undefined) return conditional({ name, base, grid: parseGrid(obj.grid, origin, when), ...sched });
  if (obj.tpe !== undefined) return conditional({ name, base, tpe: parseSampled(obj.tpe, 'tpe', origin, when), ...sched });
  const { startupTrials: _, ...random } = parseSampled(obj.random, 'random', origin, when);
  return conditional({ name, base, random, ...sched });
}

/** `spec` with its conditions (none: as it was), checked: names, cycles, a grid's count of the combinations that exist. */
function withWhen(spec: SweepSpec, when: When, origin: string): SweepSpec {
  if (Object.keys(when).length === 0) return spec;
  const out = { ...spec, when };
  spaceOf(out, origin);
  const n = trialCount(out);
  if (n > MAX_TRIALS)
    throw new ConfigError(`${origin}: the grid has more than ${MAX_TRIALS.toLocaleString('en-US')} trials that its conditions allow; a sweep holds at most ${MAX_TRIALS.toLocaleString('en-US')}`);
  return out;
}

/** The order the sweep's keys are decided in, its conditions on swept keys, and the keys a condition on the base leaves out (space.ts). */
export function spaceOf(spec: SweepSpec, origin = `sweep ${spec.name}`): ReturnType<typeof orderKeys> {
  const keys = Object.keys(spec.grid ?? (spec.random ?? spec.tpe)?.params ?? {});
  return orderKeys(keys, spec.when ?? {}, spec.base, origin);
}

/** The base config: a config file (relative to the sweep file) or an object of keys. */
function parseBase(base: unknown, origin: string): Partial<Config> {
  if (typeof base === 'string') {
    const file = path.resolve(path.dirname(origin), base);
    return checkPartial(readJsonFile(file, `base config ${file} of ${origin}`), file);
  }
  return base === undefined ? {} : checkPartial(base, `${origin} base`);
}

/** `k` as a sweepable key, or an error naming why it cannot be swept. */
function checkKey(k: string, where: string): SweepKey {
  if (!(SWEEPABLE as readonly string[]).includes(k)) {
    const why = KEY_BY_NAME.has(k) ? 'it cannot vary within a sweep (every trial shares the data and model kind)' : 'it is not a config key';
    throw new ConfigError(`${where}: "${k}" cannot be swept: ${why}. Sweepable: ${SWEEPABLE.join(', ')}`);
  }
  return k as SweepKey;
}

/** `v` checked against key `k`'s type and range. */
const checkSwept = (k: SweepKey, v: unknown, where: string): unknown => checkValue(KEY_BY_NAME.get(k)!, v, where);

/**
 * "grid": key → list of values, or {"values": [...], "when": …}, or a layers key (space.ts); its
 * size is counted before any value is checked or any list built (with conditions, the product of
 * the lists bounds it, and withWhen counts the combinations that exist). Conditions go to `when`.
 */
function parseGrid(g: unknown, origin: string, when: When): Partial<Record<SweepKey, unknown[]>> {
  if (!isObj(g) || Object.keys(g).length === 0) throw new ConfigError(`${origin}: "grid" must be an object of key → list of values`);
  const lists = new Map<SweepKey, unknown>();
  for (const [k, raw] of Object.entries(g)) {
    const key = checkKey(k, `${origin} grid`);
    const { body, when: cond } = splitWhen(raw, `${origin}: grid.${k}`);
    if (cond) when[key] = cond;
    const vals = isObj(body) && 'values' in body && Object.keys(body).length === 1 ? body.values : body;
    if (isObj(vals) && 'layers' in vals) lists.set(key, vals);
    else if (!Array.isArray(vals) || vals.length === 0)
      throw new ConfigError(`${origin}: grid.${k} must be a non-empty list of values${cond ? ' (with "when": {"values": [...], "when": {...}})' : ''}`);
    else lists.set(key, vals);
  }
  const grid: Partial<Record<SweepKey, unknown[]>> = {};
  for (const [k, vals] of lists) if (!Array.isArray(vals)) grid[k] = gridLayers(vals, `${origin}: grid.${k}`, MAX_TRIALS, (v) => checkSwept(k, v, `${origin} grid`));
  const sizes = [...lists].map(([k, vals]) => [k, Array.isArray(vals) ? vals.length : grid[k]!.length] as const);
  const count = sizes.reduce((n, [, len]) => n * len, 1);
  if (count > MAX_TRIALS && Object.keys(when).length === 0) {
    throw new ConfigError(
      `${origin}: the grid has ${count.toLocaleString('en-US')} trials (${sizes.map(([k, len]) => `${k} ${len}`).join(' × ')}); a sweep holds at most ${MAX_TRIALS.toLocaleString('en-US')}: use fewer values, or a random search with "trials"`,
    );
  }
  for (const [k, vals] of lists) if (Array.isArray(vals)) grid[k] = vals.map((v) => checkSwept(k, v, `${origin} grid`));
  return Object.fromEntries([...lists.keys()].map((k) => [k, grid[k]])) as Partial<Record<SweepKey, unknown[]>>;
}

/** "list": the trials one by one, each an object of key → value. */
function parseList(l: unknown, origin: string): Partial<Record<SweepKey, unknown>>[] {
  if (!Array.isArray(l) || l.length === 0) throw new ConfigError(`${origin}: "list" must be a non-empty list of trials, each an object of key → value`);
  if (l.length > MAX_TRIALS) throw new ConfigError(`${origin}: the list has ${l.length.toLocaleString('en-US')} trials; a sweep holds at most ${MAX_TRIALS.toLocaleString('en-US')}`);
  return l.map((t, i) => {
    const where = `${origin} list[${i}]`;
    if (!isObj(t) || Object.keys(t).length === 0) throw new ConfigError(`${where} must be an object of key → value, e.g. {"updateRule": "adam", "lr": 1e-3}`);
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, checkSwept(checkKey(k, where), v, where)])) as Partial<Record<SweepKey, unknown>>;
  });
}

/** "random" or "tpe": trials, a seed, (tpe) startupTrials, and a distribution per key. */
function parseSampled(r: unknown, kind: 'random' | 'tpe', origin: string, when: When): NonNullable<SweepSpec['tpe']> {
  if (!isObj(r)) throw new ConfigError(`${origin}: "${kind}" must be an object with "trials" and a distribution per key`);
  const trials = r.trials;
  if (typeof trials !== 'number' || !Number.isInteger(trials) || trials < 1) throw new ConfigError(`${origin}: ${kind}.trials must be a positive integer`);
  if (trials > MAX_TRIALS) throw new ConfigError(`${origin}: ${kind}.trials = ${trials.toLocaleString('en-US')} is too many; a sweep holds at most ${MAX_TRIALS.toLocaleString('en-US')} trials`);
  const seed = r.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) throw new ConfigError(`${origin}: ${kind}.seed must be a non-negative integer`);
  const own = kind === 'tpe' ? ['trials', 'seed', 'startupTrials'] : ['trials', 'seed'];
  const params: Partial<Record<SweepKey, Distribution>> = {};
  for (const [k, d] of Object.entries(r)) {
    if (own.includes(k)) continue;
    const key = checkKey(k, `${origin} ${kind}`);
    const { body, when: cond } = splitWhen(d, `${origin}: ${kind}.${k}`);
    if (cond) when[key] = cond;
    params[key] = parseSampledKey(key, body, `${origin}: ${kind}.${k}`, kind === 'tpe', `${origin} ${kind}`);
  }
  if (Object.keys(params).length === 0) throw new ConfigError(`${origin}: ${kind} names no key to sample`);
  for (const [k, cond] of Object.entries(when)) {
    const layered = Object.keys(cond!).find((ck) => {
      const d = params[ck as SweepKey];
      return d !== undefined && 'layers' in d;
    });
    if (layered) throw new ConfigError(`${origin}: ${kind}.${k}.when names ${layered}, which is built layer by layer: a condition may name only keys drawn as one value`);
  }
  if (kind === 'random') return { trials, seed, startupTrials: 0, params };
  const startupTrials = r.startupTrials ?? 10;
  if (typeof startupTrials !== 'number' || !Number.isInteger(startupTrials) || startupTrials < 0) {
    throw new ConfigError(`${origin}: tpe.startupTrials must be a non-negative integer (the random trials before TPE's model takes over; Optuna's default is 10)`);
  }
  return { trials, seed, startupTrials, params };
}

/** One key's entry in "random" or "tpe" (its "when" taken off): a distribution, or a layers key's depth and width (space.ts). */
function parseSampledKey(key: SweepKey, d: unknown, where: string, tpe: boolean, checkWhere: string): Distribution {
  if (!(isObj(d) && 'layers' in d)) return parseDistribution(key, d, where, tpe, (v) => checkSwept(key, v, checkWhere));
  if (KEY_BY_NAME.get(key)!.kind !== 'intList') throw new ConfigError(`${where}: "layers" builds a list of hidden sizes; ${key} is not one (use it on "hidden")`);
  // The depth is checked by parseLayers; a width as one hidden size of `key`.
  const check = (at: string) => (at.endsWith('.depth') ? (x: unknown) => x : (x: unknown) => checkSwept(key, [x], checkWhere));
  return parseLayers(d, where, (sub, at) => parseDistribution(key, sub, at, tpe, check(at), 'int') as PlainDistribution);
}

/** One key's distribution in "random" or "tpe"; `check` checks a value against the key's type and range. */
function parseDistribution(key: SweepKey, d: unknown, where: string, tpe: boolean, check: (v: unknown) => unknown, kind = KEY_BY_NAME.get(key)!.kind): Distribution {
  if (!isObj(d) || Object.keys(d).length !== 1) throw new ConfigError(`${where} must be one of {"logUniform": [lo, hi]}, {"uniform": [lo, hi]}, {"choice": [values]}`);
  if ('choice' in d) {
    if (!Array.isArray(d.choice) || d.choice.length === 0) throw new ConfigError(`${where}.choice must be a non-empty list`);
    return { choice: d.choice.map((v) => check(v)) };
  }
  if (!('logUniform' in d || 'uniform' in d)) throw new ConfigError(`${where} must be one of {"logUniform": [lo, hi]}, {"uniform": [lo, hi]}, {"choice": [values]}`);
  const axis = 'logUniform' in d ? 'logUniform' : 'uniform';
  const range = (d as Record<string, unknown>)[axis];
  if (!Array.isArray(range) || range.length !== 2 || !range.every((x) => typeof x === 'number' && Number.isFinite(x)) || range[0] > range[1]) {
    throw new ConfigError(`${where}.${axis} must be [lo, hi] with lo ≤ hi`);
  }
  // TPE's Parzen estimators need an interval; a single value belongs in the base config.
  if (tpe && !(range[0] < range[1])) throw new ConfigError(`${where}.${axis} must be [lo, hi] with lo < hi; a fixed value goes in "base"`);
  if (kind !== 'number' && kind !== 'int') throw new ConfigError(`${where}: ${key} takes ${kind} values; use {"choice": [...]}`);
  if (axis === 'logUniform' && range[0] <= 0) throw new ConfigError(`${where}.logUniform needs lo > 0`);
  for (const x of range) check(kind === 'int' ? Math.round(x) : x);
  return (axis === 'logUniform' ? { logUniform: range } : { uniform: range }) as Distribution;
}

/** How many trials `spec` holds, without expanding it. */
export function trialCount(spec: SweepSpec): number {
  if (spec.grid && spec.when) return gridParams(spec, MAX_TRIALS + 1).length;
  if (spec.grid) return Object.values(spec.grid).reduce((n, vals) => n * vals!.length, 1);
  if (spec.list) return spec.list.length;
  return (spec.random ?? spec.tpe)!.trials;
}

/** The keys the sweep varies, in the order its file gives them. */
export function sweptKeys(spec: SweepSpec): SweepKey[] {
  if (spec.list) return [...new Set(spec.list.flatMap((t) => Object.keys(t) as SweepKey[]))];
  return Object.keys(spec.grid ?? (spec.random ?? spec.tpe)!.params) as SweepKey[];
}

/**
 * The swept values of every trial, in order. Deterministic: the same spec gives the same list.
 * A TPE sweep has none in advance: its trials are suggested as results come in (tpe_sweep.ts).
 */
export function expandParams(spec: SweepSpec): Partial<Config>[] {
  // parseSweep refuses these; a spec built in code is held to the same cap.
  const n = trialCount(spec);
  if (n > MAX_TRIALS) throw new ConfigError(`sweep ${spec.name} has ${n.toLocaleString('en-US')} trials; a sweep holds at most ${MAX_TRIALS.toLocaleString('en-US')}`);
  if (spec.grid) return gridParams(spec, MAX_TRIALS);
  if (spec.list) return spec.list.map((t) => ({ ...t }) as Partial<Config>);
  if (spec.tpe) return [];
  const r = spec.random!;
  const rng = new Rng(r.seed);
  const { order, when, never } = spaceOf(spec);
  return Array.from({ length: r.trials }, () => sampleTrial(r.params, order, when, never, rng));
}

/** A grid's combinations (those its conditions allow), at most `limit`: every combination, last key fastest. */
function gridParams(spec: SweepSpec, limit: number): Partial<Config>[] {
  const { order, when, never } = spaceOf(spec);
  return gridCombos(spec.grid!, order, when, never, limit);
}

/** Every trial with its resolved config. `flags` are command-line overrides of the base. */
export function expandTrials(spec: SweepSpec, flags: Partial<Config> = {}): Trial[] {
  return expandParams(spec).map((params, i) => trialOf(spec, i + 1, params, flags));
}

/** Trial `index` (1-based) of `spec` with swept values `params`, its config resolved. */
export function trialOf(spec: SweepSpec, index: number, params: Partial<Config>, flags: Partial<Config> = {}): Trial {
  const merged: Partial<Config> = { ...spec.base, ...params };
  // A trial that sets epochs runs for epochs, even where the base counts iterations.
  if ('epochs' in params && !('iterations' in params)) delete merged.iterations;
  const config = resolveConfig(merged, { ...flags, name: `${spec.name}-${String(index).padStart(3, '0')}` });
  // ASHA's max caps every trial's epochs, as Ray's max_t (scheduler.ts): the trial's config says what it runs.
  return { index, params, config: capEpochs(config, spec.scheduler, `sweep ${spec.name} trial ${index}`) };
}

/** The config every trial shares (the base with the command line's flags): its data, runs folder and engine. */
export function baseConfig(spec: SweepSpec, flags: Partial<Config> = {}): Config {
  return resolveConfig({ ...spec.base }, { ...flags, name: spec.name });
}

/** Python's %e, as cs231n prints hyperparameters: 1.000000e-06. */
export function fmtE(x: number): string {
  const [m, e] = x.toExponential(6).split('e');
  const sign = e.startsWith('-') ? '-' : '+';
  return `${m}e${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
}

/** "lr 1.000000e-06 reg 1.000000e+03 hidden 500": the swept values, as cs231n's tables print them. */
export function describeParams(params: Partial<Config>): string {
  return Object.entries(params)
    .map(([k, v]) => {
      if (typeof v === 'number' && (k === 'lr' || k === 'reg' || k === 'initStd')) return `${k} ${fmtE(v)}`;
      return `${k} ${Array.isArray(v) ? v.join(',') : String(v)}`;
    })
    .join(' ');
}
