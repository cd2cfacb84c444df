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
 *   rungs.json   {"rungs": {"1": [["trials/trial-3f…", 0.41], …], "b1:3": […]}}
 */
import * as fs from 'node:fs';
import type { Redis } from 'ioredis';
import { DataError } from '../data/errors.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import { sweepFile } from '../runs/layout.js';
import { readJsonObject } from '../runs/read.js';

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

/** The local pool's rungs: in memory, started from the sweep folder's rungs.json, which every new record rewrites. */
export class KeptRungStore extends MemoryRungStore {
  constructor(private readonly sweepDir: string) {
    super(readKeptRungs(sweepDir));
  }
  override record(rung: number | string, trial: string, value: number): Promise<number[]> {
    const { before, added } = this.add(String(rung), trial, value);
    if (added) writeKeptRungs(this.sweepDir, this.snapshot());
    return Promise.resolve(before);
  }
}

/** The rungs kept in sweep folder `sweepDir` (none when it has no rungs.json); a damaged file is refused, naming it. */
export function readKeptRungs(sweepDir: string): KeptRungs {
  const file = sweepFile(sweepDir, 'rungs');
  if (!fs.existsSync(file)) return {};
  const rungs = readJsonObject(file).rungs;
  const bad = (what: string, v: unknown) =>
    new DataError(
      `${file}: ${what} = ${JSON.stringify(v)?.slice(0, 60)} is not valid: expected ${what === 'rungs' ? 'an object of rung → [[trial, score], …]' : '[trial folder, finite number]'}; fix it, or delete the file to judge new trials only against each other`,
    );
  if (typeof rungs !== 'object' || rungs === null || Array.isArray(rungs)) throw bad('rungs', rungs);
  for (const [id, list] of Object.entries(rungs as Record<string, unknown>)) {
    if (!Array.isArray(list)) throw bad(`rungs.${id}`, list);
    list.forEach((e: unknown, i) => {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string' || typeof e[1] !== 'number' || !Number.isFinite(e[1])) throw bad(`rungs.${id}[${i}]`, e);
    });
  }
  return rungs as KeptRungs;
}

export function writeKeptRungs(sweepDir: string, rungs: KeptRungs): void {
  writeJsonAtomic(sweepFile(sweepDir, 'rungs'), { rungs });
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

/** Put the kept rungs of `sweepDir` into Redis under `prefix`, ahead of whatever a rung there already holds (each trial once). */
export async function seedRedisRungs(conn: Redis, prefix: string, sweepDir: string): Promise<void> {
  for (const [id, kept] of Object.entries(readKeptRungs(sweepDir))) {
    const key = `${prefix}:${id}`;
    const there = new Set((await conn.lrange(key, 0, -1)).map((e) => e.slice(0, e.indexOf(TAB))));
    const missing = kept.filter(([t]) => !there.has(t));
    // LPUSH puts each at the head: the last first, so the kept ones keep their order, before the new.
    if (missing.length > 0) await conn.lpush(key, ...missing.reverse().map(([t, v]) => `${t}${TAB}${v}`));
  }
}

/** Write the rungs Redis holds under `prefix` into `sweepDir`'s rungs.json, after those already kept there. */
export async function keepRedisRungs(conn: Redis, prefix: string, sweepDir: string): Promise<void> {
  const kept = readKeptRungs(sweepDir);
  for (const key of await conn.keys(`${prefix}:*`)) {
    const id = key.slice(prefix.length + 1);
    const list = (kept[id] ??= []);
    const have = new Set(list.map(([t]) => t));
    for (const e of await conn.lrange(key, 0, -1)) {
      const [t, v] = [e.slice(0, e.indexOf(TAB)), scoreOf(e.slice(e.indexOf(TAB) + 1))];
      if (e.includes(TAB) && v !== null && !have.has(t)) (list.push([t, v]), have.add(t));
    }
  }
  writeKeptRungs(sweepDir, kept);
}
