/**
 * ASHA's rungs are kept with the sweep (sweep/rungs.ts): a finished ASHA sweep widened with one
 * more trial judges that trial against the rungs its earlier trials left, on the local pool and
 * on the queue (a real redis-server, queue-redis.ts). The added trial (lr 1e-7: near chance after
 * one epoch) is the only new one, so judged only against the new trials it would reach its rung
 * first, with no one to beat, and run to its end; against the old rungs it stops after epoch 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import type { SweepResults } from '../src/runs/results.js';
import { readKeptRungs, writeKeptRungs } from '../src/sweep/rungs.js';
import { runSweep } from '../src/sweep/sweep.js';
import { queueRunner } from '../src/sweep/queue.js';
import { E2E_BACKEND } from './helpers.js';
import { queueFixture } from './queue-fixture.js';
import { NO_REDIS } from './queue-redis.js';

const { redis, tmp, worker } = queueFixture('asha-widen-');

const GOOD = [{ lr: 0.05 }, { lr: 0.1 }, { lr: 0.2 }];
const BAD = { lr: 1e-7 };

/** The sweep file in `dir`: the three good trials, and (widened) the bad one after them; ASHA η 2, grace 1, max 3. */
function writeSweep(dir: string, runs: string, widened: boolean): string {
  const f = path.join(dir, 'sweep-widen.json');
  const base = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 3, batchSize: 100, backend: E2E_BACKEND, runsDir: runs };
  fs.writeFileSync(f, JSON.stringify({ name: 'widen', base, list: widened ? [...GOOD, BAD] : GOOD, scheduler: { asha: { eta: 2, grace: 1, max: 3 } } }));
  return f;
}

/** The widened sweep's new trial is stopped after epoch 1, below the old trials' cut there; the old ones are kept as they were. */
function checkWidened(first: SweepResults, widened: SweepResults): void {
  assert.deepEqual(
    first.trials.map((t) => t.status),
    ['ok', 'ok', 'ok'],
  );
  assert.equal(widened.trialsRun, 1);
  const added = widened.trials.at(-1)!;
  assert.equal(added.index, 4);
  assert.deepEqual([added.status, added.lastEpoch], ['stopped', 1], `the added trial: ${added.status} after epoch ${added.lastEpoch} (${added.reason})`);
  assert.match(added.reason!, /^after epoch 1: val 0\.\d{4} < 0\.\d{4}, the 50th percentile of 3 earlier trials at epoch 1 \(ASHA\)$/);
  const rung1 = readKeptRungs(widened.folder)['1'];
  assert.deepEqual(
    rung1.map(([t]) => t),
    [...first.trials.map((t) => t.dir), added.dir],
    'rung 1 keeps the old trials first, then the new one',
  );
}

test('a widened ASHA sweep on the local pool judges its new trial against the rungs of the finished one, kept in rungs.json', async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const first = await runSweep({ file: writeSweep(dir, runs, false), flags: {}, workers: 1, out: () => {} });
  const widened = await runSweep({ file: writeSweep(dir, runs, true), flags: {}, workers: 1, out: () => {} });
  checkWidened(first, widened);
});

test('a widened ASHA sweep on the queue judges its new trial against the old rungs: Redis is seeded from rungs.json, and none is left there', { skip: NO_REDIS, timeout: 300_000 }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'queue');
  const w = worker(runs);
  const first = await runSweep({ file: writeSweep(dir, runs, false), flags: {}, runner: queueRunner(redis.url), out: () => {} });
  const widened = await runSweep({ file: writeSweep(dir, runs, true), flags: {}, runner: queueRunner(redis.url), out: () => {} });
  checkWidened(first, widened);
  const conn = new Redis(redis.url);
  assert.deepEqual(await conn.keys('tsnn:rungs:*'), []);
  conn.disconnect();
  await w.stop();
});

test('kept rungs read back as written; a damaged rungs.json is refused in one line naming the file, the entry and what to do', () => {
  const dir = tmp();
  assert.deepEqual(readKeptRungs(dir), {}, 'no rungs.json: no rungs');
  const kept = { '1': [['trials/trial-a', 0.5] as [string, number], ['trials/trial-b', 0.25] as [string, number]], 'b1:3': [['trials/trial-c', 0.75] as [string, number]] };
  writeKeptRungs(dir, kept, { metric: 'valAcc', mode: 'max', scheduler: 'asha' });
  assert.deepEqual(readKeptRungs(dir), kept);
  fs.writeFileSync(path.join(dir, 'rungs.json'), JSON.stringify({ rungs: { '1': [['trials/trial-a', 'NaN']] } }));
  assert.throws(
    () => readKeptRungs(dir),
    new RegExp(
      `^DataError: ${path.join(dir, 'rungs.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: rungs\\.1\\[0\\] = \\["trials/trial-a","NaN"\\] is not valid: expected \\[trial folder, finite number\\]; fix it, or delete the file to judge new trials only against each other$`,
    ),
  );
});
