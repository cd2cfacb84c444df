/**
 * The simd engine's matrix product (native/gemm.wat, src/linalg/engines/gemm.ts): the modules in
 * the source tree are the ones gemm.wat assembles to; the plain build computes every element as
 * the float32 loop Σ_k in order, one rounding per multiply and per add, bit for bit, on every
 * shape, transpose and block; the fused build stays within float32 round-off of the exact sum;
 * and where a block is cut changes no bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GEMM_FUSED_MODULE_BASE64, GEMM_MODULE_BASE64 } from '../src/linalg/engines/gemm_module.js';
import { type GemmVariant, WasmGemm, gemmSupported, gemmVariant } from '../src/linalg/engines/gemm.js';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { randnMat } from './helpers.js';

type Case = { a: Mat<Float32Array>; b: Mat<Float32Array>; transA: boolean; transB: boolean };

/** A(i, k) and B(k, j) of op(a)·op(b). */
const at = (m: Mat<Float32Array>, trans: boolean, r: number, c: number): number => (trans ? m.data[c * m.cols + r] : m.data[r * m.cols + c]);

/** The float32 loop: s = fl(s + fl(A(i,k)·B(k,j))) for k = 0, 1, …, K−1. */
function float32Element({ a, b, transA, transB }: Case, i: number, j: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s = Math.fround(s + Math.fround(at(a, transA, i, k) * at(b, transB, k, j)));
  return s;
}

/** Σ_k A(i,k)·B(k,j) in float64 (each product of two float32 is exact there), and Σ_k |A(i,k)·B(k,j)|. */
function exactElement({ a, b, transA, transB }: Case, i: number, j: number, K: number): [number, number] {
  let s = 0;
  let abs = 0;
  for (let k = 0; k < K; k++) {
    const p = at(a, transA, i, k) * at(b, transB, k, j);
    s += p;
    abs += Math.abs(p);
  }
  return [s, abs];
}

/** Shapes with every remainder of the 4×8 tiles and the 256-row blocks of k, all four transposes, and training's. */
function cases(rng: Rng): Case[] {
  const out: Case[] = [];
  const mk = (M: number, K: number, N: number, transA: boolean, transB: boolean) =>
    out.push({ a: transA ? randnMat(Float32Array, K, M, rng) : randnMat(Float32Array, M, K, rng), b: transB ? randnMat(Float32Array, N, K, rng) : randnMat(Float32Array, K, N, rng), transA, transB });
  for (const transA of [false, true])
    for (const transB of [false, true])
      for (const [M, K, N] of [
        [1, 1, 1],
        [5, 3, 9],
        [7, 257, 13],
        [4, 8, 8],
        [33, 600, 17],
      ])
        mk(M, K, N, transA, transB);
  mk(200, 3073, 10, false, false); // softmax scores
  mk(3073, 200, 10, true, false); //  softmax dW = Xᵀ·dscores
  mk(200, 1000, 100, false, false);
  return out;
}

const variants = (['plain', 'fused'] as const).filter((v) => gemmSupported(v) || v === 'plain');

test('src/linalg/engines/gemm_module.ts holds native/gemm.wat assembled, plain and fused (npm run build:gemm)', async () => {
  // @ts-expect-error: a plain .mjs build script, without type declarations
  const { assembleGemm, fusedSource } = (await import('../native/build_gemm.mjs')) as { assembleGemm(): Promise<{ plain: Buffer; fused: Buffer }>; fusedSource(s: string): string };
  const { plain, fused } = await assembleGemm();
  assert.ok(Buffer.from(GEMM_MODULE_BASE64, 'base64').equals(plain), 'gemm_module.ts is stale: run npm run build:gemm');
  assert.ok(Buffer.from(GEMM_FUSED_MODULE_BASE64, 'base64').equals(fused), 'gemm_module.ts is stale: run npm run build:gemm');
  // The fused build differs only in its multiply-adds: all 8 of the tile, each one relaxed_madd.
  const src = ['(local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))'].join('\n');
  assert.throws(() => fusedSource(src), /expected 8 multiply-adds to fuse, found 1/);
  const eight = Array.from({ length: 8 }, () => src).join('\n');
  assert.equal(fusedSource(eight), Array.from({ length: 8 }, () => '(local.set $c00 (f32x4.relaxed_madd (local.get $x) (local.get $b0) (local.get $c00)))').join('\n'));
});

