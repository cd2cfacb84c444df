/**
 * TPE sweeps on the BullMQ queue, with a real redis-server (queue-redis.ts) and `train worker`
 * processes of the built CLI (run `npx tsc -p tsconfig.json` first): the coordinator suggests a
 * trial each time no job of the sweep waits for a worker, with the constant liar for the trials
 * in flight; the sweep finishes its count, its suggestions after the startup trials come from
 * the model, ASHA stacks on it, and a coordinator stopped and run again continues from tpe.json
 * without repeating or losing a trial.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Config } from '../src/config/config.js';
import type { SweepResults } from '../src/runs/results.js';
import { QUEUE, queueRunner, sweepCancel, sweepStatus } from '../src/sweep/queue.js';
import { parseSweep } from '../src/sweep/spec.js';
import { SweepStoppedError, runSweep } from '../src/sweep/sweep.js';
import { suggestTpe } from '../src/sweep/tpe.js';
import { roundParams, tpeRng, tpeSpace, type TpeRecord } from '../src/sweep/tpe_sweep.js';
import { E2E_BACKEND } from './helpers.js';
import { queueFixture } from './queue-fixture.js';
import { NO_REDIS } from './queue-redis.js';

/** A tiny MNIST softmax run: 30 iterations of batch 100 on 1000 rows (3 epochs). */
const BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 30, batchSize: 100, backend: E2E_BACKEND };
const TPE = { seed: 5, startupTrials: 3, lr: { logUniform: [1e-3, 3] }, reg: { logUniform: [1e-6, 1e-1] } };

const { redis, tmp, worker } = queueFixture('queue-tpe-test-');

function writeSweep(dir: string, name: string, tpe: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const f = path.join(dir, `${name}.json`);
  fs.writeFileSync(f, JSON.stringify({ name, base: { ...BASE, runsDir: path.join(dir, 'runs') }, tpe, ...extra }));
  return f;
}

async function jobsLeft(): Promise<number> {
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const q = new Queue(QUEUE, { connection: conn });
  try {
    const counts = await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await q.close();
    conn.disconnect();
  }
}

/** What the random sampler would suggest as trial `index` (TPE with no observation: its startup draw). */
function randomDraw(tpe: typeof TPE & { trials: number }, index: number): Record<string, unknown> {
  const spec = parseSweep({ name: 't', base: BASE, tpe }, 'mem.json');
  const space = tpeSpace(spec.tpe!.params);
  return roundParams(space, suggestTpe(space, [], tpeRng(tpe.seed, index), { startupTrials: tpe.startupTrials })) as Record<string, unknown>;
}

const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

/** Each trial of `sweep` trained by exactly one worker, once. */
function trainedOnce(logs: string, sweep: string, n: number): void {
  for (let i = 1; i <= n; i++) assert.equal(logs.split(`trial ${i} of sweep ${sweep} (`).length - 1, 1, `trial ${i}:\n${logs}`);
}

