/**
 * TPE sweeps (a sweep file's "tpe": spec.ts, src/sweep/tpe_sweep.ts) on the local pool: the file
 * format and its errors, what the sampler is told (each trial's best val accuracy, stopped and
 * diverged trials, running ones), and real sweeps on a small subset of the built-in MNIST:
 * suggestions from the results so far, recorded in tpe.json, and a rerun that continues from the
 * record and suggests what an uninterrupted sweep would have.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, type Config } from '../src/config/config.js';
import type { SweepResults, TrialResult } from '../src/runs/results.js';
import { parseSweep, trialOf } from '../src/sweep/spec.js';
import { cancelLocalSweep, runSweep } from '../src/sweep/sweep.js';
import { suggestTpe } from '../src/sweep/tpe.js';
import { observationOf, roundParams, tpeRng, tpeSpace, type TpeRecord } from '../src/sweep/tpe_sweep.js';
import { E2E_BACKEND } from './helpers.js';

/** A tiny MNIST softmax run: 20 iterations of batch 100 on 1000 rows (2 epochs). */
const BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 20, batchSize: 100, backend: E2E_BACKEND };
/** The space of the sweeps below: lr and reg on log axes, and a batch size on a linear integer axis. */
const TPE = { seed: 4, startupTrials: 3, lr: { logUniform: [1e-3, 3] }, reg: { logUniform: [1e-6, 1e-1] }, batchSize: { uniform: [50, 200] } };

const tmpDirs: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tpe-sweep-test-'));
  tmpDirs.push(dir);
  return dir;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function writeSweep(dir: string, tpe: Record<string, unknown>): string {
  const f = path.join(dir, 'sweep.json');
  fs.writeFileSync(f, JSON.stringify({ name: 'tpe', base: { ...BASE, runsDir: path.join(dir, 'runs') }, tpe }, null, 2));
  return f;
}
async function sweep(file: string, workers = 1): Promise<{ results: SweepResults; lines: string[] }> {
  const lines: string[] = [];
  const results = await runSweep({ file, flags: {}, workers, out: (l) => lines.push(l) });
  return { results, lines };
}
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;

test('a "tpe" sweep file: trials, seed, startupTrials (10 by default) and the same distributions as "random"; mistakes are named', () => {
  const spec = parseSweep(
    {
      name: 't',
      base: { model: 'mlp' },
      tpe: { trials: 30, lr: { logUniform: [1e-4, 1e-1] }, hidden: { choice: [[50], [100, 50]] }, batchSize: { logUniform: [32, 512] }, lrDecay: { uniform: [0.8, 1] } },
    },
    'mem.json',
  );
  assert.deepEqual(spec.tpe, {
    trials: 30,
    seed: 0,
    startupTrials: 10,
    params: { lr: { logUniform: [1e-4, 1e-1] }, hidden: { choice: [[50], [100, 50]] }, batchSize: { logUniform: [32, 512] }, lrDecay: { uniform: [0.8, 1] } },
  });
  assert.deepEqual(tpeSpace(spec.tpe!.params), {
    lr: { type: 'float', low: 1e-4, high: 1e-1, log: true },
    hidden: { type: 'categorical', choices: [[50], [100, 50]] },
    batchSize: { type: 'int', low: 32, high: 512, log: true },
    lrDecay: { type: 'float', low: 0.8, high: 1, log: false },
  });
  const bad = (obj: unknown, re: RegExp) =>
    assert.throws(
      () => parseSweep(obj, 'mem.json'),
      (e: Error) => e instanceof ConfigError && re.test(e.message),
      `expected ${re}`,
    );
  bad({ name: 't', tpe: { trials: 5, startupTrials: -1, lr: { logUniform: [1e-3, 1] } } }, /tpe\.startupTrials must be a non-negative integer/);
  bad({ name: 't', tpe: { trials: 5, lr: { logUniform: [1e-3, 1e-3] } } }, /tpe\.lr\.logUniform must be \[lo, hi\] with lo < hi; a fixed value goes in "base"/);
  bad({ name: 't', tpe: { trials: 0, lr: { logUniform: [1e-3, 1] } } }, /tpe\.trials must be a positive integer/);
  bad({ name: 't', tpe: { trials: 5 } }, /tpe names no key to sample/);
  bad({ name: 't', tpe: { trials: 5, numTrain: { choice: [10] } } }, /"numTrain" cannot be swept/);
  bad({ name: 't', tpe: { trials: 5, lr: { logUniform: [1e-3, 1] } }, random: { trials: 5, lr: { logUniform: [1e-3, 1] } } }, /give exactly one of "grid".*"tpe"/);
  // A single value is fine in a random search (it is one), not in TPE.
  assert.doesNotThrow(() => parseSweep({ name: 't', random: { trials: 2, lr: { logUniform: [1e-3, 1e-3] } } }, 'mem.json'));
});

