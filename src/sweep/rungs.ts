/**
 * Where a scheduler's rungs (scheduler.ts) live: a list per rung of (trial, score), in the order
 * the trials reached it. A rung is named by rungId: its epoch, and its bracket when that is not 0.
 *
 *   live    in memory for the local pool (its main thread is the only writer), in Redis for the
 *           queue (queue.ts RedisRungStore, tsnn:rungs:<sweep key>:<rung id>), shared by workers
 *   kept    in the sweep folder, rungs.json, written atomically: the local pool writes it after
 *           every new record; a queue coordinator seeds Redis from it before it enqueues a trial,
 *           and writes what Redis holds back into it when every trial is recorded
 *
 * So a sweep resumed or widened (trials added to a finished one), on either runner, judges its new
 * trials against the rungs its earlier trials left, as Ray Tune's scheduler, restored, does.
 *
 * rungs.json records its basis, what its scores are: the sweep's metric and mode (a score is the
 * value, or its negation for mode min: metric.ts) and the scheduler that recorded them (ASHA
 * records the epoch's score, the median rule the mean of the trial's scores so far; η, grace, max
 * and brackets change where a score is kept, not what it is). Read for a sweep of another basis it
 * is refused: its new trials would be judged against numbers of another kind. A file without a
 * basis was written when sweeps had one metric, val accuracy, max, and is read as that.
 *
 *   rungs.json   {"basis": {"metric": "valAcc", "mode": "max", "scheduler": "asha"},
 *                 "rungs": {"1": [["trials/trial-3f…", 0.41], …], "b1:3": […]}}
 */
import * as fs from 'node:fs';
import type { Redis } from 'ioredis';
import { ConfigError } from '../config/config.js';
import { DataError } from '../data/errors.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import { sweepFile } from '../runs/layout.js';
import { readJsonObject } from '../runs/read.js';
import { DEFAULT_METRIC, describeMetric, METRIC_NAMES, type MetricName, type Mode, MODES } from './metric.js';

/** A rung's name in a store: "3" for epoch 3 of bracket 0 (as before brackets), "b1:3" in bracket 1. */
export const rungId = (bracket: number, epoch: number): string => (bracket === 0 ? String(epoch) : `b${bracket}:${epoch}`);

/** Every rung of a sweep: rung id → (trial, score) in the order they came. */
export type KeptRungs = Record<string, [string, number][]>;

/** Where the rungs are kept. `record` adds `value` for `trial` at `rung` (once) and returns the values recorded there before it. */
export interface RungStore {
  record(rung: number | string, trial: string, value: number): Promise<number[]>;
}

/** A rung holds numbers only: anything else (a resumed trial's missing history, read as undefined) is refused, never recorded. */
export function checkRungValue(value: unknown, trial: string, rung: number | string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`the scheduler was given ${String(value)} for ${trial} at epoch ${rung}, not a number: nothing is recorded`);
}

/** The rungs in memory, starting from `kept` (a copy). */
export class MemoryRungStore implements RungStore {
  protected readonly rungs = new Map<string, [string, number][]>();
  constructor(kept: KeptRungs = {}) {
    for (const [id, list] of Object.entries(kept))
      this.rungs.set(
        id,
        list.map(([t, v]) => [t, v]),
      );
  }
  record(rung: number | string, trial: string, value: number): Promise<number[]> {
    return Promise.resolve(this.add(String(rung), trial, value).before);
  }
  /** Adds the record unless the trial has one there; `added` says whether it did. */
  protected add(id: string, trial: string, value: number): { before: number[]; added: boolean } {
    checkRungValue(value, trial, id);
    const list = this.rungs.get(id) ?? [];
    this.rungs.set(id, list);
    let at = list.findIndex(([t]) => t === trial);
    const added = at < 0;
    if (added) at = list.push([trial, value]) - 1;
    return { before: list.slice(0, at).map(([, v]) => v), added };
  }
  /** Every rung as it stands. */
  snapshot(): KeptRungs {
    return Object.fromEntries([...this.rungs].map(([id, list]) => [id, list.map(([t, v]) => [t, v] as [string, number])]));
  }
}

/** The local pool's rungs: in memory, started from the sweep folder's rungs.json (refused when of another basis), which every new record rewrites. */
export class KeptRungStore extends MemoryRungStore {
  constructor(
    private readonly sweepDir: string,
    private readonly basis: RungBasis,
  ) {
    super(readKeptRungs(sweepDir, basis));
  }
  override record(rung: number | string, trial: string, value: number): Promise<number[]> {
    const { before, added } = this.add(String(rung), trial, value);
    if (added) writeKeptRungs(this.sweepDir, this.snapshot(), this.basis);
    return Promise.resolve(before);
  }
}

// ---------------------------------------------------------------------------------------------
// rungs.json: the rungs and their basis

const SCHEDULERS = ['asha', 'median'] as const;
const SCHEDULER_NAMES = { asha: 'ASHA', median: 'median rule' } as const;

/** What a kept score is: the metric, its mode and the scheduler that recorded it (null: not recorded, a file from before the basis). */
export interface RungBasis {
  metric: MetricName;
  mode: Mode;
  scheduler: (typeof SCHEDULERS)[number] | null;
}

/** A rungs.json without a basis: written when sweeps had one metric, val accuracy, max, by either scheduler. */
const BEFORE_BASIS: RungBasis = { metric: DEFAULT_METRIC.name, mode: DEFAULT_METRIC.mode, scheduler: null };

/** "val loss (min), ASHA"; "val accuracy (max)" when the scheduler is not recorded. */
function describeBasis(b: RungBasis): string {
  return `${describeMetric({ name: b.metric, mode: b.mode })}${b.scheduler ? `, ${SCHEDULER_NAMES[b.scheduler]}` : ''}`;
}

