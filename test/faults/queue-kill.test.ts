/**
 * Faults of a sweep on the queue, end to end: 8 short MNIST MLP trials, a real redis-server (AOF
 * on), 3 `train worker` processes and a coordinator process of the built CLI. Mid-sweep one
 * worker is SIGKILLed in the middle of a trial (after its epoch-2 checkpoint), Redis is stopped
 * and started again, and the coordinator is SIGKILLed and started again. Then: every trial
 * finished exactly once (one "summary" in its train.log), the killed trial resumed from its
 * checkpoint on another worker (its log says so), every trial's numbers equal the same sweep run
 * locally bit for bit, and no job (nor scheduler rung) is left in Redis.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { SweepResults } from '../../src/runs/results.js';
import { runSweep } from '../../src/sweep/sweep.js';
import { QUEUE } from '../../src/sweep/queue.js';
import { E2E_BACKEND } from '../helpers.js';
import { startRedis, type RedisServer, NO_REDIS } from '../queue-redis.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'train.js');
const EPOCHS = 6;
const BASE = {
  dataset: 'mnist',
  model: 'mlp',
  hidden: [100],
  numTrain: 2000,
  numVal: 300,
  numTest: 300,
  numDev: 50,
  epochs: EPOCHS,
  batchSize: 50,
  lrDecay: 0.95,
  initStd: 0.01,
  backend: E2E_BACKEND,
};
const SPEC = { name: 'q-faults', grid: { lr: [0.02, 0.05, 0.1, 0.2], reg: [1e-4, 1e-2] } };

const procs: ChildProcess[] = [];
const dirs: string[] = [];
let redis: RedisServer | null = null;
after(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await redis?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function spawnLogged(args: string[]): { proc: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let text = '';
  proc.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, log: () => text, exited };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
const finishedCount = (sweepDir: string): number => {
  try {
    return readJson<SweepResults>(path.join(sweepDir, 'results.json')).trials.length;
  } catch {
    return 0;
  }
};
const logMessages = (f: string): string[] =>
  fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { msg: string }).msg);

test(
  'a queued sweep survives a SIGKILLed worker, a Redis restart and a restarted coordinator: every trial once, resumed from its checkpoint, bit for bit the local numbers',
  { skip: NO_REDIS, timeout: 240_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-faults-'));
    dirs.push(dir);
    const write = (name: string, runs: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify({ ...SPEC, base: { ...BASE, runsDir: runs } }));
      return f;
    };
    const local = await runSweep({ file: write('local.json', path.join(dir, 'local')), flags: {}, workers: 2, out: () => {} });
    assert.ok(local.trials.every((t) => t.status === 'ok'));

    redis = await startRedis();
    const url = redis.url;
    const file = write('sweep.json', path.join(dir, 'queue'));
    const sweepDir = path.join(dir, 'queue', 'sweep-q-faults');
    const workers = [0, 1, 2].map(() => spawnLogged(['worker', '--queue', url, '--lock-seconds', '4', '--threads', '1', '--runs-dir', path.join(dir, 'queue')]));
    let coord = spawnLogged(['sweep', '--config', file, '--queue', url]);
    const firstCoord = coord;

    const conn = new Redis(url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    conn.on('error', () => {});
    const q = new Queue(QUEUE, { connection: conn });
    q.on('error', () => {});
    let killed: { pid: number; jobId: string; epoch: number } | null = null;
    let redisRestarted = false;
    let coordRestarted = false;
    const t0 = Date.now();
    while (!(killed && redisRestarted && coordRestarted)) {
      assert.ok(Date.now() - t0 < 180_000, 'the faults were not all injected within 3 minutes');
      assert.ok(coord.proc.exitCode === null, `the coordinator ended before the faults were injected:\n${coord.log()}`);
      if (!killed) {
        // A worker in the middle of a trial, past its epoch-2 checkpoint.
        const active = await q.getJobs(['active']).catch(() => []);
        const pids = new Set(workers.map((w) => w.proc.pid));
        const j = active.find((a) => {
          const p = a.progress as { pid?: number; epoch?: number } | undefined;
          return p && typeof p.epoch === 'number' && p.epoch >= 2 && p.epoch < EPOCHS - 1 && pids.has(p.pid!);
        });
        if (j) {
          const p = j.progress as { pid: number; epoch: number };
          process.kill(p.pid, 'SIGKILL');
          killed = { pid: p.pid, jobId: j.id!, epoch: p.epoch };
        }
      } else if (!redisRestarted && finishedCount(sweepDir) >= 2) {
        await redis.restart();
        redisRestarted = true;
      } else if (redisRestarted && !coordRestarted && finishedCount(sweepDir) >= 4) {
        coord.proc.kill('SIGKILL');
        await coord.exited;
        coord = spawnLogged(['sweep', '--config', file, '--queue', url]);
        coordRestarted = true;
      }
      await sleep(50);
    }
    const code = await coord.exited;
    assert.equal(code, 0, coord.log());
    assert.equal(firstCoord.proc.signalCode, 'SIGKILL');
    assert.match(coord.log(), /finished earlier and are kept/);

    const results = readJson<SweepResults>(path.join(sweepDir, 'results.json'));
    assert.equal(results.trials.length, 8);
    assert.ok(results.best && results.best.testAcc !== null);
    const logs = workers.map((w) => w.log()).join('\n');
    for (const t of results.trials) {
      const l = local.trials.find((x) => x.index === t.index)!;
      assert.equal(t.status, 'ok', `trial ${t.index}: ${t.reason}`);
      assert.equal(t.valAcc, l.valAcc, `trial ${t.index} val accuracy`);
      assert.equal(t.trainAcc, l.trainAcc, `trial ${t.index} train accuracy`);
      const a = readJson<{ finalLoss: number; finalValAcc: number }>(path.join(sweepDir, t.dir, 'summary.json'));
      const b = readJson<{ finalLoss: number; finalValAcc: number }>(path.join(local.folder, l.dir, 'summary.json'));
      assert.equal(a.finalLoss, b.finalLoss, `trial ${t.index} final loss`);
      assert.equal(a.finalValAcc, b.finalValAcc, `trial ${t.index} final val accuracy`);
      // Trained to the end exactly once.
      const msgs = logMessages(path.join(sweepDir, t.dir, 'train.log'));
      assert.equal(msgs.filter((m) => m === 'summary').length, 1, `trial ${t.index}: ${msgs.join(', ')}`);
    }
    // The killed worker's trial: taken by another worker, resumed from its last checkpoint.
    const trialName = killed!.jobId.split('.').at(-1)!;
    const resumedLine = new RegExp(`\\(${trialName}\\): resuming from its last checkpoint at step \\d+ \\(epoch [2-${EPOCHS - 1}]\\)`);
    assert.match(logs, resumedLine, logs);
    const msgs = logMessages(path.join(sweepDir, 'trials', trialName, 'train.log'));
    assert.ok(msgs.includes('resumed'), msgs.join(', '));

    // Nothing left in Redis: no job of any state, no scheduler rung.
    const counts = await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children');
    assert.deepEqual(
      Object.entries(counts).filter(([, n]) => n > 0),
      [],
    );
    assert.deepEqual(await conn.keys('tsnn:rungs:*'), []);
    await q.close();
    conn.disconnect();
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGTERM');
  },
);

// ---- Redis restarted EMPTY mid-sweep (issue 24, defect 5): no AOF, a fresh data folder. --------
// The coordinator finds its jobs gone and enqueues them again; a job it saw running comes back
// after its worker's lock time, by which that worker has found its lock gone and stopped.

/** The rows of a trial's metrics.jsonl: iteration steps and epochs, each counted. */
function metricRows(file: string): { iters: number[]; epochs: number[] } {
  const rows = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; it: number; epoch: number });
  return { iters: rows.filter((r) => r.type === 'iter').map((r) => r.it), epochs: rows.filter((r) => r.type === 'epoch').map((r) => r.epoch) };
}

