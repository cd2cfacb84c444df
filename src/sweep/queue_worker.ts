/**
 * `train worker --queue redis://host:6379`: a process that pulls sweep trials from the queue
 * (queue.ts) and trains them, one at a time, with the same code as a local sweep: a worker
 * thread running sweep/worker.ts, which prepares the dataset once and keeps it for every trial
 * of the same data. Training runs on that thread, so this process's event loop stays free to
 * renew the job's lock however long an epoch takes; a worker that dies stops renewing it, and
 * BullMQ hands the job (stalled) to another worker.
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
import type { Worker as Thread } from 'node:worker_threads';
import { Worker, UnrecoverableError, WaitingError, type Job, type JobJson } from 'bullmq';
import { type Config, ConfigError, DATA_KEYS, DEFAULTS } from '../config/config.js';
import type { BackendChoice } from '../linalg/engine.js';
import { startWorker } from '../linalg/worker_threads.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { runFile, sweepFile } from '../runs/layout.js';
import { dropRunFolder } from '../runs/owner.js';
import { readJsonOrNull } from '../runs/read.js';
import type { Summary } from '../runs/summary.js';
import { DECISION, newCells, STOP_CELL, type FromWorker, type StoppedInfo, type ToWorker } from './protocol.js';
import { cancelKeyOf, connect, KEPT_JOBS, parseTrialJob, QUEUE, RedisRungStore, redactUrl, sweepKeyOfJob, type TrialJob, type TrialOutcome } from './queue.js';
import { workerLimits } from './worker_limits.js';
import { answerEpoch, epochsOf, prepareFolder, resultKey, writeStopped } from './sweep.js';

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

interface TrainingThread {
  key: string;
  thread: Thread;
  cell: Int32Array;
  ready: Promise<void>;
  numTrain: number;
  /** Why the thread cannot prepare the data or start the engine on this host, once its error said so. */
  unfit: string | null;
  /** Set while a trial runs: where the thread's messages go. */
  onMessage: ((m: FromWorker) => void) | null;
  onGone: ((why: string) => void) | null;
  gone: boolean;
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
}

export interface QueueWorker {
  close(): Promise<void>;
  /** Resolves, with what is wrong, once this worker found it cannot train here (its runs folder, the data) and stopped taking jobs. */
  unfit: Promise<string>;
  /** Rejects with its reason when the connection fails for good (a wrong password, an untrusted certificate: connection.ts). */
  done: Promise<never>;
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
  const now: { trial: Current | null } = { trial: null };
  let markUnfit: (why: string) => void = () => {};
  const unfit = new Promise<string>((resolve) => (markUnfit = resolve));