/**
 * The rungs kept in sweep folder `sweepDir` (none when it has no rungs.json). With `basis` (a
 * scheduler reading them), a file of another basis is refused; without it they are read as they
 * stand. A damaged file is refused, naming it and the entry.
 */
export function readKeptRungs(sweepDir: string, basis?: RungBasis): KeptRungs {
  const file = sweepFile(sweepDir, 'rungs');
  if (!fs.existsSync(file)) return {};
  const o = readJsonObject(file);
  const kept = checkedBasis(file, o.basis);
  const rungs = checkedRungs(file, o.rungs);
  if (basis) checkSameBasis(file, kept, basis);
  return rungs;
}

/** rungs.json's `basis`: BEFORE_BASIS when absent. */
function checkedBasis(file: string, b: unknown): RungBasis {
  if (b === undefined) return BEFORE_BASIS;
  const o = b as Partial<RungBasis> | null;
  const ok = typeof o === 'object' && o !== null && METRIC_NAMES.includes(o.metric!) && MODES.includes(o.mode!) && SCHEDULERS.includes(o.scheduler!);
  if (!ok) throw damaged(file, 'basis', b, `{"metric": one of ${METRIC_NAMES.join(', ')}, "mode": "max" or "min", "scheduler": "asha" or "median"}`);
  return { metric: o.metric!, mode: o.mode!, scheduler: o.scheduler! };
}

/** rungs.json's `rungs`, every entry a [trial folder, finite number]. */
function checkedRungs(file: string, rungs: unknown): KeptRungs {
  if (typeof rungs !== 'object' || rungs === null || Array.isArray(rungs)) throw damaged(file, 'rungs', rungs, 'an object of rung → [[trial, score], …]');
  for (const [id, list] of Object.entries(rungs as Record<string, unknown>)) {
    if (!Array.isArray(list)) throw damaged(file, `rungs.${id}`, list, '[trial folder, finite number]');
    list.forEach((e: unknown, i) => {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1]))
        throw damaged(file, `rungs.${id}[${i}]`, e, '[trial folder, finite number]');
    });
  }
  return rungs as KeptRungs;
}

function damaged(file: string, what: string, v: unknown, expected: string): DataError {
  return new DataError(`${file}: ${what} = ${JSON.stringify(v)?.slice(0, 60)} is not valid: expected ${expected}; fix it, or delete the file to judge new trials only against each other`);
}

/** Refuse rungs kept on basis `kept` for a sweep of basis `now` (a file without a scheduler fits either). */
function checkSameBasis(file: string, kept: RungBasis, now: RungBasis): void {
  const sameMetric = kept.metric === now.metric && kept.mode === now.mode;
  const sameScheduler = kept.scheduler === null || kept.scheduler === now.scheduler;
  const setBack = [sameMetric ? '' : `set "metric": "${kept.metric}", "mode": "${kept.mode}"`, sameScheduler ? '' : `use the "${kept.scheduler}" scheduler`].filter(Boolean).join(' and ');
  if (setBack === '') return;
  throw new ConfigError(
    `${file} holds scores of ${describeBasis(kept)}, but this sweep is by ${describeBasis(now)}: its new trials would be judged against scores of another kind; ${setBack} in the sweep file again, or delete ${file} to judge new trials only against each other`,
  );
}

/** Keep `rungs` in `sweepDir`'s rungs.json, with the basis of their scores. */
export function writeKeptRungs(sweepDir: string, rungs: KeptRungs, basis: RungBasis): void {
  writeJsonAtomic(sweepFile(sweepDir, 'rungs'), { basis, rungs });
}

// ---------------------------------------------------------------------------------------------
// The queue: Redis seeded from the kept rungs, and kept again at the end

const TAB = '\t';

/** The score in a Redis rung entry's text, or null when it is no number (what an older worker may have left there, "undefined"). */
export function scoreOf(text: string): number | null {
  if (!/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/** Put the kept rungs of `sweepDir` into Redis under `prefix`, ahead of whatever a rung there already holds (each trial once); rungs of another basis are refused. */
export async function seedRedisRungs(conn: Redis, prefix: string, sweepDir: string, basis: RungBasis): Promise<void> {
  for (const [id, kept] of Object.entries(readKeptRungs(sweepDir, basis))) {
    const key = `${prefix}:${id}`;
    const there = new Set((await conn.lrange(key, 0, -1)).map((e) => e.slice(0, e.indexOf(TAB))));
    const missing = kept.filter(([t]) => !there.has(t));
    // LPUSH puts each at the head: the last first, so the kept ones keep their order, before the new.
    if (missing.length > 0) await conn.lpush(key, ...missing.reverse().map(([t, v]) => `${t}${TAB}${v}`));
  }
}

/** Write the rungs Redis holds under `prefix` into `sweepDir`'s rungs.json, after those already kept there, with their basis. */
export async function keepRedisRungs(conn: Redis, prefix: string, sweepDir: string, basis: RungBasis): Promise<void> {
  const kept = readKeptRungs(sweepDir, basis);
  for (const key of await conn.keys(`${prefix}:*`)) {
    const id = key.slice(prefix.length + 1);
    const list = (kept[id] ??= []);
    const have = new Set(list.map(([t]) => t));
    for (const e of await conn.lrange(key, 0, -1)) {
      const [t, v] = [e.slice(0, e.indexOf(TAB)), scoreOf(e.slice(e.indexOf(TAB) + 1))];
      if (e.includes(TAB) && v !== null && !have.has(t)) (list.push([t, v]), have.add(t));
    }
  }
  writeKeptRungs(sweepDir, kept, basis);
}
