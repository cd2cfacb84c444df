/**
 * One thread's share of a matrix product on the hand-written WebAssembly SIMD kernel
 * (native/gemm.wat). The simd engine (wasm.ts) runs this on the main thread and on each worker,
 * each with its own instance and memory:
 *
 *   out[r0:r1, c0:c1] = op(a)[r0:r1, :] · op(b)[:, c0:c1]        op(x) = xᵀ when its flag is set
 *
 * WebAssembly code reads only its own memory, so the block's rows of op(a) and columns of op(b)
 * are copied in first (the same copy TensorFlow.js makes into its heap). There B is packed into
 * the panels the kernel reads (gemm.wat pack_b, pack_bt), and a transposed A into groups of 4
 * rows (pack_at), so the kernel reads both in order; A as it is is read in place, through its row
 * stride. The result is copied out into `out`.
 *
 * The kernel computes 4 rows × 8 columns at a time, so the block is padded to a multiple of 4
 * rows and 8 columns with zeros; the padding is computed and thrown away.
 */
import * as v8 from 'node:v8';
import type { Mat } from '../mat.js';
import { GEMM_FUSED_MODULE_BASE64, GEMM_MODULE_BASE64 } from './gemm_module.js';
import { webAssembly } from './simd.js';
import type { Block } from './cuts.js';

/** The exports of native/gemm.wat. Addresses are byte offsets into `memory`. */
interface GemmExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  gemm(a: number, ars: number, aks: number, ats: number, bp: number, c: number, ldc: number, M: number, N: number, K: number, kc: number): void;
  pack_at(src: number, ld: number, dst: number, K: number, M: number): void;
  pack_b(src: number, ld: number, dst: number, K: number, N: number): void;
  pack_bt(src: number, ld: number, dst: number, K: number, N: number): void;
}

/** Which build of the kernel: multiply then add, or one fused multiply-add (relaxed SIMD). */
export type GemmVariant = 'plain' | 'fused';

const PAGE = 65536;
/** Rows of B the kernel takes at a time (gemm.wat kc): 4 rows of A and a panel of B stay in cache. */
const KC = 256;

const decoded = new Map<GemmVariant, Uint8Array>();
/** The module bytes of `variant`, decoded once. */
function bytesOf(variant: GemmVariant): Uint8Array {
  let b = decoded.get(variant);
  if (b === undefined) decoded.set(variant, (b = Buffer.from(variant === 'fused' ? GEMM_FUSED_MODULE_BASE64 : GEMM_MODULE_BASE64, 'base64')));
  return b;
}

let relaxedTried = false;

/**
 * Whether this runtime can run `variant` (WebAssembly SIMD; relaxed SIMD for 'fused'). Node 22
 * and later have relaxed SIMD; Node 20 has it complete behind a V8 flag, which is turned on here
 * the first time 'fused' is asked about (V8 reads it when it compiles a module).
 */
export function gemmSupported(variant: GemmVariant): boolean {
  if (variant === 'fused' && !relaxedTried && !webAssembly.validate(bytesOf(variant))) {
    relaxedTried = true;
    try {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      // not a flag of this V8
    }
  }
  return webAssembly.validate(bytesOf(variant));
}

/**
 * The build of the kernel to run here: 'fused' where the runtime has relaxed SIMD, else 'plain';
 * null without WebAssembly SIMD. TSNN_GEMM=plain or fused asks for one build (an error if it
 * cannot run here).
 */
export function gemmVariant(): GemmVariant | null {
  const asked = process.env.TSNN_GEMM;
  if (asked !== undefined && asked !== '' && asked !== 'plain' && asked !== 'fused') throw new Error(`TSNN_GEMM must be plain or fused, not '${asked}'`);
  if (asked === 'plain' || asked === 'fused') {
    if (!gemmSupported(asked)) throw new Error(`TSNN_GEMM=${asked}: this runtime cannot run that build of the kernel`);
    return asked;
  }
  if (gemmSupported('fused')) return 'fused';
  return gemmSupported('plain') ? 'plain' : null;
}

