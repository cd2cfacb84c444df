/**
 * One update-rule step (src/optim: sgd, sgd_momentum, rmsprop, adam) over a float32 parameter
 * buffer, beside numpy doing cs231n optim.py's same update (bench/optim_peer.py, float32) in the
 * same invocation. Sizes: the parameters of the notebook's 5-layer net on CIFAR-10 (3072-100-100-
 * 100-100-10: 338,610) and of the cifar-mlp preset (3072-500-10: 1,541,510). Each round times
 * numpy and ours back to back (the order alternating); the ratio is the median over rounds of
 * ours / numpy's within the round (below 1: faster than numpy).
 *
 * Ours is a single pass over the arrays (w, dw and the rule's state) that allocates nothing per
 * step; numpy's expressions make a temporary per operation.
 *
 *   node --import tsx bench/optim.ts [--rounds 9] [--steps 50] [--python /usr/bin/python3]
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initEngine } from '../src/linalg/engine.js';
import { Rng } from '../src/linalg/rng.js';
import { startPeer } from './peer.js';
import { RULE_DEFAULTS, UPDATE_RULES, createOptimizer } from '../src/optim/rules.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    python: { type: 'string', default: '/usr/bin/python3' },
    rounds: { type: 'string', default: '9' },
    steps: { type: 'string', default: '50' },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds));
const STEPS = Math.max(1, Number(values.steps));
const SIZES = [
  ['5-layer net (hidden 100×4)', 3072 * 100 + 100 + 3 * (100 * 100 + 100) + 100 * 10 + 10],
  ['cifar-mlp (hidden 500)', 3072 * 500 + 500 + 500 * 10 + 10],
] as const;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Plain SGD's step is the engine's axpy (linalg/blas1.ts); the others are loops in optim/.
const { engine } = await initEngine('auto');
let ask: ((req: string) => Promise<Record<string, unknown>>) | null = null;
let stopPeer = () => {};
const peer = startPeer(values.python!, path.join(root, 'bench/optim_peer.py'));
if (peer) {
  ask = (req) => peer.ask(req);
  stopPeer = () => peer.stop();
  console.log(JSON.stringify({ kind: 'peer', ...(await ask('info')), engine: engine.name }));
} else {
  console.log('(numpy not found: figures are printed without the peer)');
}

const samples: { side: string; rule: string; size: string; round: number; seconds: number }[] = [];
for (const [size, n] of SIZES) {
  const rng = new Rng(0);
  const w = engine.alloc.float(Float32Array, n) as Float32Array;
  const dw = engine.alloc.float(Float32Array, n) as Float32Array;
  for (let i = 0; i < n; i++) {
    w[i] = 1e-2 * rng.randn();
    dw[i] = 1e-2 * rng.randn();
  }
  for (const rule of UPDATE_RULES) {
    const opt = createOptimizer(rule, n, RULE_DEFAULTS[rule], Float32Array, engine.alloc);
    const lr = rule === 'adam' ? 1e-3 : 1e-2;
    for (let k = 0; k < 5; k++) opt.step(w, dw, lr); // compiled before it is timed
    if (ask) await ask(JSON.stringify({ rule, n, steps: 2 }));
    for (let r = 0; r < ROUNDS; r++) {
      const turns: (() => Promise<void>)[] = [
        async () => {
          const t = performance.now();
          for (let k = 0; k < STEPS; k++) opt.step(w, dw, lr);
          samples.push({ side: 'ours', rule, size, round: r, seconds: (performance.now() - t) / 1000 / STEPS });
        },
      ];
      if (ask) turns.push(async () => void samples.push({ side: 'numpy', rule, size, round: r, seconds: ((await ask!(JSON.stringify({ rule, n, steps: STEPS }))).seconds as number) / STEPS }));
      if (r % 2) turns.reverse();
      for (const turn of turns) {
        await turn();
        await sleep(50);
      }
    }
  }
}
stopPeer();
for (const s of samples) console.log(JSON.stringify({ kind: 'sample', what: 'optimizer step', ...s }));

console.log(`\nOne update-rule step on float32 parameters, ${ROUNDS} rounds of ${STEPS} steps (median ms a step; ratio = median over rounds of ours / numpy's):`);
for (const [size, n] of SIZES) {
  for (const rule of UPDATE_RULES) {
    const ours = samples.filter((s) => s.side === 'ours' && s.rule === rule && s.size === size);
    const np = samples.filter((s) => s.side === 'numpy' && s.rule === rule && s.size === size);
    const ratio = np.length ? median(ours.map((s) => s.seconds / np.find((x) => x.round === s.round)!.seconds)) : NaN;
    const ms = (xs: typeof ours) => (1000 * median(xs.map((s) => s.seconds))).toFixed(3);
    console.log(`  ${`${size}, ${n} parameters`.padEnd(46)} ${rule.padEnd(13)} ours ${ms(ours)} ms${np.length ? `  numpy ${ms(np)} ms  ratio ${ratio.toFixed(2)}` : ''}`);
  }
}
