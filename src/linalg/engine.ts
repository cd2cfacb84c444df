/**
 * Engine selection for the CLI: `--backend auto|openblas|tfjs-node|wasm|cpu|js`.
 * 'auto' takes the first that loads: openblas (the native addon, where it was built), tfjs-node,
 * wasm, cpu. The selection reports the engines passed over and why, for the run log.
 */
import * as os from 'node:os';
import { loadOpenblasEngine, setBlasThreads } from './engines/openblas.js';
import { referenceEngine } from './engines/reference.js';
import { selectTfjsEngine, type BackendChoice, type EngineSelection } from './engines/tfjs.js';
import { setEngine } from './matmul.js';

export { BACKEND_CHOICES, type BackendChoice } from './engines/tfjs.js';

/**
 * Choose, initialise and activate the engine for float32 products. `threads` is how many cores
 * the engine may use (all of them by default; a sweep gives each of its workers a share).
 */
export async function initEngine(choice: BackendChoice, threads = os.availableParallelism()): Promise<EngineSelection> {
  const sel = await select(choice, threads);
  setEngine(sel.engine);
  return sel;
}

async function select(choice: BackendChoice, threads: number): Promise<EngineSelection> {
  if (choice === 'js') return { engine: referenceEngine, skipped: [] };
  if (choice === 'openblas' || choice === 'auto') {
    const native = loadOpenblasEngine();
    if ('engine' in native) {
      setBlasThreads(threads);
      return { engine: native.engine, skipped: [] };
    }
    if (choice === 'openblas') throw new Error(`backend 'openblas' could not start: ${native.reason}`);
    const rest = await selectTfjsEngine('auto', threads);
    return { engine: rest.engine, skipped: [{ name: 'openblas', reason: native.reason }, ...rest.skipped] };
  }
  return selectTfjsEngine(choice, threads);
}