const compiled = new Map<GemmVariant, object>();

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/** The kernel on this thread: an instance of gemm.wat with its own memory. */
export class WasmGemm {
  private readonly k: GemmExports;
  private f32: Float32Array;

  constructor(readonly variant: GemmVariant) {
    let mod = compiled.get(variant);
    if (mod === undefined) compiled.set(variant, (mod = new webAssembly.Module(bytesOf(variant))));
    this.k = new webAssembly.Instance(mod, {}).exports as GemmExports;
    this.f32 = new Float32Array(this.k.memory.buffer);
  }

  /** Make the memory at least `bytes` long (growing it replaces its buffer, so the view is made again). */
  private reserve(bytes: number): Float32Array {
    const have = this.k.memory.buffer.byteLength;
    if (have < bytes) {
      this.k.memory.grow(Math.ceil((bytes - have) / PAGE));
      this.f32 = new Float32Array(this.k.memory.buffer);
    }
    return this.f32;
  }

  /** out[r0:r1, c0:c1] = op(a)[r0:r1, :] · op(b)[:, c0:c1]. */
  block(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean, blk: Block): void {
    const { r0, r1, c0, c1 } = blk;
    const m = r1 - r0;
    const n = c1 - c0;
    const K = transA ? a.rows : a.cols;
    const mp = roundUp(m, 4);
    const np = roundUp(n, 8);
    // The memory: A's block, B's block as given, B packed, C; every part 16-byte aligned.
    const A = 0;
    const Araw = A + 4 * mp * K;
    const Braw = Araw + (transA ? 4 * mp * K : 0);
    const Bp = Braw + 4 * K * np;
    const C = Bp + 4 * K * np;
    const f = this.reserve(C + 4 * mp * np);

    // A's block: rows r0..r1 of A (ars: bytes from one row to the next; aks: from one k to the next).
    let ars: number;
    let aks: number;
    if (!transA) {
      f.set(a.data.subarray(r0 * K, r1 * K), A / 4); // rows of a, one run
      f.fill(0, A / 4 + m * K, A / 4 + mp * K);
      [ars, aks] = [4 * K, 4];
    } else {
      // A = aᵀ, a is (K, M): A's rows r0..r1 are a's columns r0..r1, copied row by row of a.
      const M = a.cols;
      for (let k = 0; k < K; k++) {
        const at = Araw / 4 + k * mp;
        f.set(a.data.subarray(k * M + r0, k * M + r1), at);
        if (mp > m) f.fill(0, at + m, at + mp);
      }
      this.k.pack_at(Araw, 4 * mp, A, K, mp);
      [ars, aks] = [4, 16];
    }

    // B's block, then packed into panels of 8 columns.
    if (!transB) {
      const N = b.cols;
      if (n === N && np === n) f.set(b.data.subarray(0, K * N), Braw / 4);
      else {
        for (let k = 0; k < K; k++) {
          const at = Braw / 4 + k * np;
          f.set(b.data.subarray(k * N + c0, k * N + c1), at);
          if (np > n) f.fill(0, at + n, at + np);
        }
      }
      this.k.pack_b(Braw, 4 * np, Bp, K, np);
    } else {
      // B = bᵀ, b is (N, K): B's columns c0..c1 are b's rows c0..c1, one run.
      f.set(b.data.subarray(c0 * K, c1 * K), Braw / 4);
      f.fill(0, Braw / 4 + n * K, Braw / 4 + np * K);
      this.k.pack_bt(Braw, 4 * K, Bp, K, np);
    }

    this.k.gemm(A, ars, aks, 16 * K, Bp, C, 4 * np, mp, np, K, KC);

    // The block's m×n of C into out.
    const N = out.cols;
    const c = f.subarray(C / 4, C / 4 + mp * np);
    if (n === N && np === n) out.data.set(c.subarray(0, m * n), r0 * N);
    else for (let i = 0; i < m; i++) out.data.set(c.subarray(i * np, i * np + n), (r0 + i) * N + c0);
  }
}
