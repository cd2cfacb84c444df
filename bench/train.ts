/**
 * Speed of the engines and of training, side by side with numpy + OpenBLAS (../shared/peers/)
 * in the same invocation, on the same data and shapes. Prints one JSON line per figure, then a
 * table with the ratio project / peer (below 1 means faster than numpy).
 *
 *   node --import tsx bench/train.ts [--data-dir ../shared/data/cifar-10-binary.tar.gz] [--engines openblas,wasm]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/config/config.js';
import { initEngine, type BackendChoice } from '../src/linalg/engine.js';
import { matmul } from '../src/linalg/matmul.js';
import { setBlasThreads } from '../src/linalg/engines/openblas.js';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { createModel } from '../src/models/index.js';
import { sgdInit, sgdStep } from '../src/optim/sgd.js';
import { Batcher } from '../src/train/batch.js';
import { accuracy } from '../src/train/evaluate.js';
import { loadRunData, type RunData } from '../src/train/run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: path.resolve(root, '../shared/data/cifar-10-binary.tar.gz') },
    engines: { type: 'string', default: 'openblas,wasm' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const rows: Record<string, unknown>[] = [];
const emit = (r: Record<string, unknown>) => {
  rows.push(r);
  console.log(JSON.stringify(r));
};

// ---- numpy peers, first, so the machine is quiet for them too ------------------------------------
const peers = path.resolve(root, '../shared/peers');
const hasNumpy = fs.existsSync(values.python!) && spawnSync(values.python!, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const peer: Record<string, number> = {};
const cifarDir = path.join(root, 'data', 'cifar-10-batches-bin');
// Make sure the archive is unpacked where both sides read it from.
await loadRunData(resolveConfig({ dataset: 'cifar', dataDir: values['data-dir'] }, {}));
if (hasNumpy) {
  const py = (args: string[]) => {
    const r = spawnSync(values.python!, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`peer ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  };
  for (const g of py([path.join(peers, 'gemm_numpy.py')])) peer[`gemm ${g.m}x${g.k}x${g.n}`] = g.numpy_gflops;
  const sm = py([path.join(peers, 'cs231n_numpy.py'), '--data', cifarDir, '--model', 'softmax', '--lr', '1e-6', '--reg', '1e3', '--iters', '300'])[0];
  peer['load cifar (s)'] = sm.load_s;
  peer['softmax ms/iter'] = sm.ms_per_iter;
  for (const h of [100, 500]) {
    const r = py([path.join(peers, 'cs231n_numpy.py'), '--data', cifarDir, '--model', 'twolayer', '--hidden', String(h), '--lr', '1e-3', '--reg', '0.03', '--iters', '150'])[0];
    peer[`mlp ${h} ms/iter`] = r.ms_per_iter;
  }
  emit({ kind: 'peer', ...peer });
}

// ---- load and preprocess ----------------------------------------------------------------------------
const cfgSoft = resolveConfig({ dataset: 'cifar', model: 'softmax' }, {});
const t0 = performance.now();
const soft: RunData = await loadRunData(cfgSoft);
const loadS = (performance.now() - t0) / 1000;
emit({ kind: 'load', what: 'load cifar (s)', seconds: round(loadS) });
const mlpData: RunData = await loadRunData(resolveConfig({ dataset: 'cifar', model: 'mlp' }, {}));

// ---- engines ----------------------------------------------------------------------------------------
const rand = (r: number, c: number, rng: Rng): Mat<Float32Array> => {
  const m = { rows: r, cols: c, data: new Float32Array(r * c) };
  rng.fillNormal(m.data);
  return m;
};
const SHAPES: [number, number, number, boolean, boolean][] = [
  [200, 3073, 10, false, false],
  [200, 3073, 100, false, false],
  [200, 3073, 500, false, false],
  [3073, 200, 100, true, false], // Xᵀ·dH, the backward product of the first layer
  [3073, 200, 500, true, false],
  [200, 500, 3073, false, true], // dH·W1ᵀ (not needed for the first layer, but a shape training has)
  [4096, 3073, 10, false, false],
];
for (const name of values.engines!.split(',') as BackendChoice[]) {
  // OpenBLAS's idle threads keep spinning for a while after a product; give the other engines the
  // cores back by running OpenBLAS single-threaded once its own figures are taken.
  if (name !== 'openblas') setBlasThreads(1);
  let engine: string;
  try {
    engine = (await initEngine(name)).engine.name;
  } catch (e) {
    emit({ kind: 'skip', engine: name, reason: (e as Error).message });
    continue;
  }
  const rng = new Rng(1);
  for (const [m, k, n, ta, tb] of SHAPES) {
    const a = ta ? rand(k, m, rng) : rand(m, k, rng);
    const b = tb ? rand(n, k, rng) : rand(k, n, rng);
    const out = { rows: m, cols: n, data: new Float32Array(m * n) };
    const f = () => matmul(a, b, out, { transA: ta, transB: tb });
    f();
    const reps = Math.max(3, Math.round(4e9 / (2 * m * k * n)));
    const t = performance.now();
    for (let i = 0; i < reps; i++) f();
    const gflops = (2 * m * k * n * reps) / ((performance.now() - t) / 1000) / 1e9;
    const key = `gemm ${m}x${k}x${n}`;
    emit({ kind: 'gemm', engine, shape: `${m}x${k}x${n}${ta ? ' (Aᵀ)' : ''}${tb ? ' (Bᵀ)' : ''}`, gflops: round(gflops), ...(peer[key] && !ta && !tb ? { peer: peer[key] } : ta && peer[`gemm ${m}x${k}x${n}`] ? { peer: peer[key] } : {}) });
  }

  // Training iterations: minibatch gather, forward, backward, SGD step (batch 200, real CIFAR rows).
  const cases: [string, RunData, number[]][] = [
    ['softmax ms/iter', soft, []],
    ['mlp 100 ms/iter', mlpData, [100]],
    ['mlp 500 ms/iter', mlpData, [500]],
  ];
  for (const [what, rd, hidden] of cases) {
    const d = rd.data;
    const model = createModel({ kind: hidden.length ? 'mlp' : 'softmax', inputDim: d.dim, hidden, numClasses: 10 }, { initStd: 1e-4, reg: 1e-3 }, new Rng(0));
    model.reuseBuffers = true; // as the trainer does
    const batcher = new Batcher(d.train, 200, 'replacement');
    const opt = sgdInit(model.params.flat.length, 0);
    const step = () => {
      batcher.next(rng);
      const { grads } = model.loss(batcher.X, batcher.y);
      sgdStep(model.params.flat, grads.flat, 1e-7, 0, opt);
    };
    for (let i = 0; i < 10; i++) step();
    const iters = hidden[0] === 500 ? 100 : 300;
    const t = performance.now();
    for (let i = 0; i < iters; i++) step();
    const ms = (performance.now() - t) / iters;
    emit({ kind: 'train', engine, what, ms: round(ms), ...(peer[what] ? { peer: peer[what] } : {}) });
    if (what === 'softmax ms/iter') {
      const te = performance.now();
      accuracy(model, d.train);
      emit({ kind: 'eval', engine, what: 'full-epoch eval (s)', seconds: round((performance.now() - te) / 1000), rows: d.train.n });
    }
  }
}
emit({ kind: 'memory', peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) });

// ---- table ------------------------------------------------------------------------------------------
console.log('\nfigure                               engine     project       numpy   project/numpy');
for (const r of rows) {
  const line = (what: string, engine: string, v: number, unit: string, p?: number, higherIsBetter = false) => {
    const ratio = p ? (higherIsBetter ? p / v : v / p) : undefined;
    console.log(`${what.padEnd(36)} ${engine.padEnd(9)} ${`${v} ${unit}`.padStart(12)} ${p ? `${p} ${unit}`.padStart(11) : '          –'}   ${ratio ? `${ratio.toFixed(2)}×` : ''}`);
  };
  if (r.kind === 'gemm') line(`matmul ${r.shape}`, r.engine as string, r.gflops as number, 'GF/s', r.peer as number | undefined, true);
  if (r.kind === 'train') line(r.what as string, r.engine as string, r.ms as number, 'ms', r.peer as number | undefined);
  if (r.kind === 'load') line('load + preprocess CIFAR', 'js', r.seconds as number, 's', peer['load cifar (s)']);
  if (r.kind === 'eval') line(`full-epoch eval (${r.rows} rows)`, r.engine as string, r.seconds as number, 's');
  if (r.kind === 'memory') console.log(`peak resident memory: ${r.peakRssMB} MB`);
}
console.log('(project/numpy: time ratio for ms and s, inverse throughput ratio for GF/s; below 1 is faster than numpy)');

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
