/**
 * `train export` end to end. ONNX: the exported model, run by the real onnxruntime-node on the
 * raw test pixels, predicts the classes `eval`'s code path predicts on ≥ 99.9% of the 10,000 MNIST
 * test rows, with probabilities within 1e-5 of this project's (layers/softmax.ts on the model's
 * float32 scores), for a softmax and an MLP run, a batch norm + dropout MLP and a layer norm MLP;
 * also for a HOG + hue features run, whose model
 * takes the float64 features. safetensors and npy: the arrays read back are the checkpoint's,
 * bit for bit. A knn run is refused with the reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadDataset, type RawDataset } from '../src/data/datasets.js';
import { rowsOfCheckpoint } from '../src/data/feature_data.js';
import { featuresOfRows } from '../src/data/features.js';
import { readNpy } from '../src/data/npy.js';
import { decodeSafetensors } from '../src/export/safetensors.js';
import { initEngine } from '../src/linalg/engine.js';
import { argmaxRows } from '../src/linalg/mat.js';
import { modelFromCheckpoint } from '../src/models/index.js';
import { viewsOf } from '../src/models/params.js';
import { loadCheckpoint } from '../src/runs/checkpoint.js';
import { scoreRows } from '../src/predict/predict.js';
import { E2E_BACKEND, TRAIN_BIN, trainCli as train } from './helpers.js';

function trainRun(args: string[]): string {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-export-'));
  const r = train([...args, '--backend', E2E_BACKEND, '--runs-dir', runs, '--name', 'x']);
  assert.equal(r.code, 0, r.err + r.out);
  return path.join(runs, fs.readdirSync(runs)[0]);
}

/** ONNX vs this project on the test split of `raw`: the share of rows predicted alike and the largest probability difference. */
async function compareOnnx(run: string, raw: RawDataset, onnxFile: string): Promise<{ n: number; agree: number; maxDiff: number; session: ort.InferenceSession }> {
  const ck = loadCheckpoint(path.join(run, 'best.ckpt'));
  await initEngine(E2E_BACKEND);
  const rows = await rowsOfCheckpoint(raw, 'test', ck.header, ck.mean, 'test');
  const ours = scoreRows(modelFromCheckpoint(ck), rows.X);
  const session = await ort.InferenceSession.create(onnxFile);
  const n = rows.n;
  const [hh, ww, cc] = ck.header.imageShape;
  const feed: Record<string, ort.Tensor> = ck.header.preprocess.features
    ? { features: new ort.Tensor('float64', featuresOfRows(raw.test.x, 0, n, ck.header.imageShape, { hueBins: ck.header.preprocess.features.hueBins }), [n, ck.header.meanLength]) }
    : { pixels: new ort.Tensor('float32', Float32Array.from(raw.test.x.subarray(0, n * raw.dim)), [n, hh, ww, cc]) };
  const out = await session.run(feed);
  const p = out.probabilities.data as Float32Array;
  assert.deepEqual(out.probabilities.dims, [n, ck.header.classes.length]);
  let maxDiff = 0;
  for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i] - ours.probabilities!.data[i]));
  const a = argmaxRows(ours.scores);
  const b = argmaxRows({ rows: n, cols: ck.header.classes.length, data: p });
  let agree = 0;
  for (let i = 0; i < n; i++) agree += +(a[i] === b[i]);
  return { n, agree, maxDiff, session };
}

