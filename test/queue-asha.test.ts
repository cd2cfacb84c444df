/**
 * Early stopping (sweep/scheduler.ts): the ASHA and median rules on literal numbers, the sweep
 * file's "scheduler" checks, and real sweeps on a small MNIST subset, on the local pool and on the
 * queue (a real redis-server, queue-redis.ts): stopped trials keep their folder and best
 * checkpoint, show as stopped with their last epoch in results and the report, and a rerun keeps
 * them stopped. The live report reloads itself while `live` is in results.json.
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
import { ConfigError } from '../src/config/config.js';
import type { SweepResults } from '../src/runs/results.js';
import { buildSweepReport } from '../src/report/sweep_report.js';
import { ashaRungs, decide, MemoryRungStore, parseScheduler, quantile } from '../src/sweep/scheduler.js';
import { parseSweep } from '../src/sweep/spec.js';
import { runSweep } from '../src/sweep/sweep.js';
import { QUEUE, queueRunner, RedisRungStore } from '../src/sweep/queue.js';
import { E2E_BACKEND } from './helpers.js';
import { startRedis, NO_REDIS } from './queue-redis.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'train.js');
const dirs: string[] = [];
const procs: ChildProcess[] = [];
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('ASHA: rungs at grace·η^k below max; a trial below the (1 − 1/η) quantile of the earlier ones at a rung stops, the first goes on', async () => {
  assert.deepEqual(ashaRungs({ eta: 3, grace: 1, max: null }, 10), [1, 3, 9]);
  assert.deepEqual(ashaRungs({ eta: 3, grace: 1, max: 9 }, 20), [1, 3]);
  assert.deepEqual(ashaRungs({ eta: 2, grace: 2, max: null }, 8), [2, 4]);
  // numpy.percentile([0.1, 0.5, 0.3], 50) = 0.3; ([1, 2, 3, 4], 2/3·100) = 3.0
  assert.equal(quantile([0.1, 0.5, 0.3], 0.5), 0.3);
  assert.equal(quantile([1, 2, 3, 4], 2 / 3), 3);
  const s = parseScheduler({ asha: { eta: 2 } }, 'x');
  const store = new MemoryRungStore();
  // Epoch 1 is a rung (grace 1): a, then b (above a's 0.5: on), then c (0.4 < median of [0.5, 0.6] = 0.55: stop).
  assert.equal((await decide(s, store, 'a', 1, 4, [0.5])).stop, false);
  assert.equal((await decide(s, store, 'b', 1, 4, [0.6])).stop, false);
  const c = await decide(s, store, 'c', 1, 4, [0.4]);
  assert.equal(c.stop, true);
  assert.match(c.reason!, /val 0\.4000 < 0\.5500, the 50th percentile of 2 earlier trials at epoch 1 \(ASHA\)/);
  // Epoch 3 is no rung (rungs 1, 2); the last epoch never stops.
  assert.equal((await decide(s, store, 'c', 3, 4, [0.4, 0.1, 0.1])).stop, false);
  assert.equal((await decide(s, store, 'c', 4, 4, [0.4, 0.1, 0.1, 0.1])).stop, false);
  // Asked again (a trial resumed after a kill), c gets the same answer, judged against the same two.
  assert.equal((await decide(s, store, 'c', 1, 4, [0.4])).stop, true);
  assert.equal((await decide(s, store, 'd', 1, 4, [0.45])).stop, true); // below the median of [0.5, 0.6, 0.4] = 0.5
});

test("the median rule stops a trial whose best is below the median of the earlier trials' mean val at that epoch, once minSamples have reported", async () => {
  const s = parseScheduler({ median: { grace: 2, minSamples: 2 } }, 'x');
  const store = new MemoryRungStore();
  assert.equal((await decide(s, store, 'a', 1, 5, [0.1])).stop, false); // before grace
  assert.equal((await decide(s, store, 'a', 2, 5, [0.4, 0.6])).stop, false); // mean 0.5 recorded
  assert.equal((await decide(s, store, 'b', 2, 5, [0.2, 0.2])).stop, false); // one earlier sample: too few
  const c = await decide(s, store, 'c', 2, 5, [0.3, 0.34]); // best 0.34 < median(0.5, 0.2) = 0.35
  assert.equal(c.stop, true);
  assert.match(c.reason!, /best val 0\.3400 < 0\.3500, the median of 2 earlier trials' mean val at epoch 2/);
  assert.equal((await decide(s, store, 'd', 2, 5, [0.1, 0.36])).stop, false);
});

test("the sweep file's scheduler is checked, naming what was given and what works", () => {
  const bad = (v: unknown, re: RegExp) =>
    assert.throws(
      () => parseSweep({ name: 's', grid: { lr: [1] }, scheduler: v }, 'f.json'),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
    );
  bad({ hyperband: {} }, /unknown scheduler "hyperband"; use \{"asha"/);
  bad({ asha: { eta: 1 } }, /scheduler\.asha\.eta = 1 must be an integer ≥ 2/);
  bad({ asha: { grace: 3, max: 2 } }, /max = 2 is below grace = 3/);
  bad({ asha: { rf: 3 } }, /scheduler\.asha has no key "rf" \(it takes eta, grace, max\)/);
  bad('asha', /scheduler = "asha" is not one of/);
  assert.deepEqual(parseSweep({ name: 's', grid: { lr: [1] }, scheduler: { asha: {} } }, 'f.json').scheduler, { asha: { eta: 4, grace: 1, max: null } });
});

/** 8 trials over a wide lr range, 4 epochs each: ASHA with η 2 stops some at epoch 1 or 2. */
function ashaSweep(dir: string, runs: string): string {
  const f = path.join(dir, `${path.basename(runs)}.json`);
  const base = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 4, batchSize: 100, backend: E2E_BACKEND, runsDir: runs };
  fs.writeFileSync(f, JSON.stringify({ name: 'asha', base, random: { trials: 8, seed: 3, lr: { logUniform: [1e-4, 1] } }, scheduler: { asha: { eta: 2, grace: 1 } } }));
  return f;
}

