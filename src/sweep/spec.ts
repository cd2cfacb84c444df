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
import { parseScheduler, type SchedulerSpec } from './scheduler.js';
import { parseTrialReports, type TrialReports } from './trial_reports.js';

/** (SweepKey: the config table's sweep column, config.ts.) */
export type { SweepKey };

/**
 * The most trials one sweep may hold. Counted before anything is expanded, so a grid of 10⁷
 * points or `"trials": 1e8` is refused at once instead of filling memory; a sweep of more than
 * this is better split into several sweeps (or a coarse search and then a finer one).
 */
export const MAX_TRIALS = 10_000;

export type Distribution = { logUniform: [number, number] } | { uniform: [number, number] } | { choice: unknown[] };

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
  /** Which trials get their full run report, and when (trial_reports.ts); absent: DEFAULT_TRIAL_REPORTS. */
  trialReports?: TrialReports;
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
    if (!['name', 'base', 'grid', 'random', 'tpe', 'list', 'scheduler', 'trialReports', '$comment', 'description'].includes(k)) {
      throw new ConfigError(`${origin}: unknown key "${k}" (a sweep file has name, base, grid, random, tpe or list, scheduler and trialReports)`);
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
  };
  if (obj.grid !== undefined) return { name, base, grid: parseGrid(obj.grid, origin), ...sched };
  if (obj.list !== undefined) return { name, base, list: parseList(obj.list, origin), ...sched };
  if (obj.tpe !== undefined) return { name, base, tpe: parseSampled(obj.tpe, 'tpe', origin), ...sched };
  const { startupTrials: _, ...random } = parseSampled(obj.random, 'random', origin);
  return { name, base, random, ...sched };
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

/** "grid": key → list of values; its size is counted before any value is checked or any list built. */
function parseGrid(g: unknown, origin: string): Partial<Record<SweepKey, unknown[]>> {
  if (!isObj(g) || Object.keys(g).length === 0) throw new ConfigError(`${origin}: "grid" must be an object of key → list of values`);
  for (const [k, vals] of Object.entries(g)) {
    checkKey(k, `${origin} grid`);
    if (!Array.isArray(vals) || vals.length === 0) throw new ConfigError(`${origin}: grid.${k} must be a non-empty list of values`);
  }
  const sizes = Object.entries(g).map(([k, vals]) => [k, (vals as unknown[]).length] as const);
  const count = sizes.reduce((n, [, len]) => n * len, 1);
  if (count > MAX_TRIALS) {
    throw new ConfigError(
      `${origin}: the grid has ${count.toLocaleString('en-US')} trials (${sizes.map(([k, len]) => `${k} ${len}`).join(' × ')}); a sweep holds at most ${MAX_TRIALS.toLocaleString('en-US')}: use fewer values, or a random search with "trials"`,
    );
  }
  const grid: Partial<Record<SweepKey, unknown[]>> = {};
  for (const [k, vals] of Object.entries(g)) grid[k as SweepKey] = (vals as unknown[]).map((v) => checkSwept(k as SweepKey, v, `${origin} grid`));
  return grid;
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
function parseSampled(r: unknown, kind: 'random' | 'tpe', origin: string): NonNullable<SweepSpec['tpe']> {
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
    params[key] = parseDistribution(key, d, `${origin}: ${kind}.${k}`, kind === 'tpe', (v) => checkSwept(key, v, `${origin} ${kind}`));
  }
  if (Object.keys(params).length === 0) throw new ConfigError(`${origin}: ${kind} names no key to sample`);
  if (kind === 'random') return { trials, seed, startupTrials: 0, params };
  const startupTrials = r.startupTrials ?? 10;
  if (typeof startupTrials !== 'number' || !Number.isInteger(startupTrials) || startupTrials < 0) {
    throw new ConfigError(`${origin}: tpe.startupTrials must be a non-negative integer (the random trials before TPE's model takes over; Optuna's default is 10)`);
  }
  return { trials, seed, startupTrials, params };
}

