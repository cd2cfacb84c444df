/**
 * The engines behind the matmul seam (openblas, simd, wasm, cpu): they agree with the reference
 * loops and with each other, a threaded engine gives the same bits on any thread count, the
 * TensorFlow.js ones leak no tensors over thousands of products, and a forced backend that cannot
 * load says why.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine } from '../src/linalg/engine.js';
import { liveTensors } from '../src/linalg/engines/tfjs.js';
import { referenceEngine } from '../src/linalg/engines/reference.js';
import { openblas, openblasThreadsNow } from '../src/linalg/engines/openblas.js';
import { cutBySpeed } from '../src/linalg/engines/cuts.js';
import { blockProduct } from '../src/linalg/engines/wasm_block.js';
import { axpy, axpyRange, axpySumSq, axpySumSqRange, dot, dotRange, gatherRows } from '../src/linalg/blas1.js';
import { getEngine, matmul, useEngine } from '../src/linalg/matmul.js';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { adamInit, adamStep } from '../src/optim/adam.js';
import { RULE_DEFAULTS, createOptimizer } from '../src/optim/rules.js';

function randMat(rows: number, cols: number, rng: Rng): Mat<Float32Array> {
  const m = { rows, cols, data: new Float32Array(rows * cols) };
  rng.fillNormal(m.data);
  return m;
}

/** Rows [start, start+n) of m as a view into the same buffer. */
function rowsOf(m: Mat<Float32Array>, start: number, n: number): Mat<Float32Array> {
  return { rows: n, cols: m.cols, data: m.data.subarray(start * m.cols, (start + n) * m.cols) };
}

/** max |x − y| / max |y|: the relative error of a whole product, float32 round-off scale. */
function relDiff(x: Float32Array, y: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num = Math.max(num, Math.abs(x[i] - y[i]));
    den = Math.max(den, Math.abs(y[i]));
  }
  return num / den;
}

const native = await openblas.start(os.availableParallelism());
/** CI builds the addon and sets TSNN_REQUIRE_OPENBLAS=1, so there a missing native engine fails instead of skipping. */
const requireNative = process.env.TSNN_REQUIRE_OPENBLAS === '1';
const nativeSkip = 'reason' in native && !requireNative ? `native engine unavailable: ${native.reason}` : false;

for (const backend of ['openblas', 'simd', 'wasm', 'cpu'] as const) {
  test(`${backend} engine agrees with the reference loops to 1e-4 relative (float32), all transpose flags`, { skip: backend === 'openblas' && nativeSkip }, async () => {
    await initEngine(backend);
    const engine = getEngine();
    assert.equal(engine.name, backend);
    const rng = new Rng(11);
    // Shapes like training's: (N,D)·(D,M), (N,M)·(D,M)ᵀ, (N,D)ᵀ·(N,M); small D keeps the reference fast.
    const [N, D, M] = [37, 301, 23];
    const cases: [Mat<Float32Array>, Mat<Float32Array>, boolean, boolean][] = [
      [randMat(N, D, rng), randMat(D, M, rng), false, false],
      [randMat(N, M, rng), randMat(D, M, rng), false, true],
      [randMat(N, D, rng), randMat(N, M, rng), true, false],
      [randMat(D, N, rng), randMat(M, D, rng), true, true],
      // A training-sized product, and views that start inside a larger buffer (minibatch rows).
      [randMat(200, 3073, rng), randMat(3073, 100, rng), false, false],
      [rowsOf(randMat(50, D, rng), 7, 20), randMat(D, M, rng), false, false],
      [rowsOf(randMat(50, D, rng), 3, 30), rowsOf(randMat(60, M, rng), 11, 30), true, false],
    ];
    for (const [a, b, transA, transB] of cases) {
      const got = matmul(a, b, undefined, { transA, transB });
      useEngine(referenceEngine);
      const want = matmul(a, b, undefined, { transA, transB });
      useEngine(engine);
      assert.equal(got.rows, want.rows);
      assert.equal(got.cols, want.cols);
      const e = relDiff(got.data, want.data);
      assert.ok(e < 1e-4, `${backend} transA=${transA} transB=${transB}: relative difference ${e}`);
    }
    useEngine(referenceEngine);
  });
}

