/**
 * The sweep's metric and mode (sweep/metric.ts): the sweep file's "metric", "mode" and "retries"
 * checked in one line each; ASHA and the median rule stopping by a metric that is minimised;
 * and real sweeps on a small MNIST subset where the best trial by val loss (min) is not the best
 * by val accuracy, each chosen from the trials' own metrics.jsonl, and val loss checked against a
 * float64 cross-entropy of the best checkpoint's scores computed here.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Config, ConfigError } from '../src/config/config.js';
import { initEngine } from '../src/linalg/engine.js';
import { modelFromParams } from '../src/models/index.js';
import type { Model } from '../src/models/model.js';
import { viewsOf } from '../src/models/params.js';
import { loadCheckpoint } from '../src/runs/checkpoint.js';
import type { SweepResults, TrialResult } from '../src/runs/results.js';
import { loadRunData } from '../src/train/run.js';
import { DEFAULT_METRIC, type Metric, epochRows } from '../src/sweep/metric.js';
import { MemoryRungStore, decide } from '../src/sweep/scheduler.js';
import { metricOf, parseSweep, RETRIES_DEFAULT, trialOf } from '../src/sweep/spec.js';
import { observationOf, tpeSpace } from '../src/sweep/tpe_sweep.js';
import { runSweep } from '../src/sweep/sweep.js';
import { E2E_BACKEND } from './helpers.js';

/** A tiny MNIST softmax run: 20 iterations of batch 100 on 1000 rows (2 epochs). */
const BASE = { dataset: 'mnist', model: 'softmax', numTrain: 1000, numVal: 200, numTest: 300, numDev: 50, iterations: 20, batchSize: 100, backend: E2E_BACKEND };
/**
 * Two trials that rank differently by the two metrics: a strong reg keeps the scores small (val
 * loss near ln 10) while ranking the classes well (high val accuracy); reg 0 and a larger step
 * gives lower val loss but lower accuracy after 2 epochs. The test reads which is which from the
 * trials' own rows, and requires only that they disagree.
 */
const LIST = [
  { lr: 1e-4, reg: 1e3 },
  { lr: 1e-3, reg: 0 },
];

const tmpDirs: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sweep-metric-'));
  tmpDirs.push(dir);
  return dir;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const LOSS_MIN: Metric = { name: 'valLoss', mode: 'min' };

