/**
 * Sweep throughput and memory: the same CIFAR-10 softmax sweep with 1 worker and with 2 (or
 * --workers N), each as its own `train sweep` process, back to back in each of --rounds rounds
 * (the order alternating), so a slow spell of the machine falls on both sides of a round's ratio.
 * Prints trials per minute, the speed-up per round and its median, and the peak resident memory
 * of each process (all threads), which shows the data is shared.
 *
 *   node --import tsx bench/sweep.ts [--trials 8] [--iterations 1500] [--workers 2] [--rounds 3] [--data-dir …]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '8' },
    iterations: { type: 'string', default: '1500' },
    workers: { type: 'string', default: String(Math.max(2, os.availableParallelism())) },
    rounds: { type: 'string', default: '3' },
    'data-dir': { type: 'string', default: path.resolve(root, '../shared/data/cifar-10-binary.tar.gz') },
  },
});
const trials = Number(values.trials);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sweep-'));
const file = path.join(dir, 'sweep-bench.json');
fs.writeFileSync(
  file,
  JSON.stringify({
    name: 'bench',
    base: { dataset: 'cifar', model: 'softmax', iterations: Number(values.iterations), batchSize: 200, initStd: 1e-4, reg: 1000 },
    grid: { lr: Array.from({ length: trials }, (_, i) => 1e-7 * (i + 1)) },
  }),
);

interface Results {
  trialsRun: number;
  trialSeconds: number;
  peakRssMB: number;
  workers: number;
}

function run(workers: number, round: number): Results {
  const runs = path.join(dir, `runs-${workers}-${round}`);
  const r = spawnSync(process.execPath, [path.join(root, 'bin/train.js'), 'sweep', '--config', file, '--workers', String(workers), '--runs-dir', runs, '--data-dir', values['data-dir']!], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`sweep with ${workers} worker(s) failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
  return JSON.parse(fs.readFileSync(path.join(runs, 'sweep-bench', 'results.json'), 'utf8')) as Results;
}

console.log(`sweep benchmark: ${trials} CIFAR-10 softmax trials of ${values.iterations} iterations (batch 200), ${os.availableParallelism()} cores`);
const perMin = (r: Results) => (60 * r.trialsRun) / r.trialSeconds;
const speedUps: number[] = [];
for (let round = 0; round < Math.max(1, Number(values.rounds)); round++) {
  const order = round % 2 === 0 ? [1, Number(values.workers)] : [Number(values.workers), 1];
  const res = new Map(order.map((w) => [w, run(w, round)] as const));
  const one = res.get(1)!;
  const many = res.get(Number(values.workers))!;
  for (const r of [one, many]) {
    console.log(`  round ${round + 1}, ${r.workers} worker${r.workers > 1 ? 's' : ' '}: ${r.trialsRun} trials in ${r.trialSeconds.toFixed(1)} s = ${perMin(r).toFixed(1)} trials/min; peak RSS ${r.peakRssMB} MB`);
  }
  speedUps.push(perMin(many) / perMin(one));
}
const sorted = [...speedUps].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)];
console.log(`  speed-up with ${values.workers} workers: ${median.toFixed(2)}× (median of the rounds: ${speedUps.map((x) => x.toFixed(2) + '×').join(', ')})`);
fs.rmSync(dir, { recursive: true, force: true });
