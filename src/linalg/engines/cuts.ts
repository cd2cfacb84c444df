/**
 * How the wasm engines (wasm.ts) cut work among their threads: a product into one block per
 * thread, by columns of the result or by rows, in proportion to each thread's measured speed
 * (cutBySpeed), or (the 'wasm' engine's input layer) into two halves of K; a vector pass or a
 * minibatch gather into equal ranges. Nothing here runs a thread: the pool (pool.ts) runs the
 * blocks and ranges these functions name.
 *
 * Results stay the same bit for bit on any number of threads: a cut by rows or columns computes
 * every element whole on one thread with the same kernel, and the cut into halves of K does not
 * depend on the thread count. A vector pass's partial sums (dot, axpySumSq) are added in range
 * order, so the same thread count gives the same sum.
 */
import type { Mat } from '../mat.js';

/**
 * Rows [r0, r1) and columns [c0, c1) of a product; with k0/k1, only the terms k0 ≤ k < k1 of
 * its sums (a partial product: the wasm engine adds two such halves, see splitK below).
 */
export interface Block {
  r0: number;
  r1: number;
  c0: number;
  c1: number;
  k0?: number;
  k1?: number;
}

/** out[r0:r1, c0:c1] = op(a)[r0:r1, :] · op(b)[:, c0:c1] on one thread: what each thread of a wasm engine runs (kernels.ts). */
export type BlockProduct = (a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean, blk: Block) => void;

/** Below this many flops (2·M·N·K) a product is not worth a hand-off: the main thread does it all. */
export const MIN_PARALLEL_FLOPS = 4e6;
/**
 * A product is cut by columns when every thread gets at least this many (else by rows), and the
 * kernel prefers columns for its shape (ProductCut.byCols: on the simd engine only when it has
 * fewer rows than columns, since each thread copies all of A for a cut by columns and all of B
 * for a cut by rows).
 */
export const MIN_COLS_PER_THREAD = 32;
/**
 * A product without transposes whose inner dimension K is at least SPLIT_K and whose result has at
 * least SPLIT_K_COLS columns (the input layer's X·W1 on CIFAR) is cut into two halves of K
 * instead, on a kernel that asks for it (the 'wasm' engine's): each half multiplies contiguous
 * rows of the weights (where a block of columns would be copied out row by row) and packs a panel
 * as wide as the whole result, and the two half-sums are then added. The cut does not depend on the thread count (one thread computes both halves in turn), so results stay
 * the same bit for bit on any number of threads.
 */
export const SPLIT_K = 1024;
export const SPLIT_K_COLS = 64;
/** Below this many elements an axpy or dot (or rows × columns, a gather) runs on the main thread alone. */
export const MIN_PARALLEL_ELEMENTS = 1 << 16;
/** The same for a SIMD pass over a pair (simd.ts), faster per element than the JS loops. */
export const MIN_PARALLEL_SIMD = 1 << 18;

/** What a kernel asks of the cut of its products. */
export interface ProductCut {
  /** Whether a product of this shape is better cut by columns than by rows (given enough columns). */
  byCols(M: number, N: number, transA: boolean): boolean;
  /** Whether long-K products without transposes are cut into two halves of K (SPLIT_K). */
  splitK: boolean;
}

/**
 * How a product (M,N) = op(a) (M,K) · op(b) (K,N) is cut among `threads` threads: whole on the
 * main thread, into two halves of K, or into `parts` blocks along columns (`byCols`) or rows,
 * `len` columns or rows in all.
 */
export type ProductPlan = { kind: 'whole' } | { kind: 'splitK' } | { kind: 'blocks'; byCols: boolean; len: number; parts: number };

export function planProduct(M: number, N: number, K: number, transA: boolean, transB: boolean, threads: number, cut: ProductCut): ProductPlan {
  const flops = 2 * M * N * K;
  if (cut.splitK && flops >= MIN_PARALLEL_FLOPS && !transA && !transB && K >= SPLIT_K && N >= SPLIT_K_COLS) return { kind: 'splitK' };
  const byCols = cut.byCols(M, N, transA) && N >= MIN_COLS_PER_THREAD * threads;
  const len = byCols ? N : M;
  const parts = flops < MIN_PARALLEL_FLOPS ? 1 : Math.min(threads, len);
  return parts === 1 ? { kind: 'whole' } : { kind: 'blocks', byCols, len, parts };
}

