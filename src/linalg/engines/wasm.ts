/**
 * The wasm engine: TensorFlow.js's wasm backend (XNNPACK, SIMD) on every core.
 *
 * The threaded build of the wasm backend does not run in Node, so this engine makes its own
 * threads: the main thread and `threads − 1` worker threads, each with its own wasm backend.
 * A product is cut into one block per thread (wasm_block.ts): by columns of the result when it
 * is wide enough, so each thread packs only its share of the weights, else by rows. The main
 * thread computes the first block itself while the workers compute theirs, then waits for them.
 *
 * Workers read the operands and write their blocks in place when the arrays live in
 * SharedArrayBuffers, as every buffer training uses does (mat.ts allocFloat, the prepared data).
 * Other arrays are copied once into a shared staging buffer first, so any Mat works.
 *
 * Hand-off is through one small SharedArrayBuffer per worker: the main thread writes the task
 * there and wakes the worker with Atomics.notify; the worker writes back a done counter. No
 * message passing or event loop is on that path, so a hand-off costs microseconds.
 */
import * as os from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import type { Mat } from '../mat.js';
import type { Engine } from '../matmul.js';
import { startWorker } from '../worker_threads.js';
import { type Block, blockProduct } from './wasm_block.js';

type Tf = typeof import('@tensorflow/tfjs-core');

/** Slots of a worker's control block (Int32Array). */
export const CTRL = {
  /** Task counter, bumped by the main thread for each task; −1 tells the worker to stop. */
  seq: 0,
  /** The last task the worker finished. */
  done: 1,
  /** 0 if that task succeeded, 1 if it threw (its message follows on the port). */
  status: 2,
  /** First slot of the task: 3 operands × OPERAND_SLOTS, then transA, transB, r0, r1, c0, c1. */
  task: 3,
} as const;
/** Per operand: buffer id, element offset, element count, rows, cols. */
export const OPERAND_SLOTS = 5;
export const CTRL_LENGTH = CTRL.task + 3 * OPERAND_SLOTS + 6;

/** Messages on a worker's port. */
export type ToWasmWorker = { type: 'buffer'; id: number; sab: SharedArrayBuffer } | { type: 'forget'; id: number };
export type FromWasmWorker = { type: 'ready'; detail: string } | { type: 'error'; message: string };

/** Below this many flops (2·M·N·K) a product is not worth a hand-off: the main thread does it all. */
const MIN_PARALLEL_FLOPS = 2e6;
/** A product is cut by columns when every thread gets at least this many (else by rows). */
const MIN_COLS_PER_THREAD = 32;
/** How long the main thread waits for a worker before it gives up (the worker is stuck or gone). */
const WORKER_TIMEOUT_MS = 120_000;

interface PoolWorker {
  worker: Worker;
  ctrl: Int32Array;
  port: MessagePort;
  seq: number;
  /** Ids of the buffers this worker has been sent. */
  known: Set<number>;
}

export type WasmEngine = Engine & { threads: number; close(): Promise<void> };
let current: WasmEngine | null = null;

/**
 * The wasm engine on `threads` threads (the main thread plus threads − 1 workers). `tf` is the
 * main thread's TensorFlow.js with the wasm backend already active. The engine is kept: asking
 * again for the same thread count returns it, another count replaces it.
 */
export async function createWasmEngine(tf: Tf, threads = os.availableParallelism()): Promise<WasmEngine> {
  const n = Math.max(1, Math.floor(threads));
  if (current?.threads === n) return current;
  await current?.close();
  current = await startWasmEngine(tf, n);
  return current;
}

