/**
 * `train worker --queue redis://host:6379`: a process that pulls sweep trials from the queue
 * (queue.ts) and trains them, one at a time, with the same code as a local sweep: a worker
 * thread running sweep/worker.ts, which prepares the dataset once and keeps it for every trial
 * of the same data. Training runs on that thread, so this process's event loop stays free to
 * renew the job's lock however long an epoch takes; a worker that dies stops renewing it, and
 * BullMQ hands the job (stalled) to another worker, up to the sweep's retries (trainAttempts).
 *
 * Taking a trial, the worker looks at its folder first (the runs folder is shared by every host):
 * finished (summary.json, or stopped.json) → the job returns what is there, nothing is trained
 * again; a last.ckpt of the same config → the trial resumes from it (its train.log says
 * "resumed"); anything else of its own → cleared and started afresh. The trial's training thread
 * holds the folder meanwhile (runs/owner.ts), for the job's id: a worker handed the job after this
 * one's lock expired takes the folder over, and this one, should it wake up (SIGSTOP, a GC pause,
 * a partition), stops at once, since its lock can no longer be renewed, and writes nothing more.
 *
 * A job this worker cannot train because of the worker itself (its runs folder is not the
 * coordinator's, the data is missing on this host) is put back for another worker, and this worker
 * says what is wrong with it and takes no more jobs. A job that is wrong itself fails, unretried.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker, UnrecoverableError, WaitingError, type Job, type JobJson } from 'bullmq';
import { type Config, ConfigError, DATA_KEYS, DEFAULTS } from '../config/config.js';
import type { BackendChoice } from '../linalg/engine.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { runFile, sweepFile } from '../runs/layout.js';
import { dropRunFolder } from '../runs/owner.js';
import { DECISION, STOP_CELL, type ToWorker } from './protocol.js';
import { cancelKeyOf, connect, KEPT_JOBS, parseTrialJob, QUEUE, RedisRungStore, redactUrl, sweepKeyOfJob, type JobOutcome, type TrialJob } from './queue.js';
import { workerLimits } from './worker_limits.js';
import { MAX_RETRIES } from './spec.js';
import { epochsOf, folderPlanFor, hostLost, prepareFolder, retriesUsedUp, startTrainingThread, stopAfterStep, trainOnThread, type TrainingThread, type TrialOutcome } from './trial.js';
import { keepWorkerHeartbeat, type WorkerBeat } from './workers.js';

export interface WorkerOptions {
  url: string;
  /**
   * Where this host finds the datasets (a folder, an archive or its URL), default its data root.
   * Only the worker's own: a job's dataDir and verify are never used (queue.ts HOST_KEYS).
   */
  dataDir?: string;
  /** Check a downloaded archive's hash (default true), as `train --verify`. */
  verify?: boolean;
  /** The engine, when not the sweep's. */
  backend?: BackendChoice;
  /**
   * Threads for the engine (OpenBLAS, simd, wasm). By default the host's cores shared out among
   * the worker processes running on it (hostWorkers), counted when the training thread starts, so
   * that two workers on two cores train on one thread each instead of both oversubscribing.
   */
  threads?: number;
  /**
   * The runs folder this worker may write into (`--runs-dir`, default runs): a job whose sweep
   * folder is not inside it (after symbolic links) is refused with its reason, so whoever can
   * write to the queue cannot make a worker write anywhere else.
   */
  runsDir?: string;
  /** The job lock's lifetime; a worker silent for this long is taken for dead. */
  lockSeconds?: number;
  out?: (line: string) => void;
}

export { workerLimits };

/** Refuse a worker option beyond its bound, naming it (the CLI reads the flags with the same bounds). */
function checkWorkerOptions(opts: WorkerOptions): void {
  for (const key of ['lockSeconds', 'threads'] as const) {
    const v = opts[key];
    const { min, max } = workerLimits()[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= min && v <= max && (key !== 'threads' || Number.isInteger(v)))) {
      throw new ConfigError(`worker option ${key} = ${v} is not allowed: expected ${key === 'threads' ? 'a whole number' : 'a number'} ≥ ${min} and ≤ ${max}`);
    }
  }
}

