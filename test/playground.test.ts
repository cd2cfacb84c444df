/**
 * The playground's bundle is the CLI's code (issue 28). The worker's modules are bundled exactly
 * as the page bundles them (web/build.mjs: the browser shims of Node's built-ins included) and
 * imported here beside the Node modules:
 * - the same seed and config give the same model, and the same loss and gradient on the same
 *   batch, bit for bit, on the simd engine's kernel; 30 steps of the page's loop (web/session.ts)
 *   give the losses train/trainer.ts gives, bit for bit;
 * - the checkpoint codec runs in the bundle on the shims (Buffer, sha256), and what either side
 *   writes the other reads;
 * - the server of `train playground` listens on 127.0.0.1 only, sends COOP/COEP, and serves the
 *   page and the four MNIST files and nothing else.
 */
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { resolveConfig, scheduleOf } from '../src/config/config.js';
import { loadDataset } from '../src/data/datasets.js';
import { takeRows, prepareData, resolveSplit } from '../src/data/split.js';
import { simd } from '../src/linalg/engines/wasm.js';
import type { Engine } from '../src/linalg/engines/types.js';
import { useEngine } from '../src/linalg/matmul.js';
import { Rng } from '../src/linalg/rng.js';
import { rowsView } from '../src/models/evaluate.js';
import { createModel } from '../src/models/index.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/runs/checkpoint.js';
import { train } from '../src/train/trainer.js';
import { servePlayground } from '../src/cli/playground.js';
import { sampleCheckpoint, trainCli } from './helpers.js';
import { CIFAR_PIXELS, CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, encodeCifarBatch } from '../src/data/cifar.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'playground-'));

/** web/session.ts, engine.ts and the codec, bundled with the page's esbuild options, then imported. */
async function importBundle() {
  const { esbuildOptions } = (await import(pathToFileURL(path.join(root, 'web', 'build.mjs')).href)) as { esbuildOptions(e: string[], o: string): Record<string, unknown> };
  const { build } = await import('esbuild');
  const entry = path.join(tmp, 'entry.ts');
  fs.writeFileSync(
    entry,
    [
      `export { initWebEngine } from ${JSON.stringify(path.join(root, 'web', 'engine.ts'))};`,
      `export { Session, configOf, dataOf } from ${JSON.stringify(path.join(root, 'web', 'session.ts'))};`,
      `export { rowsView } from ${JSON.stringify(path.join(root, 'src', 'models', 'evaluate.ts'))};`,
      `export { encodeCheckpoint, decodeCheckpoint } from ${JSON.stringify(path.join(root, 'src', 'runs', 'checkpoint.ts'))};`,
      `export { sha256 } from ${JSON.stringify(path.join(root, 'web', 'shims', 'crypto.ts'))};`,
    ].join('\n'),
  );
  const out = path.join(tmp, 'bundle');
  await build({ ...esbuildOptions([entry], out), minify: false });
  return (await import(pathToFileURL(path.join(out, 'entry.js')).href)) as typeof import('./playground-bundle.js');
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

test("the bundle gives the Node model's loss, gradient and training losses, bit for bit, on the simd kernel", { timeout: 180_000 }, async () => {
  // Node's engine first: in Node 20 it turns relaxed SIMD on, so both pick the same build of the kernel.
  const nodeEngine = (await simd.start(1)) as Engine;
  assert.ok(!('reason' in nodeEngine), 'the simd engine starts');
  const b = await importBundle();
  const webEngine = await b.initWebEngine();
  assert.equal(webEngine.detail, nodeEngine.detail, 'the same kernel build on one thread');

  const raw = await loadDataset('mnist');
  const cfg = resolveConfig({}, { dataset: 'mnist' }); // the page's default: the mnist-softmax preset, seed 0
  assert.deepEqual(b.configOf({}), cfg, 'the page resolves its config through the config table');

  // Node: data and model as train/run.ts makes them.
  useEngine(nodeEngine);
  const split = resolveSplit(raw, { numTrain: cfg.numTrain, numVal: cfg.numVal, numTest: cfg.numTest, numDev: cfg.numDev });
  const data = prepareData(raw, split, { bias: true, scale: cfg.scale }, new Rng(cfg.seed), { alloc: nodeEngine.alloc });
  const rng = new Rng(cfg.seed);
  const spec = { kind: 'softmax' as const, inputDim: data.dim, hidden: [], numClasses: 10 };
  const model = createModel(spec, { initStd: cfg.initStd, reg: cfg.reg, alloc: nodeEngine.alloc }, rng);
  const X = rowsView(data.train.X, 0, cfg.batchSize);
  const y = data.train.y.subarray(0, cfg.batchSize);
  const node = model.loss(X, y);

  // The bundle: the page's session on the same config.
  const s = new b.Session(cfg, raw, b.dataOf(cfg, raw, webEngine), webEngine);
  assert.ok(bits(s.data.train.X.data).equals(bits(data.train.X.data)), 'the same preprocessed rows');
  assert.ok(bits(s.model.params.flat).equals(bits(model.params.flat)), 'the same initial weights');
  const web = s.model.loss(b.rowsView(s.data.train.X, 0, cfg.batchSize), s.data.train.y.subarray(0, cfg.batchSize));
  assert.equal(web.loss, node.loss, `loss: bundle ${web.loss}, Node ${node.loss}`);
  assert.ok(bits(web.grads.flat).equals(bits(node.grads.flat)), 'the same gradient, bit for bit');

  // 30 steps of the page's loop against train/trainer.ts's, from the same start (epochs of 10 steps).
  const steps = 30;
  const perEpoch = 10;
  const trainAcc = takeRows(data.train, rng.choice(data.train.n, Math.min(cfg.trainAccSamples, data.train.n)));
  useEngine(nodeEngine);
  const res = await train(
    model,
    { train: data.train, val: data.val, trainAcc },
    { lr: cfg.lr, lrDecay: cfg.lrDecay, updateRule: 'sgd', hyper: {}, batchSize: cfg.batchSize, iterations: steps, iterationsPerEpoch: perEpoch, sampling: cfg.sampling, alloc: nodeEngine.alloc },
    rng,
  );
  const page = new b.Session({ ...cfg, iterations: steps }, raw, b.dataOf(cfg, raw, webEngine), webEngine);
  Object.assign(page, { perEpoch }); // the trainer's epoch length of this test, on the page's loop
  assert.equal(scheduleOf({ ...cfg, iterations: steps }, data.train.n).steps, page.iterations);
  useEngine(webEngine);
  while (!page.done) page.step(false);
  const pageLosses = Float64Array.from(page.losses.map(([, l]) => l));
  assert.ok(
    Buffer.from(pageLosses.buffer).equals(Buffer.from(res.lossHistory.buffer)),
    `losses differ: page ${pageLosses.slice(0, 3).join(', ')}…, trainer ${res.lossHistory.slice(0, 3).join(', ')}…`,
  );
  assert.deepEqual(
    page.epochs.map((e) => e.valAcc),
    res.valAccHistory,
    'the same val accuracy each epoch',
  );
  await (nodeEngine as Engine & { close(): Promise<void> }).close();
});

test("the checkpoint codec in the bundle: sha256 as Node's, and files either side writes the other reads", { timeout: 60_000 }, async () => {
  const b = await importBundle();
  for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 100_003]) {
    const data = crypto.randomBytes(n);
    assert.equal(Buffer.from(b.sha256(data)).toString('hex'), crypto.createHash('sha256').update(data).digest('hex'), `sha256 of ${n} bytes`);
  }
  const ck = sampleCheckpoint();
  const fromNode = encodeCheckpoint(ck);
  const fromWeb = b.encodeCheckpoint(ck);
  assert.ok(Buffer.from(fromWeb).equals(Buffer.from(fromNode)), 'the bundle writes the bytes Node writes');
  const back = b.decodeCheckpoint(fromNode, 'node.ckpt');
  assert.deepEqual(back.header, decodeCheckpoint(fromNode, 'node.ckpt').header);
  assert.ok(bits(back.params).equals(bits(ck.params)));
  const bad = Uint8Array.from(fromNode);
  bad[40] ^= 1;
  assert.throws(() => b.decodeCheckpoint(bad, 'bad.ckpt'), /bad\.ckpt: not a valid checkpoint/, 'the bundle refuses a flipped bit as Node does');
});

