/**
 * The wasm engine's SIMD vector passes (native/simd.wat, src/linalg/engines/simd.ts): the module
 * in the source tree is the one simd.wat assembles to; on a parameter/gradient pair they give the
 * JS loops' results bit for bit; a training workspace's gradient lies beside the parameters, so training
 * takes the SIMD path, and a training step there ends with the same bits as on the JS loops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../src/linalg/engine.js';
import { axpy, axpyRange, axpySumSq, axpySumSqRange } from '../src/linalg/blas1.js';
import { getEngine, useEngine } from '../src/linalg/matmul.js';
import { referenceEngine } from '../src/linalg/engines/reference.js';
import { SIMD_MODULE_BASE64 } from '../src/linalg/engines/simd_module.js';
import { simdKernelsFor, vectorPair } from '../src/linalg/engines/simd.js';
import { Rng } from '../src/linalg/rng.js';
import { createModel } from '../src/models/index.js';
import { createWorkspace } from '../src/models/buffers.js';
import { allocGrads, allocParams, viewsOf } from '../src/models/params.js';
import { sgdStep } from '../src/optim/sgd.js';
import { randnMat, randomLabels } from './helpers.js';

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/**
 * Σx² to within one rounding (Neumaier's compensated sum; each x², of a float32 x, is exact in
 * float64). Any order of plain float64 additions of the n terms lands within (n−1)·2⁻⁵³ of it,
 * relative (all terms are positive): the bound the JS loop and the SIMD lanes are held to.
 */
function sumSqExact(x: Float32Array): number {
  let s = 0;
  let c = 0;
  for (const v of x) {
    const t = s + v * v;
    c += Math.abs(s) >= v * v ? s - t + v * v : v * v - t + s;
    s = t;
  }
  return s + c;
}

test('src/linalg/engines/simd_module.ts is native/simd.wat assembled (npm run build:simd)', async () => {
  // @ts-expect-error: a plain .mjs build script, without type declarations
  const { assembleSimd } = (await import('../native/build_simd.mjs')) as { assembleSimd(): Promise<Buffer> };
  const want = await assembleSimd();
  assert.ok(Buffer.from(SIMD_MODULE_BASE64, 'base64').equals(want), 'simd_module.ts is stale: run npm run build:simd');
});

for (const threads of [1, 2]) {
  test(`wasm engine (${threads} thread${threads > 1 ? 's' : ''}): SIMD axpy and axpySumSq on a pair are the JS loops bit for bit, at any offset and length`, async () => {
    await initEngine('wasm', threads);
    const rng = new Rng(5);
    const n = 300_007; // above the size the engine splits a SIMD pass among its threads at
    const [x, y] = getEngine().alloc.pair(n);
    assert.ok(y !== null && simdKernelsFor(x, y) !== null, 'the wasm engine puts a pair in one SIMD block');
    // Values over a wide range of magnitudes, so a float32 rounding of alpha·x alone would show.
    rng.fillNormal(x);
    rng.fillNormal(y);
    for (let i = 0; i < n; i += 7) x[i] *= 1e6;
    // Whole arrays, then views that start off a 16-byte boundary with lengths of every n mod 4
    // (a model's W1, b1, W2, … are such views).
    const cuts: [number, number][] = [
      [0, n],
      [1, 1000],
      [3, 4097],
      [5, 10],
      [2, 3],
      [7, 1],
    ];
    for (const [lo, len] of cuts) {
      const xs = x.subarray(lo, lo + len);
      const ys = y.subarray(lo, lo + len);
      const want = ys.slice();
      axpyRange(-0.0137, xs, want, 0, len);
      axpy(-0.0137, xs, ys);
      assert.ok(same(ys, want), `axpy over [${lo}, ${lo + len})`);

      const want2 = ys.slice();
      const jsSum = axpySumSqRange(2e-3, xs, want2, 0, len);
      const s = axpySumSq(2e-3, xs, ys);
      assert.ok(same(ys, want2), `axpySumSq: y over [${lo}, ${lo + len})`);
      const exact = sumSqExact(xs);
      const bound = Math.max(len - 1, 1) * 2 ** -53 * exact;
      assert.ok(Math.abs(jsSum - exact) <= bound, 'the JS loop is within the bound (a check of the check)');
      assert.ok(Math.abs(s - exact) <= bound, `axpySumSq: Σx² ${s}, exactly ${exact}, over [${lo}, ${lo + len})`);
    }
    // Arrays outside a pair (or in two different pairs) still take the JS loops, with the same results.
    assert.equal(vectorPair(2 ** 29), null, 'a pair past 32-bit offsets is refused (plain arrays are used)');
    const [x2] = getEngine().alloc.pair(16);
    assert.equal(simdKernelsFor(x2, y.subarray(0, 16)), null);
    assert.equal(simdKernelsFor(getEngine().alloc.float(Float32Array, 16), getEngine().alloc.float(Float32Array, 16)), null);
    useEngine(referenceEngine);
  });
}

