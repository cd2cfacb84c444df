/**
 * The library's train (src/index.ts) on rows given in memory, as Keras's fit(x, y) (issue 25):
 * the MNIST rows passed as arrays give the run the dataset's name gives, metric for metric;
 * bad shapes and labels are refused in one line before any run folder is made. And early
 * stopping (the patience config key): the run stops, tests its best parameters and says so.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lib from '../src/index.js';
import type { Summary } from '../src/runs/summary.js';
import { E2E_BACKEND, metricRows } from './helpers.js';

const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'library-data-'));
after(() => fs.rmSync(runs, { recursive: true, force: true }));

/** A small MLP run: 500 train, 100 val, 200 test rows of MNIST, 30 steps. */
const CFG: Partial<lib.Config> = { model: 'mlp', hidden: [20], numTrain: 500, numVal: 100, numTest: 200, numDev: 50, batchSize: 50, epochs: 3, backend: E2E_BACKEND, runsDir: runs };

let raw: lib.RawDataset;
before(async () => {
  raw = await lib.loadDataset('mnist');
});

/** Rows [from, to) of a split as floats, with their labels, in the shape [N, 28, 28, 1]. */
function rowsOf(split: lib.RawSplit, from: number, to: number) {
  const px = raw.dim;
  return { x: Float32Array.from(split.x.subarray(from * px, to * px)), shape: [to - from, ...raw.imageShape], y: Int32Array.from(split.y.subarray(from, to)) };
}

const paramsOf = (dir: string) => lib.loadCheckpoint(path.join(dir, 'best.ckpt')).params;

test('MNIST rows given in memory train exactly as the dataset by name: the same metrics.jsonl, accuracies and best parameters, with val taken off the end or given', async () => {
  const byName = await lib.train(CFG);
  const offTheEnd = await lib.train({ ...CFG, data: { ...rowsOf(raw.train, 0, 600), classes: raw.classes, test: rowsOf(raw.test, 0, 200) } });
  const valGiven = await lib.train({ ...CFG, data: { ...rowsOf(raw.train, 0, 500), classes: raw.classes, val: rowsOf(raw.train, 500, 600), test: rowsOf(raw.test, 0, 200) } });
  const s = byName.summary as Summary;
  assert.ok(s.testAcc !== null && s.testAcc > 0.5, `test acc ${s.testAcc}`);
  for (const r of [offTheEnd, valGiven]) {
    assert.deepEqual(metricRows(r.dir), metricRows(byName.dir));
    const m = r.summary as Summary;
    assert.deepEqual([m.bestValAcc, m.bestEpoch, m.testAcc, m.finalLoss, m.initialLoss], [s.bestValAcc, s.bestEpoch, s.testAcc, s.finalLoss, s.initialLoss]);
    assert.deepEqual(paramsOf(r.dir), paramsOf(byName.dir));
  }
  // Without test rows there is no test accuracy, and the run says so by null.
  const noTest = await lib.train({ ...CFG, numTest: 'all', data: { ...rowsOf(raw.train, 0, 600), classes: raw.classes } });
  assert.equal((noTest.summary as Summary).testAcc, null);
  assert.deepEqual(metricRows(noTest.dir), metricRows(byName.dir));
});