test("what TPE is told about a trial: its best val accuracy; stopped early as Optuna's pruned; diverged as the worst; running; failed not at all", () => {
  const spec = parseSweep({ name: 't', base: BASE, tpe: { trials: 5, lr: { logUniform: [1e-3, 1] } } }, 'mem.json');
  const space = tpeSpace(spec.tpe!.params);
  const t = trialOf(spec, 1, { lr: 0.01 } as Partial<Config>);
  const r = (status: TrialResult['status'], valAcc: number | null, lastEpoch?: number): TrialResult =>
    ({ index: 1, dir: 'trials/x', status, reason: null, params: t.params, trainAcc: null, valAcc, bestEpoch: null, seconds: null, resumed: false, lastEpoch }) as TrialResult;
  assert.deepEqual(observationOf(space, t, r('ok', 0.8)), { params: { lr: 0.01 }, state: 'complete', value: 0.8 });
  assert.deepEqual(observationOf(space, t, r('stopped', 0.3, 2)), { params: { lr: 0.01 }, state: 'pruned', step: 2, value: 0.3 });
  assert.deepEqual(observationOf(space, t, r('diverged', null)), { params: { lr: 0.01 }, state: 'pruned', step: 0, value: -Infinity });
  assert.deepEqual(observationOf(space, t, undefined), { params: { lr: 0.01 }, state: 'running' });
  assert.equal(observationOf(space, t, r('failed', null)), null);
  // A recorded value outside today's range (the sweep file was edited) is left out.
  assert.equal(observationOf(space, trialOf(spec, 1, { lr: 5 } as Partial<Config>), r('ok', 0.9)), null);
});

/** Suggestion i of an uninterrupted one-worker sweep: the sampler told every earlier trial's result, in order. */
function expectedParams(tpe: typeof TPE & { trials: number }, results: TrialResult[], index: number): Record<string, unknown> {
  const spec = parseSweep({ name: 't', base: BASE, tpe }, 'mem.json');
  const space = tpeSpace(spec.tpe!.params);
  const seen = results.filter((r) => r.index < index).map((r) => observationOf(space, trialOf(spec, r.index, r.params), r)!);
  return roundParams(space, suggestTpe(space, seen, tpeRng(tpe.seed, index), { startupTrials: tpe.startupTrials })) as Record<string, unknown>;
}

test('a TPE sweep on one worker: each trial suggested from the best val accuracies before it, recorded in tpe.json, trained as a trial of the sweep', async () => {
  const dir = tmp();
  const tpe = { ...TPE, trials: 6 };
  const { results, lines } = await sweep(writeSweep(dir, tpe));
  const sweepDir = path.join(dir, 'runs', 'sweep-tpe');
  assert.equal(results.trials.length, 6);
  assert.equal(results.trialsRun, 6);
  assert.ok(lines[0].startsWith('sweep tpe: 6 trials (TPE over lr, reg, batchSize)'), lines[0]);
  const rec = readJson<TpeRecord>(path.join(sweepDir, 'tpe.json'));
  assert.deepEqual(
    rec.trials.map((t) => t.index),
    [1, 2, 3, 4, 5, 6],
  );
  for (const r of results.trials) {
    assert.equal(r.status, 'ok', `trial ${r.index}: ${r.reason}`);
    assert.deepEqual(r.params, expectedParams(tpe, results.trials, r.index), `trial ${r.index}`);
    assert.deepEqual(rec.trials[r.index - 1].params, r.params);
    const cfg = readJson<Config>(path.join(sweepDir, r.dir, 'config.json'));
    assert.equal(cfg.lr, r.params.lr);
    assert.equal(cfg.batchSize, r.params.batchSize);
    assert.ok(Number.isInteger(cfg.batchSize) && cfg.batchSize >= 50 && cfg.batchSize <= 200);
  }
  assert.equal(new Set(results.trials.map((r) => r.params.lr)).size, 6);
  assert.equal(readJson<SweepResults>(path.join(sweepDir, 'results.json')).best!.valAcc, Math.max(...results.trials.map((r) => r.valAcc!)));
  assert.ok(fs.readFileSync(path.join(sweepDir, 'results.csv'), 'utf8').startsWith('trial,status,lr,reg,batchSize,'));
  // sweep.json, which the report reads each trial's config from (its lr × reg plot), lists every suggested trial.
  const listed = readJson<{ trials: { index: number; dir: string; params: unknown; config: Config }[] }>(path.join(sweepDir, 'sweep.json')).trials;
  assert.deepEqual(
    listed.map((t) => [t.index, t.dir, t.params, t.config.lr]),
    results.trials.map((r) => [r.index, r.dir, r.params, r.params.lr]),
  );
});

test("ASHA stacks on TPE: the trials it stops early are told to the sampler as Optuna's pruned trials", async () => {
  const dir = tmp();
  const tpe = { ...TPE, trials: 6, startupTrials: 2 };
  const f = path.join(dir, 'sweep.json');
  // 3 epochs of 10 steps; ASHA with η 2 judges every trial after epochs 1 and 2.
  const base = { ...BASE, iterations: 30, runsDir: path.join(dir, 'runs') };
  fs.writeFileSync(f, JSON.stringify({ name: 'tpe', base, tpe, scheduler: { asha: { eta: 2, grace: 1 } } }));
  const { results } = await sweep(f);
  const stopped = results.trials.filter((r) => r.status === 'stopped');
  assert.ok(stopped.length >= 1 && stopped.length < 6, `${stopped.length} of 6 stopped: ${results.trials.map((r) => r.status).join(' ')}`);
  for (const r of results.trials) assert.deepEqual(r.params, expectedParams(tpe, results.trials, r.index), `trial ${r.index} (${r.status})`);
});

