/**
 * TensorFlow.js engines. TensorFlow.js is used for matrix multiplication and nothing else.
 *
 * Three backends: tfjs-node (native libtensorflow, an optional dependency that fails to install
 * where its download is blocked), the wasm backend (binaries ship inside the npm package) and the
 * pure-JS cpu backend; engine.ts says where each comes in 'auto's order. Every tensor made for a product is disposed before the
 * call returns, so `tf.memory().numTensors` stays flat however long training runs.
 */
import type { Mat } from '../mat.js';
import type { Engine } from '../matmul.js';
import { createWasmEngine } from './wasm.js';

export type BackendChoice = 'auto' | 'openblas' | 'tfjs-node' | 'simd' | 'wasm' | 'cpu' | 'js';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'openblas', 'tfjs-node', 'simd', 'wasm', 'cpu', 'js'];

type Tf = typeof import('@tensorflow/tfjs-core');

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
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return msg;
  }
}

/**
 * Engine wrapping the current TensorFlow.js backend, tfjs-node or cpu (wasm has its own engine,
 * wasm.ts, which runs on every core).
 */
function tfjsEngine(tf: Tf, name: string): Engine {
  return {
    name,
    detail: `TensorFlow.js ${tf.version_core} ${name} backend`,
    matmul(a: Mat<Float32Array>, b: Mat<Float32Array>, out: Mat<Float32Array>, transA: boolean, transB: boolean) {
      // tf.tidy disposes every intermediate tensor and returns C. (Reading C with dataSync()
      // inside the tidy was measured 60× slower on wasm, so it is read after.)
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

export interface EngineSelection {
  engine: Engine;
  /** Backends tried before the chosen one, with why each was passed over. */
  skipped: { name: string; reason: string }[];
}

/** Initialise TensorFlow.js engine `name`, or say why it cannot start. */
export async function startTfjsEngine(name: 'tfjs-node' | 'wasm' | 'cpu', threads?: number): Promise<Engine | { reason: string }> {
  const tf = await loadTf();
  const reason = await tryBackend(tf, name);
  if (reason !== null) return { reason };
  return name === 'wasm' ? createWasmEngine(tf, threads) : tfjsEngine(tf, name);
}

/** Number of live TensorFlow.js tensors (for leak tests); 0 when TensorFlow.js is not loaded. */
export async function liveTensors(): Promise<number> {
  const tf = await loadTf();
  return tf.memory().numTensors;
}
