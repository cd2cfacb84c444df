/**
 * The package as a new user gets it (make test-package; .ci/run runs it). A copy of the checkout
 * (tracked and new files, no dist/) is packed with `npm pack`, whose prepare step builds dist/;
 * the tarball is installed into an empty folder with the local npm cache (--prefer-offline), and
 * there:
 *   - `npx tsnn-trainer` trains one epoch of MNIST into runs/ of that folder, and `npx tsnn-trainer
 *     eval` and `npx train eval` (both bin names) score the run;
 *   - the install needed no TypeScript or tsx, and built the OpenBLAS addon or said why not;
 *   - datasets go to $XDG_CACHE_HOME/tsnn-trainer, else ~/.cache/tsnn-trainer, or to --data-root /
 *     TSNN_DATA_ROOT (a tiny CIFAR-10 archive is unpacked there);
 *   - `npx tsnn-trainer predict <run> img.png --json` on a PNG of a real MNIST test row gives the
 *     class eval's code path gives that row;
 *   - an ESM program imports the library by package name, trains, predicts (pixel rows and a PNG
 *     with predictImages), exports the run to ONNX with exportRun and evaluates, and
 *     tsc resolves the package's types (and rejects a wrong call, so they are not `any`), and
 *     type-checks every TypeScript example of the README and docs/library.md.
 * About a minute, most of it npm pack (tsc) and npm install (the addon's compile).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { CIFAR_PIXELS, encodeCifarBatch } from '../../src/data/cifar.js';
import { CIFAR_DIR_NAME } from '../../src/data/archive.js';
import { loadDataset } from '../../src/data/datasets.js';
import { rowsOfCheckpoint } from '../../src/data/feature_data.js';
import { initEngine } from '../../src/linalg/engine.js';
import { modelFromCheckpoint } from '../../src/models/index.js';
import { predictClasses as evalPredict } from '../../src/models/evaluate.js';
import { pngOfRow } from '../../src/predict/image.js';
import { loadCheckpoint } from '../../src/runs/checkpoint.js';
import { E2E_BACKEND } from '../helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnn-package-'));
const APP = path.join(TMP, 'app');
const REQUIRE_OPENBLAS = process.env.TSNN_REQUIRE_OPENBLAS === '1';

/** This environment without npm's own npm_* variables (the suite may run under `npm test`) and without a data root. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'TSNN_DATA_ROOT' && k !== 'XDG_CACHE_HOME') env[k] = v;
  for (const [k, v] of Object.entries(extra))
    if (v === undefined) delete env[k];
    else env[k] = v;
  return env;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv({ XDG_CACHE_HOME: path.join(TMP, 'xdg') }), encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} exited ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r.stdout;
}

const npx = (args: string[], env?: NodeJS.ProcessEnv) => run('npx', ['--offline', ...args], { cwd: APP, ...(env ? { env } : {}) });

after(() => fs.rmSync(TMP, { recursive: true, force: true }));

let tarball = '';
/** The run folder `npx tsnn-trainer` trained (relative to APP), for the predict test. */
let cliRun = '';

/** MNIST test row `i` as a PNG file, and the class eval's code path (rowsOfCheckpoint + the model's argmax) gives it under `runDir`'s best.ckpt. */
async function testRowPng(runDir: string, i: number, file: string): Promise<number> {
  const raw = await loadDataset('mnist');
  fs.writeFileSync(file, await pngOfRow(raw.test.x.subarray(i * raw.dim, (i + 1) * raw.dim), raw.imageShape));
  const ck = loadCheckpoint(path.join(runDir, 'best.ckpt'));
  await initEngine(E2E_BACKEND);
  const rows = await rowsOfCheckpoint(raw, 'test', ck.header, ck.mean, 'test');
  return evalPredict(modelFromCheckpoint(ck), rows.X)[i];
}
let installLog = '';

