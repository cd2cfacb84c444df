/**
 * The thread pool of the wasm engines (wasm.ts): the main thread and `threads − 1` worker threads
 * (wasm_worker.ts), each with its own instance of the product kernel (kernels.ts). The pool runs
 * what it is handed: product blocks, one per thread, the main thread computing the first block
 * itself while the workers compute theirs, then waiting for them; vector passes and minibatch
 * gathers in ranges, the main thread taking the first. How work is cut is decided in cuts.ts.
 *
 * The threaded build of the wasm backend does not run in Node, which is why these engines make
 * their own threads.
 *
 * Workers read the operands and write their blocks in place when the arrays live in
 * SharedArrayBuffers, as every buffer training uses does on these engines (their allocator,
 * alloc.ts). Other arrays are copied once into a shared staging buffer first (shared), so any Mat
 * works.
 *
 * Hand-off is through one small SharedArrayBuffer per worker: the main thread writes the task
 * there and bumps a counter; the worker writes back a done counter. No message passing or event
 * loop is on that path. Both sides poll for a moment before they sleep (Atomics.wait): waking a
 * sleeping thread takes longer on a VM than most of the products training asks for.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { dotRange, gatherRange } from '../blas1.js';
import { adamRange } from '../../optim/adam.js';
import { rmspropRange } from '../../optim/rmsprop.js';
import { sgdMomentumRange } from '../../optim/sgd_momentum.js';
import type { Mat } from '../mat.js';
import { startWorker } from '../worker_threads.js';
import { type Block, type BlockProduct, part } from './cuts.js';
import type { KernelSpec } from './kernels.js';
import { type WeightPasses, simdMemoryOf } from './simd.js';
import type { AdamCoeffs } from './types.js';

/**
 * The update-rule passes, by name: each thread runs the rule's own loop (optim/adam.ts adamRange, …) on its range
 * [lo, hi) of the arrays (`arrays` of them, in operand slots), with the rule's scalars `c` in the
 * Float64 slots from F64.coeffs on. The main thread and the workers run these same functions.
 */
type RuleRange = (a: Float32Array[], c: ArrayLike<number>, lo: number, hi: number) => void;
export const RULE_PASSES = {
  adam: { arrays: 4, range: ((a, c, lo, hi) => adamRange(a[0], a[1], a[2], a[3], { beta1: c[0], a1: c[1], beta2: c[2], a2: c[3], lrc1: c[4], c2: c[5], eps: c[6] }, lo, hi)) as RuleRange },
  rmsprop: { arrays: 3, range: ((a, c, lo, hi) => rmspropRange(a[0], a[1], a[2], c[0], c[1], c[2], lo, hi)) as RuleRange },
  sgdMomentum: { arrays: 3, range: ((a, c, lo, hi) => sgdMomentumRange(a[0], a[1], a[2], c[0], c[1], lo, hi)) as RuleRange },
} as const;
export type RulePass = keyof typeof RULE_PASSES;
const RULE_NAMES = Object.keys(RULE_PASSES) as RulePass[];
/** Adam's scalars in the order RULE_PASSES.adam reads them. */
export const adamCoeffs = (c: AdamCoeffs): number[] => [c.beta1, c.a1, c.beta2, c.a2, c.lrc1, c.c2, c.eps];

/**
 * A worker's control block: Int32 slots, then two Float64 slots (F64). One layout for every
 * task: an op, three operands, two flags and a range.
 */
export const CTRL = {
  /** Task counter, bumped by the main thread for each task; −1 tells the worker to stop. */
  seq: 0,
  /** The last task the worker finished. */
  done: 1,
  /** 0 if that task succeeded, 1 if it threw (its message follows on the port). */
  status: 2,
  /** What to do: OP.product, OP.gather, or a vector pass (VECTOR_OPS). */
  op: 3,
  /**
   * Operands a, b, out (and a fourth for Adam), OPERAND_SLOTS each: buffer id, element offset,
   * element count, rows, cols (for a gather: src, dst and the Int32Array of row indices; for
   * Adam: w, dw, m, v).
   */
  operands: 4,
  /** transA, transB (0/1), then the block r0, r1, c0, c1, k0, k1 (for a vector pass, a gather and Adam: the range [r0, r1)). */
  args: 4 + 4 * 5,
  length: 4 + 4 * 5 + 8,
} as const;
export const OPERAND_SLOTS = 5;
/** Float64 slots: alpha for a vector pass; the partial sum a vector pass returns, or the ms a product block took. */
export const F64 = { alpha: 0, result: 1, coeffs: 2, length: 2 + 7 } as const;
/** Byte offset of the Float64 slots in the control block (8-aligned). */
export const F64_OFFSET = 8 * Math.ceil((4 * CTRL.length) / 8);