/**
 * The worker processes of this host, this one included: each keeps a file named by its pid in
 * <tmpdir>/tsnn-workers while it runs; files of pids that are gone (a SIGKILL) are removed.
 */
export function hostWorkers(): { count: number; register(): () => void } {
  const dir = path.join(os.tmpdir(), 'tsnn-workers');
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  return {
    get count(): number {
      let n = 0;
      let names: string[] = [];
      try {
        names = fs.readdirSync(dir);
      } catch {
        return 1;
      }
      for (const f of names) {
        const pid = Number(f);
        if (!Number.isInteger(pid) || pid <= 0) continue;
        if (alive(pid)) n++;
        else fs.rmSync(path.join(dir, f), { force: true });
      }
      return Math.max(1, n);
    },
    register(): () => void {
      const f = path.join(dir, String(process.pid));
      try {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(f, '');
      } catch {
        return () => {}; // no shared tmpdir: this worker counts only itself
      }
      return () => fs.rmSync(f, { force: true });
    },
  };
}

/** Why a job is not trained here: about the job (it fails, unretried) or about this worker (`aboutHost`: the job goes back for another). */
class Refusal extends Error {
  constructor(
    message: string,
    readonly aboutHost: boolean,
  ) {
    super(message);
  }
}

/** Marks a job whose data is not JSON (TrialWorker.createJob), so that it is refused, logged, like any other bad payload. */
const NOT_JSON = '__notJson';

/** BullMQ's Worker, but a job whose data is not JSON reaches the processor (refused there) instead of throwing where no one sees it, the job left active for ever. */
class TrialWorker extends Worker {
  protected override createJob(data: JobJson, jobId: string): Job {
    try {
      return super.createJob(data, jobId);
    } catch {
      return super.createJob({ ...data, data: JSON.stringify({ [NOT_JSON]: String(data.data).slice(0, 40) }) }, jobId);
    }
  }
}

/** The trial this worker trains now, and whether its job's lock was lost. */
interface Current {
  jobId: string;
  dir: string;
  tag: string;
  /** The training thread's decision cell, once the trial is on it. */
  cell: Int32Array | null;
  /** When the job's lock was last known to be held (taken, or renewed). */
  lockOk: number;
  lost: string | null;
  /** What this worker's heartbeat says it runs (workers.ts). */
  beat: NonNullable<WorkerBeat['trial']>;
}

export interface QueueWorker {
  close(): Promise<void>;
  /** Resolves, with what is wrong, once this worker found it cannot train here (its runs folder, the data) and stopped taking jobs. */
  unfit: Promise<string>;
  /** Rejects with its reason when the connection fails for good (a wrong password, an untrusted certificate: connection.ts). */
  done: Promise<never>;
}

/** A worker process as its job handler sees it: its context for training, the trial it trains now, and how it says it cannot train here. */
interface WorkerState {
  x: TrainContext;
  runsDir: string;
  now: { trial: Current | null };
  /** Set once BullMQ's worker is made (it is handed processJob). */
  worker: Worker | null;
  /** Says at once what the worker does now (a trial started or ended) in its heartbeat. */
  beat(): void;
  markUnfit(why: string): void;
}

