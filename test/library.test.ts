/**
 * The library's functions (src/index.ts) check their arguments as the CLI checks the same flags,
 * from the same tables: a bad value or an unknown option is a ConfigError naming it (issue 24
 * #26); what is right still works. And the library's train writes predictions.json, so its
 * report can be rebuilt from the folder alone (issue 24 #25).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lib from '../src/index.js';
import { buildRunReport } from '../src/report/run_report.js';
import { E2E_BACKEND } from './helpers.js';

const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'library-'));
let run = '';
before(async () => {
  const r = await lib.train({ numTrain: 500, numVal: 100, numTest: 200, numDev: 50, epochs: 1, backend: E2E_BACKEND, runsDir: runs });
  run = r.dir;
});
after(() => fs.rmSync(runs, { recursive: true, force: true }));

/** A ConfigError whose message is exactly `message`, or matches it. */
const refused = (message: string | RegExp) => (e: Error) => e instanceof lib.ConfigError && (typeof message === 'string' ? e.message === message : message.test(e.message));

test('evaluate refuses a split it does not know (it scored the test split under the name "bogus"), an unknown option and a run that is not a path; right ones score', async () => {
  await assert.rejects(() => lib.evaluate(run, { split: 'bogus' as never }), refused('evaluate(): split = "bogus" is not allowed: expected one of train, val, test, all'));
  await assert.rejects(() => lib.evaluate(run, { spilt: 'val' } as never), refused('evaluate(): unknown option "spilt". Known options: split, dataDir, backend'));
  await assert.rejects(() => lib.evaluate(run, { backend: 'gpu' as never }), refused(/^evaluate\(\): backend = "gpu" is not allowed: expected one of auto, /));
  await assert.rejects(() => lib.evaluate(run, JSON.parse('{"__proto__": {"split": "val"}}')), refused(/^evaluate\(\): unknown option "__proto__"/));
  await assert.rejects(() => lib.evaluate(42 as never), refused('evaluate(): run = 42 is not allowed: expected a non-empty string'));
  const r = await lib.evaluate(run, { split: 'val', backend: E2E_BACKEND, dataDir: undefined });
  assert.deepEqual(Object.keys(r.accuracies), ['val']);
  assert.equal(r.accuracies.val.n, 100);
});

test('loadModel, predict and predictImages refuse bad options and arguments by name', async () => {
  await assert.rejects(() => lib.loadModel(run, { backend: 'gpu' as never }), refused(/^loadModel\(\): backend = "gpu" is not allowed/));
  await assert.rejects(() => lib.loadModel(run, { threads: 2 } as never), refused('loadModel(): unknown option "threads". Known options: backend'));
  const m = await lib.loadModel(run, { backend: E2E_BACKEND });
  const px = new Uint8Array(2 * m.pixelsPerRow);
  assert.throws(() => lib.predict(m, px, { top: 0 }), refused('predict(): top = 0 is not allowed: expected an integer ≥ 1'));
  assert.throws(() => lib.predict(m, px, { top: 1.5 }), refused(/^predict\(\): top = 1\.5 is not allowed/));
  assert.throws(() => lib.predict(m, px, { k: 3 } as never), refused('predict(): unknown option "k". Known options: top'));
  assert.throws(() => lib.predict(m, Array.from(px) as never), refused(/^predict: pixels must be a Uint8Array of bytes 0-255 \(784 a row, HWC order\), not Array/));
  assert.throws(() => lib.predict({ file: 'x' } as never, px), refused('predict(): the model must be what loadModel() returns (a run loaded for predicting), not an object with file'));
  assert.equal(lib.predict(m, px, { top: 2 })[0].top.length, 2);
  await assert.rejects(() => lib.predictImages(m, ['a.png'], { top: -1 }), refused(/^predictImages\(\): top = -1 is not allowed/));
  await assert.rejects(() => lib.predictImages(m, ['a.png'], { invert: 'yes' as never }), refused('predictImages(): invert = "yes" is not allowed: expected true or false'));
  await assert.rejects(
    () => lib.predictImages(m, ['a.png'], { inverted: true } as never),
    refused('predictImages(): unknown option "inverted". Known options: top, invert, maxPixels, skipUnreadable, backend'),
  );
  await assert.rejects(() => lib.predictImages(m, 'a.png' as never), refused('predictImages(): files must be a list of image file names, not "a.png"'));
});

test('exportRun, loadDataset and train refuse bad options by name', async () => {
  assert.throws(() => lib.exportRun(run, 'onnx', { out: '' }), refused('exportRun(): out = "" is not allowed: expected a non-empty string'));
  assert.throws(() => lib.exportRun(run, 'onnx', { outDir: 'x' } as never), refused('exportRun(): unknown option "outDir". Known options: out, force'));
  assert.throws(() => lib.exportRun(run, 'tflite' as never), refused('--format tflite is not known: use onnx, safetensors, npy'));
  await assert.rejects(() => lib.loadDataset('mnist', undefined, { verify: 'no' as never }), refused('loadDataset(): verify = "no" is not allowed: expected true or false'));
  await assert.rejects(() => lib.loadDataset('mnist', undefined, { onDownload: 'stderr' as never }), refused('loadDataset(): onDownload = "stderr" is not allowed: expected a function'));
  await assert.rejects(() => lib.loadDataset('mnist', undefined, { check: true } as never), refused('loadDataset(): unknown option "check". Known options: verify, onDownload'));
  await assert.rejects(() => lib.loadDataset('mnist', 5 as never), refused('loadDataset(): source = 5 is not allowed: expected a string'));
  await assert.rejects(() => lib.train({ runsDir: runs }, { report: 'yes' as never }), refused('train(): report = "yes" is not allowed: expected true or false'));
  await assert.rejects(() => lib.train({ runsDir: runs }, { onEpoch: 5 as never }), refused('train(): onEpoch = 5 is not allowed: expected a function'));
  await assert.rejects(() => lib.train({ runsDir: runs }, { signal: true as never }), refused('train(): signal = true is not allowed: expected an AbortSignal'));
  await assert.rejects(
    () => lib.train({ runsDir: runs }, { onEpochs: () => {} } as never),
    refused(/^train\(\): unknown option "onEpochs". Known options: report, onStart, onIteration, onEpoch, onEnd, onInfo, onWarn, signal$/),
  );
  assert.equal(fs.readdirSync(runs).length, 1, 'no run folder for a refused call');
});

test("the library's train (without report) writes predictions.json: its report is rebuilt from the folder alone, with the confusion matrix and the misclassified images", async () => {
  assert.ok(fs.existsSync(path.join(run, 'predictions.json')));
  const warnings: string[] = [];
  await buildRunReport(run, undefined, { warn: (l) => warnings.push(l) });
  assert.deepEqual(warnings, []);
  const html = fs.readFileSync(path.join(run, 'report.html'), 'utf8');
  assert.match(html, /Test accuracy 0\.\d{3} on 200 records/);
  assert.match(html, /Misclassified test images/);
});