  const worker: Worker = new TrialWorker(
    QUEUE,
    async (job: Job, token?: string) => {
      try {
        const j = checkJob(job, runsDir);
        now.trial = { jobId: job.id!, dir: path.join(j.sweepDir, j.rel), tag: `trial ${j.index} of sweep ${j.sweep} (${path.basename(j.rel)})`, cell: null, lockOk: Date.now(), lost: null };
        const r = await trainJob(job, j, now.trial, { out, who, threads, opts, rungConn, hostKeys, lockMs });
        if (now.trial.lost) throw new Error(`this worker lost the job's lock (${now.trial.lost}) and stopped training`);
        const shown = r.status === 'ok' ? `val ${r.summary.bestValAcc?.toFixed(3)}` : r.status === 'stopped' ? `stopped after epoch ${r.stopped.lastEpoch}` : `${r.status}: ${r.reason}`;
        out(`${who}: trial ${j.index} of sweep ${j.sweep}: ${shown}`);
        return r;
      } catch (e) {
        if (!(e instanceof Refusal)) throw e;
        if (!e.aboutHost) {
          out(`${who}: job ${job.id} refused: ${e.message}`);
          throw new UnrecoverableError(`job ${job.id} refused: ${e.message}`);
        }
        void worker.pause(true); // no further job: the fault is this worker's, not the job's
        await job.moveToWait(token);
        out(`${who}: THIS WORKER CANNOT TRAIN HERE: ${e.message}. Job ${job.id} is put back on the queue for another worker; this worker takes no more jobs (fix it and start it again).`);
        markUnfit(e.message);
        throw new WaitingError();
      } finally {
        now.trial = null;
      }
    },
    { connection: conn, concurrency: 1, lockDuration: lockMs, stalledInterval: Math.max(500, Math.round(lockMs / 2)), maxStalledCount: 5, removeOnComplete: KEPT_JOBS, removeOnFail: KEPT_JOBS },
  );
  worker.on('error', () => {}); // the connection's handler reports Redis errors, without the password; a lost lock is watched below
  const stopWatch = watchLock(worker, lockMs, () => now.trial, out, who);
  out(`${who}: worker on the queue ${QUEUE} at ${redactUrl(opts.url)}, writing under ${runsDir}`);
  const close = async () => {
    stopWatch();
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
  const timer = setInterval(() => {
    const c = current();
    const idle = c ? Date.now() - c.lockOk : 0;
    if (c && idle > lockMs) lose(c, `not renewed for ${(idle / 1000).toFixed(1)} s, past its ${lockMs / 1000} s: this process was stopped or cut off from Redis`);
  }, Math.max(100, Math.min(1000, lockMs / 8)));
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
    if (fs.existsSync(sweepFile(j.sweepDir, 'spec'))) throw new Refusal(`the sweep folder ${j.sweepDir} holds a sweep, but lies outside this worker's runs folder ${runsDir}: start the worker with --runs-dir <the coordinator's runs folder>`, true);
    throw new Refusal(`its sweep folder ${j.sweepDir} is not inside this worker's runs folder ${runsDir} (a worker writes only there; start it with --runs-dir <the coordinator's runs folder>)`, false);
  }
  if (!fs.existsSync(runsDir)) throw new Refusal(`this worker's runs folder ${runsDir} does not exist on ${host}: is the shared folder mounted here? (--runs-dir)`, true);
  if (!fs.existsSync(j.sweepDir)) throw new Refusal(`the sweep folder ${j.sweepDir} is not there on ${host}: the runs folder must be shared, at the same path, by the coordinator and every worker`, true);
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
 * Train job `j`: the folder first (finished → its result; this trial's checkpoint → resume;
 * else afresh), then the trial on the training thread, which holds the folder for the job.
 */
async function trainJob(job: Job, j: TrialJob, c: Current, x: TrainContext): Promise<TrialOutcome> {
  const { dir, tag } = c;
  const host = os.hostname();
  const cancelKey = cancelKeyOf(sweepKeyOfJob(j));
  if ((await x.rungConn.exists(cancelKey)) === 1) return { status: 'failed', reason: 'cancelled (train sweep cancel) before it started', host };
  const plan = folderPlan(dir, j);
  if ('outcome' in plan) {
    if (plan.outcome.status === 'ok') x.out(`${x.who}: ${tag} is finished in its folder already; nothing trained again`);
    return plan.outcome;
  }
  prepareFolder(dir);
  x.out(`${x.who}: ${tag}: ${plan.resume ? `resuming from its last checkpoint${plan.at}` : 'starting'}`);
  await job.updateProgress({ host, pid: process.pid, epoch: null, lockMs: x.lockMs });
  const backend = x.opts.backend ?? j.config.backend;
  const t = x.threads.threadFor(j.data, backend);
  try {
    await t.ready;
  } catch (e) {
    if (t.unfit !== null) throw new Refusal(`it cannot prepare the data on ${host}: ${t.unfit}`, true);
    throw e;
  }
  if (c.lost) return { status: 'failed', reason: `lost the job's lock before training: ${c.lost}`, host };
  c.cell = t.cell;
  const cfg: Config = { ...j.config, backend, dataDir: x.hostKeys.dataDir, runsDir: x.hostKeys.runsDir };
  const msg: ToWorker = { index: j.index, dir, config: cfg, resume: plan.resume, scheduled: j.scheduler !== null, claim: `job ${job.id}`, clear: !plan.resume };
  const stopWatch = watchCancel(cancelKey, t, c, x);
  try {
    return await runOnThread(t, msg, { job, j, rungs: new RedisRungStore(x.rungConn, j.rungs), epochs: epochsOf(j.config, t.numTrain), host, lockMs: x.lockMs });
  } finally {
    stopWatch();
  }
}

/** While `t` trains the trial, look for its sweep's cancel key every second: found, the trial stops after its step (resumable). */
function watchCancel(cancelKey: string, t: TrainingThread, c: Current, x: TrainContext): () => void {
  const timer = setInterval(() => {
    void x.rungConn.exists(cancelKey).then(
      (n) => {
        if (n !== 1 || Atomics.load(t.cell, STOP_CELL) === 1) return;
        x.out(`${x.who}: ${c.tag}: the sweep was cancelled: stopping after this step (its last checkpoint resumes it)`);
        Atomics.store(t.cell, STOP_CELL, 1);
      },
      () => {},
    );
  }, 1000);
  return () => clearInterval(timer);
}

/** What the trial's folder says: a result to return as it stands, or whether to resume (and from where). */
function folderPlan(dir: string, j: TrialJob): { outcome: TrialOutcome } | { resume: boolean; at: string } {
  const host = os.hostname();
  const cfgOnDisk = readJsonOrNull(runFile(dir, 'config'));
  const same = cfgOnDisk !== null && typeof cfgOnDisk === 'object' && resultKey(cfgOnDisk as Config) === resultKey(j.config);
  const summary = readJsonOrNull(runFile(dir, 'summary')) as Summary | null;
  const stopped = readJsonOrNull(runFile(dir, 'stopped')) as StoppedInfo | null;
  if (same && summary?.status === 'ok') return { outcome: { status: 'ok', summary, host } };
  if (same && summary?.status === 'diverged') return { outcome: { status: 'diverged', reason: summary.error ?? 'diverged', host } };
  if (same && summary?.status === 'interrupted' && stopped) return { outcome: { status: 'stopped', stopped, host } };
  const hasLast = fs.existsSync(runFile(dir, 'last'));
  if ((summary || hasLast) && !same) return { outcome: { status: 'failed', reason: `${dir} holds another config's results; it is left as it is`, host } };
  if (!(same && hasLast)) return { resume: false, at: '' };
  let at = '';
  try {
    const st = (loadCheckpoint(runFile(dir, 'last')).header as { trainer?: { it?: number; epoch?: number } }).trainer;
    at = ` at step ${st?.it} (epoch ${st?.epoch})`;
  } catch {
    /* the resume itself names a damaged checkpoint */
  }
  return { resume: true, at };
}

/** Post the trial to the training thread and follow it to its end: progress and the scheduler's word after every epoch. */
function runOnThread(t: TrainingThread, msg: ToWorker, x: { job: Job; j: TrialJob; rungs: RedisRungStore; epochs: number; host: string; lockMs: number }): Promise<TrialOutcome> {
  const { job, j, host } = x;
  return new Promise<TrialOutcome>((resolve) => {
    let stopReason: string | null = null;
    t.onGone = (why) => {
      dropRunFolder(msg.dir); // the dead thread's lease
      resolve({ status: 'failed', reason: `worker crashed: ${why}`, host });
    };
    t.onMessage = (m) => {
      if (m.type === 'epoch') {
        void job.updateProgress({ host, pid: process.pid, epoch: m.epoch, valAcc: m.valAcc, lockMs: x.lockMs }).catch(() => {});
        void answerEpoch({ scheduler: j.scheduler ?? undefined, store: x.rungs }, t.cell, j.rel, x.epochs, m).then(
          (r) => (stopReason = r),
          () => {},
        );
        return;
      }
      t.onMessage = null;
      t.onGone = null;
      if (m.type === 'done') resolve({ status: 'ok', summary: m.summary, host });
      else if (m.type === 'stopped') {
        const info = { ...m.stopped, reason: stopReason ?? 'stopped by the scheduler' };
        writeStopped(msg.dir, info);
        resolve({ status: 'stopped', stopped: info, host });
      } else if (m.type === 'failed') resolve({ status: m.diverged ? 'diverged' : 'failed', reason: m.reason, host });
    };
    Atomics.store(t.cell, 0, DECISION.pending);
    Atomics.store(t.cell, STOP_CELL, 0);
    t.thread.postMessage(msg);
  });
}

/**
 * The training threads of this worker process: one at a time, kept for the trials that share its
 * data (DATA_KEYS), its engine threads the host's cores shared among the worker processes on it.
 */
function trainingThreads(opts: WorkerOptions, hostKeys: HostKeys, out: (l: string) => void, who: string) {
  let tt: TrainingThread | null = null;
  const peers = hostWorkers();
  const unregister = peers.register();
  process.once('exit', unregister);
  /** The training thread for `data`: the one running, or a new one that prepares this data. */
  const threadFor = (data: Config, backend: BackendChoice): TrainingThread => {
    const dataCfg: Config = { ...data, ...hostKeys };
    const key = JSON.stringify([backend, ...DATA_KEYS.map((k) => dataCfg[k])]);
    if (tt && tt.key === key && !tt.gone) return tt;
    if (tt && !tt.gone) void tt.thread.terminate();
    const cell = newCells();
    const here = peers.count;
    const threads = opts.threads ?? Math.max(1, Math.floor(os.availableParallelism() / here));
    const thread = startWorker(import.meta.url, 'worker', { dataConfig: dataCfg, backend, threads, decision: cell.buffer });
    const t: TrainingThread = { key, thread, cell, ready: Promise.resolve(), numTrain: 0, unfit: null, onMessage: null, onGone: null, gone: false };
    t.ready = new Promise<void>((resolve, reject) => {
      thread.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          t.numTrain = m.numTrain;
          return resolve();
        }
        t.onMessage?.(m);
      });
      const gone = (why: string) => {
        t.gone = true;
        reject(new Error(why));
        t.onGone?.(why);
      };
      thread.on('error', (e: Error & { aboutHost?: boolean }) => {
        if (e.aboutHost) t.unfit = e.message; // a missing dataset or engine (sweep/worker.ts prepare): this host's fault
        gone(e.message);
      });
      thread.on('exit', (code: number) => gone(`the training thread exited with code ${code}`));
    });
    t.ready.catch(() => {});
    tt = t;
    const why = opts.threads !== undefined ? '--threads' : `${os.availableParallelism()} cores, ${here} worker process${here > 1 ? 'es' : ''} on this host`;
    out(`${who}: preparing ${data.dataset} (train ${data.numTrain}, val ${data.numVal}) on a training thread with ${threads} engine thread${threads > 1 ? 's' : ''} (${why}); kept for the trials that share it`);
    return t;
  };
  return {
    threadFor,
    async close() {
      if (tt && !tt.gone) await tt.thread.terminate();
      unregister();
    },
  };
}