test(
  'a TPE sweep on the queue with 2 workers finishes its trials; after the startup trials its suggestions come from the model, not the random sampler; status counts them',
  { skip: NO_REDIS },
  async () => {
    const dir = tmp();
    const tpe = { ...TPE, trials: 8 };
    const file = writeSweep(dir, 'qtpe', tpe);
    const w = [worker(path.join(dir, 'runs')), worker(path.join(dir, 'runs'))];
    const lines: string[] = [];
    const results: SweepResults = await runSweep({ file, flags: {}, runner: queueRunner(redis.url, { warn: (l) => lines.push(l) }), out: (l) => lines.push(l) });
    assert.deepEqual(
      results.trials.map((r) => [r.index, r.status]),
      Array.from({ length: 8 }, (_, i) => [i + 1, 'ok']),
      lines.join('\n'),
    );
    const rec = readJson<TpeRecord>(path.join(results.folder, 'tpe.json'));
    assert.deepEqual(
      rec.trials.map((t) => t.params),
      results.trials.map((r) => r.params),
    );
    for (const r of results.trials) assert.equal(readJson<Config>(path.join(results.folder, r.dir, 'config.json')).lr, r.params.lr);
    // The startup trials are the random sampler's draws; a suggestion made with at least startupTrials
    // finished (trial 6 on: at most 2 running and none waiting when it is made) comes from the model.
    for (const r of results.trials) {
      const random = randomDraw(tpe, r.index);
      if (r.index <= tpe.startupTrials) assert.deepEqual(r.params, random, `trial ${r.index} is a startup trial`);
      if (r.index >= tpe.startupTrials + 3) assert.notDeepEqual(r.params, random, `trial ${r.index} is suggested by the model`);
    }
    trainedOnce(w.map((x) => x.log()).join('\n'), 'qtpe', 8);
    assert.ok(
      w.every((x) => /trial \d+ of sweep qtpe \(/.test(x.log())),
      'both workers took trials',
    );
    assert.equal(await jobsLeft(), 0);
    const status: string[] = [];
    const s = await sweepStatus(
      file,
      redis.url,
      {},
      (l) => status.push(l),
      () => {},
    );
    assert.equal(s.finished, 8);
    assert.equal(s.total, 8);
    assert.match(status[0], /8 trials: 0 queued, 0 running, 8 finished, 0 stopped, 0 failed$/);
    // `sweep cancel` finds the sweep's trials in tpe.json too: nothing left to withdraw.
    const cancelled = await sweepCancel(
      file,
      redis.url,
      {},
      () => {},
      () => {},
    );
    assert.deepEqual(cancelled, { withdrawn: 0, stopped: 0 });
    await Promise.all(w.map((x) => x.stop()));
  },
);

test('a TPE coordinator stopped mid-sweep and run again continues from tpe.json: the recorded trials as they were, none repeated or lost', { skip: NO_REDIS }, async () => {
  const dir = tmp();
  const tpe = { ...TPE, trials: 8 };
  const file = writeSweep(dir, 'qtpe-restart', tpe);
  const w = [worker(path.join(dir, 'runs')), worker(path.join(dir, 'runs'))];
  const stop = new AbortController();
  const first = runSweep({
    file,
    flags: {},
    runner: queueRunner(redis.url, { warn: () => {} }),
    out: () => {},
    signal: stop.signal,
    onProgress: (p) => {
      if (p.done >= 4) stop.abort();
    },
  });
  await assert.rejects(first, (e: Error) => e instanceof SweepStoppedError);
  const sweepDir = path.join(dir, 'runs', 'sweep-qtpe-restart');
  const before = readJson<TpeRecord>(path.join(sweepDir, 'tpe.json')).trials;
  assert.ok(before.length >= 4 && before.length < 8, `${before.length} suggested before the stop`);
  const lines: string[] = [];
  const results = await runSweep({ file, flags: {}, runner: queueRunner(redis.url, { warn: (l) => lines.push(l) }), out: (l) => lines.push(l) });
  const after = readJson<TpeRecord>(path.join(sweepDir, 'tpe.json')).trials;
  assert.deepEqual(
    after.map((t) => t.index),
    [1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.deepEqual(after.slice(0, before.length), before, 'the recorded suggestions are kept as they were');
  assert.deepEqual(
    results.trials.map((r) => [r.index, r.status]),
    Array.from({ length: 8 }, (_, i) => [i + 1, 'ok']),
    lines.join('\n'),
  );
  assert.deepEqual(
    results.trials.map((r) => r.params),
    after.map((t) => t.params),
  );
  assert.equal(new Set(results.trials.map((r) => r.dir)).size, 8);
  assert.equal(fs.readdirSync(path.join(sweepDir, 'trials')).length, 8, 'one folder a trial');
  trainedOnce(w.map((x) => x.log()).join('\n'), 'qtpe-restart', 8);
  assert.equal(await jobsLeft(), 0);
  await Promise.all(w.map((x) => x.stop()));
});

test('ASHA stacks on a TPE sweep on the queue: trials stopped at a rung, every trial recorded once', { skip: NO_REDIS }, async () => {
  const dir = tmp();
  const tpe = { ...TPE, trials: 6, startupTrials: 2 };
  const file = writeSweep(dir, 'qtpe-asha', tpe, { scheduler: { asha: { eta: 2, grace: 1 } } });
  const w = [worker(path.join(dir, 'runs')), worker(path.join(dir, 'runs'))];
  const results = await runSweep({ file, flags: {}, runner: queueRunner(redis.url, { warn: () => {} }), out: () => {} });
  assert.equal(results.trials.length, 6);
  const stopped = results.trials.filter((r) => r.status === 'stopped');
  assert.ok(stopped.length >= 1 && stopped.length < 6, results.trials.map((r) => `${r.index} ${r.status} ${r.reason ?? ''}`).join('\n'));
  assert.ok(results.trials.every((r) => r.status === 'ok' || r.status === 'stopped'));
  trainedOnce(w.map((x) => x.log()).join('\n'), 'qtpe-asha', 6);
  assert.equal(readJson<TpeRecord>(path.join(results.folder, 'tpe.json')).trials.length, 6);
  await Promise.all(w.map((x) => x.stop()));
});