/** One key's distribution in "random" or "tpe"; `check` checks a value against the key's type and range. */
function parseDistribution(key: SweepKey, d: unknown, where: string, tpe: boolean, check: (v: unknown) => unknown): Distribution {
  if (!isObj(d) || Object.keys(d).length !== 1) throw new ConfigError(`${where} must be one of {"logUniform": [lo, hi]}, {"uniform": [lo, hi]}, {"choice": [values]}`);
  if ('choice' in d) {
    if (!Array.isArray(d.choice) || d.choice.length === 0) throw new ConfigError(`${where}.choice must be a non-empty list`);
    return { choice: d.choice.map((v) => check(v)) };
  }
  if (!('logUniform' in d || 'uniform' in d)) throw new ConfigError(`${where} must be one of {"logUniform": [lo, hi]}, {"uniform": [lo, hi]}, {"choice": [values]}`);
  const kind = 'logUniform' in d ? 'logUniform' : 'uniform';
  const range = (d as Record<string, unknown>)[kind];
  if (!Array.isArray(range) || range.length !== 2 || !range.every((x) => typeof x === 'number' && Number.isFinite(x)) || range[0] > range[1]) {
    throw new ConfigError(`${where}.${kind} must be [lo, hi] with lo ≤ hi`);
  }
  // TPE's Parzen estimators need an interval; a single value belongs in the base config.
  if (tpe && !(range[0] < range[1])) throw new ConfigError(`${where}.${kind} must be [lo, hi] with lo < hi; a fixed value goes in "base"`);
  const def = KEY_BY_NAME.get(key)!;
  if (def.kind !== 'number' && def.kind !== 'int') throw new ConfigError(`${where}: ${key} takes ${def.kind} values; use {"choice": [...]}`);
  if (kind === 'logUniform' && range[0] <= 0) throw new ConfigError(`${where}.logUniform needs lo > 0`);
  for (const x of range) check(def.kind === 'int' ? Math.round(x) : x);
  return (kind === 'logUniform' ? { logUniform: range } : { uniform: range }) as Distribution;
}

/** How many trials `spec` holds, without expanding it. */
export function trialCount(spec: SweepSpec): number {
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
  if (spec.grid) {
    const keys = Object.keys(spec.grid) as SweepKey[];
    let combos: Partial<Config>[] = [{}];
    for (const k of keys) {
      const next: Partial<Config>[] = [];
      for (const c of combos) for (const v of spec.grid[k]!) next.push({ ...c, [k]: v });
      combos = next;
    }
    return combos;
  }
  if (spec.list) return spec.list.map((t) => ({ ...t }) as Partial<Config>);
  if (spec.tpe) return [];
  const r = spec.random!;
  const rng = new Rng(r.seed);
  const out: Partial<Config>[] = [];
  for (let t = 0; t < r.trials; t++) {
    const p: Record<string, unknown> = {};
    for (const [k, d] of Object.entries(r.params) as [SweepKey, Distribution][]) {
      const isInt = KEY_BY_NAME.get(k)!.kind === 'int';
      let v: unknown;
      if ('choice' in d) v = d.choice[rng.int(d.choice.length)];
      else if ('uniform' in d) v = d.uniform[0] + (d.uniform[1] - d.uniform[0]) * rng.uniform();
      else v = Math.exp(Math.log(d.logUniform[0]) + (Math.log(d.logUniform[1]) - Math.log(d.logUniform[0])) * rng.uniform());
      p[k] = typeof v === 'number' ? roundValue(v, isInt) : v;
    }
    out.push(p as Partial<Config>);
  }
  return out;
}

/** A sampled number as a trial takes it: integers rounded, others to 6 significant digits (readable in tables and files, still distinct). */
export function roundValue(v: number, isInt: boolean): number {
  return isInt ? Math.round(v) : Number(v.toPrecision(6));
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
  return { index, params, config };
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