/**
 * The vector passes, by name: each thread runs one on its range [lo, hi) of x and y, with
 * `passes` the weight passes for x and y (simd.ts weightPasses: the SIMD kernels on a pair, else
 * the JS loops), and returns its partial sum (0 where there is none). `simd` says whether it runs
 * the weight passes (which then share a pass from MIN_PARALLEL_SIMD elements on). The main thread
 * and the workers run these same functions; a new pass is one entry here.
 */
export const VECTOR_OPS = {
  axpy: { simd: true, range: (p: WeightPasses, alpha: number, x: Float32Array, y: Float32Array, lo: number, hi: number) => (p.axpyRange(alpha, x, y, lo, hi), 0) },
  dot: { simd: false, range: (_p: WeightPasses, _alpha: number, x: Float32Array, y: Float32Array, lo: number, hi: number) => dotRange(x, y, lo, hi) },
  axpySumSq: { simd: true, range: (p: WeightPasses, alpha: number, x: Float32Array, y: Float32Array, lo: number, hi: number) => p.axpySumSqRange(alpha, x, y, lo, hi) },
} as const;
export type VectorOp = keyof typeof VECTOR_OPS;
const VECTOR_NAMES = Object.keys(VECTOR_OPS) as VectorOp[];
/** Op codes: a product block, a gather, the update-rule passes in RULE_PASSES order, then the vector passes in VECTOR_OPS order. */
export const OP = { product: 0, gather: 1 } as const;
export const ruleOpCode = (name: RulePass): number => 2 + RULE_NAMES.indexOf(name);
export const ruleOpOf = (code: number): RulePass | undefined => RULE_NAMES[code - 2];
export const vectorOpCode = (name: VectorOp): number => 2 + RULE_NAMES.length + VECTOR_NAMES.indexOf(name);
export const vectorOpOf = (code: number): VectorOp | undefined => VECTOR_NAMES[code - 2 - RULE_NAMES.length];

/** Messages on a worker's port. */
/** A buffer the worker will be handed, with the WebAssembly.Memory under it when it is a SIMD pair's (simd.ts). */
export type ToWasmWorker = { type: 'buffer'; id: number; sab: SharedArrayBuffer; memory?: object } | { type: 'forget'; id: number };
export type FromWasmWorker = { type: 'ready' } | { type: 'error'; message: string };
/** What a worker is started with: its control block, its port, and the kernel to start. */
export type WasmWorkerData = { sab: SharedArrayBuffer; port: MessagePort; kernel: KernelSpec };

/** How long the main thread waits for a worker before it gives up (the worker is stuck or gone). */
const WORKER_TIMEOUT_MS = 120_000;

/** What a task names: a matrix, or a vector as one row (row indices for a gather are an Int32Array). */
type Operand = { rows: number; cols: number; data: Float32Array | Int32Array };

interface PoolWorker {
  worker: Worker;
  ctrl: Int32Array;
  f64: Float64Array;
  port: MessagePort;
  seq: number;
  /** Ids of the buffers this worker has been sent. */
  known: Set<number>;
}

/** A product block to compute into `into` (the result, or a staged copy, or a half-sum). */
export type BlockTask = { into: Mat<Float32Array>; blk: Block };

export class ThreadPool {
  /** The main thread and the workers. */
  readonly threads: number;
  /** Shared buffers get a number the workers know them by. */
  private readonly ids = new WeakMap<SharedArrayBuffer, number>();
  private nextId = 1;
  /** The main thread's SharedArrayBuffer object is only a handle: once it is collected, the workers are told to drop theirs. */
  private readonly forget = new FinalizationRegistry<number>((id) => {
    for (const w of this.workers) {
      if (w.known.delete(id)) w.port.postMessage({ type: 'forget', id } satisfies ToWasmWorker);
    }
  });
  /** Staging for product operands that are not in shared memory, one per position, grown on demand. */
  private readonly staging: Float32Array[] = [];

  private constructor(
    private readonly workers: PoolWorker[],
    /** This thread's block of a product. */
    private readonly product: BlockProduct,
  ) {
    this.threads = workers.length + 1;
  }

  /** A pool of `threads` threads (this one and threads − 1 workers), each computing blocks with `kernel`; `product` is this thread's. */
  static async start(threads: number, kernel: KernelSpec, product: BlockProduct): Promise<ThreadPool> {
    const workers: PoolWorker[] = [];
    try {
      for (let i = 1; i < threads; i++) workers.push(await startPoolWorker(kernel));
    } catch (e) {
      await Promise.all(workers.map((w) => w.worker.terminate()));
      throw e;
    }
    return new ThreadPool(workers, product);
  }

