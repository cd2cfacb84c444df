/**
 * Leak check, printed: a 20-epoch MNIST MLP run, resident memory and JS heap after every epoch
 * (after a full garbage collection, so the heap figure is what is retained). Memory should stay
 * flat (within 5%) from epoch 2 to the end.
 *
 *   node --import tsx bench/memory.ts
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../src/config/config.js';
import { runTraining, startRun, type RunUi } from '../src/train/run.js';
import { initEngine } from '../src/linalg/engine.js';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const runs = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-memory-'));
const cfg = resolveConfig({ dataset: 'mnist', model: 'mlp', epochs: 20, runsDir: runs }, {});
const mb = (b: number) => Math.round(b / 2 ** 20);
const rows: { epoch: number; rss: number; heap: number }[] = [];
const ui: RunUi = {
  info() {},
  warn() {},
  startTraining() {},
  iteration() {},
  endTraining() {},
  epoch(e) {
    gc(); // what is retained, not where the collector happens to be in its cycle
    const m = process.memoryUsage();
    rows.push({ epoch: e.epoch, rss: m.rss, heap: m.heapUsed });
    console.log(JSON.stringify({ kind: 'memory', epoch: e.epoch, rssMB: mb(m.rss), heapMB: mb(m.heapUsed) }));
  },
};
await runTraining(await startRun(cfg, await initEngine(cfg.backend)), ui);
const at2 = rows.find((r) => r.epoch === 2)!;
const end = rows.at(-1)!;
const pct = (a: number, b: number) => (100 * (b - a)) / a;
console.log(
  `memory over a 20-epoch MNIST MLP run: RSS ${mb(at2.rss)} MB at epoch 2 → ${mb(end.rss)} MB at epoch ${end.epoch} (${pct(at2.rss, end.rss).toFixed(1)}%), JS heap ${mb(at2.heap)} → ${mb(end.heap)} MB (${pct(at2.heap, end.heap).toFixed(1)}%)`,
);
fs.rmSync(runs, { recursive: true, force: true });