test('createWorkspace: the first workspace of a parameter set gets the gradient room beside it, a second a new buffer', async () => {
  const { engine } = await initEngine('wasm', 2);
  const specs = [
    { name: 'W', rows: 5, cols: 3 },
    { name: 'b', rows: 1, cols: 3 },
  ];
  const p = allocParams<Float32Array>(specs, Float32Array, engine.alloc);
  const g1 = createWorkspace(p, engine.alloc).grads;
  const g2 = createWorkspace(p, engine.alloc).grads;
  assert.notEqual(simdKernelsFor(p.flat, g1.flat), null, 'first: in the parameters’ block');
  assert.equal(simdKernelsFor(p.flat, g2.flat), null, 'second: a buffer of its own');
  assert.notEqual(g1.flat, g2.flat);
  const fresh = allocGrads(p); // what a loss() call without a workspace gets
  assert.ok(fresh.flat.every((v) => v === 0) && fresh.flat.length === p.flat.length && simdKernelsFor(p.flat, fresh.flat) === null);
  assert.deepEqual(Object.keys(g1.views), ['W', 'b']);
  assert.ok(g1.flat.every((v) => v === 0) && g2.flat.every((v) => v === 0), 'zero-filled');
  // Float64 parameters (gradient checks) never get a pair.
  const p64 = allocParams<Float64Array>(specs, Float64Array, engine.alloc);
  assert.ok(createWorkspace(p64, engine.alloc).grads.flat instanceof Float64Array);
  useEngine(referenceEngine);
});

test('wasm engine: an MLP trained on the SIMD passes ends with the same bits as on the JS loops', async () => {
  const { engine } = await initEngine('wasm', 2);
  const rng = new Rng(3);
  const [N, D, Hd, C] = [64, 301, 37, 10];
  const X = randnMat(Float32Array, N, D, rng);
  const y = randomLabels(N, C, rng);
  const runs: Float32Array[] = [];
  for (const paired of [true, false]) {
    const model = createModel({ kind: 'mlp', inputDim: D, hidden: [Hd], numClasses: C }, { initStd: 1e-2, reg: 0.05, alloc: engine.alloc }, new Rng(1));
    if (!paired) {
      // The same parameters moved out of their pair, into a buffer of their own: JS loops.
      const flat = engine.alloc.float(Float32Array, model.params.flat.length);
      flat.set(model.params.flat);
      Object.assign(model.params, { flat, views: viewsOf(model.params.specs, flat), gradFlat: undefined });
    }
    const ws = createWorkspace(model.params, engine.alloc);
    let simd = false;
    for (let i = 0; i < 20; i++) {
      const { grads } = model.loss(X, y, ws);
      simd = simdKernelsFor(grads.flat, model.params.flat) !== null;
      sgdStep(model.params.flat, grads.flat, 0.05);
    }
    assert.equal(simd, paired, paired ? 'the workspace gradient lies beside the parameters' : 'the moved parameters have no pair');
    runs.push(model.params.flat.slice());
  }
  assert.ok(same(runs[0], runs[1]), 'SIMD and JS passes give the same parameters after 20 steps');
  useEngine(referenceEngine);
});
