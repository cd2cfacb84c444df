/**
 * Retries (the sweep file's "retries"): a failure of the host, a training thread killed on the
 * local pool or a worker process SIGKILLed on the queue (a real redis-server, `train worker`
 * processes of the built CLI), is tried again up to the sweep's count and then fails the trial
 * with its reason and its number of attempts; the other trials finish. A trial's own divergence
 * is never retried.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { SweepResults } from '../src/runs/results.js';
import { poolHooks } from '../src/sweep/pool.js';
import { QUEUE, queueRunner } from '../src/sweep/queue.js';
import { runSweep } from '../src/sweep/sweep.js';
import { E2E_BACKEND } from './helpers.js';
import { queueFixture, stillRunning } from './queue-fixture.js';
import { NO_REDIS } from './queue-redis.js';

/** A tiny MNIST softmax run: 3 epochs of 10 steps on 1000 rows, a checkpoint after each. */
const BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 30, batchSize: 100, backend: E2E_BACKEND };
const LIST = [
  { lr: 1e-3, reg: 0 },
  { lr: 2e-3, reg: 0 },
  { lr: 3e-3, reg: 0 },
];

const { redis, tmp, worker } = queueFixture('sweep-retry-');

function writeSweep(dir: string, name: string, extra: object, base: object = {}): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ name, base: { ...BASE, ...base, runsDir: path.join(dir, 'runs') }, list: LIST, ...extra }));
  return file;
}

/** A local sweep on 1 worker; `kill(index, epoch, attempt)` says whether to end the thread training that trial at that epoch. Returns the results, lines and attempts per trial. */
async function localSweep(name: string, extra: object, kill: (index: number, epoch: number, attempt: number) => boolean, list: object[] = LIST) {
  const dir = tmp();
  const file = writeSweep(dir, name, { ...extra, list });
  const attempts = new Map<number, number>();
  poolHooks.attempt = (index, n) => attempts.set(index, n);
  poolHooks.epoch = (index, epoch, end) => {
    if (kill(index, epoch, attempts.get(index) ?? 0)) end();
  };
  const lines: string[] = [];
  try {
    const results = await runSweep({ file, flags: {}, workers: 1, out: (l) => lines.push(l) });
    return { results, lines, attempts, sweepDir: path.join(dir, 'runs', `sweep-${name}`) };
  } finally {
    delete poolHooks.attempt;
    delete poolHooks.epoch;
  }
}

test('local pool: a trial whose thread is killed on every attempt is retried, then failed with the reason and its attempts; the rest finish', async () => {
  const { results, lines, attempts, sweepDir } = await localSweep('kill-always', { retries: 1 }, (index) => index === 2);
  assert.deepEqual(
    results.trials.map((r) => r.status),
    ['ok', 'failed', 'ok'],
  );
  const t2 = results.trials[1];
  assert.equal(attempts.get(2), 2, 'two attempts: the first and one retry');
  assert.equal(attempts.get(1), 1);
  assert.equal(attempts.get(3), 1);
  assert.equal(t2.attempts, 2);
  assert.match(t2.reason!, /^worker crashed: the training thread exited with code 1 \(attempt 2 of 2: its retries, 1, are used up\)$/);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(sweepDir, 'results.json'), 'utf8')).trials[1], JSON.parse(JSON.stringify(t2)));
  assert.ok(
    lines.some((l) => /^trial 2\/3 .* FAILED: worker crashed: .*\(attempt 2 of 2: its retries, 1, are used up\)$/.test(l)),
    lines.join('\n'),
  );
});

test("local pool: a thread killed once is retried from the trial's last checkpoint and the trial finishes; with retries 0 the first kill fails it", async () => {
  const once = await localSweep('kill-once', {}, (index, epoch, attempt) => index === 2 && epoch === 1 && attempt === 1);
  assert.deepEqual(
    once.results.trials.map((r) => r.status),
    ['ok', 'ok', 'ok'],
  );
  assert.equal(once.attempts.get(2), 2);
  // The retry carried on from the checkpoint of epoch 1: its log says it resumed, and the epochs are each recorded once.
  const dir = path.join(once.sweepDir, once.results.trials[1].dir);
  assert.match(fs.readFileSync(path.join(dir, 'train.log'), 'utf8'), /resum/);
  const epochs = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; epoch: number })
    .filter((r) => r.type === 'epoch')
    .map((r) => r.epoch);
  assert.deepEqual(epochs, [1, 2, 3]);

  const none = await localSweep('kill-no-retry', { retries: 0 }, (index, epoch, attempt) => index === 2 && epoch === 1 && attempt === 1);
  assert.deepEqual(
    none.results.trials.map((r) => r.status),
    ['ok', 'failed', 'ok'],
  );
  assert.equal(none.attempts.get(2), 1);
  assert.match(none.results.trials[1].reason!, /\(attempt 1 of 1: its retries, 0, are used up\)$/);
});

