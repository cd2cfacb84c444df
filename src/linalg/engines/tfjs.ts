/**
 * TensorFlow.js engines. TensorFlow.js is used for matrix multiplication and nothing else.
 *
 * Three backends: tfjs-node (native libtensorflow, an optional dependency that fails to install
 * where its download is blocked), the wasm backend (binaries ship inside the npm package) and the
 * pure-JS cpu backend; engine.ts says where each comes in 'auto's order. This file holds the
 * tfjs-node and cpu engines; the wasm backend's engine is in wasm.ts, which runs it on every core.
 * Every tensor made for a product is disposed before the call returns, so
 * `tf.memory().numTensors` stays flat however long training runs.
 */
import { PLAIN } from '../alloc.js';
import type { Mat } from '../mat.js';
import { type Engine, type EngineDescriptor, type NotStarted, firstLine } from './types.js';

export type Tf = typeof import('@tensorflow/tfjs-core');

let tfPromise: Promise<Tf> | null = null;
function loadTf(): Promise<Tf> {
  tfPromise ??= import('@tensorflow/tfjs-core');
  return tfPromise;
}

/** Try to make `name` the active TensorFlow.js backend; returns the reason on failure. */
async function tryBackend(tf: Tf, name: 'tfjs-node' | 'wasm' | 'cpu'): Promise<string | null> {
  try {
    if (name === 'tfjs-node') {
      // Registers the 'tensorflow' backend; throws where libtensorflow was not installed.
      await import('@tensorflow/tfjs-node' as string);
      const ok = await tf.setBackend('tensorflow');
      return ok ? null : 'the tensorflow backend failed to initialise';
    }
    if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    else await import('@tensorflow/tfjs-backend-cpu');
    const ok = await tf.setBackend(name);
    return ok ? null : `the ${name} backend failed to initialise`;
  } catch (e) {
    return firstLine(e);
  }
}

/** TensorFlow.js with backend `name` active, or why that backend cannot start. */
export async function activeTf(name: 'tfjs-node' | 'wasm' | 'cpu'): Promise<Tf | NotStarted> {
  const tf = await loadTf();
  const reason = await tryBackend(tf, name);
  return reason === null ? tf : { reason };
}

/**
 * Engine wrapping the current TensorFlow.js backend, tfjs-node or cpu (wasm has its own engine,
 * wasm.ts, which runs on every core).
 */
function tfjsEngine(tf: Tf, name: string): Engine {
  return {
    name,
    detail: `TensorFlow.js ${tf.version_core} ${name} backend`,
    alloc: PLAIN,
    matmul(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean) {
      // tf.tidy disposes every intermediate tensor and returns C, read after it (dataSync()
      // inside the tidy is far slower on wasm).
      const c = tf.tidy(() => {
        const ta = tf.tensor2d(a.data, [a.rows, a.cols], 'float32');
        const tb = tf.tensor2d(b.data, [b.rows, b.cols], 'float32');
        return tf.matMul(ta, tb, transA, transB);
      });
      try {
        out.data.set(c.dataSync() as Float32Array);
      } finally {
        c.dispose();
      }
    },
  };
}

/** The TensorFlow.js backend `name` as an engine, or why it cannot start. */
async function startTfjs(name: 'tfjs-node' | 'cpu'): Promise<Engine | NotStarted> {
  const tf = await activeTf(name);
  return 'reason' in tf ? tf : tfjsEngine(tf, name);
}

/** libtensorflow through the optional @tensorflow/tfjs-node (one product at a time, its own threads). */
export const tfjsNode = { name: 'tfjs-node', start: () => startTfjs('tfjs-node'), hint: 'or install it: npm install @tensorflow/tfjs-node' } as const satisfies EngineDescriptor;

/** TensorFlow.js's pure-JS backend: slow, but it needs nothing else. */
export const cpu = { name: 'cpu', start: () => startTfjs('cpu') } as const satisfies EngineDescriptor;

/** Number of live TensorFlow.js tensors (for leak tests); 0 when TensorFlow.js is not loaded. */
export async function liveTensors(): Promise<number> {
  const tf = await loadTf();
  return tf.memory().numTensors;
}
