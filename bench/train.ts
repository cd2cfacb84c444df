/**
 * Speed of the engines and of training, side by side with numpy + OpenBLAS in the same invocation,
 * on the same data and shapes. Prints one JSON line per measurement, then a table: the median of
 * each side, and the ratio project / numpy (below 1 means faster than numpy).
 *
 *   node --import tsx bench/train.ts [--rounds 11] [--only load,matmul,train,linear,fcnet,eval,memory]
 *                                    [--engines openblas,simd,wasm] [--data-dir …] [--python /usr/bin/python3]
 *
 * How it stays honest on a shared, noisy machine:
 * - numpy runs the peer's own code (../shared/peers/cs231n_numpy.py: prep, train_softmax,
 *   train_twolayer) through bench/peer_numpy.py, which only keeps the data loaded between requests
 *   (and adds cs231n's svm_loss_vectorized in train_softmax's loop for the SVM step, which the
 *   peer lacks).
 * - Every figure is measured in `rounds` short rounds; in each, numpy and every engine take their
 *   turn back to back (the order alternates from round to round). The ratio is the median over
 *   rounds of ours / numpy's within the round, so a slow spell of the machine (a stolen vCPU)
 *   slows both sides of a pair and cancels. The JSON lines have every sample and every ratio.
 * - A pause after each turn lets the other side's idle BLAS threads stop spinning first.
 * - Both sides time the same thing: a training figure is the loop (minibatch gather, loss and
 *   gradients, SGD step) over the same number of iterations, batch 200, on the real preprocessed
 *   CIFAR-10 rows; the set-up (initial weights) is left out on both sides. The `fcnet` figures
 *   (issue 18) are one Adam step of the notebook's 5-layer net, batch 100, with and without batch
 *   norm, against peer_numpy.py's fcnet_step.
 * - Peak memory is that of a real `train --dataset cifar --model mlp` run (VmHWM), beside the
 *   peak memory of the peer script run as it is.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/config/config.js';
import { initEngine, type BackendChoice } from '../src/linalg/engine.js';
import { matmul, useEngine, type Engine } from '../src/linalg/matmul.js';
import { referenceEngine } from '../src/linalg/engines/reference.js';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { createModel } from '../src/models/index.js';
import { createWorkspace } from '../src/models/buffers.js';
import { sgdStep } from '../src/optim/sgd.js';
import { RULE_DEFAULTS, createOptimizer } from '../src/optim/rules.js';
import { Batcher } from '../src/train/batch.js';
import { accuracy } from '../src/models/evaluate.js';
import { loadRunData, type RunData } from '../src/train/run.js';
import { peakRssMB } from '../src/train/summaries.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: path.resolve(root, '../shared/data/cifar-10-binary.tar.gz') },
    engines: { type: 'string', default: 'openblas,simd,wasm' },
    python: { type: 'string', default: '/usr/bin/python3' },
    rounds: { type: 'string', default: '11' },
    'no-memory': { type: 'boolean', default: false },
    only: { type: 'string', default: 'load,matmul,train,fcnet,eval,memory' },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds));
/** Sections to run: --only train,eval (the table then shows only those); `linear` is train's softmax and SVM steps alone. */
const ONLY = new Set(values.only!.split(','));
const PAUSE_MS = 300; // OpenBLAS's idle threads spin for about 0.1 s after a product before they sleep
const rows: Record<string, unknown>[] = [];
const emit = (r: Record<string, unknown>) => {
  rows.push(r);
  console.log(JSON.stringify(r));
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---- the data, unpacked where both sides read it --------------------------------------------------
const cifarDir = path.join(root, 'data', 'cifar-10-batches-bin');
await loadRunData(resolveConfig({ dataset: 'cifar', dataDir: values['data-dir'] }, {}));

// ---- the numpy peer, kept running ------------------------------------------------------------------
class Peer {
  private readonly lines: AsyncIterator<string>;
  private constructor(private readonly proc: ReturnType<typeof spawn>) {
    this.lines = readline.createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  }
  static start(python: string): Peer | null {
    const peers = path.resolve(root, '../shared/peers');
    if (!fs.existsSync(path.join(peers, 'cs231n_numpy.py'))) return null;
    if (!fs.existsSync(python) || spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status !== 0) return null;
    const proc = spawn(python, [path.join(root, 'bench/peer_numpy.py')], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, PEERS_DIR: peers } });
    return new Peer(proc);
  }
  async ask(req: Record<string, unknown>): Promise<Record<string, number>> {
    this.proc.stdin!.write(`${JSON.stringify(req)}\n`);
    const { value, done } = await this.lines.next();
    if (done) throw new Error(`the numpy peer stopped while answering ${JSON.stringify(req)}`);
    const out = JSON.parse(value) as Record<string, number> & { error?: string };
    if (out.error) throw new Error(`numpy peer: ${out.error}`);
    return out;
  }
  stop(): void {
    this.proc.stdin!.end();
  }
}
const peer = Peer.start(values.python!);
if (peer) emit({ kind: 'peer', ...(await peer.ask({ op: 'info' })) });
else console.log(`(numpy not found at ${values.python}: figures are printed without the peer; see ../shared/peers/README.md)`);

