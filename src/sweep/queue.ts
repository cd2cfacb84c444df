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
import * as os from 'node:os';
import * as path from 'node:path';
import { Queue, Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { connect, redactUrl, untilFatal, type QueueConnection } from './connection.js';
import { z } from 'zod';
import { type Config, ConfigError, checkPartial, resolveConfig } from '../config/config.js';
import { isObj } from '../config/keys.js';
import type { TrialResult } from '../runs/results.js';
import type { LockInfo } from '../runs/lock.js';
import { RunIoError } from '../runs/atomic.js';
import { DEFAULT_METRIC, type Metric, parseMetric } from './metric.js';
import { checkRungValue, parseScheduler, rungBasisOf, type RungStore, type SchedulerSpec } from './scheduler.js';
import { keepRedisRungs, scoreOf, seedRedisRungs } from './rungs.js';
import { MAX_RETRIES, MAX_TRIALS, RETRIES_DEFAULT, type SweepSpec, metricOf, readSweepFile, retriesOf, trialCount } from './spec.js';
import { knownTrials } from './tpe_sweep.js';
import type { RunnerContext, TrialRunner } from './runner.js';
import { reportsAsTrialsEnd } from './trial_reports.js';
import { failedResult, planTrials, resultOf, scanTrialFolders, type TrialOutcome, type TrialPlan } from './trial.js';

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

export { checkQueueUrl, connect, redactUrl, QueueConnectionError } from './connection.js';

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
  /** The sweep's metric (metric.ts) and retry count (spec.ts); a job without them takes the defaults. */
  metric: Metric;
  retries: number;
  /** Build the trial's run report as it ends (trial_reports.ts); absent (an older coordinator): built. */
  report?: boolean;
}

/** What a worker returns for a trial: its job's return value, the trial's outcome and the host that trained it. */
export type JobOutcome = TrialOutcome & { host: string };

/** The most a job's payload may hold, as JSON: a trial's config is a few hundred bytes. */
export const MAX_JOB_BYTES = 64 * 1024;

/**
 * Keys about the host, not the trial: where the data is, whether it is checked, where runs go. A
 * worker takes them from its own flags, never from a job, so a writer on the queue cannot make
 * it fetch from a URL, read a folder, or turn the hash check off. (`verify` stays in the trial's
 * recorded config, since it is part of a trial's identity, but the data is prepared by the worker's.)
 */
export const HOST_KEYS = ['dataDir', 'verify', 'runsDir'] as const;

const JOB_SCHEMA = z.object({
  v: z.literal(PAYLOAD_V),
  sweep: z
    .string()
    .max(200)
    .regex(/^[A-Za-z0-9._-]+$/),
  sweepDir: z
    .string()
    .max(4096)
    .refine((p) => path.isAbsolute(p), 'an absolute path'),
  rel: z.string().regex(/^trials\/trial-[0-9a-f]{12}(-\d+)?$/, 'trials/trial-<12 hex digits>'),
  index: z.number().int().min(1).max(MAX_TRIALS),
  // Passed on as they are, for checkPartial to judge every own key: z.record would rebuild the
  // object by assignment, and an own "__proto__" key (JSON.parse makes one) would vanish unchecked.
  config: z.custom<Record<string, unknown>>(isObj, 'a JSON object of config keys'),
  data: z.custom<Record<string, unknown>>(isObj, 'a JSON object of config keys'),
  scheduler: z.unknown(),
  rungs: z.string().max(300),
  metric: z.unknown().optional(),
  retries: z.number().int().min(0).max(MAX_RETRIES).optional(),
  report: z.boolean().optional(),
});

/** `cfg` without the keys in `keys`. */
function without(cfg: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(cfg).filter(([k]) => !keys.includes(k)));
}

/**
 * Check a job's payload as a worker receives it: anything that is not a sweep trial of this
 * version, or larger than MAX_JOB_BYTES, is refused with one line saying what is wrong (the
 * worker fails the job, unretried). The host keys (HOST_KEYS) are dropped from the data config
 * and dataDir and runsDir from the trial's: the worker puts its own in.
 */