test(
  'Redis restarted empty (no AOF) mid-sweep: the coordinator enqueues its vanished jobs again; every trial once (one row per step and per epoch, one summary), bit for bit the local numbers',
  { skip: NO_REDIS, timeout: 300_000 },
  async () => {
    const spec = { name: 'q-empty', grid: { lr: [0.02, 0.05, 0.1], reg: [1e-4, 1e-2] } };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-empty-'));
    dirs.push(dir);
    const write = (name: string, runs: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify({ ...spec, base: { ...BASE, runsDir: runs } }));
      return f;
    };
    const local = await runSweep({ file: write('local.json', path.join(dir, 'local')), flags: {}, workers: 2, out: () => {} });
    assert.ok(local.trials.every((t) => t.status === 'ok'));

    const server = await startRedis({ aof: false });
    try {
      const file = write('sweep.json', path.join(dir, 'queue'));
      const sweepDir = path.join(dir, 'queue', 'sweep-q-empty');
      const workers = [0, 1, 2].map(() => spawnLogged(['worker', '--queue', server.url, '--lock-seconds', '4', '--threads', '1', '--runs-dir', path.join(dir, 'queue')]));
      const coord = spawnLogged(['sweep', '--config', file, '--queue', server.url]);
      const conn = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
      conn.on('error', () => {});
      const q = new Queue(QUEUE, { connection: conn });
      q.on('error', () => {});
      // Mid-sweep: a trial finished, and a worker in the middle of another one.
      const t0 = Date.now();
      for (;;) {
        assert.ok(Date.now() - t0 < 180_000, `no trial finished with another in flight within 3 minutes:\n${coord.log()}`);
        assert.ok(coord.proc.exitCode === null, `the coordinator ended before the restart:\n${coord.log()}`);
        const active = await q.getJobs(['active']).catch(() => []);
        if (finishedCount(sweepDir) >= 1 && active.some((a) => ((a.progress as { epoch?: number } | undefined)?.epoch ?? 0) >= 1)) break;
        await sleep(50);
      }
      await server.restartEmpty(); // its clients (workers, coordinator) reconnect at once and may write again: nothing to count here
      const code = await Promise.race([coord.exited, sleep(150_000).then(() => 'timeout')]);
      assert.equal(code, 0, `the coordinator did not finish after Redis came back empty:\n${coord.log()}`);
      assert.match(coord.log(), /gone from Redis .*enqueued again/);

      const results = readJson<SweepResults>(path.join(sweepDir, 'results.json'));
      assert.equal(results.trials.length, 6);
      for (const t of results.trials) {
        const l = local.trials.find((x) => x.index === t.index)!;
        assert.equal(t.status, 'ok', `trial ${t.index}: ${t.reason}`);
        assert.equal(t.valAcc, l.valAcc, `trial ${t.index} val accuracy`);
        assert.equal(t.trainAcc, l.trainAcc, `trial ${t.index} train accuracy`);
        const a = readJson<{ finalLoss: number; finalValAcc: number; iterations: number }>(path.join(sweepDir, t.dir, 'summary.json'));
        const b = readJson<{ finalLoss: number; finalValAcc: number; iterations: number }>(path.join(local.folder, l.dir, 'summary.json'));
        assert.equal(a.finalLoss, b.finalLoss, `trial ${t.index} final loss`);
        assert.equal(a.finalValAcc, b.finalValAcc, `trial ${t.index} final val accuracy`);
        // Exactly once: one row per step and per epoch, as the local trial has, and one summary.
        const mine = metricRows(path.join(sweepDir, t.dir, 'metrics.jsonl'));
        const theirs = metricRows(path.join(local.folder, l.dir, 'metrics.jsonl'));
        assert.deepEqual(mine.iters, theirs.iters, `trial ${t.index}: iteration rows`);
        assert.deepEqual(mine.epochs, theirs.epochs, `trial ${t.index}: epoch rows`);
        assert.equal(new Set(mine.iters).size, mine.iters.length, `trial ${t.index}: a step twice`);
        const msgs = logMessages(path.join(sweepDir, t.dir, 'train.log'));
        assert.equal(msgs.filter((m) => m === 'summary').length, 1, `trial ${t.index}: ${msgs.join(', ')}`);
      }
      const counts = await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized', 'waiting-children');
      assert.deepEqual(
        Object.entries(counts).filter(([, n]) => n > 0),
        [],
      );
      await q.close();
      conn.disconnect();
      for (const w of workers) if (w.proc.exitCode === null) w.proc.kill('SIGTERM');
    } finally {
      await server.stop();
    }
  },
);