export async function runQueueWorker(opts: WorkerOptions): Promise<QueueWorker> {
  checkWorkerOptions(opts);
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const who = `${os.hostname()}:${process.pid}`;
  const conn = connect(opts.url, out);
  const rungConn = connect(opts.url, () => {});
  const runsDir = path.resolve(opts.runsDir ?? 'runs');
  /** This worker's own data location, hash check and runs folder: put into every trial it takes. */
  const hostKeys: HostKeys = { dataDir: opts.dataDir ?? DEFAULTS.dataDir, verify: opts.verify ?? DEFAULTS.verify, runsDir };
  const threads = trainingThreads(opts, hostKeys, out, who);
  const lockMs = Math.round((opts.lockSeconds ?? 30) * 1000);
  let markUnfit: (why: string) => void = () => {};
  const unfit = new Promise<string>((resolve) => (markUnfit = resolve));
  const now: WorkerState['now'] = { trial: null };
  const heartbeat = keepWorkerHeartbeat(rungConn, () => now.trial?.beat ?? null);
  const w: WorkerState = { x: { out, who, threads, opts, rungConn, hostKeys, lockMs }, runsDir, now, worker: null, markUnfit, beat: heartbeat.beat };
  const worker: Worker = new TrialWorker(QUEUE, (job: Job, token?: string) => processJob(job, token, w), {
    connection: conn,
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: Math.max(500, Math.round(lockMs / 2)),
    // Above any sweep's retries: trainAttempts fails a job lost more often than its sweep allows, with the reason.
    maxStalledCount: MAX_RETRIES + 1,
    removeOnComplete: KEPT_JOBS,
    removeOnFail: KEPT_JOBS,
  });
  w.worker = worker;
  worker.on('error', () => {}); // the connection's handler reports Redis errors, without the password; a lost lock is watched below
  const stopWatch = watchLock(worker, lockMs, () => w.now.trial, out, who);
  out(`${who}: worker on the queue ${QUEUE} at ${redactUrl(opts.url)}, writing under ${runsDir}`);
  const close = async () => {
    stopWatch();
    await heartbeat.stop();
    await worker.close(true).catch(() => {});
    await threads.close();
    conn.disconnect();
    rungConn.disconnect();
  };
  // A permanent connection error (connection.ts) ends the worker with its reason.
  const done = conn.fatal.catch(async (e: unknown) => {
    await close();
    throw e;
  });
  return { unfit, done, close };
}

/** BullMQ's processor: check the job, train its trial, and return its outcome (the job's return value). */
async function processJob(job: Job, token: string | undefined, w: WorkerState): Promise<JobOutcome> {
  const { out, who } = w.x;
  try {
    const j = checkJob(job, w.runsDir);
    const beat = { sweep: j.sweep, index: j.index, folder: path.basename(j.rel) };
    const c: Current = { jobId: job.id!, dir: path.join(j.sweepDir, j.rel), tag: `trial ${j.index} of sweep ${j.sweep} (${beat.folder})`, cell: null, lockOk: Date.now(), lost: null, beat };
    w.now.trial = c;
    w.beat();
    const r = await trainAttempts(job, j, c, w.x);
    if (c.lost) throw new Error(`this worker lost the job's lock (${c.lost}) and stopped training`);
    const shown = r.status === 'ok' ? `val ${r.summary.bestValAcc?.toFixed(3)}` : r.status === 'stopped' ? `stopped after epoch ${r.stopped.lastEpoch}` : `${r.status}: ${r.reason}`;
    out(`${who}: trial ${j.index} of sweep ${j.sweep}: ${shown}`);
    return r;
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    return await refuse(job, token, e, w);
  } finally {
    w.now.trial = null;
    w.beat();
  }
}

/** A job refused: failed unretried when it is the job's fault; put back for another worker when it is this worker's (which then takes no more). */
async function refuse(job: Job, token: string | undefined, e: Refusal, w: WorkerState): Promise<never> {
  const { out, who } = w.x;
  if (!e.aboutHost) {
    out(`${who}: job ${job.id} refused: ${e.message}`);
    throw new UnrecoverableError(`job ${job.id} refused: ${e.message}`);
  }
  void w.worker?.pause(true); // no further job: the fault is this worker's, not the job's
  await job.moveToWait(token);
  out(`${who}: THIS WORKER CANNOT TRAIN HERE: ${e.message}. Job ${job.id} is put back on the queue for another worker; this worker takes no more jobs (fix it and start it again).`);
  w.markUnfit(e.message);
  throw new WaitingError();
}

