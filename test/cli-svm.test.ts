/**
 * The multiclass SVM through the command line, as a user runs it (bin/train.js on the built
 * dist/), on a small subset of the built-in MNIST and on the engine the end-to-end tests use.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCheckpoint } from '../src/runs/checkpoint.js';
import { E2E_BACKEND, trainCli as train } from './helpers.js';

const small = ['--num-train', '1000', '--num-val', '200', '--num-test', '500', '--num-dev', '100', '--backend', E2E_BACKEND];

test('train --loss svm: the C − 1 sanity check beside the softmax figure, the loss in the checkpoint, eval and report rebuild the SVM', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-'));
  const r = train([...small, '--epochs', '3', '--loss', 'svm', '--runs-dir', runs]);
  assert.equal(r.code, 0, r.err + r.out);
  const dirs = fs.readdirSync(runs);
  assert.equal(dirs.length, 1);
  assert.match(dirs[0], /^\d{8}-\d{6}-mnist-svm$/);
  const dir = path.join(runs, dirs[0]);
  assert.match(r.out, /initial loss (\d\.\d{4}) with reg 0 on 100 dev rows; expected C − 1 = 9 for the SVM \(\d+\.\d% off\); a softmax would start at −ln\(1\/10\) = 2\.3026/);
  const initial = Number(/initial loss (\d\.\d{4})/.exec(r.out)![1]);
  assert.ok(Math.abs(initial - 9) < 0.9, `initial loss ${initial}`);
  assert.match(r.out, /training linear \(loss svm\)/);

  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(cfg.loss, 'svm');
  const summary = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'ok');
  assert.equal(summary.engine, E2E_BACKEND);
  assert.deepEqual(summary.model, { kind: 'softmax', inputDim: 785, hidden: [], numClasses: 10, loss: 'svm' });
  assert.equal(summary.expectedInitialLoss, 9);
  assert.ok(summary.testAcc > 0.7, `test accuracy ${summary.testAcc}`);
  const log = fs
    .readFileSync(path.join(dir, 'train.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(log.some((l) => l.msg === 'initial loss check' && l.loss === 'svm' && l.expected === 9));
  assert.equal(loadCheckpoint(path.join(dir, 'best.ckpt')).header.model.loss, 'svm');

  const e = train(['eval', dir, '--split', 'all', '--backend', E2E_BACKEND]);
  assert.equal(e.code, 0, e.err);
  assert.equal(Number(/test accuracy: (\d\.\d+)/.exec(e.out)?.[1]), Number(summary.testAcc.toFixed(4)));

  // The report names the linear SVM and shows its weight templates, as for the softmax.
  fs.rmSync(path.join(dir, 'weights.png'));
  const rep = train(['report', dir, '--backend', E2E_BACKEND]);
  assert.equal(rep.code, 0, rep.err);
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  assert.match(html, /mnist · linear SVM · best val/);
  assert.match(html, /Learned weight templates/);
  assert.ok(fs.statSync(path.join(dir, 'weights.png')).size > 0);
});

test('gradcheck --loss svm passes for the linear model and the MLP; --compare-naive compares the looped and vectorized SVM', () => {
  for (const args of [
    ['gradcheck', '--loss', 'svm'],
    ['gradcheck', '--loss', 'svm', '--model', 'mlp', '--hidden', '6'],
  ]) {
    const r = train(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}${r.out}`);
    assert.match(r.out, /^gradcheck: (linear|mlp) \(loss svm\)/);
    assert.match(r.out, /gradient check passed/);
  }
  const c = train(['gradcheck', '--loss', 'svm', '--compare-naive']);
  assert.equal(c.code, 0, c.err);
  const naive = Number(c.out.match(/naive loss: (\S+) computed in/)![1]);
  const vec = Number(c.out.match(/vectorized loss: (\S+) computed in/)![1]);
  assert.ok(naive > 1 && Math.abs(naive - vec) / vec < 1e-12, `${naive} vs ${vec}`);
  assert.ok(Number(c.out.match(/Gradient difference: (\S+) \(Frobenius norm\)/)![1]) < 1e-10);
  const bad = train(['gradcheck', '--loss', 'hinge']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /hinge/);
});