// ---- the engines -----------------------------------------------------------------------------------
const engines: Engine[] = [];
for (const name of values.engines!.split(',') as BackendChoice[]) {
  try {
    engines.push((await initEngine(name)).engine);
  } catch (e) {
    emit({ kind: 'skip', engine: name, reason: (e as Error).message });
  }
}
emit({ kind: 'machine', cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version, engines: engines.map((e) => `${e.name}: ${e.detail}`) });

/**
 * One sample of `what` per round for numpy (when `peerReq` is given) and for every engine in
 * `takers`, each side's turn right after the other's. The ratio printed for an engine is the
 * median over rounds of its sample divided by numpy's sample of the same round: a slow minute of
 * the machine (a stolen vCPU slows both sides alike) then cancels out, where a ratio of two
 * medians taken minutes apart would not.
 */
type Sample = { side: string; round: number; value: number };
async function rounds(
  what: string,
  unit: string,
  ours: (e: Engine) => Promise<number> | number,
  peerReq?: () => Promise<number>,
  higherIsBetter = false,
  n = ROUNDS,
  takers: Engine[] = engines,
): Promise<void> {
  const samples: Sample[] = [];
  for (let r = 0; r < n; r++) {
    const turns: (() => Promise<void>)[] = takers.map((e) => async () => {
      useEngine(e);
      samples.push({ side: e.name, round: r, value: await ours(e) });
    });
    if (peer && peerReq) turns.push(async () => void samples.push({ side: 'numpy', round: r, value: await peerReq() }));
    if (r % 2) turns.reverse();
    for (const t of turns) {
      await t();
      await sleep(PAUSE_MS);
    }
  }
  const sides = [...new Set(samples.map((s) => s.side))];
  const of = (side: string) => samples.filter((x) => x.side === side);
  for (const side of sides) {
    const mine = of(side);
    const paired =
      side === 'numpy'
        ? []
        : mine.flatMap((x) =>
            of('numpy')
              .filter((p) => p.round === x.round)
              .map((p) => (higherIsBetter ? p.value / x.value : x.value / p.value)),
          );
    const ratio = paired.length ? { ratio: round(median(paired)), ratios: paired.map(round) } : {};
    emit({ kind: 'figure', what, side, unit, median: round(median(mine.map((x) => x.value))), samples: mine.map((x) => round(x.value)), ...ratio });
  }
}