test('ONNX export of an MNIST softmax and an MLP run: onnxruntime on raw pixels agrees with eval on ≥ 99.9% of the 10,000 test rows, probabilities within 1e-5', async () => {
  const raw = await loadDataset('mnist');
  const split = ['--num-train', '3000', '--num-val', '500', '--num-test', 'all', '--num-dev', '100', '--epochs', '2'];
  for (const config of ['configs/mnist-softmax.json', 'configs/mnist-mlp.json']) {
    const run = trainRun(['--config', config, ...split]);
    const r = train(['export', run, '--format', 'onnx']);
    assert.equal(r.code, 0, r.err);
    const file = path.join(run, 'export', 'model.onnx');
    assert.equal(r.out, `wrote ${file}\n`);
    const { n, agree, maxDiff, session } = await compareOnnx(run, raw, file);
    assert.equal(n, 10000);
    assert.ok(agree / n >= 0.999, `${config}: ${agree} of ${n} rows agree`);
    assert.ok(maxDiff <= 1e-5, `${config}: probabilities differ by up to ${maxDiff}`);
    console.log(`${config}: ${agree}/${n} rows agree, max |Δp| ${maxDiff.toExponential(2)}`);
    assert.deepEqual(session.inputNames, ['pixels']);
    assert.deepEqual(session.outputNames, ['probabilities', 'scores']);
    // eval's accuracy is the ONNX model's on those rows, to its 4 printed decimals.
    const e = train(['eval', run, '--backend', E2E_BACKEND]);
    const evalAcc = Number(/test accuracy: ([\d.]+)/.exec(e.out)![1]);
    const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(raw.test.x), [10000, 28, 28, 1]) });
    const pred = argmaxRows({ rows: 10000, cols: 10, data: out.scores.data as Float32Array });
    const acc = pred.filter((k, i) => k === raw.test.y[i]).length / 10000;
    assert.ok(Math.abs(acc - evalAcc) <= 0.001, `${config}: onnx accuracy ${acc}, eval ${evalAcc}`);
  }
});

test('ONNX export of a batch norm + dropout MLP and a layer norm MLP (two hidden layers each): BatchNormalization with the running statistics, LayerNormalization, no dropout; agrees with eval as above', async () => {
  const raw = await loadDataset('mnist');
  const split = ['--num-train', '3000', '--num-val', '500', '--num-test', 'all', '--num-dev', '100', '--epochs', '2', '--hidden', '64,32'];
  const cases: [string, string[], string[]][] = [
    ['batchnorm + dropout 0.7', ['--normalization', 'batchnorm', '--dropout-keep', '0.7', '--lr', '0.1'], ['BatchNormalization', 'BatchNormalization']],
    ['layernorm', ['--normalization', 'layernorm', '--lr', '0.1'], ['LayerNormalization', 'LayerNormalization']],
  ];
  for (const [what, flags, normOps] of cases) {
    const run = trainRun(['--config', 'configs/mnist-mlp.json', ...split, ...flags]);
    const r = train(['export', run, '--format', 'onnx']);
    assert.equal(r.code, 0, r.err);
    const file = path.join(run, 'export', 'model.onnx');
    const { n, agree, maxDiff } = await compareOnnx(run, raw, file);
    assert.equal(n, 10000);
    assert.ok(agree / n >= 0.999, `${what}: ${agree} of ${n} rows agree`);
    assert.ok(maxDiff <= 1e-5, `${what}: probabilities differ by up to ${maxDiff}`);
    console.log(`${what}: ${agree}/${n} rows agree, max |Δp| ${maxDiff.toExponential(2)}`);
    // The graph has the norm ops and no Dropout node.
    const { default: onnxProto } = await import('onnx-proto');
    const ops = onnxProto.onnx.ModelProto.decode(fs.readFileSync(file)).graph!.node!.map((nd) => nd.opType!);
    assert.deepEqual(
      ops.filter((o) => /Normalization|Dropout/.test(o)),
      normOps,
      what,
    );
    // eval's accuracy is the ONNX model's, to its 4 printed decimals.
    const e = train(['eval', run, '--backend', E2E_BACKEND]);
    const evalAcc = Number(/test accuracy: ([\d.]+)/.exec(e.out)![1]);
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(raw.test.x), [10000, 28, 28, 1]) });
    const pred = argmaxRows({ rows: 10000, cols: 10, data: out.scores.data as Float32Array });
    const acc = pred.filter((k, i) => k === raw.test.y[i]).length / 10000;
    assert.ok(Math.abs(acc - evalAcc) <= 0.001, `${what}: onnx accuracy ${acc}, eval ${evalAcc}`);
    // safetensors carries the norm parameters and the running statistics under their checkpoint names.
    const ck = loadCheckpoint(path.join(run, 'best.ckpt'));
    assert.equal(train(['export', run, '--format', 'safetensors']).code, 0);
    const { tensors } = decodeSafetensors(fs.readFileSync(path.join(run, 'export', 'model.safetensors')));
    assert.deepEqual(
      tensors.map((t) => t.name),
      [...ck.header.params.map((p) => p.name), 'mean'],
    );
    assert.ok(
      tensors.some((t) => t.name === 'gamma2'),
      what,
    );
    assert.equal(
      tensors.some((t) => t.name === 'running_var2'),
      what.startsWith('batchnorm'),
    );
  }
});

