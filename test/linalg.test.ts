/**
 * The matmul seam against a naive triple loop for all four transpose combinations (float64
 * exact-order tol 1e-12; float32 on the reference engine, rel tol 1e-5 for float32 round-off),
 * its error messages, and the seeded Rng.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FloatArray, Mat } from '../src/linalg/mat.js';
import { getEngine, matmul, useEngine } from '../src/linalg/matmul.js';
import { referenceEngine } from '../src/linalg/engines/reference.js';
import { Rng } from '../src/linalg/rng.js';

function randn<C extends Float32ArrayConstructor | Float64ArrayConstructor>(Ctor: C, rows: number, cols: number, rng: Rng): Mat<InstanceType<C>> {
  const data = new Ctor(rows * cols) as InstanceType<C>;
  rng.fillNormal(data, 1);
  return { rows, cols, data };
}

/** op(a)·op(b) by the definition, in float64: C[i,j] = Σ_k op(a)[i,k]·op(b)[k,j]. */
function naive(a: Mat, b: Mat, transA: boolean, transB: boolean): Float64Array {
  const M = transA ? a.cols : a.rows;
  const K = transA ? a.rows : a.cols;
  const N = transB ? b.rows : b.cols;
  const at = (i: number, k: number) => (transA ? a.data[k * a.cols + i] : a.data[i * a.cols + k]);
  const bt = (k: number, j: number) => (transB ? b.data[j * b.cols + k] : b.data[k * b.cols + j]);
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += at(i, k) * bt(k, j);
      out[i * N + j] = s;
    }
  return out;
}

const COMBOS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

function checkCombos(Ctor: Float32ArrayConstructor | Float64ArrayConstructor, relTol: number): void {
  const rng = new Rng(30);
  const M = 5,
    K = 7,
    N = 3;
  for (const [transA, transB] of COMBOS) {
    // Store a and b so that op(a) is (M,K) and op(b) is (K,N).
    const a = randn(Ctor, transA ? K : M, transA ? M : K, rng) as Mat<FloatArray>;
    const b = randn(Ctor, transB ? N : K, transB ? K : N, rng) as Mat<FloatArray>;
    const aBefore = Array.from(a.data);
    const bBefore = Array.from(b.data);
    const got = matmul(a, b, undefined, { transA, transB });
    assert.equal(got.data.constructor, Ctor);
    assert.deepEqual([got.rows, got.cols], [M, N], `transA=${transA} transB=${transB}: shape`);
    const want = naive(a, b, transA, transB);
    for (let i = 0; i < want.length; i++) {
      const err = Math.abs(got.data[i] - want[i]);
      assert.ok(err <= relTol * (1 + Math.abs(want[i])), `${Ctor.name} transA=${transA} transB=${transB} [${i}]: ${got.data[i]} vs ${want[i]}`);
    }
    // Same result into a caller-provided out (overwritten, not accumulated).
    const out = { rows: M, cols: N, data: new Ctor(M * N).fill(99) } as Mat<FloatArray>;
    matmul(a, b, out, { transA, transB });
    assert.deepEqual(Array.from(out.data), Array.from(got.data));
    assert.deepEqual(Array.from(a.data), aBefore);
    assert.deepEqual(Array.from(b.data), bBefore);
  }
}

test('matmul: all four transpose combinations match a naive triple loop (float64, tol 1e-12)', () => {
  checkCombos(Float64Array, 1e-12);
});

test('matmul: all four transpose combinations match a naive triple loop (float32, reference engine, tol 1e-5)', () => {
  const prev = getEngine();
  useEngine(referenceEngine);
  try {
    checkCombos(Float32Array, 1e-5);
  } finally {
    useEngine(prev);
  }
});