/** Each case's whole product on `variant`, handed with its sizes to `check` (the output starts as NaN, so an element never written fails). */
function eachProduct(variant: GemmVariant, seed: number, check: (c: Case, out: Float32Array, M: number, K: number, N: number) => void): void {
  const g = new WasmGemm(variant);
  for (const c of cases(new Rng(seed))) {
    const M = c.transA ? c.a.cols : c.a.rows;
    const K = c.transA ? c.a.rows : c.a.cols;
    const N = c.transB ? c.b.rows : c.b.cols;
    const out = { rows: M, cols: N, data: new Float32Array(M * N).fill(NaN) };
    g.block(c.a, c.b, out, c.transA, c.transB, { r0: 0, r1: M, c0: 0, c1: N });
    check(c, out.data, M, K, N);
  }
}

test('gemm plain: every element is the float32 loop over k in order, bit for bit, on all shapes and transposes', () => {
  eachProduct('plain', 41, (c, out, M, K, N) => {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const want = float32Element(c, i, j, K);
        if (!Object.is(out[i * N + j], want)) assert.fail(`${M}×${K}×${N} transA=${c.transA} transB=${c.transB}: C[${i},${j}] = ${out[i * N + j]}, the float32 loop gives ${want}`);
      }
    }
  });
});

test('gemm fused (where the runtime has relaxed SIMD): within float32 round-off of the exact sum, K·2⁻²⁴·Σ|a·b|', { skip: gemmSupported('fused') ? false : 'no relaxed SIMD in this runtime' }, () => {
  eachProduct('fused', 43, (c, out, M, K, N) => {
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        const [s, abs] = exactElement(c, i, j, K);
        // K roundings of the running sum, each at most 2⁻²⁴ of a partial sum ≤ Σ|a·b|, and the last into float32.
        const bound = (K + 1) * 2 ** -24 * abs;
        const err = Math.abs(out[i * N + j] - s);
        if (!(err <= bound)) assert.fail(`${M}×${K}×${N} transA=${c.transA} transB=${c.transB}: C[${i},${j}] = ${out[i * N + j]} is ${err} from ${s} (bound ${bound})`);
      }
    }
  });
});

test('gemm: a product cut into blocks anywhere, rows or columns, gives the same bits as in one piece; nothing outside a block is written', () => {
  const rng = new Rng(47);
  for (const variant of variants as readonly GemmVariant[]) {
    const g = new WasmGemm(variant);
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      const [M, K, N] = [67, 300, 45];
      const a = transA ? randnMat(Float32Array, K, M, rng) : randnMat(Float32Array, M, K, rng);
      const b = transB ? randnMat(Float32Array, N, K, rng) : randnMat(Float32Array, K, N, rng);
      const whole = { rows: M, cols: N, data: new Float32Array(M * N) };
      g.block(a, b, whole, transA, transB, { r0: 0, r1: M, c0: 0, c1: N });
      const cut = { rows: M, cols: N, data: new Float32Array(M * N).fill(NaN) };
      const rows = [0, 1, 6, 37, 67];
      const cols = [0, 13, 14, 40, 45];
      for (let r = 0; r + 1 < rows.length; r++) {
        for (let q = 0; q + 1 < cols.length; q++) {
          const before = cut.data.slice();
          const blk = { r0: rows[r], r1: rows[r + 1], c0: cols[q], c1: cols[q + 1] };
          g.block(a, b, cut, transA, transB, blk);
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              const inside = i >= blk.r0 && i < blk.r1 && j >= blk.c0 && j < blk.c1;
              if (!inside && !Object.is(cut.data[i * N + j], before[i * N + j])) assert.fail(`${variant}: block ${JSON.stringify(blk)} wrote C[${i},${j}] outside it`);
            }
          }
        }
      }
      assert.ok(
        cut.data.every((v, i) => Object.is(v, whole.data[i])),
        `${variant} transA=${transA} transB=${transB}: the blocks differ from the whole`,
      );
    }
  }
});

test('gemmVariant: fused where relaxed SIMD runs, else plain; TSNN_GEMM picks one and refuses anything else', () => {
  const saved = process.env.TSNN_GEMM;
  try {
    delete process.env.TSNN_GEMM;
    assert.equal(gemmVariant(), gemmSupported('fused') ? 'fused' : 'plain');
    process.env.TSNN_GEMM = 'plain';
    assert.equal(gemmVariant(), 'plain');
    process.env.TSNN_GEMM = 'fast';
    assert.throws(() => gemmVariant(), /TSNN_GEMM must be plain or fused, not 'fast'/);
  } finally {
    if (saved === undefined) delete process.env.TSNN_GEMM;
    else process.env.TSNN_GEMM = saved;
  }
});