test('ONNX export of a HOG + hue features run takes the float64 features and agrees with eval', async () => {
  const { CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch } = await import('../src/data/cifar.js');
  const { Rng } = await import('../src/linalg/rng.js');
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'cifar-export-'));
  const rng = new Rng(9);
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
  write(CIFAR_TEST_FILE, 300);
  const raw = await loadDataset('cifar', data);
  const run = trainRun(['--dataset', 'cifar', '--data-dir', data, '--features', 'hog+hue', '--num-train', '1000', '--num-val', '200', '--num-test', '300', '--num-dev', '100', '--iterations', '40']);
  const out = path.join(os.tmpdir(), `feat-${process.pid}.onnx`);
  const r = train(['export', run, '--format', 'onnx', '--out', out]);
  assert.equal(r.code, 0, r.err);
  const { n, agree, maxDiff, session } = await compareOnnx(run, raw, out);
  assert.equal(agree, n);
  console.log(`features run: ${agree}/${n} rows agree, max |Δp| ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff <= 1e-5, `probabilities differ by up to ${maxDiff}`);
  assert.deepEqual(session.inputNames, ['features']);
});

test('safetensors and npy exports hold the checkpoint parameters bit for bit under their names, with the mean and the preprocessing', async () => {
  const run = trainRun(['--config', 'configs/mnist-mlp.json', '--hidden', '12,7', '--num-train', '500', '--num-val', '100', '--num-test', '100', '--num-dev', '50', '--iterations', '10']);
  const ck = loadCheckpoint(path.join(run, 'best.ckpt'));
  const views = viewsOf(ck.header.params, ck.params);
  const names = ['W1', 'b1', 'W2', 'b2', 'W3', 'b3'];
  assert.deepEqual(
    ck.header.params.map((p) => p.name),
    names,
  );

  const st = train(['export', run, '--format', 'safetensors']);
  assert.equal(st.code, 0, st.err);
  const bytes = fs.readFileSync(path.join(run, 'export', 'model.safetensors'));
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, 'the data starts 8-byte aligned');
  const { metadata, tensors } = decodeSafetensors(bytes);
  assert.deepEqual(
    tensors.map((t) => t.name),
    [...names, 'mean'],
  );
  for (const p of ck.header.params) {
    const t = tensors.find((x) => x.name === p.name)!;
    assert.deepEqual(t.shape, [p.rows, p.cols]);
    assert.deepEqual(t.data, views[p.name].data);
  }
  assert.deepEqual(tensors.at(-1)!.data, ck.mean);
  assert.deepEqual(JSON.parse(metadata.classes), ck.header.classes);
  assert.equal(Number(metadata.scale), ck.header.preprocess.scale);
  assert.equal(metadata.bias_column, 'false');
  // The byte ranges tile the data part exactly (safetensors readers refuse gaps).
  const header = JSON.parse(bytes.toString('utf8', 8, 8 + n));
  const ranges = [...names, 'mean'].map((k) => header[k].data_offsets as [number, number]);
  ranges.forEach(([a], i) => assert.equal(a, i === 0 ? 0 : ranges[i - 1][1]));
  assert.equal(ranges.at(-1)![1], bytes.length - 8 - n);

  const dir = path.join(os.tmpdir(), `npy-${process.pid}`);
  const np = train(['export', run, '--format', 'npy', '--out', dir]);
  assert.equal(np.code, 0, np.err);
  assert.deepEqual(fs.readdirSync(dir).sort(), [...names.map((k) => `${k}.npy`), 'mean.npy', 'meta.json'].sort());
  for (const p of ck.header.params) {
    const a = readNpy(path.join(dir, `${p.name}.npy`));
    assert.equal(a.descr, '<f4');
    assert.deepEqual(a.shape, [p.rows, p.cols]);
    assert.deepEqual(a.data, views[p.name].data);
  }
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')).classes, JSON.stringify(ck.header.classes));
});

test('the ONNX plan refuses a model it would export wrongly: an unknown model key, or a parameter no step uses', async () => {
  const { planOf, ExportError } = await import('../src/export/plan.js');
  const run = trainRun([
    '--config',
    'configs/mnist-mlp.json',
    '--hidden',
    '12,7',
    '--normalization',
    'batchnorm',
    '--num-train',
    '500',
    '--num-val',
    '100',
    '--num-test',
    '100',
    '--num-dev',
    '50',
    '--iterations',
    '5',
  ]);
  const ck = loadCheckpoint(path.join(run, 'best.ckpt'));
  assert.equal(planOf(ck).steps.filter((s) => s.op === 'batchnorm').length, 2);
  const withModel = (model: object) => ({ ...ck, header: { ...ck.header, model: model as typeof ck.header.model } });
  // A checkpoint of a later layer kind (a key this exporter does not know) …
  assert.throws(
    () => planOf(withModel({ ...ck.header.model, residual: true })),
    (e: Error) => e instanceof ExportError && /its residual is not known to the exporter/.test(e.message),
  );
  // … and one whose batch norm the plan would skip (the spec without its normalization): never silently without them.
  const { normalization: _n, ...plain } = ck.header.model;
  assert.throws(
    () => planOf(withModel(plain)),
    (e: Error) => e instanceof ExportError && /would leave out its gamma1, beta1, gamma2, beta2, running_mean1, running_var1, running_mean2, running_var2/.test(e.message),
  );
});

test('export refuses a knn run (no weights), a folder without a checkpoint and an unknown format, in one line each', () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'runs-knn-export-'));
  const k = train(['--model', 'knn', '--num-train', '300', '--num-test', '20', '--num-dev', '50', '--k', '1', '--cv-folds', '0', '--backend', E2E_BACKEND, '--runs-dir', runs, '--name', 'knn']);
  assert.equal(k.code, 0, k.err);
  const knn = path.join(runs, fs.readdirSync(runs)[0]);
  const cases: [string[], number, RegExp][] = [
    [
      [knn, '--format', 'onnx'],
      2,
      /^error: .*-knn is a knn run: it keeps no trained weights \(kNN votes with the stored training rows at prediction time\), so there is nothing to export\. Give a softmax, svm or mlp run$/,
    ],
    [[runs, '--format', 'npy'], 1, /^error: .* holds no best\.ckpt, nor a config\.json: it is not a run folder/],
    [[knn, '--format', 'tflite'], 2, /^error: --format tflite is not known: use onnx, safetensors, npy$/],
    [[knn], 2, /^error: Missing required argument: format\. Run 'train export --help' for the options$/],
  ];
  for (const [args, code, re] of cases) {
    const r = train(['export', ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err.trim(), re);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
  }
});

/** A small MLP run to export (hidden 12,7), made once for the tests below. */
let smallRun: string | null = null;
function small(): string {
  smallRun ??= trainRun(['--config', 'configs/mnist-mlp.json', '--hidden', '12,7', '--num-train', '300', '--num-val', '50', '--num-test', '50', '--num-dev', '50', '--iterations', '4']);
  return smallRun;
}

test('export overwrites an existing file only with --force, and an npy folder holding anything but an npy export never', () => {
  const run = small();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-force-'));
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, 'mine');
  const r = train(['export', run, '--format', 'onnx', '--out', file]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err.trim(), /^error: \S+model\.onnx already exists: pass --force to overwrite it, or give --out another path$/);
  assert.equal(fs.readFileSync(file, 'utf8'), 'mine', 'the file is untouched');
  const f = train(['export', run, '--format', 'onnx', '--out', file, '--force']);
  assert.equal(f.code, 0, f.err);
  assert.notEqual(fs.readFileSync(file, 'utf8'), 'mine');
  // npy: a second export into the same folder needs --force; a folder of other files is never replaced.
  const npy = path.join(dir, 'npy');
  assert.equal(train(['export', run, '--format', 'npy', '--out', npy]).code, 0);
  const again = train(['export', run, '--format', 'npy', '--out', npy]);
  assert.equal(again.code, 2, again.err);
  assert.match(again.err.trim(), /^error: \S+npy already holds an npy export: pass --force to replace it, or give --out another folder$/);
  assert.equal(train(['export', run, '--format', 'npy', '--out', npy, '--force']).code, 0);
  const mine = path.join(dir, 'mine');
  fs.mkdirSync(mine);
  fs.writeFileSync(path.join(mine, 'notes.txt'), 'keep');
  const other = train(['export', run, '--format', 'npy', '--out', mine, '--force']);
  assert.equal(other.code, 1, other.err);
  assert.match(other.err.trim(), /^error: cannot write \S+mine: it holds files that are not an npy export \(notes\.txt\), so it is left alone\. Pass --out a new or empty folder$/);
  assert.deepEqual(fs.readdirSync(mine), ['notes.txt']);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['mine', 'model.onnx', 'npy'], 'no temporary file or folder is left');
});

test('npy meta.json keeps numbers and booleans typed (bias_column false is falsy in Python); safetensors metadata stays strings', () => {
  const run = small();
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'export-meta-')), 'npy');
  assert.equal(train(['export', run, '--format', 'npy', '--out', dir]).code, 0);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const ck = loadCheckpoint(path.join(run, 'best.ckpt'));
  assert.equal(meta.bias_column, ck.header.preprocess.bias);
  assert.equal(typeof meta.bias_column, 'boolean');
  assert.equal(meta.scale, ck.header.preprocess.scale);
  assert.equal(meta.epoch, ck.header.epoch);
  assert.equal(meta.val_acc, ck.header.valAcc);
  assert.equal(typeof meta.val_acc, 'number');
});

test('export error hints name --out: a path under a file, an empty path, and a full disk (a small tmpfs, root only)', (t) => {
  const run = small();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-hints-'));
  const aFile = path.join(dir, 'a-file');
  fs.writeFileSync(aFile, 'x');
  const under = train(['export', run, '--format', 'onnx', '--out', path.join(aFile, 'model.onnx')]);
  assert.equal(under.code, 1, under.err);
  assert.match(under.err.trim(), /^error: cannot create the export folder \S+a-file: \S+a-file is a file, not a folder\. Pass --out a path in a folder \((ENOTDIR|EEXIST)\)$/);
  const empty = train(['export', run, '--format', 'onnx', '--out', '']);
  assert.equal(empty.code, 2, empty.err);
  assert.match(empty.err.trim(), /^error: --out "" is empty: give a path, e\.g\. --out model\.onnx$/);
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'export-full-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=40k', 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.diagnostic(`full disk case skipped: cannot mount a small tmpfs here (${(mount.stderr || '').trim()})`);
    return;
  }
  try {
    const full = train(['export', run, '--format', 'onnx', '--out', path.join(mnt, 'model.onnx')]);
    assert.equal(full.code, 1, full.err);
    assert.match(full.err.trim(), /^error: cannot write \S+model\.onnx: the disk is full\. Free some space, or pass --out on another disk \(ENOSPC\)$/);
    // npy: written whole or not at all. W1.npy (37.9 KB) fits on the 40 KB disk, the rest does not: nothing is left.
    const npy = train(['export', run, '--format', 'npy', '--out', path.join(mnt, 'npy')]);
    assert.equal(npy.code, 1, npy.err);
    assert.match(npy.err.trim(), /the disk is full\. Free some space, or pass --out on another disk \(ENOSPC\)$/);
    assert.deepEqual(fs.readdirSync(mnt), [], 'no partial npy folder nor temporary file is left');
  } finally {
    spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});

test('SIGTERM during an export leaves no .tmp file: the export ends whole, then exits 143', async () => {
  // A large model (hidden 3000, 3000: 11.4 M parameters, a 46 MB ONNX file), so the write is long enough to be caught.
  const run = trainRun(['--model', 'mlp', '--hidden', '3000,3000', '--num-train', '200', '--num-val', '50', '--num-test', '50', '--num-dev', '50', '--batch-size', '100', '--iterations', '2']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'export-term-'));
  const out = path.join(dir, 'model.onnx');
  const child = spawn(process.execPath, [TRAIN_BIN, 'export', run, '--format', 'onnx', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const t0 = performance.now();
  while (!fs.readdirSync(dir).some((n) => n.endsWith('.tmp'))) {
    assert.ok(performance.now() - t0 < 60000, `no .tmp file appeared; stderr: ${err}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGTERM');
  const { code, signal } = await exited;
  assert.deepEqual(fs.readdirSync(dir), ['model.onnx'], 'only the whole export is there, no .tmp file');
  assert.equal(code, 143, `exit ${code}, signal ${signal}; stderr: ${err}`);
  const session = await ort.InferenceSession.create(out);
  assert.deepEqual(session.inputNames, ['pixels']);
});