before(async () => {
  // A fresh checkout: the files git knows of (tracked, and new ones not ignored), without dist/.
  const src = path.join(TMP, 'checkout');
  const files = ok(run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT }), 'git ls-files')
    .split('\0')
    .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(src, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(src, f));
  }
  assert.equal(fs.existsSync(path.join(src, 'dist')), false);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
  const packed = JSON.parse(ok(run('npm', ['pack', '--json', '--pack-destination', TMP], { cwd: src, timeoutMs: 300_000 }), 'npm pack').replace(/^[^[]*/, '')) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = path.join(TMP, packed[0].filename);
  const inside = packed[0].files.map((f) => f.path);
  for (const f of ['bin/train.js', 'dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts', 'native/build.mjs', 'native/tsnn_blas.c', 'native/binding.gyp', 'README.md'])
    assert.ok(inside.includes(f), `the tarball holds ${f}`);
  for (const f of inside) assert.ok(!/^(src|test|bench|node_modules|data|runs|native\/build)\//.test(f) && !f.endsWith('.map'), `the tarball leaves out ${f}`);

  fs.mkdirSync(APP);
  fs.writeFileSync(path.join(APP, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  installLog = ok(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: APP, timeoutMs: 300_000 }), 'npm install of the tarball');
});

test('the install needs no TypeScript, and builds the OpenBLAS addon or says why not', () => {
  const mods = path.join(APP, 'node_modules');
  assert.ok(fs.existsSync(path.join(mods, 'tsnn-trainer', 'dist', 'cli', 'main.js')));
  for (const dev of ['typescript', 'tsx', 'wabt']) assert.equal(fs.existsSync(path.join(mods, dev)), false, `${dev} is not installed`);
  assert.equal(fs.existsSync(path.join(mods, 'tsnn-trainer', 'node_modules', 'tsnn-trainer')), false, 'no self-dependency');
  const addon = fs.existsSync(path.join(mods, 'tsnn-trainer', 'native', 'build', 'Release', 'tsnn_blas.node'));
  assert.match(installLog, addon ? /native engine: built/ : /native engine: not built; the WebAssembly SIMD engine will be used/);
  if (REQUIRE_OPENBLAS) assert.ok(addon, `TSNN_REQUIRE_OPENBLAS=1 but the install did not build the addon:\n${installLog}`);
});

test('npx tsnn-trainer trains one epoch into runs/ of the working folder; eval scores it under both bin names', () => {
  const out = ok(npx(['tsnn-trainer', '--epochs', '1', '--num-train', '1000', '--num-val', '200', '--num-test', '500']), 'npx tsnn-trainer');
  const dir = /run folder: (\S+)/.exec(out)?.[1];
  assert.ok(dir && dir.startsWith('runs' + path.sep), out);
  cliRun = dir;
  const summary = JSON.parse(fs.readFileSync(path.join(APP, dir, 'summary.json'), 'utf8'));
  assert.equal(summary.status, 'ok');
  assert.equal(summary.epochs, 1);
  if (REQUIRE_OPENBLAS) assert.equal(summary.engine, 'openblas');
  assert.ok(fs.existsSync(path.join(APP, dir, 'report.html')));
  const test = ok(npx(['tsnn-trainer', 'eval', dir]), 'npx tsnn-trainer eval');
  assert.match(test, new RegExp(`test accuracy: ${summary.testAcc.toFixed(4)} \\(500 records\\)`));
  const val = ok(npx(['train', 'eval', dir, '--split', 'val']), 'npx train eval');
  assert.match(val, new RegExp(`val accuracy: ${summary.bestValAcc.toFixed(4)} \\(200 records\\)`));
});

