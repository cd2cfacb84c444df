/**
 * A TPE sweep's trials (a sweep file's "tpe", spec.ts), suggested one at a time as workers free up,
 * by tpe.ts from the results so far: each trial's value of the sweep's metric as a score (metric.ts), maximised.
 *
 * What suggestion i sees: trials 1 … i−1 in order. Finished ones with their best val accuracy;
 * ones the scheduler stopped early as Optuna's pruned trials (ranked by the epoch they reached,
 * then by val accuracy); diverged ones as the worst finished; those still running as running
 * (the constant liar); failed ones (a crashed worker) not at all. It draws its random numbers
 * from Rng(seed, i). So one worker, or the same results in the same order, give the same trials.
 *
 * Every suggestion is written to the sweep folder's tpe.json before its trial starts. A rerun
 * reads it back: the recorded trials come first, as they were (finished ones kept, the others
 * run again with their recorded values), and new suggestions continue from their results.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config/config.js';
import { ConfigError, KEY_BY_NAME } from '../config/config.js';
import { isObj } from '../config/keys.js';
import { Rng } from '../linalg/rng.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import { sweepDirOf, sweepFile, trialRel } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import type { TrialResult } from '../runs/results.js';
import {
  type Distribution,
  type LayersDistribution,
  type PlainDistribution,
  type SweepKey,
  type SweepSpec,
  type Trial,
  baseConfig,
  expandTrials,
  metricOf,
  roundValue,
  spaceOf,
  trialOf,
} from './spec.js';
import { type Condition, type When, holds } from './space.js';
import { DEFAULT_METRIC, type Metric, score } from './metric.js';
import type { TrialFeed } from './runner.js';
import { configHash, type TrialPlan } from './trial.js';
import { type TpeParam, type TpeSpace, type TpeTrial, suggestTpe, toInternal } from './tpe.js';

/** tpe.json: every trial suggested so far, in order. */
export interface TpeRecord {
  trials: { index: number; params: Partial<Config> }[];
}

/** How a sweep decides its keys (spec.ts spaceOf): their order, their conditions on swept keys, those a condition on the base leaves out. */
export interface Decided {
  order: readonly string[];
  when: When;
  never: ReadonlySet<string>;
}

/**
 * The sweep file's distributions as TPE's axes, in the order the keys are decided: a key's kind
 * (int or number) makes an axis integer or float; a layers key is its depth (`hidden.depth`) and a
 * width per layer (`hidden.1`, … each taking part when the depth reaches it); a key's condition
 * goes on its axis (a layers key's on its depth, which its widths follow).
 */
export function tpeSpace(params: Partial<Record<SweepKey, Distribution>>, decided: Decided = { order: Object.keys(params), when: {}, never: new Set() }): TpeSpace {
  const space: TpeSpace = {};
  for (const k of decided.order as SweepKey[]) {
    if (decided.never.has(k)) continue;
    const d = params[k]!;
    const cond = decided.when[k];
    if ('layers' in d) addLayers(space, k, d, cond);
    else space[k] = withCondition(axisOf(d, KEY_BY_NAME.get(k)!.kind === 'int'), cond);
  }
  return space;
}

function axisOf(d: PlainDistribution, isInt: boolean): TpeParam {
  if ('choice' in d) return { type: 'categorical', choices: d.choice };
  const [lo, hi] = 'uniform' in d ? d.uniform : d.logUniform;
  const log = 'logUniform' in d;
  return isInt ? { type: 'int', low: Math.round(lo), high: Math.round(hi), log } : { type: 'float', low: lo, high: hi, log };
}

const withCondition = (p: TpeParam, cond: Condition | undefined): TpeParam => (cond ? { ...p, when: cond } : p);

/** A layers key's axes: `k.depth`, then `k.1` … `k.<deepest>`, layer i taking part when the depth is i or more. */
function addLayers(space: TpeSpace, k: string, d: LayersDistribution, cond: Condition | undefined): void {
  const depth = axisOf(d.layers.depth, true);
  space[`${k}.depth`] = withCondition(depth, cond);
  const depths = depth.type === 'categorical' ? (depth.choices as number[]) : Array.from({ length: depth.high - depth.low + 1 }, (_, i) => depth.low + i);
  const deepest = Math.max(...depths);
  for (let i = 1; i <= deepest; i++) space[`${k}.${i}`] = { ...axisOf(d.layers.width, true), when: { [`${k}.depth`]: depths.filter((x) => x >= i) } };
}