export function parseTrialJob(raw: unknown): TrialJob {
  const size = JSON.stringify(raw)?.length ?? 0;
  if (size > MAX_JOB_BYTES) throw new ConfigError(`not a sweep trial: the payload is ${size} bytes of JSON, more than the ${MAX_JOB_BYTES} a trial's job holds`);
  const r = JOB_SCHEMA.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`not a sweep trial: ${i.path.length ? i.path.join('.') : 'the payload'}: ${i.message}`);
  }
  const j = r.data;
  // The rungs' key follows from the sweep and its folder, as the coordinator made it; the job's own is not used.
  const rungs = rungsKeyOf(`${j.sweep}.${folderHash(j.sweepDir)}`);
  const config = resolveConfig(checkPartial(without(j.config, ['dataDir', 'runsDir']), 'the trial config'), {});
  const data = resolveConfig(checkPartial(without(j.data, HOST_KEYS), 'the data config'), {});
  const scheduler = j.scheduler === null || j.scheduler === undefined ? null : parseScheduler(j.scheduler, 'the job');
  const m = isObj(j.metric) ? j.metric : {};
  const metric = j.metric === undefined || j.metric === null ? DEFAULT_METRIC : parseMetric(m.name, m.mode, 'the job');
  return { ...j, config, data, scheduler, rungs, metric, retries: j.retries ?? RETRIES_DEFAULT };
}

/** The key a checked job's sweep is named by in Redis (its jobs, rungs, heartbeat, cancel). */
export const sweepKeyOfJob = (j: TrialJob): string => `${j.sweep}.${folderHash(j.sweepDir)}`;

/** A short hash of a sweep folder's absolute path. */
function folderHash(sweepDir: string): string {
  return createHash('sha256').update(path.resolve(sweepDir)).digest('hex').slice(0, 8);
}

/** The Redis key prefix of a sweep's scheduler rungs. */
const rungsKeyOf = (key: string): string => `tsnn:rungs:${key}`;

/** Where a sweep's jobs and rungs are named: the sweep's name and a hash of its folder, so two runs folders never share them. */
function sweepKey(spec: SweepSpec, sweepDir: string): string {
  return `${spec.name}.${folderHash(sweepDir)}`;
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
  async record(rung: number | string, trial: string, value: number): Promise<number[]> {
    checkRungValue(value, trial, rung);
    const key = `${this.prefix}:${rung}`;
    const mine = (e: string) => e.slice(0, e.indexOf('\t')) === trial;
    let list = await this.conn.lrange(key, 0, -1);
    if (!list.some(mine)) {
      await this.conn.rpush(key, `${trial}\t${value}`);
      list = await this.conn.lrange(key, 0, -1);
    }
    // Anything else in the list (a string such as "undefined") is no number: left out.
    const before = list.slice(0, list.findIndex(mine)).map((e) => scoreOf(e.slice(e.indexOf('\t') + 1)));
    return before.filter((v) => v !== null);
  }
}

/** A trial result from a job's return value (or its failure). */
function jobResult(p: TrialPlan, out: JobOutcome | null, failedReason: string | null): TrialResult {
  if (!out) return failedResult(p.trial, p.rel, 'failed', `the job failed: ${failedReason ?? 'no reason given'}`, false);
  return resultOf(p.trial, p.rel, out, false);
}

