/**
 * Sweeps past one machine: the trials go on a BullMQ queue in Redis, and `train worker`
 * processes on any host pull them (queue_worker.ts). This file holds what the coordinator and the
 * workers share (the connection, the job payload, the rungs of the scheduler in Redis) and the
 * coordinator: the TrialRunner that sweep.ts hands the pending trials to, and `sweep status`.
 *
 * One queue (QUEUE) holds the jobs of every sweep. A job is one trial, its id
 * <sweep>.<folder hash>.trial-<config hash>, so adding it again is a no-op: a coordinator run
 * again reattaches to the jobs still waiting or running and never enqueues a finished trial (a
 * finished trial is read from its folder, as a local sweep does, and its job was removed).
 * Delivery is at least once (a worker killed mid-trial stalls its job, which BullMQ hands to
 * another worker), made exactly once in effect by the trial folder: a worker that takes a trial
 * whose folder is finished returns what is there, and one that finds a last.ckpt resumes from it.
 *
 * The Redis URL may carry a password (redis://:pw@host:6379, rediss:// for TLS); it is shown and
 * stored only as redactUrl gives it.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { Queue, Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { type Config, ConfigError, checkPartial, resolveConfig } from '../config/config.js';
import type { TrialResult } from '../runs/results.js';
import type { Summary } from '../runs/summary.js';
import { sweepDirOf } from '../runs/layout.js';
import type { StoppedInfo } from './protocol.js';
import { checkRungValue, parseScheduler, type RungStore, type SchedulerSpec } from './scheduler.js';
import { type SweepSpec, type Trial, expandTrials, readSweepFile } from './spec.js';
import { failedResult, okResult, planTrials, scanTrialFolders, stoppedResult, type RunnerContext, type TrialPlan, type TrialRunner } from './sweep.js';

/** The BullMQ queue every sweep's trials go on. */
export const QUEUE = 'tsnn-trials';
/**
 * How many finished jobs Redis keeps, and for how long (seconds): the coordinator removes its own
 * as it records them, so these bound what nobody records (a coordinator gone for good, jobs a
 * worker refused). A trial whose job was dropped is enqueued again by the next coordinator, and
 * its folder gives its result.
 */
export const KEPT_JOBS = { count: 1000, age: 7 * 24 * 3600 };
/** Payload version: a worker refuses any other. */
const PAYLOAD_V = 1;

/** The URL with its password (and user) replaced by ***: the only form that is printed or written. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username && u.username !== 'default') u.username = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<a URL that does not parse>';
  }
}

/** Check a --queue value; a bad one is refused in one line naming what would work. */
export function checkQueueUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`--queue ${JSON.stringify(redactUrl(url))} is not a URL: give redis://[:password@]host:6379 (rediss:// for TLS)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new ConfigError(`--queue ${redactUrl(url)}: the scheme is ${u.protocol.replace(/:$/, '')}; give redis://[:password@]host:6379 or rediss://… for TLS`);
  }
  return url;
}

/**
 * A connection for BullMQ (maxRetriesPerRequest null: a command waits out a Redis restart
 * instead of failing). Connection errors are reported through `warn`, without the URL, at most
 * once every 5 s, instead of ioredis' unhandled-error dumps.
 */
export function connect(url: string, warn: (line: string) => void): Redis {
  const opts: RedisOptions = { maxRetriesPerRequest: null, retryStrategy: (n) => Math.min(100 * n, 1000) };
  const conn = new Redis(checkQueueUrl(url), opts);
  let last = 0;
  conn.on('error', (e: Error) => {
    if (Date.now() - last < 5000) return;
    last = Date.now();
    warn(`redis ${redactUrl(url)}: ${e.message.split(url).join(redactUrl(url))} (retrying)`);
  });
  return conn;
}

/** The job of one trial. */
export interface TrialJob {
  v: number;
  sweep: string;
  /** Absolute path of the sweep folder: every worker must see it at the same path (a shared filesystem). */
  sweepDir: string;
  /** The trial's folder relative to sweepDir: trials/trial-<hash>. */
  rel: string;
  index: number;
  config: Config;
  /** The config the data is prepared by (the sweep's first trial's, as a local sweep prepares it). */
  data: Config;
  scheduler: SchedulerSpec | null;
  /** The Redis key prefix of this sweep's scheduler rungs. */
  rungs: string;
}

/** What a worker returns for a trial: its job's return value. */
export type TrialOutcome =
  | { status: 'ok'; summary: Summary; host: string }
  | { status: 'stopped'; stopped: StoppedInfo; host: string }
  | { status: 'diverged' | 'failed'; reason: string; host: string };

const JOB_SCHEMA = z.object({
  v: z.literal(PAYLOAD_V),
  sweep: z.string().regex(/^[A-Za-z0-9._-]+$/),
  sweepDir: z.string().refine((p) => path.isAbsolute(p), 'an absolute path'),
  rel: z.string().regex(/^trials\/trial-[0-9a-f]{12}(-\d+)?$/, 'trials/trial-<12 hex digits>'),
  index: z.number().int().min(1),
  config: z.record(z.string(), z.unknown()),
  data: z.record(z.string(), z.unknown()),
  scheduler: z.unknown(),
  rungs: z.string().min(1),
});