/** A trial's params as TPE's axes see them: a layers key's list as its depth and its widths. */
export function flatParams(space: TpeSpace, params: Partial<Config>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (!(`${k}.depth` in space && Array.isArray(v))) out[k] = v;
    else {
      out[`${k}.depth`] = v.length;
      v.forEach((w, i) => (out[`${k}.${i + 1}`] = w));
    }
  }
  return out;
}

/** The inverse of flatParams: a layers key's depth and widths back as its list of hidden sizes. */
function nestParams(flat: Record<string, unknown>): Partial<Config> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(flat)) {
    const m = /^(.+)\.(depth|\d+)$/.exec(name);
    if (!m) out[name] = v;
    else if (m[2] === 'depth') out[m[1]] = [];
    else (out[m[1]] as unknown[]).push(v);
  }
  return out as Partial<Config>;
}

/**
 * The trials tpe.json records (none for a new sweep), up to the sweep's count: a sweep cut from 40
 * trials to 30 keeps the first 30, as a random search does. A record that does not parse is an
 * error that says what to do.
 */
export function recordedTrials(spec: SweepSpec, sweepDir: string, flags: Partial<Config>): Trial[] {
  const file = sweepFile(sweepDir, 'tpe');
  if (!fs.existsSync(file)) return [];
  const rec = readJsonOrNull(file) as TpeRecord | null;
  const ok = isObj(rec) && Array.isArray(rec.trials) && rec.trials.every((t, i) => isObj(t) && t.index === i + 1 && isObj(t.params));
  if (!ok) throw new ConfigError(`${file} is not a TPE record (a list of trials with index 1, 2, … and params); move it away to start the TPE search afresh`);
  return rec.trials.slice(0, spec.tpe!.trials).map((t) => trialOf(spec, t.index, t.params, flags));
}

/** The trials a sweep holds so far (a TPE sweep's: those tpe.json records) and its folder, for `sweep status` and `sweep cancel`. */
export function knownTrials(spec: SweepSpec, flags: Partial<Config>): { trials: Trial[]; sweepDir: string } {
  const sweepDir = sweepDirOf(baseConfig(spec, flags).runsDir, spec.name);
  return { trials: spec.tpe ? recordedTrials(spec, sweepDir, flags) : expandTrials(spec, flags), sweepDir };
}

/** Suggestion `index`'s random numbers: a stream of its own, from the sweep's seed. */
export const tpeRng = (seed: number, index: number): Rng => new Rng((Math.imul(seed, 0x9e3779b1) + index) >>> 0);

/**
 * A trial as TPE sees it (null: not an observation). Values outside today's space (an edited sweep
 * file) are left out. TPE maximises: it sees the score of the sweep's metric (metric.ts), the
 * value itself for mode max, its negation for min.
 */
export function observationOf(space: TpeSpace, t: Trial, r: TrialResult | undefined, m: Metric = DEFAULT_METRIC): TpeTrial | null {
  const params = flatParams(space, t.params);
  // Every axis that takes part (its condition holds on the trial's values) is there, and in range.
  if (!Object.entries(space).every(([k, p]) => !holds(p.when, params) || (k in params && fits(p, params[k])))) return null;
  if (!r) return { params, state: 'running' };
  // A result recorded without its value (built in code) has val accuracy's.
  const value = r.value !== undefined ? r.value : m.name === 'valAcc' ? r.valAcc : null;
  if (r.status === 'ok' && value !== null) return { params, state: 'complete', value: score(m, value) };
  if (r.status === 'stopped') return { params, state: 'pruned', step: r.lastEpoch ?? 0, value: value === null ? NaN : score(m, value) };
  if (r.status === 'diverged') return { params, state: 'pruned', step: 0, value: -Infinity };
  return null; // failed: not the trial's own result
}

