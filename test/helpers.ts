/** Small seeded fixtures shared by the test files. */
import type { BackendChoice } from '../src/linalg/engine.js';

/**
 * The engine the end-to-end tests (CLI, sweeps, reports) train on: the simd engine, what 'auto'
 * takes without OpenBLAS, unless TSNN_TEST_BACKEND names another. CI runs the suite once as it
 * is and once with openblas.
 */
export const E2E_BACKEND = (process.env.TSNN_TEST_BACKEND ?? 'simd') as Exclude<BackendChoice, 'auto'>;
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import type { Mat } from '../src/linalg/mat.js';
import type { Rng } from '../src/linalg/rng.js';
import type { Checkpoint } from '../src/runs/checkpoint.js';
import { type Config, resolveConfig } from '../src/config/config.js';
import { initEngine } from '../src/linalg/engine.js';
import { loadRunData, runTraining, type RunUi } from '../src/train/run.js';
import { InterruptedError } from '../src/train/trainer.js';
import type { Summary } from '../src/runs/summary.js';
import { readJsonl } from '../src/runs/jsonl.js';

/** A (rows, cols) matrix of std·N(0,1) draws, of the array type `Ctor`. */
export function randnMat<C extends Float32ArrayConstructor | Float64ArrayConstructor>(Ctor: C, rows: number, cols: number, rng: Rng, std = 1): Mat<InstanceType<C>> {
  const data = new Ctor(rows * cols) as InstanceType<C>;
  rng.fillNormal(data, std);
  return { rows, cols, data };
}

/** n labels drawn uniformly from [0, c). */
export function randomLabels(n: number, c: number, rng: Rng): Int32Array {
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = rng.int(c);
  return y;
}

/** A small, complete MLP checkpoint (3 inputs, hidden 2, 2 classes). */
export function sampleCheckpoint(): Checkpoint {
  return {
    header: {
      model: { kind: 'mlp', inputDim: 3, hidden: [2], numClasses: 2 },
      params: [
        { name: 'W1', rows: 3, cols: 2 },
        { name: 'b1', rows: 1, cols: 2 },
        { name: 'W2', rows: 2, cols: 2 },
        { name: 'b2', rows: 1, cols: 2 },
      ],
      dataset: 'mnist',
      classes: ['a', 'b'],
      imageShape: [1, 1, 3],
      preprocess: { bias: false, scale: 1 },
      split: { numTrain: 10, numVal: 2, numTest: 3 },
      meanLength: 3,
      epoch: 1,
      iteration: 5,
      trainAcc: 0.5,
      valAcc: 0.5,
      config: { lr: 0.1 },
    },
    params: Float32Array.from({ length: 14 }, (_, i) => i * 0.25 - 1),
    mean: Float32Array.from([0.5, 1.5, 2.5]),
  };
}

/** actual and expected agree elementwise within tol; the message names the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length}, expected ${expected.length}`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${what}: largest difference ${worst} at [${at}] (got ${actual[at]}, expected ${expected[at]}); first values ${Array.from(actual).slice(0, 4).join(', ')}`);
}

/** A RunUi that prints nothing (warnings go into `warnings`). */
export const quietUi = (warnings: string[] = []): RunUi => ({ info() {}, warn: (l) => warnings.push(l), startTraining() {}, iteration() {}, epoch() {}, endTraining() {} });

/**
 * Train `flags` in process in `dir` (afresh, or resuming it), on flags.backend; with `stopAfter`,
 * stop (as a signal handler does) after that many steps of this call.
 */
export async function runIn(dir: string, flags: Partial<Config>, opts: { resume?: boolean; stopAfter?: number; warnings?: string[] } = {}): Promise<Summary | 'interrupted'> {
  const cfg = resolveConfig({}, flags);
  const selection = await initEngine(cfg.backend);
  let steps = 0;
  const ui = { ...quietUi(opts.warnings), iteration: () => void steps++ };
  try {
    const run = { cfg, runData: await loadRunData(cfg), dir, engine: selection, resume: opts.resume };
    const { summary } = await runTraining(run, ui, opts.stopAfter !== undefined ? { shouldStop: () => steps >= opts.stopAfter! } : {});
    return summary;
  } catch (e) {
    if (e instanceof InterruptedError) return 'interrupted';
    throw e;
  }
}

/** metrics.jsonl's rows without their timings. */
export const metricRows = (dir: string) => (readJsonl(path.join(dir, 'metrics.jsonl')) as Record<string, unknown>[]).map(({ seconds: _s, ...r }) => r);

/** The checkout's CLI (bin/train.js, which runs dist/). */
export const TRAIN_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'train.js');

/** Run the CLI with `args` from the checkout, without colours: its exit code, stdout and stderr. */
export function trainCli(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [TRAIN_BIN, ...args], { cwd: path.dirname(path.dirname(TRAIN_BIN)), encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
