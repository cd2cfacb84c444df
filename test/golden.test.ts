/**
 * The golden trajectory, as llm.c's test_gpt2.c: a fixed 3-layer MLP with batch norm and dropout
 * (cs231n's FullyConnectedNet, 12 → 8 → 6 → 4), fixed initial parameters and 10 fixed batches,
 * checked against PyTorch in float64 (test/fixtures/golden-mlp.json, made by
 * tools/fixtures/golden_mlp.py with Debian's python3-torch 1.13; CI reads the fixture only):
 * every gradient at step 0, the loss before each of 10 Adam steps, and after them every
 * parameter, the running statistics and the test-mode scores.
 *
 * dtype float64 throughout (Float64Array parameters: the reference matmul kernel, as the
 * gradient checks use). Dropout is included: the fixture's masks come from a port of
 * linalg/rng.ts, whose first draws are checked here first.
 *
 * Tolerance, per tensor: max|ours − torch| ≤ tol · max|torch| (the error relative to the
 * tensor's scale, so an entry near zero is judged at the scale of its neighbours). Measured on
 * this fixture: every step-0 gradient, the 10 losses and every trained parameter after 10 steps
 * agree to 2e-15 (float64's eps is 2.2e-16; torch and the reference kernel add in other orders).
 * TOL = 1e-13 leaves a factor of 50 for a change of summation order, and catches any real
 * difference (a wrong formula, eps, momentum or mask moves these numbers by 1e-6 or more).
 *
 * One honest exception, NOISE_TOL. The biases b1 and b2 feed batch norm, which subtracts the
 * batch mean: they have no effect on the loss, and their gradient is 0 up to rounding (1e-17 in
 * torch and here, each its own). Adam divides that noise by its eps (1e-8): each step moves b1
 * and b2 by up to lr·1e-16/1e-8 ≈ 1e-10, a different 1e-10 in torch than here. So b1, b2 and what
 * carries them (the running means, and the test-mode scores through them) agree only to 2e-9
 * after 10 steps, and are judged at NOISE_TOL = 1e-8; b1 and b2 must also have moved by no more
 * than that noise allows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { modelFromParams, paramSpecsFor } from '../src/models/index.js';
import type { ModelSpec } from '../src/models/model.js';
import { createWorkspace } from '../src/models/buffers.js';
import { allocParams, trainableCount } from '../src/models/params.js';
import { createOptimizer, RULE_DEFAULTS } from '../src/optim/rules.js';

const TOL = 1e-13;
const NOISE_TOL = 1e-8;
/** What the rounding noise of the biases that feed batch norm reaches after 10 steps (see above). */
const NOISY = new Set(['b1', 'b2', 'running_mean1', 'running_mean2', 'testScores']);

interface FixtureMat {
  rows: number;
  cols: number;
  data: number[];
}
interface Golden {
  spec: ModelSpec;
  reg: number;
  lr: number;
  rule: 'adam';
  dropoutSeed: number;
  firstDraws: number[];
  batches: { X: FixtureMat; y: number[] }[];
  init: Record<string, FixtureMat>;
  losses: number[];
  grads0: Record<string, FixtureMat>;
  final: Record<string, FixtureMat>;
  testScores: FixtureMat;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = JSON.parse(fs.readFileSync(path.join(here, 'fixtures', 'golden-mlp.json'), 'utf8')) as Golden;

/** max|got − want| / max|want|, and where the largest difference is. */
function compare(got: ArrayLike<number>, want: ArrayLike<number>): { rel: number; at: number; diff: number } {
  assert.equal(got.length, want.length, 'lengths');
  let scale = 0;
  let diff = 0;
  let at = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= diff)) {
      diff = d;
      at = i;
    }
  }
  return { rel: scale > 0 ? diff / scale : diff, at, diff };
}

/** As llm.c's check_tensor: on failure, the first values of both and the largest difference. */
function check(label: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = TOL): number {
  const { rel, at, diff } = compare(got, want);
  const first = (a: ArrayLike<number>) => Array.from(a).slice(0, 5).join(', ');
  assert.ok(
    rel <= tol,
    `${label}: relative difference ${rel.toExponential(2)} > ${tol} (largest |ours − torch| ${diff.toExponential(2)} at [${at}]: ${got[at]} vs ${want[at]})\n` +
      `  ours:  ${first(got)}\n  torch: ${first(want)}`,
  );
  return rel;
}