test('openblas: axpy, dot and axpySumSq (the SGD step and the L2 term) agree with the JS loops', { skip: nativeSkip }, async () => {
  const rng = new Rng(5);
  const x = new Float32Array(100_003);
  const y0 = new Float32Array(100_003);
  rng.fillNormal(x);
  rng.fillNormal(y0);
  const results: { y: Float32Array; d: number; y2: Float32Array; s: number }[] = [];
  for (const backend of ['openblas', 'js'] as const) {
    await initEngine(backend);
    const y = y0.slice();
    axpy(-0.37, x, y);
    const y2 = y0.slice();
    results.push({ y, d: dot(x, y), y2, s: axpySumSq(0.2, x, y2) });
  }
  assert.equal(getEngine().name, 'js');
  assert.ok(relDiff(results[0].y, results[1].y) < 1e-6, 'axpy');
  assert.ok(Math.abs(results[0].d - results[1].d) / Math.abs(results[1].d) < 1e-6, `dot ${results[0].d} vs ${results[1].d}`);
  assert.ok(relDiff(results[0].y2, results[1].y2) < 1e-6, 'axpySumSq: y');
  assert.ok(Math.abs(results[0].s - results[1].s) / results[1].s < 1e-6, `axpySumSq: Σx² ${results[0].s} vs ${results[1].s}`);
  assert.throws(() => axpy(1, x, y0.subarray(1)), /axpy: x has 100003 numbers but y has 100002/);
  useEngine(referenceEngine);
});

test("issue 24 #12: the openblas engine's detail (summary.json's engineDetail) names the threads it was given, not the library's count before", { skip: nativeSkip }, async () => {
  for (const threads of [1, 2, 1]) {
    const { engine } = await initEngine('openblas', threads);
    assert.match(engine.detail, new RegExp(`, ${threads} threads?$`), `started on ${threads}: ${engine.detail}`);
  }
});

test("openblas: a product runs on its engine's own thread count, though another engine (a sweep's workers) set the process-wide count since", { skip: nativeSkip }, async () => {
  const mine = await openblas.start(2);
  assert.ok(!('reason' in mine));
  const other = await openblas.start(1); // as a finished sweep's workers, on C/W threads each, leave it
  assert.ok(!('reason' in other));
  assert.equal(openblasThreadsNow(), 1);
  const a = { rows: 4, cols: 3, data: new Float32Array(12).fill(1) };
  const b = { rows: 3, cols: 2, data: new Float32Array(6).fill(2) };
  const out = { rows: 4, cols: 2, data: new Float32Array(8) };
  mine.matmul(a, b, out, false, false);
  assert.equal(openblasThreadsNow(), 2, "the first engine's product runs on its 2 threads again");
  assert.deepEqual([...out.data], new Array(8).fill(6));
  other.matmul(a, b, out, false, false);
  assert.equal(openblasThreadsNow(), 1);
});

test(
  'openblas: products of at most 16 columns (X·W and Xᵀ·dS of a softmax: its narrow kernels with AVX-512, cblas_sgemm otherwise) agree with the reference loops to 1e-5, on every row remainder',
  { skip: nativeSkip },
  async () => {
    const rng = new Rng(31);
    const cases: [Mat<Float32Array>, Mat<Float32Array>, boolean][] = [];
    for (const N of [1, 7, 10, 16]) {
      for (const M of [203, 3073, 8, 17]) {
        const K = Math.ceil(70_000 / M); // M·K ≥ 2¹⁶: the narrow kernels, not cblas_sgemm
        cases.push([randMat(M, K, rng), randMat(K, N, rng), false]); // C = A·B
        cases.push([randMat(K, M, rng), randMat(K, N, rng), true]); //  C = Aᵀ·B
      }
    }
    for (const threads of [1, 2]) {
      await initEngine('openblas', threads);
      const engine = getEngine();
      for (const [a, b, transA] of cases) {
        const got = matmul(a, b, undefined, { transA });
        useEngine(referenceEngine);
        const want = matmul(a, b, undefined, { transA });
        useEngine(engine);
        const e = relDiff(got.data, want.data);
        assert.ok(e < 1e-5, `${threads} thread(s), ${got.rows}×${transA ? a.rows : a.cols}×${got.cols} transA=${transA}: relative difference ${e}`);
      }
    }
    useEngine(referenceEngine);
  },
);