// ---- load and preprocess ---------------------------------------------------------------------------
const cifarCfg = (model: 'linear' | 'mlp') => resolveConfig({ dataset: 'cifar', model, dataDir: cifarDir }, {});
if (ONLY.has('load')) {
  // One side for the loader: a training run's load, into plain memory (the reference engine's).
  const loadTurn = async (): Promise<number> => {
    const t0 = performance.now();
    await loadRunData(cifarCfg('linear'));
    return (performance.now() - t0) / 1000;
  };
  await rounds('load + preprocess CIFAR (s)', 's', loadTurn, peer ? async () => (await peer.ask({ op: 'load', data: cifarDir })).seconds : undefined, false, Math.min(ROUNDS, 3), [referenceEngine]);
} else if (peer) {
  await peer.ask({ op: 'load', data: cifarDir });
}
// The rows each engine's figures read, loaded under that engine as its own training runs load them
// (run.ts inits the engine first): in shared memory for the threaded wasm engine, whose workers read
// them in place; in plain memory on huge pages for the native engine (each engine's allocator, engine.alloc).
// (--only linear loads only the softmax rows: the MLP's are another 600 MB an engine.)
const figureData = new Map<string, { soft: RunData; mlp?: RunData }>();
const needMlp = ONLY.has('train') || ONLY.has('fcnet') || ONLY.has('eval');
if (needMlp || ONLY.has('linear')) {
  for (const e of engines) {
    figureData.set(e.name, { soft: await loadRunData(cifarCfg('linear'), { alloc: e.alloc }), ...(needMlp ? { mlp: await loadRunData(cifarCfg('mlp'), { alloc: e.alloc }) } : {}) });
  }
}
const dataOf = (e: Engine, model: 'soft' | 'mlp'): RunData => figureData.get(e.name)![model]!;

// ---- matrix products on the shapes training uses ------------------------------------------------------
const rand = (r: number, c: number, rng: Rng, e: Engine): Mat<Float32Array> => {
  const m = { rows: r, cols: c, data: e.alloc.float(Float32Array, r * c) }; // in the memory the engine wants, as training's
  rng.fillNormal(m.data);
  return m;
};
// [M, K, N, transA, transB]: out (M,N) = op(A) (M,K) · op(B) (K,N)
const SHAPES: [number, number, number, boolean, boolean][] = [
  [200, 3073, 10, false, false], //  X·W, the forward products
  [200, 3073, 100, false, false],
  [200, 3073, 500, false, false],
  [3073, 200, 10, true, false], //   Xᵀ·dS, their weight gradients
  [3073, 200, 100, true, false],
  [3073, 200, 500, true, false],
  [200, 100, 3073, false, true], //  dS·Wᵀ, the input gradients (which the first layer skips)
  [200, 500, 3073, false, true],
  [4096, 3073, 10, false, false], // scores for an evaluation chunk
];
for (const [m, k, n, ta, tb] of ONLY.has('matmul') ? SHAPES : []) {
  const reps = Math.max(3, Math.round(4e9 / (2 * m * k * n)));
  const name = `matmul ${m}x${k}x${n}${ta ? ' (Aᵀ)' : ''}${tb ? ' (Bᵀ)' : ''}`;
  await rounds(
    name,
    'GF/s',
    (e) => {
      const rng = new Rng(1);
      const a = ta ? rand(k, m, rng, e) : rand(m, k, rng, e);
      const b = tb ? rand(n, k, rng, e) : rand(k, n, rng, e);
      const out = rand(m, n, rng, e);
      const f = () => matmul(a, b, out, { transA: ta, transB: tb });
      for (let i = 0; i < 5; i++) f();
      const t = performance.now();
      for (let i = 0; i < reps; i++) f();
      return (2 * m * k * n * reps) / ((performance.now() - t) / 1000) / 1e9;
    },
    peer ? async () => (await peer.ask({ op: 'gemm', m, k, n, transA: ta, transB: tb })).gflops : undefined,
    true,
  );
}