const toMat = (m: FixtureMat): Mat<Float64Array> => ({ rows: m.rows, cols: m.cols, data: Float64Array.from(m.data) });

/** The fixture's net with its initial parameters, its masks drawn from Rng(dropoutSeed). */
function goldenModel() {
  const params = allocParams<Float64Array>(paramSpecsFor(fx.spec), Float64Array);
  for (const p of params.specs) params.views[p.name].data.set(fx.init[p.name].data);
  return modelFromParams(fx.spec, params, fx.reg, new Rng(fx.dropoutSeed));
}

test("golden: the fixture's dropout masks come from the same stream as linalg/rng.ts", () => {
  const rng = new Rng(fx.dropoutSeed);
  assert.deepEqual(
    fx.firstDraws.map(() => rng.nextUint32()),
    fx.firstDraws,
  );
});

test('golden: a 3-layer MLP with batch norm and dropout against PyTorch (float64): every gradient at step 0, 10 Adam losses, the final parameters, running statistics and test scores', () => {
  const model = goldenModel();
  const { params } = model;
  assert.deepEqual(
    params.specs.map((p) => p.name),
    Object.keys(fx.init),
    'the fixture lists the parameters in the buffer order',
  );
  const trainable = trainableCount(params.specs);
  const ws = createWorkspace(params);
  const opt = createOptimizer<Float64Array>(fx.rule, trainable, RULE_DEFAULTS[fx.rule], Float64Array);
  const w = params.flat.subarray(0, trainable);
  const losses: number[] = [];
  const measured: Record<string, number> = {};
  fx.batches.forEach(({ X, y }, step) => {
    const { loss, grads } = model.loss(toMat(X), Int32Array.from(y), ws);
    losses.push(loss);
    if (step === 0) {
      for (const [name, want] of Object.entries(fx.grads0)) measured[`d${name}`] = checkGrad(name, grads.views[name].data, want.data, grads.views);
    }
    opt.step(w, grads.flat, fx.lr);
  });
  measured.losses = check('losses', losses, fx.losses);
  const tolOf = (name: string) => (NOISY.has(name) ? NOISE_TOL : TOL);
  for (const [name, want] of Object.entries(fx.final)) measured[name] = check(`after 10 steps: ${name}`, params.views[name].data, want.data, tolOf(name));
  measured.testScores = check('test-mode scores after 10 steps', model.loss(toMat(fx.batches[0].X)).data, fx.testScores.data, tolOf('testScores'));
  for (const b of ['b1', 'b2']) {
    const moved = (now: ArrayLike<number>) => compare(now, fx.init[b].data).diff;
    assert.ok(moved(params.views[b].data) < 1e-9 && moved(fx.final[b].data) < 1e-9, `${b} feeds batch norm: Adam moves it by rounding noise only`);
  }
  const worst = Object.entries(measured).sort((a, b) => b[1] - a[1])[0];
  const exact = Object.entries(measured)
    .filter(([name]) => !NOISY.has(name))
    .sort((a, b) => b[1] - a[1])[0];
  console.log(`golden: largest relative difference ${exact[1].toExponential(2)} (${exact[0]}); ${worst[1].toExponential(2)} (${worst[0]}) among the batch-norm biases' noise`);
});

/**
 * A gradient at step 0. The biases of the layers that feed batch norm have no effect on the loss
 * (batch norm subtracts the batch mean): their gradient is 0, in torch as here only up to
 * rounding (about 1e-17), so they are judged against the scale of their layer's dW instead.
 */
function checkGrad(name: string, got: Float64Array, want: number[], views: Record<string, Mat<Float64Array>>): number {
  const l = /^b(\d+)$/.exec(name)?.[1];
  if (l === undefined || Number(l) > fx.spec.hidden.length) return check(`step 0: d${name}`, got, want);
  const scale = Math.max(...Array.from(views[`W${l}`].data, Math.abs));
  const { diff } = compare(got, want);
  assert.ok(Math.max(...Array.from(got, Math.abs), ...want.map(Math.abs)) <= 1e-14 * scale, `step 0: d${name} (before batch norm) is 0 up to rounding`);
  return diff / scale;
}
