/**
 * A worker thread of the wasm engine (wasm.ts). It starts its own TensorFlow.js wasm backend,
 * then loops: wait on its control block for a task, compute that block of the product into the
 * shared output, report it done. It never returns to the event loop while it serves tasks, so
 * the main thread's buffers and stop signal reach it through its port, read synchronously.
 */
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Mat } from '../mat.js';
import { CTRL, type FromWasmWorker, OPERAND_SLOTS, type ToWasmWorker } from './wasm.js';
import { blockProduct } from './wasm_block.js';

const { ctrl, port } = workerData as { ctrl: Int32Array; port: MessagePort };
const buffers = new Map<number, SharedArrayBuffer>();

const tf = await import('@tensorflow/tfjs-core');
try {
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromWasmWorker);
  process.exit(1);
}
port.postMessage({ type: 'ready', detail: tf.getBackend() } satisfies FromWasmWorker);

/** Take in every message waiting on the port (new buffers, buffers to drop). */
function drain(): void {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const msg = m.message as ToWasmWorker;
    if (msg.type === 'buffer') buffers.set(msg.id, msg.sab);
    else buffers.delete(msg.id);
  }
}

/** Operand at slot `at` of the task, as a Mat over the shared buffer it names. */
function operand(at: number): Mat<Float32Array> {
  const sab = buffers.get(ctrl[at]);
  if (sab === undefined) throw new Error(`buffer ${ctrl[at]} was never sent`);
  return { rows: ctrl[at + 3], cols: ctrl[at + 4], data: new Float32Array(sab, 4 * ctrl[at + 1], ctrl[at + 2]) };
}

/**
 * Wait for the next task. Training asks for a product every millisecond or so, and waking a
 * sleeping thread costs far more than that on a VM (the idle vCPU has to be scheduled again), so
 * the worker first polls for SPIN_MS and only then sleeps.
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
for (;;) {
  const seq = nextTask(seen);
  if (seq === -1) break;
  seen = seq;
  let status = 0;
  try {
    drain();
    const a = operand(CTRL.task);
    const b = operand(CTRL.task + OPERAND_SLOTS);
    const out = operand(CTRL.task + 2 * OPERAND_SLOTS);
    const t = CTRL.task + 3 * OPERAND_SLOTS;
    blockProduct(tf, a, b, out, ctrl[t] === 1, ctrl[t + 1] === 1, { r0: ctrl[t + 2], r1: ctrl[t + 3], c0: ctrl[t + 4], c1: ctrl[t + 5] });
  } catch (e) {
    status = 1;
    port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies FromWasmWorker);
  }
  Atomics.store(ctrl, CTRL.status, status);
  Atomics.store(ctrl, CTRL.done, seq);
  Atomics.notify(ctrl, CTRL.done);
}
port.close();
