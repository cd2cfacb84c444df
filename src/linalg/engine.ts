/**
 * Engine selection for the CLI: `--backend auto|openblas|tfjs-node|simd|wasm|cpu|js`.
 *
 * Every engine is a descriptor exported by its own file (engines/*.ts: its name and how to start
 * it); ENGINES below maps each name of engines/names.ts to it, and that list's order is the order
 * 'auto' tries them: openblas (the native addon, where it was built), tfjs-node, simd (the
 * WebAssembly SIMD kernel of native/gemm.wat), wasm (TensorFlow.js's wasm backend), cpu. 'js'
 * (the reference loops) is only ever asked for by name. The selection reports the engines passed over and why, for the run log.
 */
import * as os from 'node:os';
import { openblas } from './engines/openblas.js';
import { js } from './engines/reference.js';
import { cpu, tfjsNode } from './engines/tfjs.js';
import { type BackendChoice, ENGINE_NAMES, type EngineName } from './engines/names.js';
import type { Engine, EngineDescriptor } from './engines/types.js';
import { simd, wasm } from './engines/wasm.js';
import { useEngine } from './matmul.js';

export { type BackendChoice, BACKEND_CHOICES } from './engines/names.js';

/** Every engine --backend can name, by its name. */
const BY_NAME: { readonly [N in EngineName]: EngineDescriptor<N> } = { openblas, 'tfjs-node': tfjsNode, simd, wasm, cpu, js };
/** Every engine, in the order of ENGINE_NAMES. */
const ENGINES: readonly EngineDescriptor[] = ENGINE_NAMES.map((n) => BY_NAME[n]);
/** The engines 'auto' tries, in order. */
const AUTO = ENGINES.filter((e) => e.name !== 'js');

export interface EngineSelection {
  engine: Engine;
  /** Backends tried before the chosen one, with why each was passed over. */
  skipped: { name: string; reason: string }[];
}

/** No engine of the kind asked for could start on this machine (not installed, not built). */
export class EngineError extends Error {}

/** Why an engine did not start, in one line: a missing package is named as such. */
function shortReason(reason: string): string {
  const pkg = /Cannot find (?:package|module) '([^']+)'/.exec(reason);
  if (pkg) return `${pkg[1]} is not installed`;
  return reason.split('\n')[0];
}

/**
 * Choose, start and activate the engine for float32 products (matmul.ts useEngine). `threads` is
 * how many cores the engine may use (all of them by default; a sweep gives each of its workers a
 * share). Buffers for the engine come from `selection.engine.alloc`.
 */
export async function initEngine(choice: BackendChoice, threads = os.availableParallelism()): Promise<EngineSelection> {
  const sel = await select(choice, threads);
  useEngine(sel.engine);
  return sel;
}

async function select(choice: BackendChoice, threads: number): Promise<EngineSelection> {
  const skipped: { name: string; reason: string }[] = [];
  const tries: readonly EngineDescriptor[] = choice === 'auto' ? AUTO : ENGINES.filter((e) => e.name === choice);
  for (const d of tries) {
    const e = await d.start(threads);
    if (!('reason' in e)) return { engine: e, skipped };
    skipped.push({ name: d.name, reason: e.reason });
  }
  const why = skipped.map((s) => `${s.name}: ${shortReason(s.reason)}`).join('; ');
  const hint = tries.length === 1 && tries[0].hint ? `, ${tries[0].hint}` : '';
  throw new EngineError(
    choice === 'auto'
      ? `no engine could start (${why}). Run 'npm ci' to install @tensorflow/tfjs-backend-wasm.`
      : `backend '${choice}' could not start: ${why}. Use --backend auto to take the first engine that starts${hint}`,
  );
}
