/**
 * Who trains a sweep's trials, for `sweep status` and `sweep status --watch`: every worker,
 * running (which trial), idle or lost, with its host and when it was last seen.
 *
 * On the queue each `train worker` process keeps a heartbeat in Redis, as the coordinator does
 * (queue.ts heartbeat): tsnn:worker:<host:pid> holds its last word (WorkerBeat), refreshed every
 * HEARTBEAT_MS and expiring HEARTBEAT_TTL_MS after the last refresh, and the hash WORKERS_KEY
 * keeps the same word after the key expired. A worker whose heartbeat key is gone but whose word
 * is still in the hash is lost (killed, its host down, or cut off from Redis), last seen when it
 * last spoke; a worker that stops cleanly removes both. Words older than FORGET_MS are dropped.
 *
 * A local pool's workers are threads of the sweep's process: its sweep folder tells of them
 * (sweep.lock names the process, results.json the threads and the trials in flight).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { Redis } from 'ioredis';
import type { Config } from '../config/config.js';
import { readSweepLock } from '../runs/lock.js';
import { sweepDirOf, sweepFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import type { SweepResults } from '../runs/results.js';
import { connect, untilFatal } from './connection.js';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS } from './queue.js';
import { baseConfig, readSweepFile } from './spec.js';

/** The hash of every worker's last word, by id. */
export const WORKERS_KEY = 'tsnn:workers';
const beatKeyOf = (id: string): string => `tsnn:worker:${id}`;
/** How long a stopping worker waits for Redis to take its word back. */
const STOP_WAIT_MS = 1000;
/** A lost worker's word is kept this long (a day), then forgotten. */
const FORGET_MS = 24 * 3600 * 1000;

/** A queue worker's last word. */
export interface WorkerBeat {
  /** host:pid */
  id: string;
  host: string;
  pid: number;
  /** The trial it trains, or null when idle. */
  trial: { sweep: string; index: number; folder: string } | null;
  /** When it said so (its clock, ms since the epoch). */
  time: number;
}

/** A worker as status shows it. */
export interface WorkerRow {
  id: string;
  host: string;
  state: 'running' | 'idle' | 'lost';
  /** What it runs (or, lost, ran when last seen): "trial 3 of sweep s (trial-…)"; null: nothing. */
  trial: string | null;
  /** Seconds since it was last seen. */
  seenAgo: number;
}

/**
 * Keep this worker's heartbeat: its word now, every HEARTBEAT_MS and whenever `beat` is called (a
 * trial started or ended); `stop` removes it (a worker that stops cleanly is not lost).
 */
export function keepWorkerHeartbeat(conn: Redis, trial: () => WorkerBeat['trial']): { beat(): void; stop(): Promise<void> } {
  const id = `${os.hostname()}:${process.pid}`;
  const say = async () => {
    const word = JSON.stringify({ id, host: os.hostname(), pid: process.pid, trial: trial(), time: Date.now() } satisfies WorkerBeat);
    await conn.multi().set(beatKeyOf(id), word, 'PX', HEARTBEAT_TTL_MS).hset(WORKERS_KEY, id, word).exec();
  };
  let timer: NodeJS.Timeout | undefined;
  const beat = () => void (timer && say().catch(() => {})); // Redis away: the next beat says it again
  // Only once connected: a command queued before would hold up connection.ts's verdict on a URL that can never work.
  const start = () => {
    timer ??= setInterval(beat, HEARTBEAT_MS);
    beat();
    void forgetOld(conn).catch(() => {});
  };
  if (conn.status === 'ready') start();
  else conn.once('ready', start);
  return {
    beat,
    async stop() {
      conn.off('ready', start);
      clearInterval(timer);
      if (!timer) return;
      // At most STOP_WAIT_MS: with Redis away the worker still stops (its word then expires, and it shows lost).
      const said = conn
        .multi()
        .del(beatKeyOf(id))
        .hdel(WORKERS_KEY, id)
        .exec()
        .catch(() => null);
      await Promise.race([said, new Promise((r) => setTimeout(r, STOP_WAIT_MS).unref())]);
    },
  };
}

/** Drop the words of workers lost for longer than FORGET_MS. */
async function forgetOld(conn: Redis): Promise<void> {
  const rows = await readWorkers(conn);
  const old = rows.filter((r) => r.state === 'lost' && r.seenAgo * 1000 > FORGET_MS).map((r) => r.id);
  if (old.length) await conn.hdel(WORKERS_KEY, ...old);
}

/** Every worker on the queue, by host and id: running or idle while its heartbeat lasts, else lost. */
export async function readWorkers(conn: Redis, now = Date.now()): Promise<WorkerRow[]> {
  const words = Object.values(await conn.hgetall(WORKERS_KEY))
    .map(parseBeat)
    .filter((b): b is WorkerBeat => b !== null);
  const pipe = conn.pipeline();
  for (const b of words) pipe.get(beatKeyOf(b.id));
  const live = ((await pipe.exec()) ?? []).map(([err, v]) => (err ? null : parseBeat(v)));
  return words.map((b, i) => rowOf(live[i] ?? b, live[i] !== null, now)).sort((a, b) => (a.host === b.host ? (a.id < b.id ? -1 : 1) : a.host < b.host ? -1 : 1));
}