test('train playground serves on 127.0.0.1 with COOP/COEP, the page and MNIST only', { timeout: 60_000 }, async () => {
  const page = path.join(tmp, 'page');
  fs.mkdirSync(page, { recursive: true });
  for (const f of ['index.html', 'main.js', 'worker.js', 'style.css']) fs.writeFileSync(path.join(page, f), f);
  const pg = await servePlayground(page, 0);
  try {
    assert.match(pg.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await fetch(pg.url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.equal(await r.text(), 'index.html');
    const idx = (await (await fetch(pg.url + 'data/mnist/index.json')).json()) as { files: string[] };
    assert.equal(idx.files.length, 4);
    const labels = await fetch(pg.url + 'data/mnist/t10k-labels-idx1-ubyte');
    assert.equal(Number(labels.headers.get('content-length')), 10008);
    for (const p of ['package.json', '../package.json', '%2e%2e/package.json', 'data/mnist/../../package.json', 'data/mnist/readme.md', 'src/index.ts', 'data/cifar/index.json']) {
      assert.equal((await fetch(pg.url + p)).status, 404, `${p} is not served`);
    }
    assert.equal((await fetch(pg.url, { method: 'POST' })).status, 404);
    // Nothing on another interface: the port is not open on this host's other addresses.
    const port = new URL(pg.url).port;
    const other = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (other) await assert.rejects(fetch(`http://${other.address}:${port}/`), 'not served on ' + other.address);
  } finally {
    await pg.close();
  }
});

test('train playground: a bad --port or --dir is one line naming it, exit 2', () => {
  const port = trainCli(['playground', '--port', '70000']);
  assert.equal(port.code, 2);
  assert.match(port.err, /^error: --port 70000 is not allowed: expected a whole number ≥ 0 and ≤ 65535\n$/);
  const dir = path.join(tmp, 'not-a-build');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), '');
  const r = trainCli(['playground', '--dir', dir]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^error: --dir .*not-a-build holds no built page \(index\.html, worker\.js, data\/mnist\/index\.json\): write one with npm run build:web, or leave --dir out\n$/);
});