/** Linux's transparent huge pages setting ('always', 'madvise', 'never'), or null elsewhere. */
function thpMode(): string | null {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}
/** Anonymous memory of this process on huge pages, in KiB. */
const anonHugeKiB = (): number => Number(/AnonHugePages:\s+(\d+)/.exec(fs.readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? NaN);

test(
  'openblas: a large array from its allocator is on huge pages once written, as numpy puts its arrays',
  { skip: nativeSkip || (thpMode() !== 'madvise' ? `transparent huge pages are '${thpMode()}', not 'madvise'` : false) },
  async () => {
    await initEngine('openblas');
    const before = anonHugeKiB();
    const a = getEngine().alloc.float(Float32Array, 16 << 20); // 64 MiB, as a data split is allocated
    a.fill(1); // the pages are faulted in here, after the advice
    const gained = anonHugeKiB() - before;
    // Every whole 2 MiB extent inside the array can be a huge page: at least 62 of its 64 MiB.
    assert.ok(gained >= 62 * 1024, `huge pages grew by ${gained} KiB for a 64 MiB array`);
    assert.equal(a[a.length - 1], 1);
    useEngine(referenceEngine);
  },
);

/** Products shaped like a training step's, each [a, b, transA, transB]; the arrays are shared when `shared`. */
function trainingProducts(rng: Rng, shared: boolean): [Mat<Float32Array>, Mat<Float32Array>, boolean, boolean][] {
  const mat = (rows: number, cols: number): Mat<Float32Array> => {
    const m = { rows, cols, data: shared ? getEngine().alloc.float(Float32Array, rows * cols) : new Float32Array(rows * cols) };
    rng.fillNormal(m.data);
    return m;
  };
  return [
    [mat(200, 3073), mat(3073, 10), false, false], //   softmax scores: split by rows (10 columns)
    [mat(200, 3072), mat(3072, 100), false, false], //  hidden layer: two halves of K, added
    [mat(200, 3073), mat(3073, 64), false, false], //   odd K, 64 columns: the smallest cut in halves of K
    [mat(200, 3073), mat(200, 10), true, false], //     dW = Xᵀ·dscores: split by rows of Xᵀ
    [mat(200, 3072), mat(200, 100), true, false],
    [mat(200, 100), mat(3072, 100), false, true], //    dX = dout·Wᵀ: split by columns
    [mat(21, 307), mat(23, 21), true, true], //         both flags, odd sizes
    [rowsOf(mat(900, 3072), 150, 700), mat(3072, 100), false, false], // a view inside a larger buffer
  ];
}

for (const backend of ['simd', 'wasm'] as const)
  test(`${backend} engine on 1, 2, 3 and 4 threads: bit-identical products, within 1e-4 of the reference, from shared and plain arrays`, async () => {
    for (const shared of [true, false]) {
      const results: Float32Array[][] = [];
      for (const threads of [1, 2, 3, 4]) {
        const { engine } = await initEngine(backend, threads);
        assert.match(engine.detail, new RegExp(`${threads} thread`));
        const rng = new Rng(17);
        results.push(trainingProducts(rng, shared).map(([a, b, transA, transB]) => matmul(a, b, undefined, { transA, transB }).data));
      }
      useEngine(referenceEngine);
      const rng = new Rng(17);
      trainingProducts(rng, shared).forEach(([a, b, transA, transB], i) => {
        const want = matmul(a, b, undefined, { transA, transB }).data;
        const e = relDiff(results[0][i], want);
        assert.ok(e < 1e-4, `product ${i} (shared ${shared}): relative difference ${e} from the reference`);
        // Each thread computes whole output elements (or whole half-sums, cut at the same K on any
        // thread count) with the same kernel, so the split changes no bit.
        for (const t of [1, 2, 3])
          assert.ok(
            results[t][i].every((v, j) => Object.is(v, results[0][i][j])),
            `${backend}: product ${i} (shared ${shared}) differs on ${t + 1} threads`,
          );
      });
    }
  });

test('cutBySpeed: equal parts without speeds, else in proportion to speeds held within ½ and 2× their mean, on multiples of 8, covering [0, len)', () => {
  const covers = (cuts: [number, number][], len: number) => cuts[0][0] === 0 && cuts.at(-1)![1] === len && cuts.every(([lo, hi], i) => hi > lo && (i === 0 || lo === cuts[i - 1][1]));
  assert.deepEqual(cutBySpeed(3072, 2, undefined), [
    [0, 1536],
    [1536, 3072],
  ]);
  assert.deepEqual(cutBySpeed(10, 3, undefined), [
    [0, 3],
    [3, 7],
    [7, 10],
  ]);
  const fast = cutBySpeed(3072, 2, [140, 100]); // the first thread 40% faster
  assert.ok(covers(fast, 3072));
  assert.equal(fast[0][1] % 8, 0);
  assert.ok(Math.abs(fast[0][1] - (3072 * 140) / 240) <= 4, `cut at ${fast[0][1]}`);
  const skew = cutBySpeed(3072, 2, [1000, 1]); // speeds held to [250, 1001]: shares 0.8 and 0.2
  assert.deepEqual(skew, [
    [0, 2456],
    [2456, 3072],
  ]);
  for (const [len, parts] of [
    [5, 4],
    [9, 3],
    [100, 4],
    [3073, 3],
  ] as const) {
    const speeds = Array.from({ length: parts }, (_, i) => 1 + i * 0.37);
    const cuts = cutBySpeed(len, parts, speeds);
    assert.equal(cuts.length, parts);
    assert.ok(covers(cuts, len), `${len} over ${parts}: ${JSON.stringify(cuts)}`);
  }
});

test('wasm engine: a product cut by rows or by columns anywhere gives the same bits (why a cut by speed changes no result)', async () => {
  const tf = await import('@tensorflow/tfjs-core');
  await initEngine('wasm', 1);
  const rng = new Rng(29);
  const X = randMat(200, 3072, rng); // Xᵀ·dA (3072×200 · 200×100), cut by rows
  const dA = randMat(200, 100, rng);
  const H = randMat(200, 100, rng); // H·W2 (200×100 · 100×70), cut by columns
  const W2 = randMat(100, 70, rng);
  for (const [a, b, transA, byRows, cutsAt] of [
    [X, dA, true, true, [0, 13, 1601, 1602, 3072]],
    [H, W2, false, false, [0, 1, 9, 50, 70]],
  ] as const) {
    const M = transA ? a.cols : a.rows;
    const N = b.cols;
    const whole = { rows: M, cols: N, data: new Float32Array(M * N) };
    blockProduct(tf, a, b, whole, transA, false, { r0: 0, r1: M, c0: 0, c1: N });
    const cut = { rows: M, cols: N, data: new Float32Array(M * N) };
    for (let i = 0; i + 1 < cutsAt.length; i++) {
      const [lo, hi] = [cutsAt[i], cutsAt[i + 1]];
      blockProduct(tf, a, b, cut, transA, false, byRows ? { r0: lo, r1: hi, c0: 0, c1: N } : { r0: 0, r1: M, c0: lo, c1: hi });
    }
    assert.ok(
      cut.data.every((v, j) => Object.is(v, whole.data[j])),
      `${byRows ? 'rows' : 'columns'} cut at ${cutsAt.join(', ')}`,
    );
  }
  useEngine(referenceEngine);
});

test('wasm engine on 2 threads: axpySumSq (the L2 pass) updates y exactly as the JS loop and sums x² to 1e-12', async () => {
  const n = 300_007;
  const rng = new Rng(9);
  await initEngine('wasm', 2);
  const x = getEngine().alloc.float(Float32Array, n);
  const y = getEngine().alloc.float(Float32Array, n);
  rng.fillNormal(x);
  rng.fillNormal(y);
  const want = y.slice();
  const wantSum = axpySumSqRange(-0.37, x, want, 0, n);
  assert.ok(Math.abs(wantSum - dotRange(x, x, 0, n)) <= 1e-12 * wantSum, 'the JS loop sums x² as dot(x, x) does');
  const s = axpySumSq(-0.37, x, y);
  assert.ok(
    y.every((v, i) => Object.is(v, want[i])),
    'y += alpha·x, element for element',
  );
  assert.ok(Math.abs(s - wantSum) <= 1e-12 * wantSum, `Σx² ${s} vs ${wantSum}`);
  useEngine(referenceEngine);
});

test('wasm engine on 2 threads: axpy is exactly the JS loop, dot agrees to 1e-12, on shared arrays', async () => {
  const n = 300_007;
  const rng = new Rng(8);
  await initEngine('wasm', 2);
  const x = getEngine().alloc.float(Float32Array, n);
  const y = getEngine().alloc.float(Float32Array, n);
  assert.ok(x.buffer instanceof SharedArrayBuffer, 'training buffers are shared while the threaded wasm engine is active');
  rng.fillNormal(x);
  rng.fillNormal(y);
  const want = y.slice();
  axpyRange(0.73, x, want, 0, n);
  const wantDot = dotRange(x, want, 0, n);
  axpy(0.73, x, y);
  const d = dot(x, y);
  assert.ok(
    y.every((v, i) => Object.is(v, want[i])),
    'axpy',
  );
  assert.ok(Math.abs(d - wantDot) <= 1e-12 * Math.abs(wantDot), `dot ${d} vs ${wantDot}`);
  useEngine(referenceEngine);
  assert.ok(!(getEngine().alloc.float(Float32Array, 4).buffer instanceof SharedArrayBuffer), 'plain memory again on a single-threaded engine');
});

test('openblas, simd and wasm agree to 1e-4 relative on the products of a training step', { skip: nativeSkip }, async () => {
  const out: Float32Array[][] = [];
  const backends = ['openblas', 'simd', 'wasm'] as const;
  for (const backend of backends) {
    await initEngine(backend);
    const rng = new Rng(23);
    out.push(trainingProducts(rng, false).map(([a, b, transA, transB]) => matmul(a, b, undefined, { transA, transB }).data));
  }
  for (const k of [1, 2]) {
    out[0].forEach((o, i) => {
      const e = relDiff(out[k][i], o);
      assert.ok(e < 1e-4, `product ${i}: openblas and ${backends[k]} differ by ${e}`);
    });
  }
  useEngine(referenceEngine);
});

test('gatherRows copies the chosen rows (native memcpy, wasm threads, JS) and refuses an index outside the data', async () => {
  const backends = ['openblas', 'simd', 'wasm', 'js'] as const;
  for (const backend of backends) {
    if (backend === 'openblas' && 'reason' in native) continue;
    await initEngine(backend, 2);
    // Made under the engine, as training's are: shared memory for the threaded wasm engine, whose
    // workers then copy part of the rows (2,000 rows of 300: above its threshold for threads).
    const rng = new Rng(4);
    const src = { rows: 2500, cols: 300, data: getEngine().alloc.float(Float32Array, 2500 * 300) };
    rng.fillNormal(src.data);
    const rows = getEngine().alloc.int32(2000);
    for (let i = 0; i < rows.length; i++) rows[i] = rng.int(src.rows);
    rows[0] = 2499;
    rows[1] = 0;
    const dst = {
      rows: 2000,
      cols: 300,
      data: getEngine()
        .alloc.float(Float32Array, 2000 * 300)
        .fill(NaN),
    };
    gatherRows(src, rows, dst);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i];
      assert.ok(
        dst.data.subarray(i * 300, (i + 1) * 300).every((v, j) => v === src.data[r * 300 + j]),
        `${backend}: row ${i} is src row ${r}`,
      );
    }
    if (backend === 'wasm' || backend === 'simd') assert.ok(src.data.buffer instanceof SharedArrayBuffer && rows.buffer instanceof SharedArrayBuffer, 'the threaded path was the one tested');
    assert.throws(() => gatherRows(src, Int32Array.of(3, 2500), dst), /row 2500 is outside src \(2500,300\)/, `${backend}: index 2500 of 2500 rows`);
    assert.throws(() => gatherRows(src, Int32Array.of(-1), dst), /row -1 is outside/, `${backend}: index -1`);
    assert.throws(() => gatherRows(src, new Int32Array(2001), dst), /cannot hold 2001 rows/, `${backend}: too many rows for dst`);
  }
  useEngine(referenceEngine);
});