function rowOf(b: WorkerBeat, alive: boolean, now: number): WorkerRow {
  const trial = b.trial ? `trial ${b.trial.index} of sweep ${b.trial.sweep} (${b.trial.folder})` : null;
  return { id: b.id, host: b.host, state: !alive ? 'lost' : trial ? 'running' : 'idle', trial, seenAgo: Math.max(0, Math.round((now - b.time) / 1000)) };
}

function parseBeat(v: unknown): WorkerBeat | null {
  if (typeof v !== 'string') return null;
  try {
    const b = JSON.parse(v) as WorkerBeat;
    return typeof b.id === 'string' && typeof b.host === 'string' && typeof b.time === 'number' ? b : null;
  } catch {
    return null;
  }
}

/** The workers of the queue at `url`, as lines (workerLines). */
export async function queueWorkerLines(url: string, warn: (l: string) => void): Promise<string[]> {
  const conn = connect(url, warn);
  try {
    return workerLines(await untilFatal(conn, readWorkers(conn)));
  } finally {
    conn.disconnect();
  }
}

/** "workers: 3 (1 running, 1 idle, 1 lost)" and a line per worker. */
export function workerLines(rows: WorkerRow[]): string[] {
  const n = (s: WorkerRow['state']) => rows.filter((r) => r.state === s).length;
  const head = rows.length ? `workers: ${rows.length} (${n('running')} running, ${n('idle')} idle, ${n('lost')} lost)` : 'workers: none seen';
  return [head, ...rows.map(workerLine)];
}

function workerLine(r: WorkerRow): string {
  const seen = `last seen ${r.seenAgo} s ago`;
  if (r.state === 'running') return `  ${r.id}: running ${r.trial}; ${seen}`;
  if (r.state === 'idle') return `  ${r.id}: idle; ${seen}`;
  return `  ${r.id}: LOST (its heartbeat stopped: killed, its host down, or cut off from Redis)${r.trial ? ` while running ${r.trial}` : ''}; ${seen}`;
}

/**
 * A local sweep's workers, from its folder: the threads of the process holding sweep.lock, those
 * running the trials in flight (results.json's live) and the rest idle; all lost when that process
 * is gone. Last seen: when results.json was last written. Null when no sweep runs in `sweepDir`.
 */
export function localWorkers(sweepDir: string, now = Date.now()): { lines: string[]; rows: WorkerRow[] } | null {
  const lock = readSweepLock(sweepDir);
  if (!lock) return null;
  const results = readJsonOrNull(sweepFile(sweepDir, 'results')) as Partial<SweepResults> | null;
  let seenAgo = 0;
  try {
    seenAgo = Math.max(0, Math.round((now - fs.statSync(sweepFile(sweepDir, 'results')).mtimeMs) / 1000));
  } catch {
    /* no results.json yet: the sweep is starting */
  }
  const gone = lock.host === os.hostname() && !alive(lock.pid);
  const running = results?.live?.running ?? [];
  const threads = Math.max(results?.workers ?? 0, running.length);
  const rows: WorkerRow[] = Array.from({ length: threads }, (_, k) => {
    const r = running[k];
    const trial = r ? `trial ${r.index}${r.epoch !== null ? ` (epoch ${r.epoch} done)` : ''}` : null;
    return { id: `${lock.host}:${lock.pid} thread ${k + 1}`, host: lock.host, state: gone ? 'lost' : trial ? 'running' : 'idle', trial, seenAgo };
  });
  const proc = gone ? `LOST: its process ${lock.pid} on this host is gone (killed?)` : `process ${lock.pid} on ${lock.host}, started ${lock.started}`;
  return { lines: [`local pool: ${proc}`, ...workerLines(rows)], rows };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `sweep status F` of a local sweep: the counts from its results.json and its workers from its
 * folder (localWorkers).
 */
export function localSweepStatus(file: string, flags: Partial<Config>): string[] {
  const spec = readSweepFile(file);
  const sweepDir = sweepDirOf(baseConfig(spec, flags).runsDir, spec.name);
  const results = readJsonOrNull(sweepFile(sweepDir, 'results')) as Partial<SweepResults> | null;
  const trials = Array.isArray(results?.trials) ? results.trials : [];
  const n = (s: string) => trials.filter((t) => t.status === s).length;
  const live = results?.live;
  const counts = `${live ? `${live.running.length} running, ${live.queued.length} queued, ` : ''}${n('ok')} finished, ${n('stopped')} stopped, ${n('failed') + n('diverged')} failed`;
  const head = `sweep ${spec.name} in ${sweepDir}: ${results ? counts : 'no results yet'}`;
  const workers = localWorkers(sweepDir);
  return [head, ...(workers ? workers.lines : [`not running here (no ${sweepFile(sweepDir, 'lock')}); a sweep on a queue: give --queue`])];
}