function checkStopped(r: SweepResults): void {
  const stopped = r.trials.filter((t) => t.status === 'stopped');
  assert.ok(stopped.length >= 2 && stopped.length <= 6, `stopped ${stopped.length} of 8`);
  assert.equal(r.trials.filter((t) => t.status === 'ok').length + stopped.length, 8);
  assert.equal(r.scheduler, 'ASHA (η 2, grace 1 epochs)');
  for (const t of stopped) {
    assert.ok(t.lastEpoch === 1 || t.lastEpoch === 2, `trial ${t.index} stopped after epoch ${t.lastEpoch}`);
    assert.match(t.reason!, new RegExp(`^after epoch ${t.lastEpoch}: val 0\\.\\d{4} < 0\\.\\d{4}, the 50th percentile of \\d+ earlier trials at epoch ${t.lastEpoch} \\(ASHA\\)$`));
    const d = path.join(r.folder, t.dir);
    for (const f of ['best.ckpt', 'last.ckpt', 'stopped.json', 'summary.json', 'config.json']) assert.ok(fs.existsSync(path.join(d, f)), `${t.dir}/${f}`);
    const epochs = fs
      .readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"type":"epoch"'));
    assert.equal(epochs.length, t.lastEpoch);
    assert.ok(t.valAcc !== null && t.bestEpoch !== null && t.bestEpoch <= t.lastEpoch!);
  }
  for (const t of r.trials.filter((x) => x.status === 'ok')) assert.equal(t.lastEpoch, 4);
  const csv = fs.readFileSync(path.join(r.folder, 'results.csv'), 'utf8').split('\n');
  assert.ok(csv[0].endsWith(',reason,last_epoch'), csv[0]);
  const html = fs.readFileSync(path.join(r.folder, 'report.html'), 'utf8');
  assert.match(html, new RegExp(`${8 - stopped.length} finished, ${stopped.length} stopped`));
  assert.match(html, />stopped: after epoch [12]: val /);
  assert.ok(!html.includes('http-equiv="refresh"'), "a finished sweep's report does not reload");
}