test('metric, mode and retries: defaults, natural modes, an explicit override; bad values refused in one line naming the allowed ones', () => {
  const spec = (extra: object) => parseSweep({ name: 's', grid: { lr: [1] }, ...extra }, 'm.json');
  assert.equal(spec({}).metric, undefined);
  assert.equal(spec({}).retries, undefined);
  assert.equal(RETRIES_DEFAULT, 2);
  assert.deepEqual(spec({ metric: 'valLoss' }).metric, { name: 'valLoss', mode: 'min' });
  assert.deepEqual(spec({ metric: 'trainLoss' }).metric, { name: 'trainLoss', mode: 'min' });
  assert.deepEqual(spec({ metric: 'trainAcc' }).metric, { name: 'trainAcc', mode: 'max' });
  assert.deepEqual(spec({ mode: 'max' }).metric, { name: 'valAcc', mode: 'max' });
  assert.deepEqual(spec({ metric: 'valLoss', mode: 'max' }).metric, { name: 'valLoss', mode: 'max' });
  assert.equal(spec({ retries: 0 }).retries, 0);
  assert.equal(spec({ retries: 10 }).retries, 10);
  const bad = (extra: object, re: RegExp) =>
    assert.throws(
      () => spec(extra),
      (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'),
      `${JSON.stringify(extra)} should fail with ${re}`,
    );
  bad({ metric: 'val_loss' }, /^m\.json: metric = "val_loss" is not one a run records; use one of valAcc, valLoss, trainAcc, trainLoss$/);
  bad({ metric: 3 }, /metric = 3 is not one a run records; use one of valAcc, valLoss/);
  bad({ metric: 'valLoss', mode: 'minimize' }, /^m\.json: mode = "minimize" is not allowed; use "max" or "min" \(valLoss's default is min\)$/);
  bad({ retries: -1 }, /retries = -1 must be an integer from 0 to 10/);
  bad({ retries: 1.5 }, /retries = 1\.5 must be an integer from 0 to 10/);
  bad({ retries: '2' }, /retries = "2" must be an integer/);
  bad({ retries: 11 }, /retries = 11 must be an integer from 0 to 10/);
  bad({ metrics: 'valLoss' }, /unknown key "metrics".*metric, mode and retries/);
});

test('ASHA with a min metric stops the trial whose loss is above the rung, and keeps the one below it', async () => {
  const asha = { asha: { eta: 2, grace: 1, max: null } };
  const store = new MemoryRungStore();
  // Val losses after epoch 1 (of 4): a = 1.0 first (no one to beat), b = 2.0 (worse), c = 0.5 (better).
  assert.equal((await decide(asha, store, 'a', 1, 4, [1.0], LOSS_MIN)).stop, false);
  const b = await decide(asha, store, 'b', 1, 4, [2.0], LOSS_MIN);
  assert.equal(b.stop, true);
  assert.equal(b.reason, 'val loss 2.0000 > 1.0000, the 50th percentile of 1 earlier trials at epoch 1 (ASHA)');
  assert.deepEqual(await decide(asha, store, 'c', 1, 4, [0.5], LOSS_MIN), { stop: false, reason: null });
  // The same numbers as accuracies (max): the other way round.
  const acc = new MemoryRungStore();
  await decide(asha, acc, 'a', 1, 4, [1.0], DEFAULT_METRIC);
  assert.equal((await decide(asha, acc, 'b', 1, 4, [2.0], DEFAULT_METRIC)).stop, false);
  const c = await decide(asha, acc, 'c', 1, 4, [0.5], DEFAULT_METRIC);
  assert.equal(c.stop, true);
  assert.match(c.reason!, /^val 0\.5000 < /);
});

test('the median rule with a min metric stops a trial whose best loss is above the median of the others, not one below it', async () => {
  const median = { median: { grace: 1, minSamples: 2 } };
  const store = new MemoryRungStore();
  // Mean val loss over epochs 1–2 of trials a, b: 1.0 and 1.2 (median 1.1).
  await decide(median, store, 'a', 2, 5, [1.1, 0.9], LOSS_MIN);
  await decide(median, store, 'b', 2, 5, [1.3, 1.1], LOSS_MIN);
  // c's best loss 1.15 is worse than the median of the others' means: stopped.
  const c = await decide(median, store, 'c', 2, 5, [1.4, 1.15], LOSS_MIN);
  assert.equal(c.stop, true);
  assert.equal(c.reason, "best val loss 1.1500 > 1.1000, the median of 2 earlier trials' mean val loss at epoch 2 (median rule)");
  // d's best loss 1.05 is better than it, though its mean (1.425) is not: it goes on.
  assert.equal((await decide(median, store, 'd', 2, 5, [1.8, 1.05], LOSS_MIN)).stop, false);
});

/** Run the two-trial list sweep with `extra` sweep-file keys, on 1 worker; returns the results, the printed lines and the sweep folder. */
async function listSweep(name: string, extra: object, base: object = {}, dir = tmp()): Promise<{ results: SweepResults; lines: string[]; sweepDir: string }> {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ name, base: { ...BASE, ...base, runsDir: path.join(dir, 'runs') }, list: LIST, ...extra }));
  const lines: string[] = [];
  const results = await runSweep({ file, flags: {}, workers: 1, out: (l) => lines.push(l) });
  return { results, lines, sweepDir: path.join(dir, 'runs', `sweep-${name}`) };
}

/** A trial's epoch values of `key`, from its own metrics.jsonl. */
const rowValues = (sweepDir: string, rel: string, key: string): number[] => epochRows(path.join(sweepDir, rel)).map((r) => r[key] as number);