// ---- training iterations ---------------------------------------------------------------------------
const CASES: { what: string; data: 'soft' | 'mlp'; hidden: number[]; iters: number; peer: Record<string, unknown>; loss?: 'svm' }[] = [
  { what: 'softmax ms/iter', data: 'soft', hidden: [], iters: 100, peer: { op: 'train', model: 'softmax' } },
  // The linear SVM (issue 17): the same rows, batch and loop, with the hinge loss on both sides.
  { what: 'svm ms/iter', data: 'soft', hidden: [], iters: 100, peer: { op: 'train', model: 'svm' }, loss: 'svm' },
  { what: 'mlp 100 ms/iter', data: 'mlp', hidden: [100], iters: 40, peer: { op: 'train', model: 'twolayer', hidden: 100 } },
  { what: 'mlp 500 ms/iter', data: 'mlp', hidden: [500], iters: 15, peer: { op: 'train', model: 'twolayer', hidden: 500 } },
];
for (const c of ONLY.has('train') ? CASES : ONLY.has('linear') ? CASES.filter((c) => c.hidden.length === 0) : []) {
  await rounds(
    c.what,
    'ms',
    (e) => {
      // What the trainer does each step: gather, loss and gradients, SGD step. The model is made
      // first, untimed, as the peer's set-up is (peer_numpy.py subtracts its train_* with 0 iterations).
      const d = dataOf(e, c.data).data;
      const rng = new Rng(0);
      const model = createModel(
        { kind: c.hidden.length ? 'mlp' : 'softmax', inputDim: d.dim, hidden: c.hidden, numClasses: 10, ...(c.loss ? { loss: c.loss } : {}) },
        { initStd: 1e-4, reg: 1e-3, alloc: e.alloc },
        rng,
      );
      const ws = createWorkspace(model.params, e.alloc);
      const batcher = new Batcher(d.train, 200, 'replacement', e.alloc);
      const t = performance.now();
      for (let i = 0; i < c.iters; i++) {
        batcher.next(rng);
        const { grads } = model.loss(batcher.X, batcher.y, ws);
        sgdStep(model.params.flat, grads.flat, 1e-7);
      }
      return (performance.now() - t) / c.iters;
    },
    peer ? async () => (await peer.ask({ ...c.peer, iters: c.iters })).ms_per_iter : undefined,
  );
}

// ---- issue 18: FullyConnectedNets.ipynb's 5-layer net, one Adam step ----------------------------------------
// 3072 → 100 ×4 → 10, batch 100 drawn with replacement, model.loss in train mode through a workspace
// (affine → batch norm → ReLU per hidden layer; without norm the fused affine-ReLU), then Adam over
// the trainable prefix of the parameters, as trainer.ts steps it. The peer's fcnet_step does the
// same work in numpy (cs231n layers.py / optim.py; peer_numpy.py). The first step is untimed on both sides.
const FCNET: { what: string; norm?: 'batchnorm' }[] = [{ what: 'fcnet 5-layer bn adam ms/step', norm: 'batchnorm' }, { what: 'fcnet 5-layer adam ms/step' }];
const FCNET_STEPS = 40;
for (const c of ONLY.has('fcnet') ? FCNET : []) {
  await rounds(
    c.what,
    'ms',
    (e) => {
      const d = dataOf(e, 'mlp').data;
      const rng = new Rng(0);
      const model = createModel(
        { kind: 'mlp', inputDim: d.dim, hidden: [100, 100, 100, 100], numClasses: 10, ...(c.norm ? { normalization: c.norm } : {}) },
        { initStd: 5e-2, reg: 1e-3, alloc: e.alloc },
        rng,
      );
      const ws = createWorkspace(model.params, e.alloc);
      const batcher = new Batcher(d.train, 100, 'replacement', e.alloc);
      const trainable = ws.grads.flat.length;
      const stepped = model.params.flat.subarray(0, trainable);
      const opt = createOptimizer('adam', trainable, RULE_DEFAULTS.adam, Float32Array, e.alloc);
      const step = () => {
        batcher.next(rng);
        const { grads } = model.loss(batcher.X, batcher.y, ws);
        opt.step(stepped, grads.flat, 1e-3);
      };
      step();
      const t = performance.now();
      for (let i = 0; i < FCNET_STEPS; i++) step();
      return (performance.now() - t) / FCNET_STEPS;
    },
    peer ? async () => (await peer.ask({ op: 'fcnet_step', hidden: [100, 100, 100, 100], bs: 100, steps: FCNET_STEPS, norm: c.norm ?? 'none', rule: 'adam' })).ms_per_step : undefined,
  );
}

