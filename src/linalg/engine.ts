/**
 * Engine selection for the CLI: `--backend auto|openblas|tfjs-node|simd|wasm|cpu|js`.
 * 'auto' takes the first that loads: openblas (the native addon, where it was built), tfjs-node,
 * simd (the WebAssembly SIMD kernel of native/gemm.wat), wasm (TensorFlow.js's wasm backend),
 * cpu. The selection reports the engines passed over and why, for the run log.
 */
import * as os from 'node:os';
import { loadOpenblasEngine, setBlasThreads } from './engines/openblas.js';
import { referenceEngine } from './engines/reference.js';
import { gemmVariant } from './engines/gemm.js';
import { startTfjsEngine, type BackendChoice, type EngineSelection } from './engines/tfjs.js';
import { createSimdEngine } from './engines/wasm.js';
import { type Engine, setEngine } from './matmul.js';

export { BACKEND_CHOICES, type BackendChoice } from './engines/tfjs.js';

/** No engine of the kind asked for could start on this machine (not installed, not built). */
export class EngineError extends Error {}

/** Why an engine did not start, in one line: a missing package is named as such. */
function shortReason(reason: string): string {
  const pkg = /Cannot find (?:package|module) '([^']+)'/.exec(reason);
  if (pkg) return `${pkg[1]} is not installed`;
  return reason.split('\n')[0];
}

/**
 * Choose, initialise and activate the engine for float32 products. `threads` is how many cores
 * the engine may use (all of them by default; a sweep gives each of its workers a share).
 */
export async function initEngine(choice: BackendChoice, threads = os.availableParallelism()): Promise<EngineSelection> {
  const sel = await select(choice, threads);
  setEngine(sel.engine);
  return sel;
}

/** The engines 'auto' tries, in order. */
const AUTO_ORDER = ['openblas', 'tfjs-node', 'simd', 'wasm', 'cpu'] as const;

async function select(choice: BackendChoice, threads: number): Promise<EngineSelection> {
  if (choice === 'js') return { engine: referenceEngine, skipped: [] };
  const skipped: { name: string; reason: string }[] = [];
  for (const name of choice === 'auto' ? AUTO_ORDER : [choice]) {
    const e = await start(name, threads);
    if (!('reason' in e)) return { engine: e, skipped };
    skipped.push({ name, reason: e.reason });
  }
  const why = skipped.map((s) => `${s.name}: ${shortReason(s.reason)}`).join('; ');
  throw new EngineError(
    choice === 'auto'
      ? `no engine could start (${why}). Run 'npm ci' to install @tensorflow/tfjs-backend-wasm.`
      : `backend '${choice}' could not start: ${why}. Use --backend auto to take the first engine that starts${choice === 'tfjs-node' ? ', or install it: npm install @tensorflow/tfjs-node' : ''}`,
  );
}

/** Start engine `name`, or say why it cannot. */
async function start(name: Exclude<BackendChoice, 'auto' | 'js'>, threads: number): Promise<Engine | { reason: string }> {
  if (name === 'openblas') {
    const native = loadOpenblasEngine();
    if (!('engine' in native)) return native;
    setBlasThreads(threads);
    return native.engine;
  }
  if (name === 'simd') {
    try {
      const variant = gemmVariant();
      return variant === null ? { reason: 'this runtime has no WebAssembly SIMD' } : await createSimdEngine(variant, threads);
    } catch (e) {
      return { reason: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
  }
  return startTfjsEngine(name, threads);
}
