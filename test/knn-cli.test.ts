/**
 * A short kNN run end to end through the CLI (bin/train.js on the built dist/), on a subset of the
 * built-in MNIST and the E2E_BACKEND engine: the run folder a knn run writes, its console lines
 * (the notebook's timings and cross-validation lines), its report, and `train report` rebuilding it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { E2E_BACKEND, trainCli as train } from './helpers.js';

test('train --model knn on an MNIST subset: cross-validation, test accuracy, an honest run folder and its report', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-knn-'));
  const args = ['--model', 'knn', '--num-train', '600', '--num-test', '100', '--k', '3', '--cv-folds', '3', '--k-choices', '1,3,5', '--backend', E2E_BACKEND, '--runs-dir', runs, '--name', 'knn'];
  const r = train(args);
  assert.equal(r.code, 0, r.err + r.out);
  const dirs = fs.readdirSync(runs);
  assert.equal(dirs.length, 1);
  const dir = path.join(runs, dirs[0]);
  // No SGD: no metrics.jsonl, no checkpoints.
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'cv.json', 'cv.png', 'distances.png', 'report.html', 'summary.json', 'train.log']);

  assert.match(r.out, new RegExp(`engine: ${E2E_BACKEND}`));
  assert.match(r.out, /distances of 100 test × 600 training rows/);
  assert.match(r.out, /Two loop version took \d+\.\d{6} seconds\nOne loop version took \d+\.\d{6} seconds\nNo loop version took \d+\.\d{6} seconds/);
  assert.match(r.out, /One loop difference was: 0\.000000/);
  const cvLines = r.out.match(/^k = \d+, accuracy = 0\.\d{6}$/gm) ?? [];
  assert.equal(cvLines.length, 9, 'one line per k and fold (3 × 3)');
  assert.match(r.out, /best k by cross-validation: [135] /);
  assert.match(r.out, /Got \d+ \/ 100 correct => accuracy: 0\.\d{6} \(k = 3/);

  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'ok');
  assert.equal(summary.engine, E2E_BACKEND);
  assert.deepEqual(summary.model, { kind: 'knn', k: 3, inputDim: 784, numClasses: 10, numTrain: 600 });
  assert.ok(summary.testAcc > 0.7, `kNN on 600 MNIST digits: test accuracy ${summary.testAcc}`);
  for (const k of ['iterations', 'epochs', 'finalLoss', 'initialLoss', 'bestValAcc']) assert.ok(!(k in summary), `${k} is not in a knn summary`);
  assert.equal(summary.checkpoint, null);
  assert.deepEqual([summary.distances.rows, summary.distances.cols], [100, 600]);
  assert.equal(summary.distances.oneLoopDifference, 0);
  const cv = JSON.parse(fs.readFileSync(path.join(dir, 'cv.json'), 'utf8'));
  assert.deepEqual(cv.ks, [1, 3, 5]);
  assert.equal(cv.accuracy.length, 3);
  assert.ok(cv.accuracy.every((a: number[]) => a.length === 3));
  assert.equal(cv.bestK, summary.cv.bestK);
  assert.equal(cv.bestK, cv.ks[cv.mean.indexOf(Math.max(...cv.mean))]);

  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  assert.match(html, /Cross-validation on k/);
  assert.match(html, /Distance matrix/);
  assert.match(html, /<img class="grid" src="data:image\/png;base64,/);
  const png = fs.readFileSync(path.join(dir, 'distances.png'));
  assert.equal(png.readUInt32BE(16), 600, 'distances.png is 600 training rows wide');
  assert.equal(png.readUInt32BE(20), 100, 'and 100 test rows high');

  // The report is rebuilt from the folder's files alone.
  fs.rmSync(path.join(dir, 'report.html'));
  const rep = train(['report', dir, '--backend', E2E_BACKEND]);
  assert.equal(rep.code, 0, rep.err + rep.out);
  assert.match(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'), /Cross-validation on k/);

  // Nonsense is refused before any run folder is made.
  const bad = train(args.map((a, i) => (args[i - 1] === '--k' ? '601' : a)));
  assert.equal(bad.code, 2, bad.err + bad.out);
  assert.match(bad.err, /k = 601 is more than the 600 training rows/);
  const noResume = train(['--resume', dir, '--backend', E2E_BACKEND]);
  assert.equal(noResume.code, 2, noResume.err);
  assert.match(noResume.err, /a knn run has no checkpoint to carry on/);
  assert.equal(fs.readdirSync(runs).length, 1);
  fs.rmSync(runs, { recursive: true, force: true });
});