// ---- a full pass over the training split (49,000 rows) -------------------------------------------------
for (const [what, d, hidden, req] of [
  ['full-epoch eval, softmax (s)', 'soft', [], { op: 'eval', model: 'softmax' }],
  ['full-epoch eval, mlp 500 (s)', 'mlp', [500], { op: 'eval', model: 'twolayer', hidden: 500 }],
] as const) {
  if (!ONLY.has('eval')) break;
  await rounds(
    what,
    's',
    (e) => {
      const data = dataOf(e, d).data;
      // Made under the engine being measured, so its buffers are in the memory that engine wants.
      const model = createModel({ kind: hidden.length ? 'mlp' : 'softmax', inputDim: data.dim, hidden: [...hidden], numClasses: 10 }, { initStd: 1e-3, reg: 0, alloc: e.alloc }, new Rng(0));
      const ws = createWorkspace(model.params, e.alloc);
      const t = performance.now();
      accuracy(model, data.train, ws);
      return (performance.now() - t) / 1000;
    },
    peer ? async () => (await peer.ask(req)).seconds : undefined,
  );
}
peer?.stop();

// ---- peak memory of real runs ------------------------------------------------------------------------
if (!values['no-memory'] && ONLY.has('memory')) {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-'));
  for (const e of engines) {
    const r = spawnSync(
      process.execPath,
      [path.join(root, 'bin/train.js'), '--dataset', 'cifar', '--model', 'mlp', '--iterations', '300', '--backend', e.name, '--data-dir', cifarDir, '--runs-dir', runs, '--name', `mem-${e.name}`],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`train run for memory failed (exit ${r.status}):\n${r.stderr}`);
    const dir = path.join(
      runs,
      fs.readdirSync(runs).find((f) => f.includes(`mem-${e.name}`))!,
    );
    const s = JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { peakRssMB: number };
    emit({ kind: 'memory', what: 'peak RSS, CIFAR MLP 500 run (MB)', side: e.name, median: s.peakRssMB });
  }
  fs.rmSync(runs, { recursive: true, force: true });
  if (peer) {
    // The peer script run as it is, then its peak RSS (VmHWM, as the project's runs report it: see peakRssMB).
    const script = path.resolve(root, '../shared/peers/cs231n_numpy.py');
    const py = `import re, runpy, sys; sys.argv = [sys.argv[1], '--data', sys.argv[2], '--model', 'twolayer', '--hidden', '500', '--iters', '300', '--lr', '1e-3', '--reg', '0.03']; runpy.run_path(sys.argv[0], run_name='__main__'); print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) // 1024)`;
    const r = spawnSync(values.python!, ['-c', py, script, cifarDir], { encoding: 'utf8' });
    if (r.status === 0) emit({ kind: 'memory', what: 'peak RSS, CIFAR MLP 500 run (MB)', side: 'numpy', median: Number(r.stdout.trim().split('\n').at(-1)) });
  }
}
emit({ kind: 'memory', what: 'peak RSS of this benchmark process (MB)', side: 'bench', median: peakRssMB() });