function parseJson(s: string | null): unknown {
  if (s === null) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

/**
 * The coordinator's heartbeat: tsnn:coordinator:<sweep key> names it ({pid, host}), refreshed
 * every HEARTBEAT_MS and expiring HEARTBEAT_TTL_MS after the last refresh. A coordinator on
 * another host whose sweep.lock stands is taken for gone once its heartbeat has been absent for
 * longer than a refresh (asked twice, HEARTBEAT_MS apart), so a new one takes the sweep over; a
 * coordinator that finds another's heartbeat in its key has been taken over, and stops.
 */
export const HEARTBEAT_MS = 5000;
export const HEARTBEAT_TTL_MS = 15_000;
const heartbeatKeyOf = (key: string): string => `tsnn:coordinator:${key}`;

/** Set by `sweep cancel` (for a day): workers stop the sweep's trials, a coordinator stops following; a new coordinator clears it. */
export const cancelKeyOf = (key: string): string => `tsnn:cancel:${key}`;
const CANCEL_TTL_MS = 24 * 3600 * 1000;

/** Keep this coordinator's heartbeat; `lost` rejects when another coordinator holds the key. */
function heartbeat(conn: Redis, key: string): { lost: Promise<never>; stop(): void } {
  const me = JSON.stringify({ pid: process.pid, host: os.hostname() });
  const k = heartbeatKeyOf(key);
  let fail!: (e: Error) => void;
  const lost = new Promise<never>((_, reject) => (fail = reject));
  lost.catch(() => {});
  // The first beat claims the key: this coordinator holds sweep.lock, so a heartbeat still there
  // is a killed predecessor's, not yet expired. Later beats find the key taken only by a takeover.
  let claimed = false;
  const beat = async () => {
    const cur = claimed ? await conn.get(k) : null;
    if (cur !== null && cur !== me)
      return fail(new RunIoError(`another coordinator (${cur}) has taken this sweep over (this one's heartbeat in Redis had expired): this one stops; the other records the trials`));
    await conn.set(k, me, 'PX', HEARTBEAT_TTL_MS);
    claimed = true;
  };
  const timer = setInterval(() => void beat().catch(() => {}), HEARTBEAT_MS);
  void beat().catch(() => {});
  return { lost, stop: () => clearInterval(timer) };
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
      const key = sweepKey(ctx.spec, ctx.sweepDir);
      await untilFatal(conn, conn.del(cancelKeyOf(key))); // running the sweep again resumes what a cancel stopped
      const beat = heartbeat(conn, key);
      try {
        await untilFatal(conn, Promise.race([follow(ctx, queue, conn, opts.pollMs ?? 250, warn), beat.lost]));
      } finally {
        await conn.del(heartbeatKeyOf(key)).catch(() => 0);
        beat.stop();
        await queue.close().catch(() => {});
        conn.disconnect();
      }
    },
    async holderGone(spec: SweepSpec, sweepDir: string, held: LockInfo): Promise<boolean> {
      const conn = connect(url, warn);
      try {
        const k = heartbeatKeyOf(sweepKey(spec, sweepDir));
        const absent = async () => (await untilFatal(conn, conn.exists(k))) === 0;
        if (!(await absent())) return false;
        await sleep(HEARTBEAT_MS + 1000);
        if (!(await absent())) return false;
        warn(
          `note: the coordinator holding this sweep (process ${held.pid} on host ${held.host}) has no heartbeat in Redis for over ${HEARTBEAT_MS / 1000} s: it is gone, and this one takes the sweep over`,
        );
        return true;
      } finally {
        conn.disconnect();
      }
    },
  };
}

/** The job of trial plan `p`, as the coordinator enqueues it. */
function payloadOf(ctx: RunnerContext, p: TrialPlan, rungs: string): TrialJob {
  return {
    v: PAYLOAD_V,
    sweep: ctx.spec.name,
    sweepDir: path.resolve(ctx.sweepDir),
    rel: p.rel,
    index: p.trial.index,
    config: p.trial.config,
    data: ctx.base,
    scheduler: ctx.spec.scheduler ?? null,
    rungs,
    metric: metricOf(ctx.spec),
    retries: retriesOf(ctx.spec),
    report: reportsAsTrialsEnd(ctx.spec.trialReports),
  };
}

/** A job's lock time as its worker reports it in the job's progress; 30 s (the default) when unknown. */
const DEFAULT_LOCK_MS = 30_000;

