/**
 * A worker thread of a wasm engine's pool (pool.ts). It starts its own kernel (kernels.ts), then
 * loops: wait on its control block for a task, do it (a block of a product into the shared
 * output, a range of a vector pass, of a minibatch gather or of an Adam step), report it done. It never returns to
 * the event loop while it serves tasks, so the main thread's buffers reach it through its port,
 * read synchronously.
 */
import { receiveMessageOnPort, workerData } from 'node:worker_threads';
import { gatherRange } from '../blas1.js';
import type { Mat } from '../mat.js';
import type { BlockProduct } from './cuts.js';
import { startKernel } from './kernels.js';
import { CTRL, F64, F64_OFFSET, type FromWasmWorker, OP, OPERAND_SLOTS, type ToWasmWorker, RULE_PASSES, VECTOR_OPS, type WasmWorkerData, ruleOpOf, vectorOpOf } from './pool.js';
import { adoptPair, weightPasses } from './simd.js';

const { sab, port, kernel } = workerData as WasmWorkerData;
const ctrl = new Int32Array(sab, 0, CTRL.length);
const f64 = new Float64Array(sab, F64_OFFSET, F64.length);
const buffers = new Map<number, SharedArrayBuffer>();

/** This thread's block of a product, on the engine's kernel. */
let product: BlockProduct;
try {
  product = (await startKernel(kernel)).product;
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromWasmWorker);
  process.exit(1);
}
port.postMessage({ type: 'ready' } satisfies FromWasmWorker);

/** Take in every message waiting on the port (new buffers, buffers to drop). */
function drain(): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const msg = m.message as ToWasmWorker;
    if (msg.type === 'buffer') {
      buffers.set(msg.id, msg.sab);
      if (msg.memory !== undefined) adoptPair(msg.sab, msg.memory); // this thread's SIMD kernels on a pair (simd.ts)
    } else {
      buffers.delete(msg.id);
    }
  }
}

/** The shared buffer, element offset and length operand `slot` of the task names. */
function view(slot: number): [SharedArrayBuffer, number, number] {
  const at = CTRL.operands + slot * OPERAND_SLOTS;
  const buf = buffers.get(ctrl[at]);
  if (buf === undefined) throw new Error(`buffer ${ctrl[at]} was never sent`);
  return [buf, 4 * ctrl[at + 1], ctrl[at + 2]];
}

/** Operand `slot` of the task, as a Mat over the shared buffer it names. */
function operand(slot: number): Mat<Float32Array> {
  const at = CTRL.operands + slot * OPERAND_SLOTS;
  return { rows: ctrl[at + 3], cols: ctrl[at + 4], data: new Float32Array(...view(slot)) };
}

function run(): void {
  drain();
  const g = CTRL.args;
  const [r0, r1, c0, c1] = [ctrl[g + 2], ctrl[g + 3], ctrl[g + 4], ctrl[g + 5]];
  switch (ctrl[CTRL.op]) {
    case OP.product: {
      const ks = ctrl[g + 6] >= 0 ? { k0: ctrl[g + 6], k1: ctrl[g + 7] } : {};
      const t0 = performance.now();
      product(operand(0), operand(1), operand(2), ctrl[g] === 1, ctrl[g + 1] === 1, { r0, r1, c0, c1, ...ks });
      f64[F64.result] = performance.now() - t0; // how long it took, for the next cut (cuts.ts cutBySpeed)
      return;
    }
    case OP.gather:
      return gatherRange(operand(0), new Int32Array(...view(2)), operand(1), r0, r1);
  }
  const rule = ruleOpOf(ctrl[CTRL.op]);
  if (rule !== undefined) {
    const { arrays, range } = RULE_PASSES[rule];
    return range(
      Array.from({ length: arrays }, (_, k) => operand(k).data),
      f64.subarray(F64.coeffs),
      r0,
      r1,
    );
  }
  const name = vectorOpOf(ctrl[CTRL.op]);
  if (name === undefined) throw new Error(`unknown op ${ctrl[CTRL.op]}`);
  const x = operand(0).data;
  const y = operand(1).data;
  f64[F64.result] = VECTOR_OPS[name].range(weightPasses(x, y), f64[F64.alpha], x, y, r0, r1);
}

/**
 * Wait for the next task. Training asks for one every millisecond or so, and waking a sleeping
 * thread costs far more than that on a VM (the idle vCPU has to be scheduled again), so the
 * worker first polls for SPIN_MS and only then sleeps.
 */
const SPIN_MS = 10;
function nextTask(seen: number): number {
  const t0 = performance.now();
  let n = 0;
  while (Atomics.load(ctrl, CTRL.seq) === seen) {
    if ((++n & 1023) === 0 && performance.now() - t0 > SPIN_MS) {
      Atomics.wait(ctrl, CTRL.seq, seen);
      break;
    }
  }
  return Atomics.load(ctrl, CTRL.seq);
}

let seen = 0;
try {
  for (;;) {
    const seq = nextTask(seen);
    if (seq === -1) break;
    seen = seq;
    let status = 0;
    try {
      run();
    } catch (e) {
      status = 1;
      port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromWasmWorker);
    }
    Atomics.store(ctrl, CTRL.status, status);
    Atomics.store(ctrl, CTRL.done, seq);
    Atomics.notify(ctrl, CTRL.done);
  }
} catch (e) {
  // The loop itself failed: fail the task in hand, so the main thread is not left waiting.
  port.postMessage({ type: 'error', message: `worker stopped: ${e instanceof Error ? e.message : String(e)}` } satisfies FromWasmWorker);
  Atomics.store(ctrl, CTRL.status, 1);
  Atomics.store(ctrl, CTRL.done, Atomics.load(ctrl, CTRL.seq));
  Atomics.notify(ctrl, CTRL.done);
}
port.close();
