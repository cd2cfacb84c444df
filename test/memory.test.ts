/**
 * The memory a run needs (models/memory.ts) against the memory it may use (config.ts
 * machineLimits): refused before anything is allocated, in the one place every run starts
 * training (train/run.ts runTraining), whichever config its data was loaded by (a sweep's or a
 * queue's trial), and from the command line with --max-memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, MAX_MEMORY_ENV, hostMemory, memoryBudget, resolveConfig } from '../src/config/config.js';
import { runMemory } from '../src/models/memory.js';
import { initEngine } from '../src/linalg/engine.js';
import { loadRunData, runTraining } from '../src/train/run.js';
import { quietUi, trainCli } from './helpers.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'memory-'));

test('runMemory counts a 784-100-10 MLP by hand: parameters per layer, gradients, optimizer state, copies, activations, data, history', () => {
  const spec = { kind: 'mlp' as const, inputDim: 784, hidden: [100], numClasses: 10 };
  const m = runMemory(spec, { batchSize: 200, optimizerBlocks: 2, steps: 1000, dataNumbers: 1000 * 784 });
  assert.deepEqual(
    m.layers.map((l) => [l.name, l.rows, l.cols]),
    [
      ['W1', 784, 100],
      ['b1', 1, 100],
      ['W2', 100, 10],
      ['b2', 1, 10],
    ],
  );
  const P = 784 * 100 + 100 + 100 * 10 + 10; // 79,510
  assert.equal(m.params, P);
  assert.deepEqual(m.bytes, {
    parameters: 4 * P,
    gradients: 4 * P,
    optimizer: 4 * 2 * P, // adam's m and v
    copies: 4 * (2 + 2 + 2) * P, // best, initial draw; last.ckpt's buffer: parameters, best, m, v
    activations: 4 * 4 * 1000 * (100 + 10), // 4 arrays a unit, at least the 1,000 rows of an evaluation chunk
    data: 4 * 1000 * 784,
    history: 8 * 1000,
  });
  assert.equal(
    m.total,
    Object.values(m.bytes).reduce((a, b) => a + b, 0),
  );
});

test('the memory a run may use: 80% of the host by default; TSNN_MAX_MEMORY / --max-memory as a size or a share; nonsense refused', () => {
  const share = memoryBudget(undefined);
  assert.ok(share.memoryBytes > 0 && share.memoryBytes <= 0.8 * os.totalmem() + 1, `${share.memoryBytes}`);
  assert.match(share.memorySource, /^80% of this (machine's|cgroup's limit of) /);
  assert.deepEqual(memoryBudget('512MB'), { memoryBytes: 512e6, memorySource: `${MAX_MEMORY_ENV}=512MB` });
  assert.equal(memoryBudget('1.5gb').memoryBytes, 1.5e9);
  assert.equal(memoryBudget('50%').memoryBytes, Math.floor(0.5 * hostMemory().bytes));
  assert.equal(share.memoryBytes, Math.floor(0.8 * hostMemory().bytes));
  for (const bad of ['8', 'lots', '0GB', '150%', '-1GB', '1e9MB']) {
    assert.throws(
      () => memoryBudget(bad),
      (e: Error) => e instanceof ConfigError && e.message.includes(JSON.stringify(bad)) && /8GB, 512MB.*90%/.test(e.message),
      bad,
    );
  }
});

test('runTraining refuses a trial whose model does not fit, though its data was loaded by a config that fits (a sweep or queue trial), before writing or allocating anything', async () => {
  const small = resolveConfig({}, { model: 'mlp', hidden: [10], numTrain: 500, numVal: 50, numTest: 50, numDev: 20, batchSize: 50, iterations: 2, backend: 'js' });
  const runData = await loadRunData(small);
  const engine = await initEngine('js');
  const dir = tmp();
  const saved = process.env[MAX_MEMORY_ENV];
  try {
    // 20,000 hidden units (15.9 M parameters, about 0.7 GB a run) against 100 MB: refused (the default budget would let it train).
    process.env[MAX_MEMORY_ENV] = '100MB';
    await assert.rejects(
      () => runTraining({ cfg: { ...small, hidden: [20000] }, runData, dir, engine }, quietUi(), { evaluateTest: false }),
      (e: Error) =>
        e instanceof ConfigError &&
        /--hidden 20000 gives 15900010 parameters; with batch 50 a run needs about \d+ MB of memory, and this machine has 100 MB for a run \(TSNN_MAX_MEMORY=100MB\)/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing written into the trial folder');
    // The queue's case: hidden [60000, 60000] (3.65 G parameters) on a worker that may use 1 GB.
    process.env[MAX_MEMORY_ENV] = '1GB';
    const rss0 = process.memoryUsage().rss;
    await assert.rejects(
      () => runTraining({ cfg: { ...small, hidden: [60000, 60000] }, runData, dir, engine }, quietUi(), { evaluateTest: false }),
      (e: Error) =>
        e instanceof ConfigError &&
        /--hidden 60000,60000 gives \d+ parameters; with batch 50 a run needs about [\d.]+ GB of memory, and this machine has 1 GB for a run \(TSNN_MAX_MEMORY=1GB\)/.test(e.message) &&
        /Needed: parameters 14\.6 GB, gradients 14\.6 GB, copies 58\.4 GB, activations/.test(e.message) &&
        /the largest layer, W2, is 60000×60000/.test(e.message) &&
        /--max-memory/.test(e.message),
    );
    assert.ok(process.memoryUsage().rss - rss0 < 200e6, 'nothing large was allocated');
    assert.deepEqual(fs.readdirSync(dir), []);
    // What fits trains.
    delete process.env[MAX_MEMORY_ENV];
    const { summary } = await runTraining({ cfg: small, runData, dir, engine }, quietUi(), { evaluateTest: false });
    assert.equal(summary.status, 'ok');
  } finally {
    if (saved === undefined) delete process.env[MAX_MEMORY_ENV];
    else process.env[MAX_MEMORY_ENV] = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('train --max-memory: a run that needs more is refused in one line with the figures, before a run folder is made; a bad value is refused', () => {
  const runs = tmp();
  try {
    const args = [
      '--model',
      'mlp',
      '--hidden',
      '20000',
      '--num-train',
      '500',
      '--num-val',
      '50',
      '--num-test',
      '50',
      '--num-dev',
      '20',
      '--batch-size',
      '50',
      '--iterations',
      '2',
      '--backend',
      'js',
      '--runs-dir',
      runs,
    ];
    const r = trainCli([...args, '--max-memory', '100MB']);
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /--hidden 20000 gives 15900010 parameters; with batch 50 a run needs about 704 MB of memory, and this machine has 100 MB for a run \(TSNN_MAX_MEMORY=100MB\)\. Needed: parameters 63\.6 MB/,
    );
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.deepEqual(fs.readdirSync(runs), [], 'no run folder');
    const bad = trainCli([...args, '--max-memory', 'plenty']);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /TSNN_MAX_MEMORY \(--max-memory\) = "plenty" is not allowed: give a size with its unit \(8GB, 512MB\) or a share of the machine's memory \(90%\)/);
  } finally {
    fs.rmSync(runs, { recursive: true, force: true });
  }
});