test('openblas: 300 gathers in a row, shared with the helper thread, each copy exactly the rows asked for', { skip: nativeSkip }, async () => {
  await initEngine('openblas', 2); // two threads: the gather takes its helper (batches of 200 × 3,073 floats are above its threshold)
  const rng = new Rng(12);
  const R = 3000;
  const D = 3073;
  const src = { rows: R, cols: D, data: getEngine().alloc.float(Float32Array, R * D) };
  for (let i = 0; i < src.data.length; i++) src.data[i] = i; // every element says where it came from
  const dst = { rows: 200, cols: D, data: getEngine().alloc.float(Float32Array, 200 * D) };
  const rows = new Int32Array(200);
  for (let g = 0; g < 300; g++) {
    const n = g % 7 === 0 ? 17 + (g % 50) : 200; // odd sizes too: the last chunk is short
    for (let i = 0; i < n; i++) rows[i] = rng.int(R);
    dst.data.fill(-1);
    gatherRows(src, rows.subarray(0, n), dst);
    for (let i = 0; i < n; i++) {
      const from = rows[i] * D;
      if (dst.data[i * D] !== from || dst.data[i * D + D - 1] !== from + D - 1) assert.fail(`gather ${g}: row ${i} is not src row ${rows[i]}`);
    }
    assert.equal(dst.data[n * D], n < 200 ? -1 : undefined, `gather ${g}: nothing written past row ${n}`);
  }
  useEngine(referenceEngine);
});