test('a rerun continues from tpe.json: finished trials kept, a lost one run again with its recorded values, then the suggestions an uninterrupted sweep makes', async () => {
  // The uninterrupted sweep, 7 trials.
  const whole = await sweep(writeSweep(tmp(), { ...TPE, trials: 7 }));
  // The same search stopped after 5, trial 5's folder lost (a sweep killed before it wrote anything), then widened to 7.
  const dir = tmp();
  const file = writeSweep(dir, { ...TPE, trials: 5 });
  const first = await sweep(file);
  const sweepDir = path.join(dir, 'runs', 'sweep-tpe');
  fs.rmSync(path.join(sweepDir, first.results.trials[4].dir), { recursive: true });
  writeSweep(dir, { ...TPE, trials: 7 });
  const again = await sweep(file);
  assert.ok(again.lines.includes('4 finished earlier and are kept; 3 to run'), again.lines.join('\n'));
  assert.equal(again.results.trialsRun, 3);
  assert.deepEqual(
    again.results.trials.map((r) => r.resumed),
    [true, true, true, true, false, false, false],
  );
  assert.deepEqual(again.results.trials[4].params, first.results.trials[4].params, 'trial 5 keeps its recorded values');
  assert.deepEqual(
    again.results.trials.map((r) => r.params),
    whole.results.trials.map((r) => r.params),
  );
  assert.deepEqual(
    again.results.trials.map((r) => r.valAcc),
    whole.results.trials.map((r) => r.valAcc),
  );
  assert.equal(readJson<TpeRecord>(path.join(sweepDir, 'tpe.json')).trials.length, 7);
  // Run once more: nothing to do, nothing suggested.
  const third = await sweep(file);
  assert.ok(third.lines.includes('7 finished earlier and are kept; 0 to run'), third.lines.join('\n'));
  assert.equal(readJson<TpeRecord>(path.join(sweepDir, 'tpe.json')).trials.length, 7);
});

test('a TPE sweep on 2 workers suggests as workers free up; a tpe.json that is not a record stops the sweep with one line saying what to do', async () => {
  const dir = tmp();
  const file = writeSweep(dir, { ...TPE, trials: 5 });
  const { results } = await sweep(file, 2);
  assert.equal(results.workers, 2);
  assert.deepEqual(
    results.trials.map((r) => [r.index, r.status]),
    [
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
      [4, 'ok'],
      [5, 'ok'],
    ],
  );
  assert.equal(new Set(results.trials.map((r) => JSON.stringify(r.params))).size, 5);
  const rec = path.join(dir, 'runs', 'sweep-tpe', 'tpe.json');
  fs.writeFileSync(rec, '{"trials": [{"index": 2, "params": {}}]}');
  await assert.rejects(
    sweep(file),
    (e: Error) => e instanceof ConfigError && e.message === `${rec} is not a TPE record (a list of trials with index 1, 2, … and params); move it away to start the TPE search afresh`,
  );
});

// A TPE sweep on the queue: test/queue-tpe.test.ts.
test('a batch size the data cannot fill is refused before any trial', async () => {
  const big = writeSweep(tmp(), { ...TPE, trials: 3, batchSize: { uniform: [50, 5000] } });
  await assert.rejects(sweep(big), (e: Error) => e instanceof ConfigError && /batchSize/.test(e.message));
});

test('a TPE sweep cut to fewer trials keeps its first ones; the rest stay in trials/ and are listed under notInSweep', async () => {
  const dir = tmp();
  const file = writeSweep(dir, { ...TPE, trials: 3 });
  const first = await sweep(file);
  writeSweep(dir, { ...TPE, trials: 2 });
  const cut = await sweep(file);
  assert.ok(cut.lines.includes('2 finished earlier and are kept; 0 to run'), cut.lines.join('\n'));
  assert.deepEqual(
    cut.results.trials.map((r) => r.params),
    first.results.trials.slice(0, 2).map((r) => r.params),
  );
  assert.deepEqual(cut.results.notInSweep, [first.results.trials[2].dir]);
  assert.equal(cut.results.trialsRun, 0);
});

test('sweep cancel of a TPE sweep that is not running says so in one line (its folder from the base config, with no trial known in advance)', async () => {
  const dir = tmp();
  const file = writeSweep(dir, { ...TPE, trials: 3 });
  const lines: string[] = [];
  await cancelLocalSweep(file, {}, (l) => lines.push(l));
  assert.deepEqual(lines, [`sweep tpe is not running in ${path.join(dir, 'runs', 'sweep-tpe')}: nothing to cancel (a sweep on a queue: give --queue)`]);
});