test('matmul: errors name both shapes (inner dimension, out shape, mixed types)', () => {
  const rng = new Rng(31);
  const a = randn(Float64Array, 2, 3, rng);
  const b = randn(Float64Array, 4, 5, rng);
  assert.throws(() => matmul(a, b), /a \(2,3\) · b \(4,5\)/);
  assert.throws(() => matmul(a, b, undefined, { transA: true }), /aᵀ \(2,3\) · b \(4,5\)/);
  assert.throws(() => matmul(a, randn(Float64Array, 3, 4, rng), { rows: 3, cols: 4, data: new Float64Array(12) }), /out has shape \(3,4\), expected \(2,4\)/);
  assert.throws(() => matmul(a, randn(Float32Array, 3, 4, rng) as unknown as Mat<Float64Array>), /a is Float64Array but b is Float32Array/);
  // K = 0 gives zeros; (2,0)·(0,3) is a valid product.
  const z = matmul({ rows: 2, cols: 0, data: new Float64Array(0) }, { rows: 0, cols: 3, data: new Float64Array(0) });
  assert.deepEqual(Array.from(z.data), [0, 0, 0, 0, 0, 0]);
});

test('Rng: the same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 20 }, () => a.nextUint32());
  const sb = Array.from({ length: 20 }, () => b.nextUint32());
  const sc = Array.from({ length: 20 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
  const na = Array.from({ length: 7 }, () => a.randn());
  const nb = Array.from({ length: 7 }, () => b.randn());
  assert.deepEqual(na, nb);
});

test('Rng: getState/setState resumes exactly, including a pending Box–Muller spare', () => {
  const r = new Rng(7);
  r.randn(); // leaves a spare deviate in the state
  const st = r.getState();
  assert.notEqual(st.spare, null);
  const ahead = [r.randn(), r.randn(), r.uniform(), r.int(1000), r.randn()];
  const fresh = new Rng(999);
  fresh.setState(st);
  assert.deepEqual([fresh.randn(), fresh.randn(), fresh.uniform(), fresh.int(1000), fresh.randn()], ahead);
  // State is a copy: advancing r does not change st.
  r.setState(st);
  assert.deepEqual([r.randn(), r.randn(), r.uniform(), r.int(1000), r.randn()], ahead);
  // JSON round trip (as a checkpoint would store it).
  const back = new Rng(0);
  back.setState(JSON.parse(JSON.stringify(st)));
  assert.deepEqual([back.randn(), back.randn(), back.uniform(), back.int(1000), back.randn()], ahead);
});

test('Rng: int(n) stays in [0, n) and hits every value; uniform in [0, 1); bad n throws', () => {
  const r = new Rng(3);
  const seen = new Uint32Array(7);
  for (let i = 0; i < 7000; i++) {
    const v = r.int(7);
    assert.ok(Number.isInteger(v) && v >= 0 && v < 7, `int(7) gave ${v}`);
    seen[v]++;
  }
  for (let v = 0; v < 7; v++) assert.ok(seen[v] > 800 && seen[v] < 1200, `value ${v} drawn ${seen[v]} times of 7000`);
  assert.equal(r.int(1), 0);
  for (let i = 0; i < 1000; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
  }
  assert.throws(() => r.int(0), /got 0/);
  assert.throws(() => r.int(2.5), /got 2\.5/);
});

test('Rng: choice(n, k) returns k distinct indices in [0, n); k > n throws', () => {
  const r = new Rng(5);
  for (const [n, k] of [
    [100, 30],
    [10, 10],
    [5, 0],
    [1, 1],
  ] as const) {
    const c = r.choice(n, k);
    assert.equal(c.length, k);
    assert.equal(new Set(c).size, k, `choice(${n}, ${k}) repeated an index`);
    for (const v of c) assert.ok(v >= 0 && v < n);
  }
  assert.throws(() => r.choice(3, 4), /cannot draw 4 distinct items from 3/);
});

test('Rng: fillNormal has mean ≈ 0 and std ≈ std (float64, 20000 draws, 5σ bounds)', () => {
  const r = new Rng(6);
  const x = new Float64Array(20000);
  r.fillNormal(x, 2);
  let s = 0;
  let s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  const mean = s / x.length;
  const std = Math.sqrt(s2 / x.length - mean * mean);
  assert.ok(Math.abs(mean) < 5 * (2 / Math.sqrt(x.length)), `mean ${mean}`);
  assert.ok(Math.abs(std - 2) < 5 * (2 / Math.sqrt(2 * x.length)), `std ${std}`);
});