test('datasets go to $XDG_CACHE_HOME/tsnn-trainer, else ~/.cache/tsnn-trainer, or to --data-root / TSNN_DATA_ROOT', async () => {
  // A tiny CIFAR-10 archive (2 records a batch, 2 test records), unpacked into the data root.
  const fx = path.join(TMP, 'fx');
  const batches = path.join(fx, CIFAR_DIR_NAME);
  fs.mkdirSync(batches, { recursive: true });
  const img = new Uint8Array(2 * CIFAR_PIXELS).map((_, i) => i % 251);
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(batches, `data_batch_${b}.bin`), encodeCifarBatch(img, [b % 10, (b + 1) % 10]));
  fs.writeFileSync(path.join(batches, 'test_batch.bin'), encodeCifarBatch(img, [3, 4]));
  const archive = path.join(TMP, 'cifar-10-binary.tar.gz');
  await tar.c({ gzip: true, file: archive, cwd: fx }, [CIFAR_DIR_NAME]);
  const bin = path.join(APP, 'node_modules', '.bin', 'tsnn-trainer');
  const cases: [string, NodeJS.ProcessEnv, string[], string][] = [
    ['XDG_CACHE_HOME', cleanEnv({ XDG_CACHE_HOME: path.join(TMP, 'xdg') }), [], path.join(TMP, 'xdg', 'tsnn-trainer')],
    ['~/.cache', cleanEnv({ HOME: path.join(TMP, 'home') }), [], path.join(TMP, 'home', '.cache', 'tsnn-trainer')],
    ['--data-root', cleanEnv({ XDG_CACHE_HOME: path.join(TMP, 'xdg') }), ['--data-root', path.join(TMP, 'flag')], path.join(TMP, 'flag')],
    ['TSNN_DATA_ROOT', cleanEnv({ XDG_CACHE_HOME: path.join(TMP, 'xdg'), TSNN_DATA_ROOT: path.join(TMP, 'env') }), [], path.join(TMP, 'env')],
  ];
  for (const [i, [what, env, flags, root]] of cases.entries()) {
    const where = path.join(root, CIFAR_DIR_NAME);
    const before = run(bin, ['data', 'cifar', ...flags], { cwd: APP, env });
    assert.equal(before.status, 1, `${what}: no CIFAR-10 yet`);
    assert.match(before.stderr, new RegExp(`CIFAR-10 is not in ${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), what);
    ok(run(bin, ['data', 'cifar', '--source', archive, ...flags], { cwd: APP, env }), `${what}: data cifar --source`);
    assert.ok(fs.existsSync(path.join(where, 'test_batch.bin')), `${what}: unpacked into ${where}`);
    // And found there next time, without --source (once: the look-up is the one checked above).
    if (i === 0) assert.match(ok(run(bin, ['data', 'cifar', ...flags], { cwd: APP, env }), `${what}: data cifar`), new RegExp(`^cifar: ${where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  }
  assert.equal(fs.existsSync(path.join(APP, 'node_modules', 'tsnn-trainer', 'data')), false, 'nothing is written into the installed package');
});

const LIBRARY_TS = `import { train, loadModel, predict, predictImages, exportRun, evaluate, loadDataset, type EpochEvent, type Prediction } from 'tsnn-trainer';

const epochs: EpochEvent[] = [];
let steps = 0;
const { dir, summary } = await train(
  { dataset: 'mnist', numTrain: 1000, numVal: 200, numTest: 500, epochs: 1, runsDir: 'lib-runs' },
  { onIteration: () => steps++, onEpoch: (e) => epochs.push(e) },
);
const model = await loadModel(dir);
const mnist = await loadDataset('mnist');
const preds: Prediction[] = predict(model, mnist.test.x.subarray(0, 500 * model.pixelsPerRow), { top: 3 });
const predictAcc = preds.filter((p, i) => p.label === mnist.test.y[i]).length / preds.length;
const { accuracies } = await evaluate(dir);
const image = await predictImages(model, ['img.png'], { top: 2 });
const exported = exportRun(dir, 'onnx');
let blocked = '';
try {
  await import('tsnn-trainer/dist/cli/main.js' as string);
} catch (e) {
  blocked = (e as { code?: string }).code ?? String(e);
}
console.log(JSON.stringify({ dir, testAcc: summary.testAcc, iterations: 'iterations' in summary ? summary.iterations : null, steps, epochs: epochs.map((e) => e.epoch), predictAcc, evalAcc: accuracies.test.acc, top: preds[0].top, sum: preds[0].probabilities.reduce((a, b) => a + b, 0), image: image.predictions[0], onnx: exported.files, blocked }));
`;

test('the library, imported by package name from an ESM program, trains, predicts (rows, and a PNG with predictImages), exports to ONNX and evaluates; its types resolve', async () => {
  // img.png: MNIST test row 0, which predict gets as row 0 of the pixels too.
  const mnist = await loadDataset('mnist');
  fs.writeFileSync(path.join(APP, 'img.png'), await pngOfRow(mnist.test.x.subarray(0, mnist.dim), mnist.imageShape));
  // The same program as JavaScript (types stripped by hand: the only TypeScript in it is annotations).
  const js = LIBRARY_TS.replace(', type EpochEvent, type Prediction', '')
    .replace('const epochs: EpochEvent[] = []', 'const epochs = []')
    .replace('const preds: Prediction[] =', 'const preds =')
    .replace(' as string', '')
    .replace('(e as { code?: string }).code', 'e.code');
  fs.writeFileSync(path.join(APP, 'use.mjs'), js);
  const r = JSON.parse(ok(run(process.execPath, ['use.mjs'], { cwd: APP }), 'node use.mjs').trim());
  assert.ok(fs.existsSync(path.join(APP, r.dir, 'best.ckpt')) && r.dir.startsWith('lib-runs'));
  assert.deepEqual(r.epochs, [1]);
  assert.equal(r.steps, r.iterations);
  assert.equal(r.predictAcc, r.evalAcc, 'predict on the test rows agrees with evaluate');
  assert.equal(r.evalAcc, r.testAcc, 'and with the run summary');
  assert.equal(r.top.length, 3);
  assert.ok(r.top[0].probability >= r.top[1].probability && r.top[1].probability >= r.top[2].probability);
  assert.ok(Math.abs(r.sum - 1) < 1e-5, `probabilities sum to ${r.sum}`);
  assert.equal(r.blocked, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'only the package entry is exported');
  // predictImages on the PNG of test row 0 is predict on row 0's pixels (scored alone, not in a
  // batch of 500: the matmul's sums may group differently, so the numbers agree to float32 rounding).
  assert.equal(r.image.label, r.top[0].label);
  assert.deepEqual(
    r.image.top.map((c: { label: number }) => c.label),
    r.top.slice(0, 2).map((c: { label: number }) => c.label),
  );
  r.image.top.forEach((c: { probability: number }, k: number) => assert.ok(Math.abs(c.probability - r.top[k].probability) <= 1e-6, `${c.probability} vs ${r.top[k].probability}`));
  // exportRun wrote the run's ONNX model, and onnxruntime (the checkout's) runs it to the same class.
  assert.deepEqual(r.onnx, [path.join(r.dir, 'export', 'model.onnx')]);
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(path.join(APP, r.onnx[0]));
  const out = await session.run({ pixels: new ort.Tensor('float32', Float32Array.from(mnist.test.x.subarray(0, mnist.dim)), [1, 28, 28, 1]) });
  const p = Array.from(out.probabilities.data as Float32Array);
  assert.equal(p.indexOf(Math.max(...p)), r.top[0].label);
  assert.ok(Math.abs(p[r.top[0].label] - r.top[0].probability) <= 1e-5);

  // The types, with the checkout's tsc (the app has none): use.ts compiles, a wrong call does not.
  fs.writeFileSync(path.join(APP, 'use.ts'), LIBRARY_TS);
  fs.writeFileSync(path.join(APP, 'bad.ts'), `import { loadModel, predict } from 'tsnn-trainer';\nexport const p = predict(await loadModel('runs/x'), 'not pixels');\n`);
  // And every TypeScript example of the README and docs/library.md, as a user would paste it.
  const examples: string[] = [];
  for (const doc of ['README.md', 'docs/library.md']) {
    for (const m of fs.readFileSync(path.join(ROOT, doc), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)) {
      const name = `example-${examples.length + 1}.ts`;
      fs.writeFileSync(path.join(APP, name), `${m[1]}export {};\n`);
      examples.push(name);
    }
  }
  assert.ok(examples.length >= 3, `the README and docs/library.md have TypeScript examples (${examples.length})`);
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [path.join(ROOT, 'node_modules', '@types')],
  };
  fs.writeFileSync(path.join(APP, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.ts', 'bad.ts', ...examples] }));
  const tsc = run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: APP });
  const errors = tsc.stdout.split('\n').filter((l) => /error TS/.test(l));
  assert.equal(errors.length, 1, tsc.stdout);
  assert.match(errors[0], /^bad\.ts\(2,\d+\): error TS2345: .*'string'.*'Uint8Array/);
});

test('npx tsnn-trainer predict <run> img.png --json, on a PNG of a real MNIST test row, gives the class eval gives that row', async () => {
  assert.ok(cliRun, 'the npx tsnn-trainer run above made a run folder');
  const row = 42;
  const want = await testRowPng(path.join(APP, cliRun), row, path.join(APP, 'row.png'));
  const out = JSON.parse(ok(npx(['tsnn-trainer', 'predict', cliRun, 'row.png', '--json', '--backend', E2E_BACKEND]), 'npx tsnn-trainer predict'));
  assert.equal(out.predictions.length, 1);
  assert.equal(out.predictions[0].label, want);
  assert.equal(out.predictions[0].top[0].label, want);
  assert.equal(out.predictions[0].className, String(want));
  assert.ok(out.predictions[0].top[0].probability > 0 && out.predictions[0].top[0].probability <= 1);
});