/** The blocks of a plan's cuts: whole rows of each column range, or whole columns of each row range. */
export function blocksOf(M: number, N: number, byCols: boolean, cuts: [number, number][]): Block[] {
  return cuts.map(([lo, hi]): Block => (byCols ? { r0: 0, r1: M, c0: lo, c1: hi } : { r0: lo, r1: hi, c0: 0, c1: N }));
}

/**
 * The blocks of out = a[:, 0:h]·b[0:h, :] + a[:, h:K]·b[h:K, :], h = ⌊K/2⌋, on `threads` threads:
 * each half cut by columns among half the threads (one thread does both halves in turn), the
 * first half's blocks first. `half` says which of the two outputs a block goes into.
 */
export function splitKBlocks(M: number, N: number, K: number, threads: number): { half: 0 | 1; blk: Block }[] {
  const h = K >> 1;
  const cols = Math.max(1, Math.floor(threads / 2));
  const tasks: { half: 0 | 1; blk: Block }[] = [];
  for (const [half, k0, k1] of [
    [0, 0, h],
    [1, h, K],
  ] as const) {
    for (let p = 0; p < cols; p++) {
      const [c0, c1] = part(p, cols, N);
      tasks.push({ half, blk: { r0: 0, r1: M, c0, c1, k0, k1 } });
    }
  }
  return tasks;
}

/**
 * [lo, hi) for each of `parts` threads over [0, len), in proportion to their speeds (rows or
 * columns per ms on the last products of this shape; equal parts without them). A VM's vCPUs
 * can differ in speed for seconds at a time; a product cut in equal parts then waits for the slow thread, one cut by speed does not. Where a product is
 * cut by rows or by columns, every element is still computed whole by one thread with the same
 * kernel, so the cut changes no bit (tested). No speed counts for less than half or more than
 * twice the mean (one bad sample cannot starve a thread), and the cuts fall on multiples of 8.
 */
export function cutBySpeed(len: number, parts: number, speed: number[] | undefined): [number, number][] {
  if (speed === undefined || speed.length !== parts) return Array.from({ length: parts }, (_, p) => part(p, parts, len));
  const mean = speed.reduce((x, y) => x + y, 0) / parts;
  const v = speed.map((s) => Math.min(2 * mean, Math.max(0.5 * mean, s)));
  const total = v.reduce((x, y) => x + y, 0);
  const cuts: [number, number][] = [];
  let lo = 0;
  let acc = 0;
  for (let p = 0; p < parts; p++) {
    acc += v[p] / total;
    let hi = p === parts - 1 ? len : Math.round((acc * len) / 8) * 8;
    hi = Math.min(len - (parts - 1 - p), Math.max(lo + 1, hi)); // every part at least one row or column
    cuts.push([lo, hi]);
    lo = hi;
  }
  return cuts;
}

/** Each thread's recent speed on its block, per product shape (what cutBySpeed cuts by). */
export class Speeds {
  private readonly byShape = new Map<string, number[]>();

  /** The cuts of `len` rows or columns among `parts` threads for this shape. */
  cuts(shape: string, len: number, parts: number): [number, number][] {
    return cutBySpeed(len, parts, this.byShape.get(shape));
  }

  /** After a product of this shape cut as `cuts` took `ms` per thread: a running average (weight 0.3 on the new). */
  update(shape: string, cuts: [number, number][], ms: number[]): void {
    const now = cuts.map(([lo, hi], i) => (hi - lo) / Math.max(ms[i], 1e-3));
    if (!now.every(Number.isFinite)) return;
    const old = this.byShape.get(shape);
    this.byShape.set(shape, old === undefined || old.length !== now.length ? now : old.map((v, i) => 0.7 * v + 0.3 * now[i]));
  }
}

/** How many threads share a pass over `elements` numbers: all of them when its arrays are shared and it is at least `min`, else one. */
export function vectorParts(elements: number, shared: boolean, threads: number, min: number): number {
  return shared && elements >= min ? threads : 1;
}

/** [lo, hi) of part p of `parts` equal parts of [0, len). */
export function part(p: number, parts: number, len: number): [number, number] {
  return [Math.round((p * len) / parts), Math.round(((p + 1) * len) / parts)];
}