  /** `m` itself when it is in shared memory, else a staged copy in staging slot `slot` (with its values when `copyIn`). */
  shared(m: Mat<Float32Array>, slot: number, copyIn: boolean): Mat<Float32Array> {
    if (m.data.buffer instanceof SharedArrayBuffer) return m;
    const staging = this.staging;
    if ((staging[slot]?.length ?? -1) < m.data.length) staging[slot] = new Float32Array(new SharedArrayBuffer(4 * m.data.length));
    const s = staging[slot].subarray(0, m.data.length);
    if (copyIn) s.set(m.data);
    return { rows: m.rows, cols: m.cols, data: s };
  }

  /**
   * Product blocks of op(a)·op(b), each into its own output: the first on this thread, the next
   * ones on the workers, and any beyond the workers on this thread too, in turn. a, b and every
   * output but the first must be in shared memory. Returns how long each block took (ms).
   */
  runBlocks(a: Mat<Float32Array>, b: Mat<Float32Array>, transA: boolean, transB: boolean, tasks: BlockTask[]): number[] {
    const busy = this.workers.slice(0, tasks.length - 1);
    busy.forEach((w, i) => this.post(w, OP.product, [a, b, tasks[i + 1].into], transA, transB, tasks[i + 1].blk));
    const own = [0];
    for (let i = busy.length + 1; i < tasks.length; i++) own.push(i);
    const ms = new Array<number>(tasks.length).fill(0);
    together(busy, () => {
      for (const i of own) {
        const t0 = performance.now();
        this.product(a, b, tasks[i].into, transA, transB, tasks[i].blk);
        ms[i] = performance.now() - t0;
      }
    });
    busy.forEach((w, i) => (ms[i + 1] = w.f64[F64.result])); // the worker's own time for its block
    return ms;
  }

  /**
   * Vector pass `name` over [0, y.length) of x and y on `parts` threads, one range each: the
   * workers take the later ranges, this thread the first. Returns the ranges' partial sums added
   * in range order, so the same threads give the same sum (for dot and axpySumSq; an axpy's is
   * meaningless).
   */
  vectorPass(name: VectorOp, parts: number, passes: WeightPasses, alpha: number, x: Float32Array, y: Float32Array): number {
    const busy = this.workers.slice(0, parts - 1);
    busy.forEach((w, i) => {
      w.f64[F64.alpha] = alpha;
      const [lo, hi] = part(i + 1, parts, y.length);
      this.post(w, vectorOpCode(name), [row(x), row(y)], false, false, { r0: lo, r1: hi, c0: 0, c1: 0 });
    });
    let s = 0;
    together(busy, () => (s = VECTOR_OPS[name].range(passes, alpha, x, y, 0, part(0, parts, y.length)[1])));
    for (const w of busy) s += w.f64[F64.result];
    return s;
  }

  /** dst row i = src row rows[i], the rows cut into `parts` equal ranges; each thread copies its share straight from the data. */
  gather(parts: number, src: Mat<Float32Array>, rows: Int32Array, dst: Mat<Float32Array>): void {
    const busy = this.workers.slice(0, parts - 1);
    busy.forEach((w, i) => {
      const [lo, hi] = part(i + 1, parts, rows.length);
      this.post(w, OP.gather, [src, dst, row(rows)], false, false, { r0: lo, r1: hi, c0: 0, c1: 0 });
    });
    together(busy, () => gatherRange(src, rows, dst, 0, part(0, parts, rows.length)[1]));
  }

  /** One step of update rule `name` over `arrays` (w, dw, then its state), cut into `parts` equal ranges: its JS loop (RULE_PASSES) on each thread. */
  rulePass(name: RulePass, parts: number, arrays: Float32Array[], c: number[]): void {
    const n = arrays[0].length;
    const busy = this.workers.slice(0, parts - 1);
    busy.forEach((wk, i) => {
      c.forEach((x, j) => (wk.f64[F64.coeffs + j] = x));
      const [lo, hi] = part(i + 1, parts, n);
      this.post(wk, ruleOpCode(name), arrays.map(row), false, false, { r0: lo, r1: hi, c0: 0, c1: 0 });
    });
    together(busy, () => RULE_PASSES[name].range(arrays, c, 0, part(0, parts, n)[1]));
  }

  /** Stop the workers. */
  async close(): Promise<void> {
    for (const w of this.workers) {
      Atomics.store(w.ctrl, CTRL.seq, -1);
      Atomics.notify(w.ctrl, CTRL.seq);
    }
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }

