/**
 * Engine selection for the CLI: `--backend auto|openblas|tfjs-node|wasm|cpu|js`.
 * 'auto' takes the first that loads: openblas (the native addon, where it was built), tfjs-node,
 * wasm, cpu. The selection reports the engines passed over and why, for the run log.
 */
import { loadOpenblasEngine } from './engines/openblas.js';
import { referenceEngine } from './engines/reference.js';
import { selectTfjsEngine, type BackendChoice, type EngineSelection } from './engines/tfjs.js';
import { setEngine } from './matmul.js';

export { BACKEND_CHOICES, type BackendChoice } from './engines/tfjs.js';

/** Choose, initialise and activate the engine for float32 products. */
export async function initEngine(choice: BackendChoice): Promise<EngineSelection> {
  const sel = await select(choice);
  setEngine(sel.engine);
  return sel;
}

async function select(choice: BackendChoice): Promise<EngineSelection> {
  if (choice === 'js') return { engine: referenceEngine, skipped: [] };
  if (choice === 'openblas' || choice === 'auto') {
    const native = loadOpenblasEngine();
    if ('engine' in native) return { engine: native.engine, skipped: [] };
    if (choice === 'openblas') throw new Error(`backend 'openblas' could not start: ${native.reason}`);
    const rest = await selectTfjsEngine('auto');
    return { engine: rest.engine, skipped: [{ name: 'openblas', reason: native.reason }, ...rest.skipped] };
  }
  return selectTfjsEngine(choice);
}