/**
 * Fence one of exactly-once: a worker whose lock on the trial's job is lost (BullMQ could not
 * renew it, or it went unrenewed past its lifetime: this process was stopped, paused or cut off)
 * stops that trial at once. Its training thread is told to stop after the current step, and the
 * trial's folder is let go, so the thread writes nothing more there (runs/owner.ts).
 */
function watchLock(worker: Worker, lockMs: number, current: () => Current | null, out: (l: string) => void, who: string): () => void {
  const lose = (c: Current, why: string) => {
    if (c.lost !== null) return;
    c.lost = why;
    if (c.cell) {
      Atomics.store(c.cell, STOP_CELL, 1);
      Atomics.store(c.cell, 0, DECISION.go); // a thread waiting for the scheduler's word wakes, and stops at once
      Atomics.notify(c.cell, 0);
    }
    dropRunFolder(c.dir);
    out(`${who}: ${c.tag}: stopped training: this worker lost the job's lock (${why}), so another worker may have the trial now; nothing more is written to its folder from here`);
  };
  worker.on('locksRenewed', ({ jobIds }: { jobIds: string[] }) => {
    const c = current();
    if (c && jobIds.includes(c.jobId)) c.lockOk = Date.now();
  });
  worker.on('lockRenewalFailed', (ids: string[]) => {
    const c = current();
    if (c && ids.includes(c.jobId)) lose(c, 'Redis no longer holds it for this worker');
  });
  const timer = setInterval(
    () => {
      const c = current();
      const idle = c ? Date.now() - c.lockOk : 0;
      if (c && idle > lockMs) lose(c, `not renewed for ${(idle / 1000).toFixed(1)} s, past its ${lockMs / 1000} s: this process was stopped or cut off from Redis`);
    },
    Math.max(100, Math.min(1000, lockMs / 8)),
  );
  return () => clearInterval(timer);
}

/** The job's trial, checked: a payload that is not a trial, or a sweep folder this worker must not or cannot write, is refused (Refusal). */
function checkJob(job: Job, runsDir: string): TrialJob {
  const data = job.data as Record<string, unknown> | null;
  if (data && typeof data === 'object' && NOT_JSON in data) throw new Refusal(`its data is not JSON (it begins ${JSON.stringify(data[NOT_JSON])})`, false);
  let j: TrialJob;
  try {
    j = parseTrialJob(job.data);
  } catch (e) {
    throw new Refusal(e instanceof Error ? e.message : String(e), false);
  }
  const host = os.hostname();
  if (outsideRuns(runsDir, j.sweepDir)) {
    // The coordinator's sweep folder, seen here outside --runs-dir: this worker's flag is wrong, not the job.
    if (fs.existsSync(sweepFile(j.sweepDir, 'spec')))
      throw new Refusal(`the sweep folder ${j.sweepDir} holds a sweep, but lies outside this worker's runs folder ${runsDir}: start the worker with --runs-dir <the coordinator's runs folder>`, true);
    throw new Refusal(
      `its sweep folder ${j.sweepDir} is not inside this worker's runs folder ${runsDir} (a worker writes only there; start it with --runs-dir <the coordinator's runs folder>)`,
      false,
    );
  }
  if (!fs.existsSync(runsDir)) throw new Refusal(`this worker's runs folder ${runsDir} does not exist on ${host}: is the shared folder mounted here? (--runs-dir)`, true);
  if (!fs.existsSync(j.sweepDir))
    throw new Refusal(`the sweep folder ${j.sweepDir} is not there on ${host}: the runs folder must be shared, at the same path, by the coordinator and every worker`, true);
  return j;
}

/** Whether `sweepDir` lies outside the runs folder (symbolic links resolved): a worker writes only inside it. */
function outsideRuns(runsDir: string, sweepDir: string): boolean {
  const real = (p: string): string => {
    // The deepest part that exists, resolved; the rest as written (a folder still to be made).
    const tail: string[] = [];
    let at = path.resolve(p);
    for (;;) {
      try {
        return path.join(fs.realpathSync(at), ...tail.reverse());
      } catch {
        const up = path.dirname(at);
        if (up === at) return path.resolve(p);
        tail.push(path.basename(at));
        at = up;
      }
    }
  };
  const rel = path.relative(real(runsDir), real(sweepDir));
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel);
}

