/**
 * The kNN no-loop distance matrix (knn.ipynb: 500 test × 5,000 training CIFAR-10 images, 3,072
 * raw pixels) beside ../shared/peers/knn_numpy.py's `distances` (numpy, float64, OpenBLAS) in the
 * same invocation. Each round times numpy and every engine back to back (the order alternating),
 * and the ratio is the median over rounds of ours / numpy's within the round (below 1: faster
 * than numpy). Prints one JSON line per sample, then a table.
 *
 *   node --import tsx bench/knn.ts [--rounds 7] [--engines openblas,simd,wasm] [--python /usr/bin/python3]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/datasets.js';
import { initEngine, type BackendChoice } from '../src/linalg/engine.js';
import { useEngine, type Engine } from '../src/linalg/matmul.js';
import { startPeer } from './peer.js';
import { distancesNoLoops, knnTrain } from '../src/models/knn.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: path.join(root, 'data', 'cifar-10-batches-bin') },
    engines: { type: 'string', default: 'openblas,simd,wasm' },
    python: { type: 'string', default: '/usr/bin/python3' },
    rounds: { type: 'string', default: '7' },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds));
const TRAIN = 5000;
const TEST = 500;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dataDir = values['data-dir']!;
const raw = await loadDataset('cifar', dataDir);
const D = raw.dim;

// The peer, kept running with its data loaded.
let ask: ((req: string) => Promise<Record<string, unknown>>) | null = null;
let stopPeer = () => {};
const peerScript = path.join(root, 'bench/knn_peer.py');
const peer = fs.existsSync(path.resolve(root, '../shared/peers/knn_numpy.py')) ? startPeer(values.python!, peerScript, [raw.source, String(TRAIN), String(TEST)]) : null;
if (peer) {
  ask = (req) => peer.ask(req);
  stopPeer = () => peer.stop();
  console.log(JSON.stringify({ kind: 'peer', ...(await ask('info')) }));
} else {
  console.log(`(numpy or ../shared/peers/knn_numpy.py not found: figures are printed without the peer)`);
}

const engines: Engine[] = [];
for (const name of values.engines!.split(',') as BackendChoice[]) {
  try {
    engines.push((await initEngine(name)).engine);
  } catch (e) {
    console.log(JSON.stringify({ kind: 'skip', engine: name, reason: (e as Error).message.split('\n')[0] }));
  }
}

const samples: { side: string; round: number; seconds: number }[] = [];
const perEngine = engines.map((e) => {
  const Xtr = { rows: TRAIN, cols: D, data: e.alloc.float(Float32Array, TRAIN * D) };
  Xtr.data.set(raw.train.x.subarray(0, TRAIN * D));
  const Xte = { rows: TEST, cols: D, data: e.alloc.float(Float32Array, TEST * D) };
  Xte.data.set(raw.test.x.subarray(0, TEST * D));
  const out = { rows: TEST, cols: TRAIN, data: e.alloc.float(Float32Array, TEST * TRAIN) };
  return { e, Xtr, Xte, out, model: knnTrain(Xtr, raw.train.y.subarray(0, TRAIN), 10) };
});
// One untimed pass each (threads started, code compiled), as numpy's first call is not timed either.
for (const p of perEngine) {
  useEngine(p.e);
  distancesNoLoops(p.Xte, p.Xtr, p.model.norms, p.out);
}
if (ask) await ask('distances');

for (let r = 0; r < ROUNDS; r++) {
  const turns: (() => Promise<void>)[] = perEngine.map((p) => async () => {
    useEngine(p.e);
    // The whole no-loop form as knn_numpy.py times it: both norms, the product and the sqrt pass.
    const t = performance.now();
    distancesNoLoops(p.Xte, p.Xtr, undefined, p.out);
    samples.push({ side: p.e.name, round: r, seconds: (performance.now() - t) / 1000 });
  });
  if (ask) turns.push(async () => void samples.push({ side: 'numpy', round: r, seconds: (await ask!('distances')).seconds as number }));
  if (r % 2) turns.reverse();
  for (const turn of turns) {
    await turn();
    await sleep(300); // the other side's idle BLAS threads stop spinning first
  }
}
stopPeer();
for (const s of samples) console.log(JSON.stringify({ kind: 'sample', what: 'knn distances 500×5000×3072', ...s }));

const np = samples.filter((s) => s.side === 'numpy');
console.log(`\nkNN no-loop distances, ${TEST} test × ${TRAIN} training × ${D} pixels, ${ROUNDS} rounds (median seconds; ratio = median over rounds of ours / numpy's):`);
if (np.length) console.log(`  numpy (knn_numpy.py, float64)  ${median(np.map((s) => s.seconds)).toFixed(3)} s`);
for (const p of perEngine) {
  const ours = samples.filter((s) => s.side === p.e.name);
  const ratio = np.length ? median(ours.map((s) => s.seconds / np.find((n) => n.round === s.round)!.seconds)) : NaN;
  console.log(`  ${p.e.name.padEnd(30)} ${median(ours.map((s) => s.seconds)).toFixed(3)} s${np.length ? `  ratio ${ratio.toFixed(2)}` : ''}`);
}