  private idOf(sab: SharedArrayBuffer): number {
    let id = this.ids.get(sab);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(sab, id);
      this.forget.register(sab, id);
    }
    return id;
  }

  /** Write operand `m` (in shared memory) into operand slot `slot` of `w`'s task. */
  private setOperand(w: PoolWorker, slot: number, m: Operand): void {
    const sab = m.data.buffer as SharedArrayBuffer;
    const id = this.idOf(sab);
    if (!w.known.has(id)) {
      w.port.postMessage({ type: 'buffer', id, sab, memory: simdMemoryOf(sab) } satisfies ToWasmWorker);
      w.known.add(id);
    }
    const at = CTRL.operands + slot * OPERAND_SLOTS;
    const c = w.ctrl;
    c[at] = id;
    c[at + 1] = m.data.byteOffset / 4;
    c[at + 2] = m.data.length;
    c[at + 3] = m.rows;
    c[at + 4] = m.cols;
  }

  /** Hand `w` a task: op, operands, flags and block; it starts at once. */
  private post(w: PoolWorker, op: number, operands: Operand[], transA: boolean, transB: boolean, blk: Block): void {
    const c = w.ctrl;
    c[CTRL.op] = op;
    operands.forEach((m, slot) => this.setOperand(w, slot, m));
    c[CTRL.args] = transA ? 1 : 0;
    c[CTRL.args + 1] = transB ? 1 : 0;
    c[CTRL.args + 2] = blk.r0;
    c[CTRL.args + 3] = blk.r1;
    c[CTRL.args + 4] = blk.c0;
    c[CTRL.args + 5] = blk.c1;
    c[CTRL.args + 6] = blk.k0 ?? -1; // −1: all of k
    c[CTRL.args + 7] = blk.k1 ?? -1;
    w.seq = (w.seq + 1) & 0x3fffffff;
    Atomics.store(c, CTRL.seq, w.seq);
    Atomics.notify(c, CTRL.seq);
  }
}

const row = (v: Float32Array | Int32Array): Operand => ({ rows: 1, cols: v.length, data: v });

/**
 * Run `mine` on this thread while `busy` work on their tasks, then wait for all of them. Every
 * worker is waited for even when `mine` throws, so none is left writing into a buffer.
 */
function together(busy: PoolWorker[], mine: () => void): void {
  let err: unknown = null;
  try {
    mine();
  } catch (e) {
    err = e;
  }
  for (const w of busy) {
    try {
      waitDone(w);
    } catch (e) {
      err ??= e;
    }
  }
  if (err !== null) throw err;
}

/** Wait until `w` has finished its current task; throw its error if it failed. */
function waitDone(w: PoolWorker): void {
  const c = w.ctrl;
  const t0 = performance.now();
  // Poll first: the worker's block takes about as long as the main thread's, so it is usually
  // done within a millisecond, sooner than a sleeping thread would be woken.
  for (let n = 1; Atomics.load(c, CTRL.done) !== w.seq && (n & 0xffff) !== 0; n++);
  let d: number;
  while ((d = Atomics.load(c, CTRL.done)) !== w.seq) {
    if (Atomics.wait(c, CTRL.done, d, 1000) === 'timed-out' && performance.now() - t0 > WORKER_TIMEOUT_MS) {
      throw new Error(`wasm engine: a worker thread has not answered for ${WORKER_TIMEOUT_MS / 1000} s; it may have run out of memory. Rerun with --backend js to train without worker threads.`);
    }
  }
  if (Atomics.load(c, CTRL.status) !== 0) {
    const msg = receiveMessageOnPort(w.port)?.message as FromWasmWorker | undefined;
    throw new Error(`wasm engine worker: ${msg?.type === 'error' ? msg.message : 'failed without a message'}`);
  }
}

async function startPoolWorker(kernel: KernelSpec): Promise<PoolWorker> {
  const sab = new SharedArrayBuffer(F64_OFFSET + 8 * F64.length);
  const ctrl = new Int32Array(sab, 0, CTRL.length);
  const f64 = new Float64Array(sab, F64_OFFSET, F64.length);
  const { port1, port2 } = new MessageChannel();
  const worker = startWorker(import.meta.url, 'wasm_worker', { sab, port: port2, kernel } satisfies WasmWorkerData, [port2]);
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    const fail = (e: unknown) => reject(new Error(`wasm engine: a worker thread could not start: ${e instanceof Error ? e.message : String(e)}`));
    worker.once('error', fail);
    worker.once('exit', (code) => fail(`it exited with code ${code}`));
    port1.once('message', (msg: FromWasmWorker) => {
      worker.off('error', fail);
      worker.removeAllListeners('exit');
      if (msg.type === 'ready') resolve();
      else fail(msg.message);
    });
  });
  port1.unref();
  return { worker, ctrl, f64, port: port1, seq: 0, known: new Set() };
}
