/**
 * rungs.json records what its scores are (sweep/rungs.ts): the sweep's metric and mode, and the
 * scheduler that recorded them. A sweep widened with another metric, mode or scheduler than the
 * rungs were kept by is refused in one line naming the file, both bases and what to do, before
 * any trial runs, on the local pool and on the queue (a real redis-server, queue-redis.ts). A
 * rungs.json written before it recorded a basis is read as val accuracy, max, the only metric
 * sweeps had then.
 *
 * The sweeps: three good trials (lr 0.05, 0.1, 0.2) of softmax on 1,000 MNIST rows, ASHA η 2,
 * grace 1, max 3; widened, a fourth trial (lr 1e-7) after them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { ConfigError } from '../src/config/config.js';
import { readKeptRungs, writeKeptRungs, type RungBasis } from '../src/sweep/rungs.js';
import { runSweep } from '../src/sweep/sweep.js';
import { queueRunner } from '../src/sweep/queue.js';
import { E2E_BACKEND } from './helpers.js';
import { queueFixture } from './queue-fixture.js';
import { NO_REDIS } from './queue-redis.js';

const { redis, tmp, cli, worker } = queueFixture('rungs-basis-');

const GOOD = [{ lr: 0.05 }, { lr: 0.1 }, { lr: 0.2 }];
const BAD = { lr: 1e-7 };
const ASHA = { asha: { eta: 2, grace: 1, max: 3 } };

/** The sweep file in `dir`, by `metric` (and `mode`, when given): the three good trials, and (widened) the bad one after them. */
function writeSweep(dir: string, runs: string, widened: boolean, objective: { metric: string; mode?: string }): string {
  const f = path.join(dir, `sweep-${widened ? 'wide' : 'first'}.json`);
  const base = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, epochs: 3, batchSize: 100, backend: E2E_BACKEND, runsDir: runs };
  fs.writeFileSync(f, JSON.stringify({ name: 'basis', base, list: widened ? [...GOOD, BAD] : GOOD, scheduler: ASHA, ...objective }));
  return f;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The refusal, for rungs.json in `sweepDir`: the file's basis, the sweep's, and what to do (a regular expression's source). */
function refusal(sweepDir: string, kept: string, now: string, setBack: string): string {
  const file = escape(path.join(sweepDir, 'rungs.json'));
  return `${file} holds scores of ${escape(kept)}, but this sweep is by ${escape(now)}: its new trials would be judged against scores of another kind; ${escape(setBack)} in the sweep file again, or delete ${file} to judge new trials only against each other`;
}

/** The CLI's one line for the refusal. */
const refusalLine = (...args: Parameters<typeof refusal>): RegExp => new RegExp(`^error: ${refusal(...args)}$`, 'm');

/** `read` throws the refusal as a ConfigError (the CLI's exit code 2). */
function assertRefused(read: () => unknown, ...args: Parameters<typeof refusal>): void {
  assert.throws(read, (e: unknown) => {
    assert.ok(e instanceof ConfigError, `a ConfigError, not ${String(e)}`);
    assert.match(e.message, new RegExp(`^${refusal(...args)}$`));
    return true;
  });
}

/** The trial folders of `sweepDir`. */
const trialFolders = (sweepDir: string): string[] => fs.readdirSync(path.join(sweepDir, 'trials')).sort();

test('a local sweep widened with another metric is refused in one line (exit code 2) before any trial runs; rungs.json records the basis it was kept by', async () => {
  const dir = tmp();
  const runs = path.join(dir, 'runs');
  const first = await runSweep({ file: writeSweep(dir, runs, false, { metric: 'valAcc' }), flags: {}, workers: 1, out: () => {} });
  const kept = fs.readFileSync(path.join(first.folder, 'rungs.json'), 'utf8');
  assert.deepEqual(JSON.parse(kept).basis, { metric: 'valAcc', mode: 'max', scheduler: 'asha' });
  const before = trialFolders(first.folder);
  assert.equal(before.length, 3);
  const r = cli(['sweep', '--config', writeSweep(dir, runs, true, { metric: 'valLoss' }), '--workers', '1']);
  assert.equal(await r.exited, 2, r.log());
  assert.match(r.log(), refusalLine(first.folder, 'val accuracy (max), ASHA', 'val loss (min), ASHA', 'set "metric": "valAcc", "mode": "max"'));
  assert.equal(r.log().match(/^error:/gm)?.length, 1, r.log());
  assert.deepEqual(trialFolders(first.folder), before, 'no trial was started');
  assert.equal(fs.readFileSync(path.join(first.folder, 'rungs.json'), 'utf8'), kept, 'rungs.json is left as it was');
});

test('a rungs.json without a basis is read as val accuracy, max: another metric, mode or scheduler is refused, naming the file and both bases', () => {
  const dir = tmp();
  const file = path.join(dir, 'rungs.json');
  const rungs = { '1': [['trials/trial-a', 0.5] as [string, number], ['trials/trial-b', 0.25] as [string, number]] };
  fs.writeFileSync(file, JSON.stringify({ rungs })); // as sweeps wrote it before it recorded its basis
  const asha = (metric: RungBasis['metric'], mode: RungBasis['mode']): RungBasis => ({ metric, mode, scheduler: 'asha' });
  const median: RungBasis = { metric: 'valAcc', mode: 'max', scheduler: 'median' };
  assert.deepEqual(readKeptRungs(dir, asha('valAcc', 'max')), rungs, 'val accuracy, max reads the old rungs');
  assert.deepEqual(readKeptRungs(dir, median), rungs, 'an old file does not say its scheduler');
  assertRefused(() => readKeptRungs(dir, asha('valLoss', 'min')), dir, 'val accuracy (max)', 'val loss (min), ASHA', 'set "metric": "valAcc", "mode": "max"');
  assertRefused(() => readKeptRungs(dir, asha('valAcc', 'min')), dir, 'val accuracy (max)', 'val accuracy (min), ASHA', 'set "metric": "valAcc", "mode": "max"');
  // A file with a basis says its scheduler: the median rule's means are not ASHA's epoch scores.
  writeKeptRungs(dir, rungs, asha('valAcc', 'max'));
  assertRefused(() => readKeptRungs(dir, median), dir, 'val accuracy (max), ASHA', 'val accuracy (max), median rule', 'use the "asha" scheduler');
  assertRefused(
    () => readKeptRungs(dir, { ...median, metric: 'trainLoss', mode: 'min' }),
    dir,
    'val accuracy (max), ASHA',
    'train loss (min), median rule',
    'set "metric": "valAcc", "mode": "max" and use the "asha" scheduler',
  );
  fs.writeFileSync(file, JSON.stringify({ basis: { metric: 'valAcc', mode: 'up', scheduler: 'asha' }, rungs }));
  assert.throws(() => readKeptRungs(dir, asha('valAcc', 'max')), new RegExp(`^DataError: ${escape(file)}: basis = .* is not valid: expected`));
});

test('a queue coordinator refuses a sweep widened with another metric than its rungs were kept by, before it enqueues a trial', { skip: NO_REDIS, timeout: 300_000 }, async () => {
  const dir = tmp();
  const runs = path.join(dir, 'queue');
  const w = worker(runs);
  const first = await runSweep({ file: writeSweep(dir, runs, false, { metric: 'valLoss' }), flags: {}, runner: queueRunner(redis.url), out: () => {} });
  const kept = fs.readFileSync(path.join(first.folder, 'rungs.json'), 'utf8');
  assert.deepEqual(JSON.parse(kept).basis, { metric: 'valLoss', mode: 'min', scheduler: 'asha' }, 'the coordinator keeps the rungs with their basis');
  const before = trialFolders(first.folder);
  const r = cli(['sweep', '--config', writeSweep(dir, runs, true, { metric: 'valAcc' }), '--queue', redis.url]);
  assert.equal(await r.exited, 2, r.log());
  assert.match(r.log(), refusalLine(first.folder, 'val loss (min), ASHA', 'val accuracy (max), ASHA', 'set "metric": "valLoss", "mode": "min"'));
  const conn = new Redis(redis.url);
  assert.deepEqual(await conn.keys('tsnn:rungs:*'), [], 'Redis was not seeded');
  assert.deepEqual(await conn.keys('bull:tsnn-trials:wait*'), [], 'no job was enqueued');
  conn.disconnect();
  assert.deepEqual(trialFolders(first.folder), before, 'no trial was started');
  assert.equal(fs.readFileSync(path.join(first.folder, 'rungs.json'), 'utf8'), kept);
  await w.stop();
});