// ---- table ----------------------------------------------------------------------------------------------
console.log(`\nmedians of ${ROUNDS} rounds; project/numpy is the time ratio (for GF/s, the inverse throughput ratio): below 1 is faster than numpy`);
console.log(`${'figure'.padEnd(36)} ${'engine'.padEnd(9)} ${'project'.padStart(12)} ${'numpy'.padStart(12)}   project/numpy`);
const byWhat = new Map<string, Record<string, unknown>[]>();
for (const r of rows) if (r.kind === 'figure' || r.kind === 'memory') byWhat.set(r.what as string, [...(byWhat.get(r.what as string) ?? []), r]);
for (const [what, rs] of byWhat) {
  const p = rs.find((r) => r.side === 'numpy');
  for (const r of rs) {
    if (r.side === 'numpy' && rs.length > 1) continue;
    const unit = (r.unit as string | undefined) ?? 'MB';
    const fmt = (v: unknown) => (v === undefined ? '–' : `${Number(v) < 10 ? Number(v).toFixed(3) : Number(v).toFixed(1)} ${unit}`);
    const ratio = (r.ratio as number | undefined) ?? (r.kind === 'memory' && p && r !== p ? (r.median as number) / (p.median as number) : undefined);
    console.log(`${what.padEnd(36)} ${String(r.side).padEnd(9)} ${fmt(r.median).padStart(12)} ${fmt(p?.median).padStart(12)}   ${ratio ? `${ratio.toFixed(2)}×` : ''}`);
  }
}

// ---- the targets of issue #5, checked against this run ------------------------------------------------------
const TARGETS: { what: string; side: string; max: number; label: string; of: 'ratio' | 'median' }[] = [
  ...['softmax ms/iter', 'mlp 100 ms/iter', 'mlp 500 ms/iter'].map((what) => ({ what, side: 'openblas', max: 1, label: '≤ 1.0× numpy', of: 'ratio' as const })),
  { what: 'load + preprocess CIFAR (s)', side: 'js', max: 1, label: '≤ 1.0× numpy', of: 'ratio' },
  // issue 17: the SVM step at most numpy's time on the same batch and shapes.
  { what: 'svm ms/iter', side: 'openblas', max: 1, label: '≤ 1.0× numpy (issue 17)', of: 'ratio' },
  // The wasm fallback: simd (gemm.wat), what 'auto' takes without OpenBLAS, and wasm (TensorFlow.js's wasm backend).
  ...['simd', 'wasm'].flatMap((side) =>
    ['softmax ms/iter', 'mlp 100 ms/iter', 'mlp 500 ms/iter'].map((what) => ({
      what,
      side,
      max: 3,
      label: `≤ 3× numpy (${side === 'simd' ? 'the wasm fallback' : "TensorFlow.js's wasm backend"})`,
      of: 'ratio' as const,
    })),
  ),
  // issue 18: the 5-layer batch-norm Adam step (and the same without batch norm).
  ...['fcnet 5-layer bn adam ms/step', 'fcnet 5-layer adam ms/step'].flatMap((what) => [
    { what, side: 'openblas', max: 1, label: '≤ 1.0× numpy (issue 18)', of: 'ratio' as const },
    { what, side: 'simd', max: 3, label: '≤ 3× numpy (issue 18, the wasm fallback)', of: 'ratio' as const },
  ]),
  ...['openblas', 'simd', 'wasm'].map((side) => ({ what: 'peak RSS, CIFAR MLP 500 run (MB)', side, max: 1536, label: '≤ 1.5 GB', of: 'median' as const })),
];
const checked = TARGETS.flatMap((t) => {
  const r = rows.find((x) => x.what === t.what && x.side === t.side);
  const v = r?.[t.of] as number | undefined;
  return v === undefined ? [] : [`${v <= t.max ? 'met   ' : 'MISSED'} ${`${t.what}, ${t.side}`.padEnd(46)} ${t.of === 'ratio' ? `${v.toFixed(2)}×` : `${v} MB`} (target ${t.label})`];
});
if (checked.length)
  console.log(`
targets (issue #5), from this run:
${checked.join('\n')}`);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