test('ASHA on the local pool: stopped trials keep folder and best checkpoint, show as stopped with their last epoch, and stay stopped on a rerun', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asha-'));
  dirs.push(dir);
  const file = ashaSweep(dir, path.join(dir, 'runs'));
  const r = await runSweep({ file, flags: {}, workers: 2, out: () => {} });
  checkStopped(r);
  const lines: string[] = [];
  const again = await runSweep({ file, flags: {}, workers: 2, out: (l) => lines.push(l) });
  assert.equal(again.trialsRun, 0);
  assert.ok(lines.includes('8 finished earlier and are kept; 0 to run'), lines.join('\n'));
  assert.deepEqual(
    again.trials.map((t) => [t.status, t.lastEpoch, t.valAcc]),
    r.trials.map((t) => [t.status, t.lastEpoch, t.valAcc]),
  );

  // The live report: while results.json has `live`, the page lists what runs and reloads itself.
  const res = JSON.parse(fs.readFileSync(path.join(r.folder, 'results.json'), 'utf8')) as SweepResults;
  res.live = { running: [{ index: 2, host: 'hostA', epoch: 1 }], queued: [7, 8] };
  fs.writeFileSync(path.join(r.folder, 'results.json'), JSON.stringify(res));
  const html = fs.readFileSync(await buildSweepReport(r.folder), 'utf8');
  assert.match(html, /<meta http-equiv="refresh" content="5">/);
  assert.match(html, /<td class="num">2<\/td><td>running<\/td><td>hostA<\/td><td class="num">1<\/td>/);
  assert.match(html, /Queued: 2 trials \(7, 8\)/);
  assert.match(html, /1 running, 2 queued/);
});