test('openblas: arrays too short for their shapes are refused, never read out of bounds', { skip: nativeSkip }, async () => {
  await initEngine('openblas');
  const a = { rows: 4, cols: 5, data: new Float32Array(20) };
  const b = { rows: 5, cols: 3, data: new Float32Array(15) };
  const short = { rows: 4, cols: 3, data: new Float32Array(11) };
  assert.throws(() => getEngine().matmul(a, b, short, false, false), /array is too short/);
  useEngine(referenceEngine);
});

test('no tensor leaks: the live tensor count stays flat over 3,000 products', async () => {
  await initEngine('wasm');
  const rng = new Rng(2);
  const a = randMat(20, 30, rng);
  const b = randMat(30, 10, rng);
  const out = { rows: 20, cols: 10, data: new Float32Array(200) };
  matmul(a, b, out);
  const before = await liveTensors();
  for (let i = 0; i < 3000; i++) matmul(a, b, out, { transA: false, transB: false });
  for (let i = 0; i < 1000; i++) matmul(b, a, { rows: 10, cols: 20, data: new Float32Array(200) }, { transA: true, transB: true });
  assert.equal(await liveTensors(), before);
  useEngine(referenceEngine);
});

test('a forced backend that cannot load is an error that names it and why', async (t) => {
  // tfjs-node is an optional dependency whose install fails where libtensorflow cannot be downloaded.
  let loaded = true;
  try {
    await import('@tensorflow/tfjs-node' as string);
  } catch {
    loaded = false;
  }
  if (loaded) {
    t.skip('@tensorflow/tfjs-node is installed and loads here');
    return;
  }
  await assert.rejects(() => initEngine('tfjs-node'), /backend 'tfjs-node' could not start: tfjs-node: /);
  // 'auto' takes the native engine where it was built; otherwise it passes over it and tfjs-node to simd, and says why.
  const sel = await initEngine('auto');
  if (!('reason' in native)) {
    assert.equal(sel.engine.name, 'openblas');
  } else {
    assert.equal(sel.engine.name, 'simd');
    assert.deepEqual(
      sel.skipped.map((s) => s.name),
      ['openblas', 'tfjs-node'],
    );
  }
  useEngine(referenceEngine);
});