function fits(p: TpeParam, v: unknown): boolean {
  try {
    const x = toInternal(p, v);
    return p.type === 'categorical' || (p.log ? Math.log(p.low) <= x && x <= Math.log(p.high) : p.low <= x && x <= p.high);
  } catch {
    return false;
  }
}

export interface TpeFeedContext {
  spec: SweepSpec;
  sweepDir: string;
  flags: Partial<Config>;
  /** Every trial so far, in order; the feed appends each trial it suggests. */
  trials: Trial[];
  /** Every plan so far (their folders are taken). */
  plans: TrialPlan[];
  /** Recorded trials still to run: handed out first. */
  pending: TrialPlan[];
  /** Results by trial index, kept current by the sweep. */
  finished: ReadonlyMap<number, TrialResult>;
  /** Throws when a trial's config does not fit the data (batch size, sizes). */
  check(config: Config): void;
  /** A new trial was suggested and given its folder (the sweep lists it in sweep.json). */
  added(plan: TrialPlan): void;
}

/** The feed of a TPE sweep: the recorded trials still to run, then a new suggestion each time a worker asks. */
export function tpeFeed(c: TpeFeedContext): TrialFeed {
  const tpe = c.spec.tpe!;
  const space = tpeSpace(tpe.params, spaceOf(c.spec));
  checkCorners(c, space);
  const queue = [...c.pending];
  const used = new Set(c.plans.map((p) => p.rel));
  return {
    left: () => queue.length + Math.max(0, tpe.trials - c.trials.length),
    decided: () => queue.length,
    next: () => {
      if (queue.length > 0) return queue.shift()!;
      if (c.trials.length >= tpe.trials) return null;
      const index = c.trials.length + 1;
      const seen = c.trials.map((t) => observationOf(space, t, c.finished.get(t.index), metricOf(c.spec))).filter((o): o is TpeTrial => o !== null);
      const raw = suggestTpe(space, seen, tpeRng(tpe.seed, index), { startupTrials: tpe.startupTrials });
      const trial = trialOf(c.spec, index, roundParams(space, raw), c.flags);
      c.check(trial.config);
      c.trials.push(trial);
      writeJsonAtomic(sweepFile(c.sweepDir, 'tpe'), { trials: c.trials.map((t) => ({ index: t.index, params: t.params })) } satisfies TpeRecord);
      const plan: TrialPlan = { trial, rel: freshRel(c.sweepDir, configHash(trial.config), used), finished: null, resume: null, clear: false };
      c.added(plan);
      return plan;
    },
  };
}

/** Values as a trial takes them: numbers rounded as a random search rounds them, and kept in range. */
export function roundParams(space: TpeSpace, raw: Record<string, unknown>): Partial<Config> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(space)) {
    if (!(k in raw)) continue; // it did not take part
    const v = raw[k];
    out[k] = p.type === 'categorical' ? v : Math.min(Math.max(roundValue(v as number, p.type === 'int'), p.low), p.high);
  }
  return nestParams(out);
}

/** A folder of its own for a new trial: trials/trial-<hash>, -2, … skipping any that exists or is taken. */
function freshRel(sweepDir: string, hash: string, used: Set<string>): string {
  for (let k = 1; ; k++) {
    const rel = trialRel(hash, k);
    if (used.has(rel) || fs.existsSync(path.join(sweepDir, rel))) continue;
    used.add(rel);
    return rel;
  }
}

/** Before the first trial: every choice, and each numeric axis at both ends, fits the data, so no suggestion fails half-way (layer i: i layers that wide). */
function checkCorners(c: TpeFeedContext, space: TpeSpace): void {
  for (const [name, p] of Object.entries(space)) {
    const layer = /^(.+)\.(depth|\d+)$/.exec(name);
    if (layer?.[2] === 'depth') continue;
    const params = (v: unknown) => (layer ? { [layer[1]]: new Array<unknown>(Number(layer[2])).fill(v) } : { [name]: v });
    for (const v of p.type === 'categorical' ? p.choices : [p.low, p.high]) c.check(trialOf(c.spec, 0, params(v) as Partial<Config>, c.flags).config);
  }
}