test('ASHA on the queue: two worker processes share the rungs in Redis; stopped trials recorded as on the local pool; no rung left', { skip: NO_REDIS }, async () => {
  const redis = await startRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asha-q-'));
  dirs.push(dir);
  try {
    const ws = [0, 1].map(() => {
      const p = spawn(process.execPath, [bin, 'worker', '--queue', redis.url, '--lock-seconds', '5', '--threads', '1', '--runs-dir', path.join(dir, 'queue')], { stdio: 'ignore' });
      procs.push(p);
      return p;
    });
    const r = await runSweep({ file: ashaSweep(dir, path.join(dir, 'queue')), flags: {}, runner: queueRunner(redis.url), out: () => {} });
    checkStopped(r);
    const conn = new Redis(redis.url);
    assert.deepEqual(await conn.keys('tsnn:rungs:*'), []);
    conn.disconnect();
    for (const p of ws) p.kill('SIGTERM');
  } finally {
    await redis.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// ASHA holds on resumed trials (issue 24, defect 3): a trial resumed on another worker takes its
// val history from its folder, so the scheduler judges it as the local pool does.

/** 6 MLP trials of 4 epochs, ASHA η 2: on one worker, in order, the last one goes on at epoch 1 and stops at epoch 2. */
function ashaKillSweep(dir: string, runs: string): string {
  const f = path.join(dir, `${path.basename(runs)}.json`);
  const base = { dataset: 'mnist', model: 'mlp', hidden: [100], numTrain: 3000, numVal: 300, numTest: 300, numDev: 50, epochs: 4, batchSize: 50, backend: E2E_BACKEND, runsDir: runs };
  fs.writeFileSync(f, JSON.stringify({ name: 'asha-kill', base, random: { trials: 6, seed: 2, lr: { logUniform: [1e-3, 1] } }, scheduler: { asha: { eta: 2, grace: 1 } } }));
  return f;
}

test(
  'ASHA on the queue with a worker killed mid-trial: the trial resumed on another worker is stopped at the same epoch as on the local pool, and every rung holds numbers only',
  { skip: NO_REDIS, timeout: 400_000 },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asha-kill-'));
    dirs.push(dir);
    const local = await runSweep({ file: ashaKillSweep(dir, path.join(dir, 'local')), flags: {}, workers: 1, out: () => {} });
    const last = local.trials.at(-1)!;
    assert.deepEqual([last.status, last.lastEpoch], ['stopped', 2], 'the sweep this test needs: its last trial stops at epoch 2');
    const redis = await startRedis();
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const q = new Queue(QUEUE, { connection: conn });
    const startWorker = () => {
      const p = spawn(process.execPath, [bin, 'worker', '--queue', redis.url, '--lock-seconds', '3', '--threads', '1', '--runs-dir', path.join(dir, 'queue')], { stdio: 'ignore' });
      procs.push(p);
      return p;
    };
    try {
      const first = startWorker();
      let done = false;
      const sweep = runSweep({ file: ashaKillSweep(dir, path.join(dir, 'queue')), flags: {}, runner: queueRunner(redis.url), out: () => {} }).finally(() => (done = true));
      // Every value any rung held while the sweep ran.
      const seen = new Set<string>();
      let killed = false;
      while (!done) {
        for (const k of await conn.keys('tsnn:rungs:*')) for (const e of await conn.lrange(k, 0, -1)) seen.add(e.slice(e.indexOf('\t') + 1));
        if (!killed) {
          // The last trial, after its epoch-1 checkpoint (or its epoch-2 one, whose rung's word the resumed trial asks again): its worker is killed, another takes it on.
          const j = (await q.getJobs(['active'])).find((a) => (a.data as { index?: number }).index === 6 && ((a.progress as { epoch?: number } | undefined)?.epoch ?? 0) >= 1);
          if (j) {
            first.kill('SIGKILL');
            killed = true;
            startWorker();
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await sweep;
      assert.ok(killed, 'the worker was killed mid-trial');
      assert.deepEqual(
        r.trials.map((t) => [t.index, t.status, t.lastEpoch, t.valAcc]),
        local.trials.map((t) => [t.index, t.status, t.lastEpoch, t.valAcc]),
      );
      const resumed = fs.readFileSync(path.join(r.folder, r.trials.at(-1)!.dir, 'train.log'), 'utf8');
      assert.match(resumed, /"msg":"resumed"/);
      assert.ok(seen.size > 0, 'the rungs were seen');
      for (const v of seen) assert.match(v, /^0\.\d+$|^[01]$/, `a rung held ${v}`);
    } finally {
      await q.close();
      conn.disconnect();
      await redis.stop();
    }
  },
);

test('a rung store refuses a value that is not a finite number, and reads none back', { skip: NO_REDIS }, async () => {
  assert.throws(() => new MemoryRungStore().record(1, 'a', undefined as unknown as number), /the scheduler was given undefined for a at epoch 1, not a number: nothing is recorded/);
  assert.throws(() => new MemoryRungStore().record(1, 'a', NaN), /given NaN/);
  const redis = await startRedis();
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  try {
    const store = new RedisRungStore(conn, 'tsnn:rungs:t');
    await assert.rejects(store.record(1, 'a', undefined as unknown as number), /given undefined/);
    await assert.rejects(store.record(1, 'a', Infinity), /given Infinity/);
    assert.deepEqual(await conn.lrange('tsnn:rungs:t:1', 0, -1), []);
    // What an older worker may have left there ("undefined", read back as NaN) is no number: left out.
    await conn.rpush('tsnn:rungs:t:1', 'b\t0.5', 'c\tundefined', 'd\t0.25');
    assert.deepEqual(await store.record(1, 'e', 0.4), [0.5, 0.25]);
  } finally {
    conn.disconnect();
    await redis.stop();
  }
});