test("adam: each engine's pass gives the JS loop's bits, over several steps, at odd lengths (some split among threads)", async () => {
  const backends = ['openblas', 'simd', 'wasm', 'js'] as const;
  const run = (n: number): Float32Array[] => {
    const rng = new Rng(n);
    const w = getEngine().alloc.float(Float32Array, n);
    const dw = getEngine().alloc.float(Float32Array, n);
    rng.fillNormal(w);
    const st = adamInit(n, Float32Array, getEngine().alloc); // shared memory on the threaded engines
    for (let step = 0; step < 4; step++) {
      rng.fillNormal(dw);
      for (let i = 0; i < n; i += 3) dw[i] *= 1e-3; // small gradients too, where eps matters
      adamStep(w, dw, 1e-2, { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, st, getEngine()); // as optim/rules.ts steps
    }
    assert.equal(st.t, 4);
    return [w, st.m as Float32Array, st.v as Float32Array];
  };
  const lengths = [1, 7, 1001, 65_537, 100_003, 339_811];
  await initEngine('js');
  assert.equal(getEngine().adam, undefined, "the js engine runs adam.ts's own loop");
  const want = lengths.map(run);
  for (const backend of backends) {
    if (backend === 'openblas' && 'reason' in native) {
      if (requireNative) assert.fail(native.reason);
      continue;
    }
    await initEngine(backend, 2);
    const got = lengths.map(run);
    lengths.forEach((n, k) => {
      for (const [j, name] of ['w', 'm', 'v'].entries()) {
        const bad = got[k][j].findIndex((x, i) => !Object.is(x, want[k][j][i]));
        assert.equal(bad, -1, `${backend}: ${name}[${bad}] of ${n} is ${got[k][j][bad]}, the JS loop's ${want[k][j][bad]}`);
      }
    });
  }
  useEngine(referenceEngine);
});

test("rmsprop and sgd_momentum: each engine's pass gives the JS loop's bits, over several steps, at odd lengths", async () => {
  const backends = ['openblas', 'simd', 'wasm', 'js'] as const;
  const run = (rule: 'rmsprop' | 'sgd_momentum', n: number): Float32Array[] => {
    const rng = new Rng(n + 1);
    const w = getEngine().alloc.float(Float32Array, n);
    const dw = getEngine().alloc.float(Float32Array, n);
    rng.fillNormal(w);
    const opt = createOptimizer(rule, n, RULE_DEFAULTS[rule], Float32Array, getEngine().alloc); // (sgd_momentum's: momentum 0.9)
    for (let step = 0; step < 4; step++) {
      rng.fillNormal(dw);
      for (let i = 0; i < n; i += 3) dw[i] *= 1e-3;
      opt.step(w, dw, 1e-2);
    }
    return [w, ...Object.values(opt.blocks())];
  };
  const cases = (['rmsprop', 'sgd_momentum'] as const).flatMap((rule) => [1, 7, 1001, 65_537, 100_003, 339_811].map((n) => [rule, n] as const));
  await initEngine('js');
  assert.equal(getEngine().rmsprop ?? getEngine().sgdMomentum, undefined, "the js engine runs the rules' own loops");
  const want = cases.map(([rule, n]) => run(rule, n));
  for (const backend of backends) {
    if (backend === 'openblas' && 'reason' in native) {
      if (requireNative) assert.fail(native.reason);
      continue;
    }
    await initEngine(backend, 2);
    cases.forEach(([rule, n], k) => {
      const got = run(rule, n);
      got.forEach((a, j) => {
        const bad = a.findIndex((x, i) => !Object.is(x, want[k][j][i]));
        assert.equal(bad, -1, `${backend} ${rule}: array ${j} [${bad}] of ${n} is ${a[bad]}, the JS loop's ${want[k][j][bad]}`);
      });
    });
  }
  useEngine(referenceEngine);
});
