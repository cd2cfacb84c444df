/**
 * The gradient-check tools themselves: relError / maxRelError, numericGradient and
 * numericGradientArray on functions with known derivatives (float64, h = 1e-5), x restored
 * exactly, and gradCheckSparse catching a wrong gradient.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/linalg/rng.js';
import { gradCheckSparse, maxRelError, numericGradient, numericGradientArray, relError } from '../src/linalg/gradcheck.js';

const H = 1e-5;

test('relError is |a−b| / max(|a|+|b|, 1e-8), as cs231n rel_error', () => {
  assert.equal(relError(0, 0), 0);
  assert.equal(relError(1, 1), 0);
  assert.equal(relError(1, -1), 1);
  assert.ok(Math.abs(relError(1, 1.1) - 0.1 / 2.1) < 1e-16);
  assert.equal(relError(1e-12, 0), 1e-12 / 1e-8); // floor of the denominator
  assert.equal(maxRelError([1, 2, 3], [1, 2, 3.3]), relError(3, 3.3));
  assert.ok(Number.isNaN(maxRelError([1, NaN], [1, 2])));
  assert.throws(() => maxRelError([1, 2], [1]), /analytic has 2 entries but numeric has 1/);
});

test('numericGradient of f(x) = Σ x³ + x₀x₁ matches 3x² + cross terms and restores x exactly (float64, h=1e-5, tol 1e-9)', () => {
  // f(x) = Σ_i x_i³ + x_0·x_1  →  ∂f/∂x_i = 3x_i² + [i=0]·x_1 + [i=1]·x_0
  const x = Float64Array.from([0.3, -1.2, 2.5, 0.7]);
  const before = Array.from(x);
  let calls = 0;
  const f = () => {
    calls++;
    let s = x[0] * x[1];
    for (const v of x) s += v * v * v;
    return s;
  };
  const g = numericGradient(f, x, H);
  const want = Array.from(x, (v, i) => 3 * v * v + (i === 0 ? x[1] : 0) + (i === 1 ? x[0] : 0));
  assert.deepEqual(Array.from(x), before);
  assert.equal(calls, 2 * x.length);
  // Centered differences are exact up to h²·f'''/6 = 1e-10 here, plus round-off.
  assert.ok(maxRelError(g, want) < 1e-9, `max rel error ${maxRelError(g, want)}`);
});

test('numericGradientArray checks Σ out·dout: out = A·x has gradient Aᵀ·dout (float64, h=1e-5, tol 1e-9)', () => {
  const rng = new Rng(40);
  const A = new Float64Array(3 * 4);
  rng.fillNormal(A);
  const x = new Float64Array(4);
  rng.fillNormal(x);
  const dout = new Float64Array(3);
  rng.fillNormal(dout);
  const before = Array.from(x);
  const f = () => {
    const out = new Float64Array(3);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) out[i] += A[i * 4 + j] * x[j];
    return { rows: 3, cols: 1, data: out };
  };
  const g = numericGradientArray(f, x, dout, H);
  const want = Array.from({ length: 4 }, (_, j) => A[j] * dout[0] + A[4 + j] * dout[1] + A[8 + j] * dout[2]);
  assert.deepEqual(Array.from(x), before);
  assert.ok(maxRelError(g, want) < 1e-9, `max rel error ${maxRelError(g, want)}`);
  assert.throws(() => numericGradientArray(f, x, new Float64Array(2), H), /f returns 3 numbers but dout has 2/);
});

test('gradCheckSparse: distinct random coordinates, small error for the right gradient, large for a wrong one (float64, h=1e-5)', () => {
  const x = Float64Array.from({ length: 30 }, (_, i) => Math.sin(i + 1));
  const f = () => x.reduce((s, v) => s + Math.exp(v) * 0.5, 0);
  const right = Array.from(x, (v) => 0.5 * Math.exp(v));
  const before = Array.from(x);
  const ok = gradCheckSparse(f, x, right, 10, H, new Rng(41));
  assert.deepEqual(Array.from(x), before);
  assert.equal(ok.rows.length, 10);
  assert.equal(new Set(ok.rows.map((r) => r.index)).size, 10);
  assert.ok(ok.maxRelError < 1e-9, `max rel error ${ok.maxRelError}`);
  for (const r of ok.rows) assert.equal(r.analytic, right[r.index]);
  // Same rng seed → same coordinates.
  assert.deepEqual(
    gradCheckSparse(f, x, right, 10, H, new Rng(41)).rows.map((r) => r.index),
    ok.rows.map((r) => r.index),
  );
  // A gradient off by a factor of 2 everywhere: relError = 1/3.
  const wrong = right.map((v) => 2 * v);
  const bad = gradCheckSparse(f, x, wrong, 5, H, new Rng(42));
  assert.ok(Math.abs(bad.maxRelError - 1 / 3) < 1e-6, `max rel error ${bad.maxRelError}`);
  // More checks than entries: every entry once.
  assert.equal(gradCheckSparse(f, x, right, 100, H, new Rng(43)).rows.length, 30);
  assert.throws(() => gradCheckSparse(f, x, right.slice(1), 3, H, new Rng(0)), /x has 30 entries but analytic has 29/);
});

test('the verdict passes a correct gradient whose coordinates are too small to resolve, and fails one with a wrong factor', async () => {
  const { checkModel } = await import('../src/cli/gradcheck.js');
  const { createModel } = await import('../src/models/index.js');
  const { resolveConfig } = await import('../src/config/config.js');
  const { loadRunData } = await import('../src/train/run.js');
  const { initEngine } = await import('../src/linalg/engine.js');
  await initEngine('js');
  // The MNIST dev rows as `gradcheck --dev` uses them: many weights have gradients near 1e-6,
  // where cs231n's rel_error of a correct gradient reaches 1e-5 from round-off alone.
  const { data } = await loadRunData(resolveConfig({ dataset: 'mnist', model: 'linear', numDev: 200 }, {}));
  const X = { rows: data.dev.n, cols: data.dim, data: Float64Array.from(data.dev.X.data) };
  const y = data.dev.y;
  const opts = { numChecks: 30, threshold: 1e-7, h: 1e-5 };
  const build = (reg: number) => createModel({ kind: 'softmax', inputDim: data.dim, hidden: [], numClasses: 10 }, { initStd: 1e-4, reg, dtype: Float64Array }, new Rng(0));
  for (const reg of [0, 0.1]) {
    const lines: string[] = [];
    assert.equal(
      checkModel(build(reg), X, y, opts, new Rng(1), (s) => lines.push(s)),
      0,
      lines.join('\n'),
    );
    // cs231n's own rel_error of these rows is well above the threshold: the old verdict failed them.
    const raw = Number(/rel_error \(floor 1e-8\) per parameter: W (\S+);/.exec(lines.join('\n'))![1]);
    assert.ok(raw > 1e-7, `cs231n rel_error ${raw}`);
  }
  // Wrong gradients: the L2 term with reg·W instead of 2·reg·W, and the whole gradient off by 1e-4.
  const wrong = (reg: number, fix: (grad: Float64Array, W: Float64Array) => void) => {
    const m = build(reg);
    const loss = m.loss.bind(m);
    m.loss = ((Xb: typeof X, yb: Int32Array) => {
      const r = loss(Xb, yb);
      fix(r.grads.flat as Float64Array, m.params.flat as Float64Array);
      return r;
    }) as typeof m.loss;
    return m;
  };
  const halfReg = wrong(0.5, (g, W) => {
    for (let i = 0; i < g.length; i++) g[i] -= 0.5 * W[i]; // 2·reg·W − reg·W
  });
  const offBy1e4 = wrong(0, (g) => {
    for (let i = 0; i < g.length; i++) g[i] *= 1 + 1e-4;
  });
  for (const [name, m] of [
    ['reg·W for 2·reg·W', halfReg],
    ['gradient × (1 + 1e-4)', offBy1e4],
  ] as const) {
    const lines: string[] = [];
    assert.equal(
      checkModel(m, X, y, opts, new Rng(1), (s) => lines.push(s)),
      4,
      `${name}:\n${lines.join('\n')}`,
    );
    assert.match(lines.join('\n'), /^ {2}W +\S+ {2}FAIL$/m, name);
  }
});

test('judgedError is rel_error with its floor raised to δ/threshold: agreement within δ passes, beyond it fails', async () => {
  const { judgedError, isResolved } = await import('../src/linalg/gradcheck.js');
  // A gradient of 1e-6 with numeric error 5e-11 (δ = 2e-10): rel_error 2.5e-5, judged 2.5e-8.
  const tiny = { analytic: 1e-6, numeric: 1e-6 + 5e-11, noise: 2e-10 };
  assert.ok(relError(tiny.analytic, tiny.numeric) > 1e-7);
  assert.ok(Math.abs(judgedError(tiny, 1e-7) / (5e-11 / (2e-10 / 1e-7)) - 1) < 1e-6);
  assert.equal(isResolved(tiny, 1e-7), false);
  // The same coordinate 1% off: beyond δ, fails.
  assert.ok(judgedError({ ...tiny, numeric: 1.01e-6 }, 1e-7) > 1e-7);
  // A large gradient is judged by plain rel_error.
  const big = { analytic: 0.1, numeric: 0.1 + 1e-9, noise: 2e-10 };
  assert.equal(isResolved(big, 1e-7), true);
  assert.equal(judgedError(big, 1e-7), relError(big.analytic, big.numeric));
  // gradCheckSparse gives every row its δ.
  const x = Float64Array.from({ length: 5 }, (_, i) => i / 5);
  const r = gradCheckSparse(() => x.reduce((s, v) => s + Math.sin(v), 0), x, Array.from(x, Math.cos), 5, H, new Rng(3));
  for (const row of r.rows) assert.ok(row.noise > 0 && row.noise < 1e-9, `δ ${row.noise}`);
});