test('train playground --dir serves a built folder with its own MNIST copy', { timeout: 60_000 }, async () => {
  const site = path.join(tmp, 'site');
  fs.mkdirSync(path.join(site, 'data', 'mnist'), { recursive: true });
  for (const f of ['index.html', 'main.js', 'worker.js', 'style.css']) fs.writeFileSync(path.join(site, f), f);
  fs.writeFileSync(path.join(site, 'data', 'mnist', 'index.json'), JSON.stringify({ files: ['t10k-labels-idx1-ubyte.gz'] }));
  fs.writeFileSync(path.join(site, 'data', 'mnist', 't10k-labels-idx1-ubyte.gz'), 'gz');
  fs.writeFileSync(path.join(site, 'data', 'mnist', 'other.gz'), 'not listed');
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'train.js'), 'playground', '--dir', site, '--port', '0'], { cwd: root });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d;
        const m = /playground: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]);
      });
      proc.on('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    assert.equal(await (await fetch(url + 'worker.js')).text(), 'worker.js');
    assert.deepEqual(await (await fetch(url + 'data/mnist/index.json')).json(), { files: ['t10k-labels-idx1-ubyte.gz'] });
    assert.equal(await (await fetch(url + 'data/mnist/t10k-labels-idx1-ubyte.gz')).text(), 'gz');
    assert.equal((await fetch(url + 'data/mnist/other.gz')).status, 404, 'only the files index.json lists');
    assert.equal((await fetch(url + 'data/mnist/t10k-labels-idx1-ubyte')).status, 404, "not the package's copy");
  } finally {
    proc.kill();
  }
});

/** `train playground ...args --port 0` and the line it prints. */
function playgroundProc(args: string[]): Promise<{ proc: ReturnType<typeof spawn>; url: string; line: string }> {
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'train.js'), 'playground', ...args, '--port', '0'], { cwd: root });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /playground: (http:\/\/127\.0\.0\.1:\d+\/).*\n/.exec(out);
      if (m) resolve({ proc, url: m[1], line: m[0] });
    });
    proc.stderr.on('data', (d: Buffer) => (out += d));
    proc.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

test('train playground --cifar serves the six CIFAR-10 batch files and the class names, nothing else; a broken folder is one line', { timeout: 60_000 }, async () => {
  const site = path.join(tmp, 'site-cifar');
  fs.mkdirSync(path.join(site, 'data', 'mnist'), { recursive: true });
  for (const f of ['index.html', 'main.js', 'worker.js', 'style.css']) fs.writeFileSync(path.join(site, f), f);
  fs.writeFileSync(path.join(site, 'data', 'mnist', 'index.json'), JSON.stringify({ files: [] }));
  // A folder holding cifar-10-batches-bin (as --data-dir takes it), two records a batch.
  const parent = path.join(tmp, 'cifar-parent');
  const dir = path.join(parent, 'cifar-10-batches-bin');
  fs.mkdirSync(dir, { recursive: true });
  const batch = encodeCifarBatch(
    new Uint8Array(2 * CIFAR_PIXELS).map((_, i) => i % 251),
    [3, 7],
  );
  for (const f of [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE]) fs.writeFileSync(path.join(dir, f), batch);
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n');
  fs.writeFileSync(path.join(dir, 'readme.html'), 'not served');
  const { proc, url, line } = await playgroundProc(['--dir', site, '--cifar', parent]);
  try {
    assert.match(line, new RegExp(`\\(CIFAR-10 from ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    assert.deepEqual(await (await fetch(url + 'data/cifar/index.json')).json(), { files: [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE, 'batches.meta.txt'] });
    const got = await fetch(url + 'data/cifar/data_batch_3.bin');
    assert.equal(got.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(batch));
    for (const p of ['data/cifar/readme.html', 'data/cifar/../cifar-10-batches-bin/test_batch.bin', 'data/cifar/%2e%2e%2fcifar-parent%2fcifar-10-batches-bin%2ftest_batch.bin']) {
      assert.equal((await fetch(url + p)).status, 404, `${p} is not served`);
    }
  } finally {
    proc.kill();
  }
  // A truncated batch is refused at start, naming the file.
  fs.writeFileSync(path.join(dir, 'data_batch_4.bin'), batch.subarray(0, 5000));
  const r = trainCli(['playground', '--dir', site, '--cifar', dir]);
  assert.equal(r.code, 2);
  assert.match(r.err, /^error: --cifar: .*data_batch_4\.bin is 5000 bytes, not whole 3,073-byte records of one batch \(at most 30730000\); unpack the archive again\n$/);
  const none = trainCli(['playground', '--dir', site, '--cifar', path.join(tmp, 'nowhere')]);
  assert.equal(none.code, 1);
  assert.match(none.err, /^error: .*nowhere does not exist\. .*npx train data cifar/);
});