test("local pool, ASHA: a thread killed between an epoch's checkpoint and the rung's word is retried from that checkpoint and gets the word it would have got: stopped at the same epoch", async () => {
  // Falling learning rates: trial 2 is below trial 1 at the rung of epoch 1 and is stopped there.
  const list = [
    { lr: 3e-3, reg: 0 },
    { lr: 1e-3, reg: 0 },
    { lr: 2e-3, reg: 0 },
  ];
  const asha = { scheduler: { asha: { eta: 2, grace: 1 } }, retries: 1 };
  const whole = await localSweep('asha-whole', asha, () => false, list);
  const row = (r: SweepResults) => r.trials.map((t) => [t.index, t.status, t.lastEpoch, t.valAcc]);
  assert.deepEqual(row(whole.results)[1].slice(0, 3), [2, 'stopped', 1], 'the sweep this test needs: trial 2 stops at epoch 1');
  // Killed as its epoch-1 message arrives: last.ckpt of epoch 1 is written, the rung's word may or may not be.
  const killed = await localSweep('asha-killed', asha, (index, epoch, attempt) => index === 2 && epoch === 1 && attempt === 1, list);
  assert.equal(killed.attempts.get(2), 2, 'the trial was retried');
  assert.deepEqual(row(killed.results), row(whole.results));
});

test("local pool: a trial's own divergence is never retried", async () => {
  const { results, attempts } = await localSweep('diverge', { retries: 2 }, () => false, [LIST[0], { lr: 1e30, reg: 1e3, initStd: 1 }]); // the weights overflow float32 within a few steps
  assert.equal(results.trials[1].status, 'diverged');
  assert.equal(attempts.get(2), 1);
  assert.equal(results.trials[1].attempts, undefined);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGKILL, `times` times, the worker process that runs the job whose id ends in `suffix`, each
 * time once it has begun the trial (its progress names the process); returns the pids killed.
 */
async function killRunner(url: string, suffix: string, workers: ChildProcess[], times: number, ms = 240_000): Promise<number[]> {
  const conn = new Redis(url, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE, { connection: conn });
  const killed: number[] = [];
  const t0 = Date.now();
  try {
    while (killed.length < times && Date.now() - t0 < ms) {
      const jobs = await q.getJobs(['active']);
      const job = jobs.find((j: Job) => j.id?.endsWith(suffix));
      const pid = (job?.progress as { pid?: number } | undefined)?.pid;
      const w = workers.find((p) => p.pid === pid && stillRunning(p));
      if (w && !killed.includes(pid!)) {
        w.kill('SIGKILL');
        killed.push(pid!);
      }
      await sleep(50);
    }
  } finally {
    await q.close();
    conn.disconnect();
  }
  return killed;
}

test('queue: a worker SIGKILLed twice on one trial, with retries 1: the trial fails with its reason and its attempts, and the rest finish', { skip: NO_REDIS, timeout: 300_000 }, async () => {
  const dir = tmp();
  const runsDir = path.join(dir, 'runs');
  fs.mkdirSync(runsDir);
  // Trial 1 runs long enough (20 epochs) to be found and killed twice; the others are short (1 epoch).
  const file = writeSweep(dir, 'q-retry', { retries: 1, list: [{ lr: 1e-3, epochs: 20 }, { lr: 2e-3 }, { lr: 3e-3 }] }, { iterations: undefined, epochs: 1 });
  // Locks of 2 s, so that the job of a SIGKILLed worker is soon found stalled and tried again.
  const workers = [0, 1, 2].map(() => worker(runsDir, { lockSeconds: 2 }).proc);
  const sweepDir = path.join(runsDir, 'sweep-q-retry');
  const lines: string[] = [];
  const sweep = runSweep({ file, flags: {}, runner: queueRunner(redis.url, { pollMs: 100 }), out: (l) => lines.push(l) });
  // Trial 1's folder is trials/trial-<hash>; its job id ends in that folder's name.
  let rel: string | undefined;
  for (let i = 0; i < 600 && !rel; i++) {
    await sleep(100);
    try {
      rel = (JSON.parse(fs.readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8')) as { trials: { index: number; dir: string }[] }).trials.find((t) => t.index === 1)?.dir;
    } catch {
      /* not written yet */
    }
  }
  assert.ok(rel, 'the sweep listed its trials');
  const killed = await killRunner(redis.url, path.basename(rel), workers, 2);
  assert.equal(killed.length, 2, 'the worker running trial 1 was found and killed twice');
  const results: SweepResults = await sweep;
  const t1 = results.trials[0];
  assert.equal(t1.status, 'failed', `trial 1: ${t1.status} ${t1.reason}`);
  assert.equal(t1.reason, "its worker was lost 2 times (a process killed or out of memory, or its job's lock not renewed in time) (attempt 2 of 2: its retries, 1, are used up)");
  assert.equal(t1.attempts, 2);
  assert.deepEqual(
    results.trials.slice(1).map((r) => r.status),
    ['ok', 'ok'],
  );
  assert.ok(
    lines.some((l) => /^trial 1\/3 .* FAILED: its worker was lost 2 times/.test(l)),
    lines.join('\n'),
  );
});
