/**
 * The linear model is `linear` (its loss softmax or svm); `softmax`, its name before the rename,
 * stays an alias in flags, config files and the library, and a run folder written under the old
 * name (config.json and the checkpoints' configs saying model softmax) still resumes bit for bit,
 * evaluates, predicts, exports and shows in `train runs`, compare and its report. bin/train.js
 * on the built dist/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, checkPartial, resolveConfig } from '../src/config/config.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/runs/checkpoint.js';
import { loadMnist } from '../src/data/datasets.js';
import { pngOfRow } from '../src/predict/image.js';
import { readTrialFolder, resultKey } from '../src/sweep/trial.js';
import { E2E_BACKEND, metricRows, trainCli as train } from './helpers.js';

const small = ['--num-train', '1000', '--num-val', '200', '--num-test', '500', '--num-dev', '100', '--backend', E2E_BACKEND, '--momentum', '0.9'];

test('model softmax (a flag, a config file, the library) is the linear model with its loss as given; the default is linear, named by its loss', () => {
  assert.equal(resolveConfig({}, {}).model, 'linear');
  assert.equal(resolveConfig({}, {}).name, 'mnist-softmax');
  assert.equal(resolveConfig({}, { loss: 'svm' }).name, 'mnist-svm');
  assert.equal(resolveConfig({}, { model: 'mlp', loss: 'svm' }).name, 'mnist-mlp-svm');
  assert.deepEqual(checkPartial({ model: 'softmax' }, 'x.json'), { model: 'linear' });
  const old = resolveConfig({ model: 'softmax', loss: 'svm', dataset: 'cifar' } as never, {});
  const now = resolveConfig({ model: 'linear', loss: 'svm', dataset: 'cifar' }, {});
  assert.deepEqual(old, now, 'the alias gives the same config, preset and name included');
  assert.equal(now.loss, 'svm');
  assert.throws(
    () => checkPartial({ model: 'lineer' }, 'x.json'),
    (e: Error) => e instanceof ConfigError && e.message === 'x.json: model = "lineer" is not allowed: expected one of linear, mlp, knn, or softmax (= linear)',
  );
});

test('--model softmax and a config file saying "model": "softmax" print the linear model with their loss; --help shows linear and the alias', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alias-'));
  try {
    const flag = train(['--model', 'softmax', '--loss', 'svm', '--print-config']);
    assert.equal(flag.code, 0, flag.err);
    assert.deepEqual([JSON.parse(flag.out).model, JSON.parse(flag.out).loss, JSON.parse(flag.out).name], ['linear', 'svm', 'mnist-svm']);
    const file = path.join(dir, 'old.json');
    fs.writeFileSync(file, JSON.stringify({ model: 'softmax', dataset: 'cifar' }));
    const fromFile = train(['--config', file, '--print-config']);
    assert.equal(fromFile.code, 0, fromFile.err);
    const cfg = JSON.parse(fromFile.out);
    assert.deepEqual([cfg.model, cfg.loss, cfg.reg], ['linear', 'softmax', 1e3], 'the cifar-linear preset');
    const help = train(['--help']);
    assert.match(help.out.replace(/\s+/g, ' '), /--model linear classifier \(its loss: softmax or svm; softmax is also accepted here, as linear\).*\[choices: "linear", "mlp", "knn", "softmax"\]/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** The folder as the code before the rename wrote it: config.json and every checkpoint's config say model softmax. */
function asBeforeTheRename(dir: string): void {
  const cfgFile = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  assert.equal(cfg.model, 'linear');
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, model: 'softmax' }, null, 2) + '\n');
  for (const f of ['best.ckpt', 'last.ckpt']) {
    const ck = decodeCheckpoint(fs.readFileSync(path.join(dir, f)), f);
    assert.equal(ck.header.config.model, 'linear');
    fs.writeFileSync(path.join(dir, f), encodeCheckpoint({ ...ck, header: { ...ck.header, config: { ...ck.header.config, model: 'softmax' } } }));
  }
}

