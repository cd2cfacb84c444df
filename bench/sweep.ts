/**
 * Sweep benchmarks, in four modes (--mode; `make bench` runs local, queue and tiny):
 *
 * local: sweep throughput and memory: the same CIFAR-10 softmax sweep with 1 worker and with 2 (or
 * --workers N), each as its own `train sweep` process, back to back in each of --rounds rounds
 * (the order alternating), so a slow spell of the machine falls on both sides of a round's ratio.
 * Prints trials per minute, the speed-up per round and its median, and the peak resident memory
 * of each process (all threads), which shows the data is shared.
 *
 *   node --import tsx bench/sweep.ts [--trials 8] [--iterations 1500] [--workers 2] [--rounds 3] [--data-dir …]
 *
 * queue: the BullMQ queue on a redis-server started here (127.0.0.1, a free port): the queue's
 * overhead per trial, from 200 tiny trials (1 iteration each) on one worker process, against the
 * same trials on the local pool with one worker thread; and trials per minute of 2 worker
 * processes against 1, on --trials CIFAR-10 softmax trials, each worker's engine on one thread
 * (--threads 1: one core a process, so the ratio is the queue's, not the engine's helper thread),
 * with the local pool's 1 and 2 worker threads on the same trials in the same run as the peer
 * (what the machine gives two trainers just now; its single worker's engine has both cores).
 *
 *   node --import tsx bench/sweep.ts --mode queue [--tiny 200] [--trials 8] [--iterations 1500]
 *
 * asha: ASHA against the full search on the same trials: each sweep file given is widened to
 * --trials random trials, run once as it is and once with {"asha": {eta, grace}}; prints both
 * searches' best val accuracy and trial-epochs (Σ epochs each trial trained).
 *
 *   node --import tsx bench/sweep.ts --mode asha --sweep configs/sweep-cs231n-softmax.json --trials 48 [--eta 4] [--grace 1] [--workers 2]
 *
 * tiny: trials per minute of --tiny tiny trials (MNIST softmax, 1 epoch of 1,000 rows) with every
 * trial's run report built as it ends ("trialReports": "all", the behaviour before the reports were
 * made lazy) beside the default (the best 3 trials' reports, at the end), on the local pool (one
 * worker thread) and on the queue (one worker process, its engine on one thread, on a
 * redis-server started here), in one run, the two kinds alternating over --rounds rounds.
 *
 *   node --import tsx bench/sweep.ts --mode tiny [--tiny 200] [--rounds 1]
 *
 * bench/asha_replay.py replays ASHA offline on a finished full search's per-epoch val accuracies,
 * in its trials' order and in 300 random orders (ASHA's stops depend on the order trials reach a rung).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
    mode: { type: 'string', default: 'local' },
    tiny: { type: 'string', default: '200' },
    sweep: { type: 'string', multiple: true, default: [] },
    eta: { type: 'string', default: '4' },
    grace: { type: 'string', default: '1' },
  },
});
function localBench(): void {
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
      console.log(
        `  round ${round + 1}, ${r.workers} worker${r.workers > 1 ? 's' : ' '}: ${r.trialsRun} trials in ${r.trialSeconds.toFixed(1)} s = ${perMin(r).toFixed(1)} trials/min; peak RSS ${r.peakRssMB} MB`,
      );
    }
    speedUps.push(perMin(many) / perMin(one));
  }
  const sorted = [...speedUps].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`  speed-up with ${values.workers} workers: ${median.toFixed(2)}× (median of the rounds: ${speedUps.map((x) => x.toFixed(2) + '×').join(', ')})`);
  fs.rmSync(dir, { recursive: true, force: true });
}

interface SweepOut {
  trials: { status: string; valAcc: number | null; lastEpoch?: number | null }[];
  trialsRun: number;
  trialSeconds: number;
  best: { valAcc: number } | null;
}

function trainCli(args: string[], what: string): void {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/train.js'), ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stderr}${r.stdout}`);
}

/** ASHA against the full search, on the same trials of each --sweep file. */
function ashaBench(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-asha-'));
  const n = Number(values.trials === '8' ? '48' : values.trials);
  const files = values.sweep!.length ? values.sweep! : [path.join(root, 'configs/sweep-cs231n-softmax.json'), path.join(root, 'bench/sweep-asha-twolayer.json')];
  for (const f of files) {
    const spec = JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown> & { random?: Record<string, unknown>; base: unknown };
    if (!spec.random) throw new Error(`${f}: --mode asha widens a random search ("random": {...}); this one has none`);
    const base = typeof spec.base === 'string' ? path.resolve(path.dirname(f), spec.base) : spec.base;
    const out: Record<string, SweepOut> = {};
    // --eta 3,4: one full search, then ASHA with each η.
    const etas = values.eta!.split(',').map(Number);
    for (const kind of ['full', ...etas.map((e) => `asha${e}`)]) {
      const file = path.join(dir, `${kind}-${path.basename(f)}`);
      const s = { ...spec, name: `${kind}-${String(spec.name)}`, base, random: { ...spec.random, trials: n } };
      if (kind !== 'full') Object.assign(s, { scheduler: { asha: { eta: Number(kind.slice(4)), grace: Number(values.grace) } } });
      fs.writeFileSync(file, JSON.stringify(s));
      const runs = path.join(dir, 'runs');
      const t0 = performance.now();
      trainCli(['sweep', '--config', file, '--workers', values.workers!, '--runs-dir', runs, '--data-dir', values['data-dir']!], `${kind} sweep of ${f}`);
      out[kind] = JSON.parse(fs.readFileSync(path.join(runs, `sweep-${s.name}`, 'results.json'), 'utf8')) as SweepOut;
      out[kind].trialSeconds = (performance.now() - t0) / 1000;
    }
    const epochs = (r: SweepOut) => r.trials.reduce((a, t) => a + (t.lastEpoch ?? 0), 0);
    const full = out.full;
    console.log(`ASHA (grace ${values.grace}) vs full search: ${path.relative(root, f)} widened to ${n} random trials, ${values.workers} workers`);
    console.log(`  full search: best val ${full.best?.valAcc.toFixed(4)}, ${epochs(full)} trial-epochs, ${full.trialSeconds.toFixed(0)} s`);
    for (const e of etas) {
      const asha = out[`asha${e}`];
      console.log(
        `  ASHA η ${e}: best val ${asha.best?.valAcc.toFixed(4)}, ${epochs(asha)} trial-epochs (${asha.trials.filter((t) => t.status === 'stopped').length} trials stopped), ${asha.trialSeconds.toFixed(0)} s`,
      );
      console.log(
        `    best val ${((full.best?.valAcc ?? 0) - (asha.best?.valAcc ?? 0)).toFixed(4)} below the full search's (target ≤ 0.005); trial-epochs ${((100 * epochs(asha)) / epochs(full)).toFixed(1)}% of its (target ≤ 40%)`,
      );
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** The queue: overhead per trial on tiny trials, and 2 worker processes against 1. */
async function queueBench(): Promise<void> {
  const { startRedis } = await import('../test/queue-redis.js');
  const redis = await startRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-queue-'));
  const workersOf = (k: number) =>
    Array.from({ length: k }, () =>
      spawn(process.execPath, [path.join(root, 'bin/train.js'), 'worker', '--queue', redis.url, '--runs-dir', path.join(dir, 'runs'), '--threads', '1'], { stdio: 'ignore' }),
    );
  const stop = async (ps: ChildProcess[]) => {
    await Promise.all(ps.map((p) => new Promise<void>((resolve) => (p.exitCode !== null ? resolve() : (p.once('exit', () => resolve()), p.kill('SIGTERM'))))));
  };
  const all: ChildProcess[] = [];
  const sweep = (name: string, base: Record<string, unknown>, lrs: number[], args: string[]): SweepOut => {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ name, base, grid: { lr: lrs } }));
    const runs = path.join(dir, 'runs');
    trainCli(['sweep', '--config', file, '--runs-dir', runs, ...args], `sweep ${name}`);
    return JSON.parse(fs.readFileSync(path.join(runs, `sweep-${name}`, 'results.json'), 'utf8')) as SweepOut;
  };
  try {
    const nTiny = Number(values.tiny);
    const tiny = { dataset: 'mnist', model: 'softmax', numTrain: 200, numVal: 100, numTest: 100, numDev: 20, iterations: 1, batchSize: 100 };
    // Distinct learning rates (distinct configs, so distinct trials): tag·(1 + i/100).
    const lrs = (k: number, tag: number) => Array.from({ length: k }, (_, i) => Number((tag * (1 + i / 100)).toPrecision(8)));
    const w1 = workersOf(1);
    all.push(...w1);
    sweep('warm-tiny', tiny, lrs(2, 0.9), ['--queue', redis.url]); // the worker prepares the data once, before the clock
    const q = sweep('tiny-queue', tiny, lrs(nTiny, 0.1), ['--queue', redis.url]);
    const l = sweep('tiny-local', tiny, lrs(nTiny, 0.1), ['--workers', '1']);
    const perQ = (1000 * q.trialSeconds) / q.trialsRun;
    const perL = (1000 * l.trialSeconds) / l.trialsRun;
    console.log(
      `queue overhead: ${nTiny} tiny trials (1 iteration each): ${perQ.toFixed(1)} ms a trial on the queue (1 worker process) vs ${perL.toFixed(1)} ms on the local pool (1 thread): ${(perQ - perL).toFixed(1)} ms a trial (target ≤ 50 ms)`,
    );
    // 2 worker processes against 1, on CIFAR-10 softmax trials, each worker warm (its data prepared).
    const cifar = { dataset: 'cifar', model: 'softmax', iterations: Number(values.iterations), batchSize: 200, initStd: 1e-4, reg: 1000 };
    const n = Number(values.trials);
    await stop(w1);
    // The workers prepare CIFAR-10 on a warm-up sweep of full-length trials (one each, started together), then the clock runs.
    const measure = async (k: number, tag: number): Promise<SweepOut> => {
      const ws = workersOf(k);
      all.push(...ws);
      const data = ['--queue', redis.url, '--data-dir', values['data-dir']!];
      sweep(`warm-cifar-${k}`, cifar, lrs(k, tag * 1.5), data);
      const r = sweep(`cifar-${k}`, cifar, lrs(n, tag), data);
      await stop(ws);
      return r;
    };
    const load0 = os.loadavg()[0];
    const one = await measure(1, 1e-7);
    const two = await measure(2, 2e-7);
    const pm = (r: SweepOut) => (60 * r.trialsRun) / r.trialSeconds;
    // The peer, in the same run: the local pool's 1 and 2 worker threads on the same trials (what the machine gives two trainers now).
    const data = ['--data-dir', values['data-dir']!];
    const l1 = sweep('cifar-local-1', cifar, lrs(n, 1e-7), ['--workers', '1', ...data]);
    const l2 = sweep('cifar-local-2', cifar, lrs(n, 2e-7), ['--workers', '2', ...data]);
    const load = `load average ${load0.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after`;
    console.log(
      `queue scaling: ${n} CIFAR-10 softmax trials of ${values.iterations} iterations, each worker's engine on one thread: 1 worker process ${pm(one).toFixed(1)} trials/min, 2 worker processes ${pm(two).toFixed(1)} trials/min: ${(pm(two) / pm(one)).toFixed(2)}× (target ≥ 1.8×)`,
    );
    console.log(
      `  the local pool in the same run: 1 thread ${pm(l1).toFixed(1)}, 2 threads ${pm(l2).toFixed(1)} trials/min: ${(pm(l2) / pm(l1)).toFixed(2)}×; the queue's scaling / the local pool's: ${(pm(two) / pm(one) / (pm(l2) / pm(l1))).toFixed(2)} (${load})`,
    );
  } finally {
    await stop(all);
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A tiny sweep of `n` trials, `reports` its trialReports, on the local pool (`queue` null) or the queue: its results. */
function tinySweep(dir: string, name: string, n: number, reports: string, queue: string | null): SweepOut {
  const base = { dataset: 'mnist', model: 'linear', numTrain: 1000, numVal: 200, numTest: 200, numDev: 20, epochs: 1, batchSize: 100 };
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ name, base, trialReports: reports, random: { trials: n, seed: n, lr: { logUniform: [1e-4, 1e-2] } } }));
  const runs = path.join(dir, 'runs');
  trainCli(['sweep', '--config', file, '--runs-dir', runs, ...(queue ? ['--queue', queue] : ['--workers', '1'])], `sweep ${name}`);
  return JSON.parse(fs.readFileSync(path.join(runs, `sweep-${name}`, 'results.json'), 'utf8')) as SweepOut;
}