test('a sweep selecting by val loss (min) picks another best than by val accuracy when the trials say so; results.json, results.csv and the rows say which', async () => {
  const byAcc = await listSweep('by-acc', {});
  const byLoss = await listSweep('by-loss', { metric: 'valLoss' });
  for (const { results, sweepDir } of [byAcc, byLoss]) {
    for (const r of results.trials) assert.equal(r.status, 'ok', `trial ${r.index}: ${r.reason}`);
    const rels = results.trials.map((r) => r.dir);
    // Every epoch row records both losses, as numbers.
    for (const rel of rels)
      for (const k of ['valLoss', 'trainLoss'])
        assert.ok(
          rowValues(sweepDir, rel, k).every((v) => Number.isFinite(v) && v > 0),
          `${rel} ${k}`,
        );
  }
  // Chosen from the rows: the best of each trial's epochs, then the best trial.
  const minLoss = (r: { dir: string }) => Math.min(...rowValues(byLoss.sweepDir, r.dir, 'valLoss'));
  const maxAcc = (r: { dir: string }) => Math.max(...rowValues(byAcc.sweepDir, r.dir, 'valAcc'));
  const [t1, t2] = byLoss.results.trials;
  const lossBest = minLoss(t1) < minLoss(t2) ? 1 : 2;
  const [a1, a2] = byAcc.results.trials;
  const accBest = maxAcc(a1) > maxAcc(a2) ? 1 : 2;
  assert.notEqual(lossBest, accBest, 'these two trials rank differently by val loss and by val accuracy');
  assert.equal(byAcc.results.best!.index, accBest);
  assert.equal(byLoss.results.best!.index, lossBest);
  assert.deepEqual(byLoss.results.metric, { name: 'valLoss', mode: 'min' });
  assert.deepEqual(byAcc.results.metric, { name: 'valAcc', mode: 'max' });
  for (const r of byLoss.results.trials) assert.equal(r.value, minLoss(r));
  assert.equal(byLoss.results.best!.value, minLoss(byLoss.results.trials[lossBest - 1]));
  assert.equal(byAcc.results.best!.valAcc, maxAcc(byAcc.results.trials[accBest - 1]));
  // Said in the output and results.csv.
  assert.ok(byLoss.lines.includes('metric: val loss (min)'), byLoss.lines.join('\n'));
  assert.ok(
    byLoss.lines.some((l) => l.startsWith(`best val loss (min) achieved: ${minLoss(byLoss.results.trials[lossBest - 1]).toFixed(4)} (trial ${lossBest}:`)),
    byLoss.lines.join('\n'),
  );
  const csv = fs.readFileSync(path.join(byLoss.sweepDir, 'results.csv'), 'utf8').split('\n');
  assert.deepEqual(csv[0].split(','), ['trial', 'status', 'lr', 'reg', 'train_acc', 'val_acc', 'val_loss', 'best_epoch', 'seconds', 'dir', 'reason']);
  assert.equal(Number(csv[1].split(',')[6]), t1.value);
});

test("an epoch row's val loss is the mean softmax cross-entropy of the val rows (float64 here, tolerance 1e-6 relative), without the L2 term", async () => {
  const { results, sweepDir } = await listSweep('loss-check', { metric: 'valLoss' });
  await initEngine(E2E_BACKEND);
  for (const r of results.trials) {
    const dir = path.join(sweepDir, r.dir);
    const ck = loadCheckpoint(path.join(dir, 'best.ckpt'));
    const model = modelFromParams(ck.header.model, { specs: ck.header.params, flat: ck.params, views: viewsOf(ck.header.params, ck.params) }, 0) as Model<Float32Array>;
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Config;
    const { data } = await loadRunData(cfg);
    const scores = model.loss(data.val.X);
    let sum = 0;
    for (let i = 0; i < scores.rows; i++) {
      const row = Array.from(scores.data.subarray(i * scores.cols, (i + 1) * scores.cols));
      const m = Math.max(...row);
      sum += m + Math.log(row.reduce((a, s) => a + Math.exp(s - m), 0)) - row[data.val.y[i]];
    }
    const expected = sum / scores.rows;
    // best.ckpt holds the parameters of the best epoch (by val accuracy): its row's val loss.
    const row = epochRows(dir).find((e) => e.epoch === ck.header.epoch)!;
    const got = row.valLoss as number;
    assert.ok(Math.abs(got - expected) <= 1e-6 * expected, `trial ${r.index}: row ${got}, here ${expected}`);
  }
});