// ---------------------------------------------------------------------------------------------
// A stalled worker (issue 24, defect 1): SIGSTOPped past its lock mid-trial, so BullMQ hands the
// trial to another worker, which resumes it from its checkpoint; SIGCONTed then. The stalled
// worker must stop that trial at once, write nothing more into its folder, and say so and why.

/** metrics.jsonl's rows without their timings. */
const rowsOf = (dir: string) =>
  fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const { seconds: _s, ...r } = JSON.parse(l) as Record<string, unknown>;
      return r;
    });

test(
  'a worker stalled past its lock (SIGSTOP) while another resumes its trial stops when it wakes (SIGCONT), writing nothing: one row per step and per epoch, one summary, the local numbers bit for bit',
  { skip: NO_REDIS, timeout: 240_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-stall-'));
    dirs.push(dir);
    const spec = { name: 'q-stall', grid: { lr: [0.05, 0.1], reg: [1e-4, 1e-2] } };
    const write = (name: string, runs: string) => {
      const f = path.join(dir, name);
      fs.writeFileSync(f, JSON.stringify({ ...spec, base: { ...BASE, runsDir: runs } }));
      return f;
    };
    const local = await runSweep({ file: write('local.json', path.join(dir, 'local')), flags: {}, workers: 2, out: () => {} });
    const server = await startRedis();
    const conn = new Redis(server.url, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE, { connection: conn });
    try {
      const runs = path.join(dir, 'queue');
      const sweepDir = path.join(runs, 'sweep-q-stall');
      const workers = [0, 1].map(() => spawnLogged(['worker', '--queue', server.url, '--lock-seconds', '3', '--threads', '1', '--runs-dir', runs]));
      const coord = spawnLogged(['sweep', '--config', write('sweep.json', runs), '--queue', server.url]);
      // Stop a worker in the middle of a trial, past its epoch-2 checkpoint.
      let stalled: { w: (typeof workers)[number]; trial: string } | null = null;
      for (const t0 = Date.now(); !stalled; await sleep(50)) {
        assert.ok(Date.now() - t0 < 120_000 && coord.proc.exitCode === null, `no trial to stall:\n${coord.log()}`);
        const j = (await q.getJobs(['active'])).find((a) => {
          const p = a.progress as { pid?: number; epoch?: number } | undefined;
          return typeof p?.epoch === 'number' && p.epoch >= 2 && p.epoch < EPOCHS - 1;
        });
        const w = workers.find((x) => x.proc.pid === (j?.progress as { pid?: number } | undefined)?.pid);
        if (j && w) {
          w.proc.kill('SIGSTOP');
          stalled = { w, trial: j.id!.split('.').at(-1)! };
        }
      }
      // Once the other worker has resumed the trial from its checkpoint, the stalled one wakes up.
      const other = workers.find((x) => x !== stalled!.w)!;
      for (const t0 = Date.now(); !other.log().includes(`(${stalled.trial}): resuming from its last checkpoint`); await sleep(50)) {
        assert.ok(Date.now() - t0 < 60_000, `the trial was not handed to the other worker:\n${other.log()}`);
      }
      stalled.w.proc.kill('SIGCONT');
      assert.equal(await coord.exited, 0, coord.log());

      const results = readJson<SweepResults>(path.join(sweepDir, 'results.json'));
      assert.equal(results.trials.length, 4);
      for (const t of results.trials) {
        const l = local.trials.find((x) => x.index === t.index)!;
        assert.equal(t.status, 'ok', `trial ${t.index}: ${t.reason}`);
        assert.deepEqual([t.valAcc, t.trainAcc], [l.valAcc, l.trainAcc], `trial ${t.index}`);
        const a = readJson<{ finalLoss: number; finalValAcc: number }>(path.join(sweepDir, t.dir, 'summary.json'));
        const b = readJson<{ finalLoss: number; finalValAcc: number }>(path.join(local.folder, l.dir, 'summary.json'));
        assert.deepEqual([a.finalLoss, a.finalValAcc], [b.finalLoss, b.finalValAcc], `trial ${t.index}`);
        // One row per step and per epoch, the local run's rows exactly; one summary.
        assert.deepEqual(rowsOf(path.join(sweepDir, t.dir)), rowsOf(path.join(local.folder, l.dir)), `trial ${t.index}'s metrics.jsonl`);
        const msgs = logMessages(path.join(sweepDir, t.dir, 'train.log'));
        assert.equal(msgs.filter((m) => m === 'summary').length, 1, `trial ${t.index}: ${msgs.join(', ')}`);
      }
      // The stalled worker says that it stopped, and why; it took the trial's lease with it nowhere.
      for (const t0 = Date.now(); !/stopped training/.test(stalled.w.log()) && Date.now() - t0 < 10_000;) await sleep(50);
      assert.match(
        stalled.w.log(),
        new RegExp(
          `\\(${stalled.trial}\\): stopped training: this worker lost the job's lock \\((not renewed for [\\d.]+ s, past its 3 s: this process was stopped or cut off from Redis|Redis no longer holds it for this worker)\\)`,
        ),
        stalled.w.log(),
      );
      assert.ok(!fs.existsSync(path.join(sweepDir, 'trials', stalled.trial, 'run.lease')));
      for (const w of workers) w.proc.kill('SIGTERM');
    } finally {
      await q.close();
      conn.disconnect();
      await server.stop();
    }
  },
);