/** Tiny trials with every trial's report (today's behaviour before lazy reports) beside the default, on the local pool and on the queue. */
async function tinyBench(): Promise<void> {
  const { startRedis } = await import('../test/queue-redis.js');
  const redis = await startRedis();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tiny-'));
  const worker = spawn(process.execPath, [path.join(root, 'bin/train.js'), 'worker', '--queue', redis.url, '--runs-dir', path.join(dir, 'runs'), '--threads', '1'], { stdio: 'ignore' });
  const n = Number(values.tiny);
  const perMin = (r: SweepOut) => (60 * r.trialsRun) / r.trialSeconds;
  try {
    tinySweep(dir, 'warm', 2, 'all', redis.url); // the worker prepares the data once, before the clock
    console.log(`tiny trials: ${n} MNIST softmax trials of 1 epoch on 1,000 rows, ${os.availableParallelism()} cores, load average ${os.loadavg()[0].toFixed(1)}`);
    for (let round = 0; round < Math.max(1, Number(values.rounds)); round++) {
      for (const where of ['local', 'queue'] as const) {
        const kinds = round % 2 === 0 ? ['all', 'best'] : ['best', 'all'];
        const r = Object.fromEntries(kinds.map((k) => [k, tinySweep(dir, `${where}-${k}-${round}`, n, k, where === 'queue' ? redis.url : null)]));
        const shown = (k: string) => `${k === 'all' ? 'every trial\'s report ("all")' : 'the best 3 reports ("best", the default)'}: ${perMin(r[k]).toFixed(0)} trials/min`;
        console.log(
          `  round ${round + 1}, ${where === 'local' ? 'local pool, 1 thread' : 'queue, 1 worker process'}: ${shown('all')}; ${shown('best')}: ${(perMin(r.best) / perMin(r.all)).toFixed(1)}× (target ≥ 5×)`,
        );
      }
    }
    console.log(`  load average ${os.loadavg()[0].toFixed(1)} at the end`);
  } finally {
    await new Promise<void>((resolve) => (worker.exitCode !== null ? resolve() : (worker.once('exit', () => resolve()), worker.kill('SIGTERM'))));
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (values.mode === 'local') localBench();
else if (values.mode === 'queue') await queueBench();
else if (values.mode === 'asha') ashaBench();
else if (values.mode === 'tiny') await tinyBench();
else throw new Error(`--mode ${values.mode}: use local, queue, asha or tiny`);