/**
 * Check a job's payload as a worker receives it: anything that is not a sweep trial of this
 * version is refused with one line saying what is wrong (the worker fails the job, unretried).
 */
export function parseTrialJob(raw: unknown): TrialJob {
  const r = JOB_SCHEMA.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`not a sweep trial: ${i.path.length ? i.path.join('.') : 'the payload'}: ${i.message}`);
  }
  const j = r.data;
  const config = resolveConfig(checkPartial(j.config, 'the trial config'), {});
  const data = resolveConfig(checkPartial(j.data, 'the data config'), {});
  const scheduler = j.scheduler === null || j.scheduler === undefined ? null : parseScheduler(j.scheduler, 'the job');
  return { ...j, config, data, scheduler };
}

/** Where a sweep's jobs and rungs are named: the sweep's name and a hash of its folder, so two runs folders never share them. */
function sweepKey(spec: SweepSpec, sweepDir: string): string {
  return `${spec.name}.${createHash('sha256').update(path.resolve(sweepDir)).digest('hex').slice(0, 8)}`;
}

export function jobIdOf(key: string, rel: string): string {
  return `${key}.${path.basename(rel)}`;
}

/** The scheduler's rungs in Redis: a list per rung of "trial<TAB>value", in the order they came. */
export class RedisRungStore implements RungStore {
  constructor(
    private readonly conn: Redis,
    private readonly prefix: string,
  ) {}
  async record(rung: number, trial: string, value: number): Promise<number[]> {
    checkRungValue(value, trial, rung);
    const key = `${this.prefix}:${rung}`;
    const mine = (e: string) => e.slice(0, e.indexOf('\t')) === trial;
    let list = await this.conn.lrange(key, 0, -1);
    if (!list.some(mine)) {
      await this.conn.rpush(key, `${trial}\t${value}`);
      list = await this.conn.lrange(key, 0, -1);
    }
    // Anything else that reached the list (an older build's "undefined") is no number: left out.
    const before = list.slice(0, list.findIndex(mine)).map((e) => e.slice(e.indexOf('\t') + 1));
    return before.filter((v) => /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v)).map(Number).filter(Number.isFinite);
  }
}

/** A trial result from a job's return value (or its failure). */
function resultOf(p: TrialPlan, out: TrialOutcome | null, failedReason: string | null): TrialResult {
  if (!out) return failedResult(p.trial, p.rel, 'failed', `the job failed: ${failedReason ?? 'no reason given'}`, false);
  if (out.status === 'ok') return okResult(p.trial, p.rel, out.summary, false);
  if (out.status === 'stopped') return stoppedResult(p.trial, p.rel, out.stopped, false);
  return failedResult(p.trial, p.rel, out.status, out.reason, false);
}