async function follow(ctx: RunnerContext, queue: Queue, conn: QueueConnection, pollMs: number, warn: (line: string) => void): Promise<void> {
  const key = sweepKey(ctx.spec, ctx.sweepDir);
  const rungs = rungsKeyOf(key);
  const byId = new Map<string, TrialPlan>();
  const basis = ctx.spec.scheduler ? rungBasisOf(metricOf(ctx.spec), ctx.spec.scheduler) : null;
  if (basis) await seedRedisRungs(conn, rungs, ctx.sweepDir, basis); // the rungs of the sweep's earlier trials (of its basis), before any new one reports
  const take = (): string | null => {
    const p = ctx.feed.next();
    if (p) byId.set(jobIdOf(key, p.rel), p);
    return p && jobIdOf(key, p.rel);
  };
  // The trials decided already (all but a TPE sweep's suggestions) go on the queue at once.
  while (ctx.feed.decided() > 0) take();
  const enqueue = (id: string, delay = 0) =>
    queue.add('trial', payloadOf(ctx, byId.get(id)!, rungs), { jobId: id, attempts: 1, removeOnComplete: KEPT_JOBS, removeOnFail: KEPT_JOBS, ...(delay > 0 ? { delay } : {}) });
  // A trial found finished in its folder may still have its job (a coordinator killed before it
  // removed it): removed now, or, while its worker still holds it (writing the trial's report),
  // once it ends.
  let leftovers = await removeEnded(
    queue,
    ctx.plans.filter((p) => p.finished).map((p) => jobIdOf(key, p.rel)),
  );
  const leftoversUntil = Date.now() + 2 * DEFAULT_LOCK_MS;
  // Jobs left by an earlier coordinator: waiting or running ones are reattached; a failed one
  // (refused, or stalled too often) or one whose trial failed is enqueued afresh, as a local
  // sweep tries its failed trials again; a finished one is recorded below as it stands.
  for (const id of byId.keys()) {
    const job = await Job.fromId(queue, id);
    const out = job?.returnvalue as JobOutcome | undefined;
    if (job && job.finishedOn && (job.failedReason || !out || out.status === 'failed')) await job.remove();
    else if (job) continue;
    await enqueue(id);
  }
  const poll = poller(ctx, queue, conn, byId);
  while (byId.size > 0 || leftovers.length > 0 || ctx.feed.left() > 0) {
    if (conn.failure) throw conn.failure;
    if (ctx.signal?.aborted) return; // Ctrl-C: the jobs stay queued for the next coordinator (or `sweep cancel`)
    if ((await conn.exists(cancelKeyOf(key)).catch(() => 0)) === 1)
      throw new RunIoError(
        `sweep ${ctx.spec.name} was cancelled (train sweep cancel): its queued trials are withdrawn and its running ones stopped, each with its last checkpoint; run the sweep again to resume it`,
      );
    const { gone, waiting } = await poll();
    if (gone.length > 0) await enqueueGone(gone, enqueue, ctx.spec.name, warn);
    // A TPE sweep's next suggestion once no job of it waits: a worker has taken the last one.
    const id = waiting === 0 && gone.length === 0 && ctx.feed.left() > 0 ? take() : null;
    if (id) await enqueue(id);
    if (leftovers.length > 0) leftovers = Date.now() < leftoversUntil ? await removeEnded(queue, leftovers) : [];
    if (byId.size > 0 || leftovers.length > 0 || ctx.feed.left() > 0) await sleep(pollMs);
  }
  // Every trial is recorded: the rungs are kept in the sweep folder (rungs.ts), and Redis lets them go.
  if (basis) await keepRedisRungs(conn, rungs, ctx.sweepDir, basis);
  const rungKeys = await conn.keys(`${rungs}:*`).catch(() => [] as string[]);
  if (rungKeys.length) await conn.del(...rungKeys).catch(() => 0);
}

/** Removes the jobs `ids` of trials already recorded; returns those still held by a worker (removed once they end). */
async function removeEnded(queue: Queue, ids: string[]): Promise<string[]> {
  const held: string[] = [];
  for (const id of ids) {
    if ((await queue.remove(id).catch(() => 0)) === 1) continue;
    if (await Job.fromId(queue, id).catch(() => undefined)) held.push(id);
  }
  return held;
}

/**
 * Jobs that vanished from Redis (restarted without its data, or flushed) are enqueued again. One
 * that was running comes back only after its worker's lock time: by then that worker has failed
 * to renew its lock and stopped the trial (queue_worker.ts), so two never train it at once.
 */
async function enqueueGone(gone: { id: string; lockMs: number | null }[], enqueue: (id: string, delay?: number) => Promise<unknown>, sweep: string, warn: (line: string) => void): Promise<void> {
  const running = gone.filter((g) => g.lockMs !== null);
  for (const g of gone) await enqueue(g.id, g.lockMs ?? 0);
  const later = running.length ? `; the ${running.length} that were running after their workers' lock time (${Math.max(...running.map((g) => g.lockMs!)) / 1000} s)` : '';
  warn(`sweep ${sweep}: ${gone.length} job${gone.length > 1 ? 's are' : ' is'} gone from Redis (restarted without its data?): enqueued again${later}`);
}