test('data in memory with a bad shape, label, array or split is refused in one line naming it, before any run folder is made', async () => {
  const before = fs.readdirSync(runs).length;
  const good = () => ({ x: new Float32Array(30 * 4), shape: [30, 4], y: new Int32Array(30), classes: ['a', 'b'] });
  const cfg: Partial<lib.Config> = { ...CFG, numTrain: 'all', numVal: 5, numTest: 'all', numDev: 5, batchSize: 5 };
  const refused = (message: string) => (e: Error) => e instanceof lib.ConfigError && e.message === message;
  const cases: [unknown, string][] = [
    [{ ...good(), shape: [30, 5] }, 'train(): data.x has 120 numbers, but data.shape [30, 5] needs 150'],
    [{ ...good(), shape: [30, 2, 2] }, 'train(): data.shape must be [N, D] or [N, H, W, C] of whole numbers ≥ 1, not [30, 2, 2]'],
    [{ ...good(), x: Array.from({ length: 120 }, () => 0) }, 'train(): data.x must be a Float32Array or Uint8Array of the rows, not [0, 0, 0, 0, 0, …]'],
    [{ ...good(), y: new Int32Array(29) }, 'train(): data.y has 29 labels, but data.shape says 30 rows'],
    [{ ...good(), y: new Float64Array(30) }, 'train(): data.y must be a Uint8Array or Int32Array of class indices, not Float64Array'],
    [{ ...good(), y: Int32Array.from({ length: 30 }, (_, i) => (i === 7 ? 2 : 0)) }, 'train(): data.y[7] = 2 is not a class: data.classes has 2 (labels 0 to 1)'],
    [{ ...good(), y: Int32Array.from({ length: 30 }, (_, i) => (i === 3 ? -1 : 0)) }, 'train(): data.y[3] = -1 is not a class: data.classes has 2 (labels 0 to 1)'],
    [{ ...good(), classes: ['a', 'a'] }, 'train(): data.classes must be a list of at least 2 different class names, not ["a", "a"]'],
    [{ ...good(), x: Float32Array.from({ length: 120 }, (_, i) => (i === 9 ? NaN : 0)) }, 'train(): data.x[9] is NaN: rows must be finite numbers'],
    [{ ...good(), test: { x: new Float32Array(10 * 5), shape: [10, 5], y: new Int32Array(10) } }, "train(): data.test's rows are 5, but data's are 4: give rows of one shape"],
    [{ ...good(), val: { x: new Float32Array(8), shape: [2, 4], y: new Int32Array(3) } }, 'train(): data.val.y has 3 labels, but data.val.shape says 2 rows'],
    [[1, 2], 'train(): data must be an object { x, shape, y, classes, val?, test? }, not [1, 2]'],
  ];
  for (const [data, message] of cases) await assert.rejects(() => lib.train({ ...cfg, data: data as lib.MemoryData }), refused(message), message);
  await assert.rejects(() => lib.train({ ...cfg, numVal: 30, data: good() }), refused('numVal = 30 leaves no training rows: data has 30 rows in all; lower numVal, or give data.val'));
  await assert.rejects(
    () => lib.train({ ...cfg, numTrain: 26, data: good() }),
    refused('numTrain = 26, but data has 25 training rows besides its last 5 (the validation rows): lower numTrain, or use all'),
  );
  await assert.rejects(() => lib.train({ ...cfg, numTest: 3, data: good() }), refused('numTest = 3, but data has no test rows: give data.test, or use numTest all'));
  await assert.rejects(() => lib.train({ ...cfg, dataDir: '/tmp', data: good() }), refused('train(): dataDir names a dataset to read, and data gives the rows: leave one out'));
  assert.equal(fs.readdirSync(runs).length, before, 'no run folder for a refused call');
  // What is right trains: a 2-class problem of 4 numbers a row, test rows given.
  const r = await lib.train({ ...cfg, epochs: 1, data: { ...good(), test: { x: new Uint8Array(4 * 4), shape: [4, 4], y: new Uint8Array(4) } } });
  assert.equal((r.summary as Summary).status, 'ok');
  assert.equal((r.summary as Summary).testAcc, 1, 'all-zero rows of class 0: every prediction is the one class seen');
});

test('patience: a run with no better val accuracy for `patience` epochs stops, tests its best parameters and says where it stopped (summary, log, onInfo)', async () => {
  // lr 1e-12 moves no float32 weight: the val accuracy of epoch 1 is never beaten.
  const info: string[] = [];
  const epochs: number[] = [];
  const cfg = { model: 'linear', numTrain: 500, numVal: 100, numTest: 200, numDev: 50, batchSize: 100, epochs: 10, lr: 1e-12, patience: 2, backend: E2E_BACKEND, runsDir: runs } as const;
  const r = await lib.train(cfg, { onInfo: (l) => info.push(l), onEpoch: (e) => epochs.push(e.epoch) });
  const s = r.summary as Summary;
  assert.equal(s.status, 'ok');
  assert.deepEqual(s.stoppedEarly, { epoch: 3, it: 15, patience: 2 });
  assert.equal(s.bestEpoch, 1);
  assert.equal(s.epochs, 10, 'the run was planned for 10 epochs');
  assert.ok(typeof s.testAcc === 'number' && s.testAcc > 0, `the best parameters are tested: test acc ${s.testAcc}`);
  assert.deepEqual(epochs, [1, 2, 3]);
  assert.equal(metricRows(r.dir).filter((m) => m.type === 'epoch').length, 3);
  assert.ok(info.includes('stopped early after epoch 3 of 10 (step 15): no better val acc for 2 epochs since epoch 1'), info.join('\n'));
  const log = fs
    .readFileSync(path.join(r.dir, 'train.log'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    log.filter((l) => l.msg === 'stopped early').map(({ epoch, it, patience, bestEpoch }) => ({ epoch, it, patience, bestEpoch })),
    [{ epoch: 3, it: 15, patience: 2, bestEpoch: 1 }],
  );
  // patience 0 (or unset) never stops early, and an unset one leaves config.json as it was before the key.
  const all = await lib.train({ ...cfg, epochs: 4, patience: 0 });
  assert.equal((all.summary as Summary).stoppedEarly, undefined);
  assert.equal(metricRows(all.dir).filter((m) => m.type === 'epoch').length, 4);
  const { patience: _, ...noPatience } = cfg;
  const unset = await lib.train({ ...noPatience, epochs: 1 });
  assert.equal('patience' in JSON.parse(fs.readFileSync(path.join(unset.dir, 'config.json'), 'utf8')), false);
});
