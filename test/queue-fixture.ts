/**
 * The setup the queue tests share: one real redis-server per test file (queue-redis.ts; none
 * where NO_REDIS, so those tests skip as before), temporary folders, and processes of the built
 * CLI (`train worker`, `train sweep`, …) whose output collects in a string. `queueFixture(prefix)`
 * registers the file's before and after hooks: the server starts before the first test; after the
 * last, every process still running is SIGKILLed, the server stops and the folders are removed.
 */
import { after, before } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TRAIN_BIN } from './helpers.js';
import { NO_REDIS, startRedis, type RedisServer } from './queue-redis.js';

/** A process of the CLI: its stdout and stderr in `log()`; `exited` resolves with its exit code, or its signal's name; `stop()` sends SIGTERM and waits for the exit. */
export interface Spawned {
  proc: ChildProcess;
  log: () => string;
  exited: Promise<number | string | null>;
  stop: () => Promise<void>;
}

/** A `train worker`'s queue (the fixture's server by default), its lock time in seconds (5 by default), and more flags. */
export interface WorkerOptions {
  url?: string;
  lockSeconds?: number;
  args?: string[];
}

export interface QueueFixture {
  /** The file's redis-server, started before its first test; using it where NO_REDIS is an error. */
  redis: RedisServer;
  /** A new temporary folder, removed after the file's last test. */
  tmp(): string;
  /** `train ...args` with `env` added to this process's environment. */
  cli(args: string[], env?: NodeJS.ProcessEnv): Spawned;
  /** `train worker --queue URL --lock-seconds 5 --threads 1 --runs-dir runsDir ...args`. */
  worker(runsDir: string, opts?: WorkerOptions): Spawned;
  /** A process spawned by the test itself, SIGKILLed after the last test if it still runs. */
  track(proc: ChildProcess): ChildProcess;
}

interface State {
  prefix: string;
  procs: ChildProcess[];
  dirs: string[];
  server: RedisServer | null;
}

/** Neither exited nor ended by a signal. */
export const stillRunning = (p: ChildProcess): boolean => p.exitCode === null && p.signalCode === null;

function started(state: State): RedisServer {
  if (!state.server) throw new Error(`no redis-server was started for this file (${String(NO_REDIS)}): give the test { skip: NO_REDIS }`);
  return state.server;
}

/** The server as a RedisServer whose fields are read when used (it starts in `before`, after the test file has taken the fixture). */
function lateServer(state: State): RedisServer {
  return {
    get port() {
      return started(state).port;
    },
    get url() {
      return started(state).url;
    },
    get dir() {
      return started(state).dir;
    },
    restart: () => started(state).restart(),
    restartEmpty: () => started(state).restartEmpty(),
    stop: () => started(state).stop(),
  };
}

function tmpDir(state: State): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), state.prefix));
  state.dirs.push(d);
  return d;
}

function spawnCli(state: State, args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const proc = spawn(process.execPath, [TRAIN_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  state.procs.push(proc);
  let text = '';
  proc.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | string | null>((resolve) => proc.once('exit', (code, sig) => resolve(code ?? sig)));
  const stop = async () => {
    if (stillRunning(proc)) proc.kill('SIGTERM');
    await exited;
  };
  return { proc, log: () => text, exited, stop };
}

function spawnWorker(state: State, runsDir: string, opts: WorkerOptions = {}): Spawned {
  const url = opts.url ?? started(state).url;
  return spawnCli(state, ['worker', '--queue', url, '--lock-seconds', String(opts.lockSeconds ?? 5), '--threads', '1', '--runs-dir', runsDir, ...(opts.args ?? [])]);
}

async function cleanUp(state: State): Promise<void> {
  for (const p of state.procs) if (stillRunning(p)) p.kill('SIGKILL');
  await state.server?.stop();
  for (const d of state.dirs) fs.rmSync(d, { recursive: true, force: true });
}

/** The fixture of one test file; its temporary folders are named `prefix` and six random characters. Call it once, at the top of the file. */
export function queueFixture(prefix: string): QueueFixture {
  const state: State = { prefix, procs: [], dirs: [], server: null };
  before(async () => {
    if (!NO_REDIS) state.server = await startRedis();
  });
  after(() => cleanUp(state));
  return {
    redis: lateServer(state),
    tmp: () => tmpDir(state),
    cli: (args, env) => spawnCli(state, args, env),
    worker: (runsDir, opts) => spawnWorker(state, runsDir, opts),
    track: (proc) => {
      state.procs.push(proc);
      return proc;
    },
  };
}