test('ASHA on a real sweep follows the metric: by val loss it stops the trial whose loss is worse at the rung, by val accuracy the same trial goes on', async () => {
  // 3 epochs, one rung at epoch 2. Trial 1 (reg 0) reaches it first; trial 2 (strong reg: more accurate, higher loss there) is judged against it.
  const order = { list: [LIST[1], LIST[0]], scheduler: { asha: { eta: 2, grace: 2 } } };
  const byLoss = await listSweep('asha-loss', { ...order, metric: 'valLoss' }, { iterations: 30 });
  const byAcc = await listSweep('asha-acc', order, { iterations: 30 });
  const atRung = (res: { results: SweepResults; sweepDir: string }, i: number, k: string) => rowValues(res.sweepDir, res.results.trials[i].dir, k)[1];
  const [loss1, loss2] = [atRung(byLoss, 0, 'valLoss'), atRung(byLoss, 1, 'valLoss')];
  assert.ok(loss2 > loss1, `at epoch 2 trial 2's val loss ${loss2} is above trial 1's ${loss1}`);
  assert.ok(atRung(byAcc, 1, 'valAcc') >= atRung(byAcc, 0, 'valAcc'), "and its val accuracy is not below trial 1's");
  assert.equal(byLoss.results.trials[0].status, 'ok');
  assert.equal(byLoss.results.trials[1].status, 'stopped');
  assert.equal(byLoss.results.trials[1].reason, `after epoch 2: val loss ${loss2.toFixed(4)} > ${loss1.toFixed(4)}, the 50th percentile of 1 earlier trials at epoch 2 (ASHA)`);
  assert.deepEqual(
    byAcc.results.trials.map((r) => r.status),
    ['ok', 'ok'],
  );
});

test("TPE is told the score of the metric: a val loss negated (min), val accuracy as it is (max); the trial's value, not its val accuracy", () => {
  const spec = parseSweep({ name: 't', base: BASE, tpe: { trials: 5, lr: { logUniform: [1e-3, 1] } }, metric: 'valLoss' }, 'mem.json');
  const space = tpeSpace(spec.tpe!.params);
  const t = trialOf(spec, 1, { lr: 0.01 } as Partial<Config>);
  const r = (status: TrialResult['status'], valAcc: number | null, value: number | null, lastEpoch?: number): TrialResult =>
    ({ index: 1, dir: 'trials/x', status, reason: null, params: t.params, trainAcc: null, valAcc, bestEpoch: null, seconds: null, resumed: false, lastEpoch, value }) as TrialResult;
  assert.deepEqual(observationOf(space, t, r('ok', 0.8, 0.4), LOSS_MIN), { params: { lr: 0.01 }, state: 'complete', value: -0.4 });
  assert.deepEqual(observationOf(space, t, r('stopped', 0.3, 1.7, 2), LOSS_MIN), { params: { lr: 0.01 }, state: 'pruned', step: 2, value: -1.7 });
  assert.deepEqual(observationOf(space, t, r('diverged', null, null), LOSS_MIN), { params: { lr: 0.01 }, state: 'pruned', step: 0, value: -Infinity });
  assert.deepEqual(observationOf(space, t, r('ok', 0.8, 0.8), DEFAULT_METRIC), { params: { lr: 0.01 }, state: 'complete', value: 0.8 });
  assert.deepEqual(metricOf(spec), LOSS_MIN);
});