/**
 * One poll of every job by its hash (one pipelined round trip): progress while it runs, the
 * return value (or the failure) once it ends, recorded and removed from the queue. Returns the
 * jobs whose hash is gone, with the lock time of those that were seen running, and how many
 * jobs wait for a worker.
 */
function poller(ctx: RunnerContext, queue: Queue, conn: QueueConnection, byId: Map<string, TrialPlan>): () => Promise<{ gone: { id: string; lockMs: number | null }[]; waiting: number }> {
  const fields = ['timestamp', 'finishedOn', 'returnvalue', 'failedReason', 'processedOn', 'progress'];
  const shownRunning = new Map<string, string>();
  const lockOf = new Map<string, number>();
  return async () => {
    const ids = [...byId.keys()];
    let rows: (string | null)[][];
    try {
      const pipe = conn.pipeline();
      for (const id of ids) pipe.hmget(queue.toKey(id), ...fields);
      rows = ((await pipe.exec()) ?? []).map(([err, v]) => (err ? [] : (v as (string | null)[])));
    } catch {
      return { gone: [], waiting: 1 }; // Redis away: asked again at the next poll
    }
    const gone: { id: string; lockMs: number | null }[] = [];
    let waiting = 0;
    for (let i = 0; i < ids.length; i++) {
      const row = rows[i] ?? [];
      const [timestamp, finishedOn, returnvalue, failedReason, processedOn, progress] = row;
      const p = byId.get(ids[i])!;
      if (row.length === fields.length && timestamp === null) {
        const wasRunning = shownRunning.delete(ids[i]);
        gone.push({ id: ids[i], lockMs: wasRunning ? (lockOf.get(ids[i]) ?? DEFAULT_LOCK_MS) : null });
        if (wasRunning) ctx.running(p.trial.index, null);
      } else if (finishedOn) {
        ctx.done(jobResult(p, parseJson(returnvalue ?? null) as JobOutcome | null, failedReason ?? null));
        byId.delete(ids[i]);
        await queue.remove(ids[i]).catch(() => 0);
      } else if (processedOn) {
        const pr = parseJson(progress ?? null) as { host?: unknown; epoch?: unknown; lockMs?: unknown } | null;
        if (typeof pr?.lockMs === 'number' && pr.lockMs > 0) lockOf.set(ids[i], pr.lockMs);
        const info = { host: typeof pr?.host === 'string' ? pr.host : null, epoch: typeof pr?.epoch === 'number' ? pr.epoch : null };
        const sig = JSON.stringify(info);
        if (shownRunning.get(ids[i]) !== sig) {
          shownRunning.set(ids[i], sig);
          ctx.running(p.trial.index, info);
        }
      } else waiting++;
    }
    return { gone, waiting };
  };
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
  const { trials, sweepDir } = knownTrials(spec, flags);
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
  // A TPE sweep's trials not suggested yet are not enqueued either.
  const s: StatusLine = { queued: 0, running: [], finished: 0, stopped: 0, failed: 0, notEnqueued: trialCount(spec) - trials.length, total: trialCount(spec) };
  try {
    await untilFatal(conn, countJobs(s, plans, queue, key));
  } finally {
    await queue.close().catch(() => {});
    conn.disconnect();
  }
  out(
    `sweep ${spec.name} on ${redactUrl(url)}: ${s.total} trials: ${s.queued} queued, ${s.running.length} running, ${s.finished} finished, ${s.stopped} stopped, ${s.failed} failed${s.notEnqueued ? `, ${s.notEnqueued} not enqueued (run the coordinator: train sweep --config ${file} --queue …)` : ''}`,
  );
  for (const r of s.running) out(`  trial ${r.index} on ${r.host ?? '?'}${r.pid !== null ? ` (pid ${r.pid})` : ''}${r.epoch !== null ? `, epoch ${r.epoch} done` : ', starting'}`);
  return s;
}