/** What a worker puts into every trial in place of the job's own host keys (queue.ts HOST_KEYS). */
interface HostKeys {
  dataDir: string;
  verify: boolean;
  runsDir: string;
}

interface TrainContext {
  hostKeys: HostKeys;
  lockMs: number;
  out: (line: string) => void;
  who: string;
  threads: ReturnType<typeof trainingThreads>;
  opts: WorkerOptions;
  rungConn: ReturnType<typeof connect>;
}

/**
 * Train job `j`'s trial, and again after a failure of this host (its training thread died: killed,
 * out of memory) up to the sweep's retries. The attempts of workers lost before this one (the
 * job's stalled count: a process killed, or its lock let lapse) count too: a job lost more often
 * than its retries allow fails here, with the reason, untrained. The trial's own failure is final.
 */
async function trainAttempts(job: Job, j: TrialJob, c: Current, x: TrainContext): Promise<JobOutcome> {
  const lost = job.stalledCounter ?? 0;
  const host = os.hostname();
  if (lost > j.retries) {
    const why = `its worker was lost ${lost} times (a process killed or out of memory, or its job's lock not renewed in time)`;
    x.out(`${x.who}: ${c.tag}: ${why}; its retries, ${j.retries}, are used up: failed`);
    return { ...retriesUsedUp({ status: 'failed', reason: why }, lost, j.retries), host };
  }
  for (let attempt = lost + 1; ; attempt++) {
    const r = await trainJob(job, j, c, x);
    if (!hostLost(r) || c.lost) return r;
    if (attempt > j.retries) return { ...retriesUsedUp(r as TrialOutcome & { status: 'failed' }, attempt, j.retries), host };
    x.out(`${x.who}: ${c.tag}: ${r.status === 'failed' ? r.reason : ''}: trying again from its last checkpoint (attempt ${attempt + 1} of ${j.retries + 1})`);
  }
}

/**
 * Train job `j`: the folder first (finished → its result; this trial's checkpoint → resume;
 * else afresh), then the trial on the training thread, which holds the folder for the job.
 */
async function trainJob(job: Job, j: TrialJob, c: Current, x: TrainContext): Promise<JobOutcome> {
  const { dir, tag } = c;
  const host = os.hostname();
  const cancelKey = cancelKeyOf(sweepKeyOfJob(j));
  if ((await x.rungConn.exists(cancelKey)) === 1) return { status: 'failed', reason: 'cancelled (train sweep cancel) before it started', host };
  const plan = folderPlanFor(j.sweepDir, j.rel, j.config);
  if ('outcome' in plan) {
    if (plan.outcome.status === 'ok') x.out(`${x.who}: ${tag} is finished in its folder already; nothing trained again`);
    return { ...plan.outcome, host };
  }
  prepareFolder(dir);
  x.out(`${x.who}: ${tag}: ${plan.resume ? `resuming from its last checkpoint${checkpointAt(dir)}` : 'starting'}`);
  await job.updateProgress({ host, pid: process.pid, epoch: null, lockMs: x.lockMs });
  const backend = x.opts.backend ?? j.config.backend;
  const t = await readyThread(x.threads.threadFor(j.data, backend), host);
  if (c.lost) return { status: 'failed', reason: `lost the job's lock before training: ${c.lost}`, host };
  c.cell = t.cell;
  const cfg: Config = { ...j.config, backend, dataDir: x.hostKeys.dataDir, runsDir: x.hostKeys.runsDir };
  const msg: ToWorker = {
    index: j.index,
    dir,
    config: cfg,
    resume: plan.resume,
    scheduled: j.scheduler !== null,
    metric: j.metric,
    claim: `job ${job.id}`,
    clear: !plan.resume,
    report: j.report ?? true,
  };
  const stopWatch = watchCancel(cancelKey, t, c, x);
  try {
    const out = await trainOnThread(t, msg, {
      sched: { scheduler: j.scheduler ?? undefined, store: new RedisRungStore(x.rungConn, j.rungs), trialId: j.rel, epochs: epochsOf(j.config, t.numTrain), metric: j.metric },
      epoch: (e) => void job.updateProgress({ host, pid: process.pid, epoch: e.epoch, valAcc: e.valAcc, lockMs: x.lockMs }).catch(() => {}),
      schedulerFailed: () => {}, // Redis away: the trial goes on
    });
    return { ...out, host };
  } finally {
    stopWatch();
  }
}