async function startWasmEngine(tf: Tf, n: number): Promise<WasmEngine> {
  const workers: PoolWorker[] = [];
  try {
    for (let i = 1; i < n; i++) workers.push(await startPoolWorker());
  } catch (e) {
    await Promise.all(workers.map((w) => w.worker.terminate()));
    throw e;
  }

  // Shared buffers get a number the workers know them by. The main thread's SharedArrayBuffer
  // object is only a handle: once it is collected, the workers are told to drop theirs.
  const ids = new WeakMap<SharedArrayBuffer, number>();
  let nextId = 1;
  const forget = new FinalizationRegistry<number>((id) => {
    for (const w of workers) {
      if (w.known.delete(id)) w.port.postMessage({ type: 'forget', id } satisfies ToWasmWorker);
    }
  });
  const idOf = (sab: SharedArrayBuffer): number => {
    let id = ids.get(sab);
    if (id === undefined) {
      id = nextId++;
      ids.set(sab, id);
      forget.register(sab, id);
    }
    return id;
  };
  // Staging for operands that are not in shared memory, one per operand position, grown on demand.
  const staging: Float32Array[] = [new Float32Array(new SharedArrayBuffer(0)), new Float32Array(new SharedArrayBuffer(0)), new Float32Array(new SharedArrayBuffer(0))];
  const stage = (slot: number, len: number): Float32Array => {
    if (staging[slot].length < len) staging[slot] = new Float32Array(new SharedArrayBuffer(4 * len));
    return staging[slot].subarray(0, len);
  };

  /** Write operand `m` (shared, or staged) into slots at `at` of every worker's task. */
  const shared = (m: Mat<Float32Array>, slot: number, copyIn: boolean): Mat<Float32Array> => {
    if (m.data.buffer instanceof SharedArrayBuffer) return m;
    const s = stage(slot, m.data.length);
    if (copyIn) s.set(m.data);
    return { rows: m.rows, cols: m.cols, data: s };
  };
  const writeOperand = (w: PoolWorker, m: Mat<Float32Array>, at: number): void => {
    const sab = m.data.buffer as SharedArrayBuffer;
    const id = idOf(sab);
    if (!w.known.has(id)) {
      w.port.postMessage({ type: 'buffer', id, sab } satisfies ToWasmWorker);
      w.known.add(id);
    }
    const c = w.ctrl;
    c[at] = id;
    c[at + 1] = m.data.byteOffset / 4;
    c[at + 2] = m.data.length;
    c[at + 3] = m.rows;
    c[at + 4] = m.cols;
  };

  const detail = `TensorFlow.js ${tf.version_core} wasm backend (SIMD ${tf.env().features['WASM_HAS_SIMD_SUPPORT'] ? 'on' : 'off'}), ${n} thread${n > 1 ? 's' : ''}${n > 1 ? ` (main + ${n - 1} worker${n > 2 ? 's' : ''})` : ''}`;

  return {
    name: 'wasm',
    detail,
    threads: n,
    matmul(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean) {
      const M = out.rows;
      const N = out.cols;
      const K = transA ? a.rows : a.cols;
      const byCols = !transA && N >= MIN_COLS_PER_THREAD * n;
      const parts = Math.min(n, byCols ? N : M);
      if (parts === 1 || 2 * M * N * K < MIN_PARALLEL_FLOPS) {
        blockProduct(tf, a, b, out, transA, transB, { r0: 0, r1: M, c0: 0, c1: N });
        return;
      }
      const blocks: Block[] = [];
      const len = byCols ? N : M;
      for (let p = 0; p < parts; p++) {
        const lo = Math.round((p * len) / parts);
        const hi = Math.round(((p + 1) * len) / parts);
        blocks.push(byCols ? { r0: 0, r1: M, c0: lo, c1: hi } : { r0: lo, r1: hi, c0: 0, c1: N });
      }
      const sa = shared(a, 0, true);
      const sb = shared(b, 1, true);
      const so = shared(out, 2, false);
      const busy = workers.slice(0, parts - 1);
      busy.forEach((w, i) => {
        const c = w.ctrl;
        writeOperand(w, sa, CTRL.task);
        writeOperand(w, sb, CTRL.task + OPERAND_SLOTS);
        writeOperand(w, so, CTRL.task + 2 * OPERAND_SLOTS);
        const t = CTRL.task + 3 * OPERAND_SLOTS;
        const blk = blocks[i + 1];
        c[t] = transA ? 1 : 0;
        c[t + 1] = transB ? 1 : 0;
        c[t + 2] = blk.r0;
        c[t + 3] = blk.r1;
        c[t + 4] = blk.c0;
        c[t + 5] = blk.c1;
        w.seq = (w.seq + 1) & 0x3fffffff;
        Atomics.store(c, CTRL.seq, w.seq);
        Atomics.notify(c, CTRL.seq);
      });
      let err: unknown = null;
      try {
        blockProduct(tf, a, b, out, transA, transB, blocks[0]);
      } catch (e) {
        err = e;
      }
      busy.forEach((w, i) => {
        waitDone(w);
        if (so !== out && err === null) copyBlock(so, out, blocks[i + 1]);
      });
      if (err !== null) throw err;
    },
    async close() {
      for (const w of workers) {
        Atomics.store(w.ctrl, CTRL.seq, -1);
        Atomics.notify(w.ctrl, CTRL.seq);
      }
      await Promise.all(workers.map((w) => w.worker.terminate()));
      workers.length = 0;
    },
  };
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

/** Copy block `blk` of `from` into `to` (both (M,N)). */
function copyBlock(from: Mat<Float32Array>, to: Mat<Float32Array>, blk: Block): void {
  const N = to.cols;
  for (let i = blk.r0; i < blk.r1; i++) to.data.set(from.data.subarray(i * N + blk.c0, i * N + blk.c1), i * N + blk.c0);
}

async function startPoolWorker(): Promise<PoolWorker> {
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_LENGTH));
  const { port1, port2 } = new MessageChannel();
  const worker = startWorker(import.meta.url, 'wasm_worker', { ctrl, port: port2 }, [port2]);
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
  return { worker, ctrl, port: port1, seq: 0, known: new Set() };
}