function parseJson(s: string | null): unknown {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/** The coordinator's side: enqueue the pending trials, follow them to the end, record each once. */
export function queueRunner(url: string, opts: { pollMs?: number; warn?: (line: string) => void } = {}): TrialRunner {
  const shown = redactUrl(url);
  const warn = opts.warn ?? ((l: string) => process.stderr.write(l + '\n'));
  return {
    name: shown,
    describe: () => `trials on the queue ${QUEUE} at ${shown}`,
    async run(ctx: RunnerContext): Promise<void> {
      const conn = connect(url, warn);
      const queue = new Queue(QUEUE, { connection: conn });
      queue.on('error', () => {}); // the connection's own handler reports it
      try {
        await follow(ctx, queue, conn, opts.pollMs ?? 250);
      } finally {
        await queue.close().catch(() => {});
        conn.disconnect();
      }
    },
  };
}

async function follow(ctx: RunnerContext, queue: Queue, conn: Redis, pollMs: number): Promise<void> {
  const key = sweepKey(ctx.spec, ctx.sweepDir);
  const rungs = `tsnn:rungs:${key}`;
  const byId = new Map<string, TrialPlan>();
  for (const p of ctx.pending) byId.set(jobIdOf(key, p.rel), p);
  // A trial found finished in its folder may still have its job (a coordinator killed before it removed it): removed now.
  for (const p of ctx.plans) if (p.finished) await queue.remove(jobIdOf(key, p.rel)).catch(() => 0);
  // Jobs left by an earlier coordinator: waiting or running ones are reattached; a failed one
  // (refused, or stalled too often) or one whose trial failed is enqueued afresh, as a local
  // sweep tries its failed trials again; a finished one is recorded below as it stands.
  for (const [id, p] of byId) {
    const job = await Job.fromId(queue, id);
    const out = job?.returnvalue as TrialOutcome | undefined;
    if (job && job.finishedOn && (job.failedReason || !out || out.status === 'failed')) await job.remove();
    else if (job) continue;
    const payload: TrialJob = {
      v: PAYLOAD_V,
      sweep: ctx.spec.name,
      sweepDir: path.resolve(ctx.sweepDir),
      rel: p.rel,
      index: p.trial.index,
      config: p.trial.config,
      data: ctx.base,
      scheduler: ctx.spec.scheduler ?? null,
      rungs,
    };
    await queue.add('trial', payload, { jobId: id, attempts: 1, removeOnComplete: KEPT_JOBS, removeOnFail: KEPT_JOBS });
  }
  // Follow every job by its hash (one pipelined round trip a poll): progress while it runs, the
  // return value (or the failure) once it ends; a recorded job is removed from the queue.
  const fields = ['finishedOn', 'returnvalue', 'failedReason', 'processedOn', 'progress'];
  const shownRunning = new Map<string, string>();
  while (byId.size > 0) {
    const ids = [...byId.keys()];
    let rows: (string | null)[][];
    try {
      const pipe = conn.pipeline();
      for (const id of ids) pipe.hmget(queue.toKey(id), ...fields);
      rows = ((await pipe.exec()) ?? []).map(([err, v]) => (err ? [] : (v as (string | null)[])));
    } catch {
      await sleep(pollMs);
      continue;
    }
    for (let i = 0; i < ids.length; i++) {
      const [finishedOn, returnvalue, failedReason, processedOn, progress] = rows[i] ?? [];
      const p = byId.get(ids[i])!;
      if (finishedOn) {
        ctx.done(resultOf(p, parseJson(returnvalue ?? null) as TrialOutcome | null, failedReason ?? null));
        byId.delete(ids[i]);
        await queue.remove(ids[i]).catch(() => 0);
      } else if (processedOn) {
        const pr = parseJson(progress ?? null) as { host?: unknown; epoch?: unknown } | null;
        const info = { host: typeof pr?.host === 'string' ? pr.host : null, epoch: typeof pr?.epoch === 'number' ? pr.epoch : null };
        const sig = JSON.stringify(info);
        if (shownRunning.get(ids[i]) !== sig) {
          shownRunning.set(ids[i], sig);
          ctx.running(p.trial.index, info);
        }
      }
    }
    if (byId.size > 0) await sleep(pollMs);
  }
  // Every trial is recorded: the rungs are no longer needed.
  const rungKeys = await conn.keys(`${rungs}:*`).catch(() => [] as string[]);
  if (rungKeys.length) await conn.del(...rungKeys).catch(() => 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StatusLine {
  queued: number;
  running: { index: number; host: string | null; pid: number | null; epoch: number | null }[];
  finished: number;
  stopped: number;
  failed: number;
  /** Neither finished nor on the queue: the coordinator has not enqueued it (not started, or killed before). */
  notEnqueued: number;
  total: number;
}

/** `sweep status F --queue URL`: the counts from the trial folders and the queue, and who runs what. */
export async function sweepStatus(file: string, url: string, flags: Partial<Config>, out: (line: string) => void, warn: (l: string) => void): Promise<StatusLine> {
  const spec = readSweepFile(file);
  const trials: Trial[] = expandTrials(spec, flags);
  const sweepDir = sweepDirOf(trials[0].config.runsDir, spec.name);
  let plans: TrialPlan[];
  try {
    plans = planTrials(trials, scanTrialFolders(sweepDir)).plans;
  } catch {
    plans = planTrials(trials, new Map()).plans; // no folder yet: nothing finished
  }
  const key = sweepKey(spec, sweepDir);
  const conn = connect(url, warn);
  const queue = new Queue(QUEUE, { connection: conn });
  queue.on('error', () => {});
  const s: StatusLine = { queued: 0, running: [], finished: 0, stopped: 0, failed: 0, notEnqueued: 0, total: trials.length };
  try {
    for (const p of plans) {
      if (p.finished) {
        if (p.finished.status === 'stopped') s.stopped++;
        else s.finished++;
        continue;
      }
      const job = await Job.fromId(queue, jobIdOf(key, p.rel));
      if (!job) s.notEnqueued++;
      else if (job.finishedOn) {
        const o = job.returnvalue as TrialOutcome | null;
        if (job.failedReason || !o || o.status === 'failed') s.failed++;
        else if (o.status === 'stopped') s.stopped++;
        else s.finished++;
      } else if (job.processedOn) {
        const pr = (job.progress ?? {}) as { host?: string; pid?: number; epoch?: number };
        s.running.push({ index: p.trial.index, host: pr.host ?? null, pid: pr.pid ?? null, epoch: pr.epoch ?? null });
      } else s.queued++;
    }
  } finally {
    await queue.close().catch(() => {});
    conn.disconnect();
  }
  out(`sweep ${spec.name} on ${redactUrl(url)}: ${s.total} trials: ${s.queued} queued, ${s.running.length} running, ${s.finished} finished, ${s.stopped} stopped, ${s.failed} failed${s.notEnqueued ? `, ${s.notEnqueued} not enqueued (run the coordinator: train sweep --config ${file} --queue …)` : ''}`);
  for (const r of s.running) out(`  trial ${r.index} on ${r.host ?? '?'}${r.pid !== null ? ` (pid ${r.pid})` : ''}${r.epoch !== null ? `, epoch ${r.epoch} done` : ', starting'}`);
  return s;
}