/** Count the trials of `plans` into `s`: from their folders when finished, else from their jobs. */
async function countJobs(s: StatusLine, plans: TrialPlan[], queue: Queue, key: string): Promise<void> {
  for (const p of plans) {
    if (p.finished) {
      if (p.finished.status === 'stopped') s.stopped++;
      else s.finished++;
      continue;
    }
    const job = await Job.fromId(queue, jobIdOf(key, p.rel));
    if (!job) s.notEnqueued++;
    else if (job.finishedOn) {
      const o = job.returnvalue as JobOutcome | null;
      if (job.failedReason || !o || o.status === 'failed') s.failed++;
      else if (o.status === 'stopped') s.stopped++;
      else s.finished++;
    } else if (job.processedOn) {
      const pr = (job.progress ?? {}) as { host?: string; pid?: number; epoch?: number };
      s.running.push({ index: p.trial.index, host: pr.host ?? null, pid: pr.pid ?? null, epoch: pr.epoch ?? null });
    } else s.queued++;
  }
}

/** What `sweep cancel --queue` did. */
export interface CancelLine {
  withdrawn: number;
  stopped: number;
}

/**
 * `sweep cancel F --queue URL`: withdraw the sweep's queued trials and stop its running ones.
 * The cancel key tells workers to stop the trials they run after the current step (each keeps
 * its last checkpoint, as after SIGTERM) and a coordinator to stop following; the queued jobs
 * are removed at once, the running ones once their workers have stopped them.
 */
export async function sweepCancel(file: string, url: string, flags: Partial<Config>, out: (line: string) => void, warn: (l: string) => void, waitMs = 300_000): Promise<CancelLine> {
  const spec = readSweepFile(file);
  const { trials, sweepDir } = knownTrials(spec, flags);
  let folders;
  try {
    folders = scanTrialFolders(sweepDir);
  } catch {
    folders = new Map(); // no folder yet: nothing finished
  }
  const key = sweepKey(spec, sweepDir);
  const ids = planTrials(trials, folders)
    .plans.filter((p) => !p.finished)
    .map((p) => jobIdOf(key, p.rel));
  const conn = connect(url, warn);
  const queue = new Queue(QUEUE, { connection: conn });
  queue.on('error', () => {});
  const line: CancelLine = { withdrawn: 0, stopped: 0 };
  try {
    await untilFatal(conn, withdraw(conn, queue, key, ids, line, waitMs));
  } finally {
    await queue.close().catch(() => {});
    conn.disconnect();
  }
  out(
    `sweep ${spec.name} cancelled: ${line.withdrawn} queued trial${line.withdrawn === 1 ? '' : 's'} withdrawn, ${line.stopped} running stopped (each keeps its last checkpoint); run the sweep again to resume it: train sweep --config ${file} --queue …`,
  );
  return line;
}

async function withdraw(conn: Redis, queue: Queue, key: string, ids: string[], line: CancelLine, waitMs: number): Promise<void> {
  await conn.set(cancelKeyOf(key), new Date().toISOString(), 'PX', CANCEL_TTL_MS);
  let running: string[] = [];
  for (const id of ids) {
    const job = await Job.fromId(queue, id);
    if (!job) continue;
    if (job.processedOn && !job.finishedOn) running.push(id);
    else if (
      await job.remove().then(
        () => true,
        () => false,
      )
    ) {
      if (!job.finishedOn) line.withdrawn++;
    } else running.push(id); // taken by a worker meanwhile
  }
  // The running ones end within a step of their worker seeing the cancel key (queue_worker.ts).
  const t0 = Date.now();
  while (running.length > 0 && Date.now() - t0 < waitMs) {
    await sleep(500);
    const left: string[] = [];
    for (const id of running) {
      const job = await Job.fromId(queue, id);
      if (job && !job.finishedOn) left.push(id);
      else if (job) {
        await job.remove().catch(() => {});
        line.stopped++;
      }
    }
    running = left;
  }
  if (running.length)
    throw new RunIoError(
      `${running.length} running trial${running.length > 1 ? 's have' : ' has'} not stopped within ${waitMs / 1000} s (a worker that is stalled or gone); run the cancel again later`,
    );
}
