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
 * "resumed"); anything else of its own → cleared and started afresh.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Worker as Thread } from 'node:worker_threads';
import { Worker, UnrecoverableError, type Job } from 'bullmq';
import { type Config, ConfigError, DEFAULTS } from '../config/config.js';
import type { BackendChoice } from '../linalg/engine.js';
import { startWorker } from '../linalg/worker_threads.js';
import { loadCheckpoint } from '../runs/checkpoint.js';
import { runFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import type { Summary } from '../runs/summary.js';
import { CANCEL_CELL, DECISION, newCells, type FromWorker, type StoppedInfo, type ToWorker } from './protocol.js';
import { cancelKeyOf, connect, parseTrialJob, QUEUE, RedisRungStore, redactUrl, sweepKeyOfJob, type TrialJob, type TrialOutcome } from './queue.js';
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

export { WORKER_LIMITS } from './worker_limits.js';
import { WORKER_LIMITS } from './worker_limits.js';

/** Refuse a worker option beyond its bound, naming it (the CLI reads the flags with the same bounds). */
function checkWorkerOptions(opts: WorkerOptions): void {
  for (const key of ['lockSeconds', 'threads'] as const) {
    const v = opts[key];
    const { min, max } = WORKER_LIMITS[key];
    if (v !== undefined && !(Number.isFinite(v) && v >= min && v <= max && (key !== 'threads' || Number.isInteger(v)))) {
      throw new ConfigError(`worker option ${key} = ${v} is not allowed: expected ${key === 'threads' ? 'a whole number' : 'a number'} ≥ ${min} and ≤ ${max}`);
    }
  }
}

/** The keys that decide how the data is prepared: trials that agree on them share one copy. */
const DATA_KEYS: (keyof Config)[] = ['dataset', 'dataDir', 'numTrain', 'numVal', 'numTest', 'numDev', 'model', 'scale', 'features', 'hueBins', 'seed', 'verify'];

interface TrainingThread {
  key: string;
  thread: Thread;
  cell: Int32Array;
  ready: Promise<void>;
  numTrain: number;
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

/** Why a worker stopped a trial whose job it no longer holds. */
const LOCK_LOST = "its job's lock could not be renewed (Redis lost the job, or this worker stalled past --lock-seconds), so the job is no longer this worker's";

export async function runQueueWorker(opts: WorkerOptions): Promise<{ close(): Promise<void>; done: Promise<never> }> {
  checkWorkerOptions(opts);
  const out = opts.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const who = `${os.hostname()}:${process.pid}`;
  const conn = connect(opts.url, out);
  const rungConn = connect(opts.url, () => {});
  let tt: TrainingThread | null = null;
  const peers = hostWorkers();
  const unregister = peers.register();
  process.once('exit', unregister);

  /** The training thread for `data`: the one running, or a new one that prepares this data. */
  const threadFor = (data: Config, backend: BackendChoice): TrainingThread => {
    const dataCfg: Config = { ...data, ...ownHostKeys };
    const key = JSON.stringify([backend, ...DATA_KEYS.map((k) => dataCfg[k])]);
    if (tt && tt.key === key && !tt.gone) return tt;
    if (tt && !tt.gone) void tt.thread.terminate();
    const cell = newCells();
    const here = peers.count;
    const threads = opts.threads ?? Math.max(1, Math.floor(os.availableParallelism() / here));
    const thread = startWorker(import.meta.url, 'worker', { dataConfig: dataCfg, backend, threads, decision: cell.buffer });
    const t: TrainingThread = { key, thread, cell, ready: Promise.resolve(), numTrain: 0, onMessage: null, onGone: null, gone: false };
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
      thread.on('error', (e: Error) => gone(e.message));
      thread.on('exit', (code: number) => gone(`the training thread exited with code ${code}`));
    });
    t.ready.catch(() => {});
    tt = t;
    const why = opts.threads !== undefined ? '--threads' : `${os.availableParallelism()} cores, ${here} worker process${here > 1 ? 'es' : ''} on this host`;
    out(`${who}: preparing ${data.dataset} (train ${data.numTrain}, val ${data.numVal}) on a training thread with ${threads} engine thread${threads > 1 ? 's' : ''} (${why}); kept for the trials that share it`);
    return t;
  };

  const runsDir = path.resolve(opts.runsDir ?? 'runs');
  /** This worker's own data location, hash check and runs folder: put into every trial it takes. */
  const ownHostKeys = { dataDir: opts.dataDir ?? DEFAULTS.dataDir, verify: opts.verify ?? DEFAULTS.verify, runsDir };
  /** Why this worker refuses to write into `sweepDir`, or null: it must lie inside the runs folder, symbolic links resolved. */
  const outsideRuns = (sweepDir: string): string | null => {
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
    const root = real(runsDir);
    const rel = path.relative(root, real(sweepDir));
    if (rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)) return null;
    return `its sweep folder ${sweepDir} is not inside this worker's runs folder ${runsDir} (a worker writes only there; start it with --runs-dir <the coordinator's runs folder>)`;
  };

  const lockMs = Math.round((opts.lockSeconds ?? 30) * 1000);
  /**
   * The trial in flight. When its job's lock cannot be renewed (Redis lost the job, or this
   * worker stalled past its lock), the job is no longer this worker's: the training thread is
   * stopped at once, and the trial carries on from its last checkpoint wherever the job runs next.
   */
  let inFlight: { id: string; tag: string; thread: Thread } | null = null;
  const lockLost = new Set<string>();
  const stopLostTrial = (ids: string[]) => {
    const f = inFlight;
    if (!f || !ids.includes(f.id)) return;
    lockLost.add(f.id);
    out(`${who}: ${f.tag}: ${LOCK_LOST}; stopped training it at once`);
    void f.thread.terminate();
  };

  /** While `t` trains a trial, look for its sweep's cancel key every second: found, the trial stops after its step (resumable). */
  const watchCancel = (cancelKey: string, t: TrainingThread, tag: string) => {
    const trial = t.onMessage; // this trial's handler: another (or none) once it ended
    const timer = setInterval(() => {
      if (t.onMessage !== trial || t.gone) return clearInterval(timer);
      void rungConn.exists(cancelKey).then((n) => {
        if (n !== 1 || Atomics.load(t.cell, CANCEL_CELL) === 1) return;
        out(`${who}: ${tag}: the sweep was cancelled: stopping after this step (its last checkpoint resumes it)`);
        Atomics.store(t.cell, CANCEL_CELL, 1);
      }, () => {});
    }, 1000);
  };

  const train = async (job: Job, j: TrialJob): Promise<TrialOutcome> => {
    const dir = path.join(j.sweepDir, j.rel);
    const host = os.hostname();
    const tag = `trial ${j.index} of sweep ${j.sweep} (${path.basename(j.rel)})`;
    if (!fs.existsSync(j.sweepDir)) {
      return { status: 'failed', reason: `the sweep folder ${j.sweepDir} is not there on ${host}: the runs folder must be shared, at the same path, by the coordinator and every worker`, host };
    }
    const cancelKey = cancelKeyOf(sweepKeyOfJob(j));
    if ((await rungConn.exists(cancelKey)) === 1) return { status: 'failed', reason: 'cancelled (train sweep cancel) before it started', host };
    // The folder first: finished → its result; this trial's checkpoint → resume; else afresh.
    const key = resultKey(j.config);
    const cfgOnDisk = readJsonOrNull(runFile(dir, 'config'));
    const same = cfgOnDisk !== null && typeof cfgOnDisk === 'object' && resultKey(cfgOnDisk as Config) === key;
    const summary = readJsonOrNull(runFile(dir, 'summary')) as Summary | null;
    const stopped = readJsonOrNull(runFile(dir, 'stopped')) as StoppedInfo | null;
    if (same && summary?.status === 'ok') {
      out(`${who}: ${tag} is finished in its folder already; nothing trained again`);
      return { status: 'ok', summary, host };
    }
    if (same && summary?.status === 'diverged') return { status: 'diverged', reason: summary.error ?? 'diverged', host };
    if (same && summary?.status === 'interrupted' && stopped) return { status: 'stopped', stopped, host };
    const hasLast = fs.existsSync(runFile(dir, 'last'));
    if ((summary || hasLast) && !same) return { status: 'failed', reason: `${dir} holds another config's results; it is left as it is`, host };
    const resume = same && hasLast;
    if (!resume) prepareFolder(dir, fs.existsSync(dir));
    if (resume) {
      let at = '';
      try {
        const st = (loadCheckpoint(runFile(dir, 'last')).header as { trainer?: { it?: number; epoch?: number } }).trainer;
        at = ` at step ${st?.it} (epoch ${st?.epoch})`;
      } catch {
        /* the resume itself names a damaged checkpoint */
      }
      out(`${who}: ${tag}: resuming from its last checkpoint${at}`);
    } else out(`${who}: ${tag}: starting`);
    await job.updateProgress({ host, pid: process.pid, epoch: null, lockMs });

    const backend = opts.backend ?? j.config.backend;
    const t = threadFor(j.data, backend);
    await t.ready;
    const rungs = new RedisRungStore(rungConn, j.rungs);
    const epochs = epochsOf(j.config, t.numTrain);
    const cfg: Config = { ...j.config, backend, dataDir: ownHostKeys.dataDir, runsDir };
    return new Promise<TrialOutcome>((resolve) => {
      let stopReason: string | null = null;
      t.onGone = (why) => resolve({ status: 'failed', reason: lockLost.has(String(job.id)) ? `${LOCK_LOST}` : `worker crashed: ${why}`, host });
      inFlight = { id: String(job.id), tag, thread: t.thread };
      t.onMessage = (m) => {
        if (m.type === 'epoch') {
          void job.updateProgress({ host, pid: process.pid, epoch: m.epoch, valAcc: m.valAcc, lockMs }).catch(() => {});
          void answerEpoch({ scheduler: j.scheduler ?? undefined, store: rungs }, t.cell, j.rel, epochs, m).then(
            (r) => (stopReason = r),
            () => {},
          );
          return;
        }
        t.onMessage = null;
        t.onGone = null;
        inFlight = null;
        if (m.type === 'done') resolve({ status: 'ok', summary: m.summary, host });
        else if (m.type === 'stopped') {
          const info = { ...m.stopped, reason: stopReason ?? 'stopped by the scheduler' };
          writeStopped(dir, info);
          resolve({ status: 'stopped', stopped: info, host });
        } else if (m.type === 'failed') resolve({ status: m.diverged ? 'diverged' : 'failed', reason: m.reason, host });
      };
      Atomics.store(t.cell, 0, DECISION.pending);
      Atomics.store(t.cell, CANCEL_CELL, 0);
      watchCancel(cancelKey, t, tag);
      t.thread.postMessage({ index: j.index, dir, config: cfg, resume, scheduled: j.scheduler !== null } satisfies ToWorker);
    });
  };

  const worker = new Worker(
    QUEUE,
    async (job: Job) => {
      let j: TrialJob;
      try {
        j = parseTrialJob(job.data);
        const outside = outsideRuns(j.sweepDir);
        if (outside) throw new Error(outside);
      } catch (e) {
        const why = `job ${job.id} refused: ${e instanceof Error ? e.message : String(e)}`;
        out(`${who}: ${why}`);
        throw new UnrecoverableError(why);
      }
      const r = await train(job, j);
      const shown = r.status === 'ok' ? `val ${r.summary.bestValAcc?.toFixed(3)}` : r.status === 'stopped' ? `stopped after epoch ${r.stopped.lastEpoch}` : `${r.status}: ${r.reason}`;
      out(`${who}: trial ${j.index} of sweep ${j.sweep}: ${shown}`);
      return r;
    },
    { connection: conn, concurrency: 1, lockDuration: lockMs, stalledInterval: Math.max(500, Math.round(lockMs / 2)), maxStalledCount: 5 },
  );
  worker.on('error', () => {}); // the connection's handler reports Redis errors, without the password
  worker.on('lockRenewalFailed', (ids: string[]) => stopLostTrial(ids));
  out(`${who}: worker on the queue ${QUEUE} at ${redactUrl(opts.url)}, writing under ${runsDir}`);
  const close = async () => {
    await worker.close(true).catch(() => {});
    if (tt && !tt.gone) await tt.thread.terminate();
    conn.disconnect();
    rungConn.disconnect();
    unregister();
  };
  // A permanent connection error (connection.ts) ends the worker with its reason.
  const done = conn.fatal.catch(async (e: unknown) => {
    await close();
    throw e;
  });
  return { close, done };
}
