/** Engine selection for the CLI: `--backend auto|tfjs-node|wasm|cpu|js`. */
import { referenceEngine } from './engines/reference.js';
import { selectTfjsEngine, type BackendChoice, type EngineSelection } from './engines/tfjs.js';
import { setEngine } from './matmul.js';

export { BACKEND_CHOICES, type BackendChoice } from './engines/tfjs.js';

/** Choose, initialise and activate the engine for float32 products. */
export async function initEngine(choice: BackendChoice): Promise<EngineSelection> {
  const sel = choice === 'js' ? { engine: referenceEngine, skipped: [] } : await selectTfjsEngine(choice);
  setEngine(sel.engine);
  return sel;
}