/** A checkpoint's numbers: its parameters, mean image and extra blocks (the header aside). */
function numbers(file: string): Float32Array[] {
  const ck = decodeCheckpoint(fs.readFileSync(file), file);
  return [ck.params, ck.mean, ...Object.values(ck.blocks ?? {})];
}

test('a run folder written before the rename (model softmax) resumes bit for bit, evaluates, predicts, exports, and shows in train runs, compare and its report', async () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'alias-runs-'));
  try {
    const ref = train([...small, '--epochs', '3', '--runs-dir', runs, '--name', 'ref', '--quiet']);
    assert.equal(ref.code, 0, ref.err);
    const short = train([...small, '--epochs', '2', '--runs-dir', runs, '--name', 'old', '--quiet']);
    assert.equal(short.code, 0, short.err);
    const dirOf = (name: string) =>
      path.join(
        runs,
        fs.readdirSync(runs).find((d) => d.endsWith(`-${name}`))!,
      );
    const [refDir, oldDir] = [dirOf('ref'), dirOf('old')];
    asBeforeTheRename(oldDir);

    const resumed = train(['--resume', oldDir, '--epochs', '3', '--quiet']);
    assert.equal(resumed.code, 0, resumed.err);
    assert.deepEqual(metricRows(oldDir), metricRows(refDir), 'metrics.jsonl as the uninterrupted run');
    for (const f of ['best.ckpt', 'last.ckpt']) assert.deepEqual(numbers(path.join(oldDir, f)), numbers(path.join(refDir, f)), `${f}'s numbers as the uninterrupted run's`);
    asBeforeTheRename(oldDir); // and the rest of the commands on the old spelling again

    const evals = [oldDir, refDir].map((d) => train(['eval', d, '--split', 'test', '--json', '--backend', E2E_BACKEND]));
    for (const e of evals) assert.equal(e.code, 0, e.err);
    assert.deepEqual(JSON.parse(evals[0].out).accuracies, JSON.parse(evals[1].out).accuracies);

    const raw = await loadMnist();
    const pngs = fs.mkdtempSync(path.join(os.tmpdir(), 'alias-png-'));
    for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(pngs, `t${i}.png`), await pngOfRow(raw.test.x.subarray(i * 784, (i + 1) * 784), raw.imageShape));
    const preds = [oldDir, refDir].map((d) => train(['predict', d, pngs, '--json', '--backend', E2E_BACKEND]));
    for (const p of preds) assert.equal(p.code, 0, p.err);
    assert.deepEqual(JSON.parse(preds[0].out).predictions, JSON.parse(preds[1].out).predictions);
    fs.rmSync(pngs, { recursive: true });

    const exported = train(['export', oldDir, '--format', 'npy']);
    assert.equal(exported.code, 0, exported.err);

    const listed = train(['runs', '--runs-dir', runs]);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, new RegExp(path.basename(oldDir)));
    const compared = train(['compare', oldDir, refDir]);
    assert.equal(compared.code, 0, compared.err);

    const report = train(['report', oldDir]);
    assert.equal(report.code, 0, report.err);
    const html = fs.readFileSync(path.join(oldDir, 'report.html'), 'utf8');
    assert.match(html, /The keys that apply to a linear run/);
    assert.match(html, /<th>lr<\/th>/, 'its SGD keys apply (model softmax read as linear)');
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});

test('a sweep trial folder written before the rename holds the same config as the linear one, so a sweep reuses its results', () => {
  const sweep = fs.mkdtempSync(path.join(os.tmpdir(), 'alias-sweep-'));
  try {
    const cfg = resolveConfig({}, { numTrain: 1000, lr: 0.5 });
    fs.mkdirSync(path.join(sweep, 'trials', 'old'), { recursive: true });
    fs.writeFileSync(path.join(sweep, 'trials', 'old', 'config.json'), JSON.stringify({ ...cfg, model: 'softmax' }));
    const f = readTrialFolder(sweep, 'trials/old');
    assert.equal(f.config?.model, 'linear');
    assert.equal(f.key, resultKey(cfg));
  } finally {
    fs.rmSync(sweep, { recursive: true, force: true });
  }
});