/** `t` once it is ready; one that cannot prepare the data (or start the engine) on this host refuses the job for another worker. */
async function readyThread(t: TrainingThread, host: string): Promise<TrainingThread> {
  try {
    await t.ready;
  } catch (e) {
    if (t.unfit !== null) throw new Refusal(`it cannot prepare the data on ${host}: ${t.unfit}`, true);
    throw e;
  }
  return t;
}

/** While `t` trains the trial, look for its sweep's cancel key every second: found, the trial stops after its step (resumable). */
function watchCancel(cancelKey: string, t: TrainingThread, c: Current, x: TrainContext): () => void {
  const timer = setInterval(() => {
    void x.rungConn.exists(cancelKey).then(
      (n) => {
        if (n !== 1 || Atomics.load(t.cell, STOP_CELL) === 1) return;
        x.out(`${x.who}: ${c.tag}: the sweep was cancelled: stopping after this step (its last checkpoint resumes it)`);
        stopAfterStep(t);
      },
      () => {},
    );
  }, 1000);
  return () => clearInterval(timer);
}

/** " at step 120 (epoch 3)": where the last.ckpt in `dir` resumes, for the log ('' when it cannot be read: the resume itself names a damaged checkpoint). */
function checkpointAt(dir: string): string {
  try {
    const st = (loadCheckpoint(runFile(dir, 'last')).header as { trainer?: { it?: number; epoch?: number } }).trainer;
    return ` at step ${st?.it} (epoch ${st?.epoch})`;
  } catch {
    return '';
  }
}

/**
 * The training threads of this worker process: one at a time, kept for the trials that share its
 * data (DATA_KEYS), its engine threads the host's cores shared among the worker processes on it.
 */
function trainingThreads(opts: WorkerOptions, hostKeys: HostKeys, out: (l: string) => void, who: string) {
  let tt: { key: string; t: TrainingThread } | null = null;
  const peers = hostWorkers();
  const unregister = peers.register();
  process.once('exit', unregister);
  /** The training thread for `data`: the one running, or a new one that prepares this data. */
  const threadFor = (data: Config, backend: BackendChoice): TrainingThread => {
    const dataCfg: Config = { ...data, ...hostKeys };
    const key = JSON.stringify([backend, ...DATA_KEYS.map((k) => dataCfg[k])]);
    if (tt && tt.key === key && !tt.t.gone) return tt.t;
    if (tt && !tt.t.gone) void tt.t.thread.terminate();
    const here = peers.count;
    const threads = opts.threads ?? Math.max(1, Math.floor(os.availableParallelism() / here));
    tt = { key, t: startTrainingThread({ dataConfig: dataCfg, backend, threads }) };
    const why = opts.threads !== undefined ? '--threads' : `${os.availableParallelism()} cores, ${here} worker process${here > 1 ? 'es' : ''} on this host`;
    out(
      `${who}: preparing ${data.dataset} (train ${data.numTrain}, val ${data.numVal}) on a training thread with ${threads} engine thread${threads > 1 ? 's' : ''} (${why}); kept for the trials that share it`,
    );
    return tt.t;
  };
  return {
    threadFor,
    async close() {
      if (tt && !tt.t.gone) await tt.t.thread.terminate();
      unregister();
    },
  };
}
