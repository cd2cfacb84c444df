/**
 * Measurements the tests and bench/playground.ts ask the worker for: the loss and gradient of the
 * default model (the mnist-linear preset, seed 0) on the first rows of the training split, to
 * compare with Node's bit for bit; and the time of training steps on the engine of the page.
 */
import type { RawDataset } from '../src/data/datasets.js';
import type { Engine } from '../src/linalg/engines/types.js';
import { rowsView } from '../src/models/evaluate.js';
import type { FromWorker } from './protocol.js';
import { Session, configOf, dataOf } from './session.js';

/** The default config's model at initialization: its loss and gradient on training rows [0, rows). */
export async function probe(r: { raw: RawDataset; engine: Engine }, rows: number): Promise<FromWorker> {
  const cfg = configOf({});
  const s = new Session(cfg, r.raw, dataOf(cfg, r.raw, r.engine), r.engine);
  const train = s.data.train;
  const { loss, grads } = s.model.loss(rowsView(train.X, 0, rows), train.y.subarray(0, rows));
  return { type: 'probe', loss, grad: grads.flat.slice(), engine: `${r.engine.name} (${r.engine.detail})` };
}

/** Mean milliseconds of `steps` training steps of the session (its state moves on by them). */
export function timeSteps(s: Session, steps: number): FromWorker {
  s.step(false); // warm
  const t0 = performance.now();
  for (let i = 0; i < steps && !s.done; i++) s.step(false);
  const ms = (performance.now() - t0) / steps;
  return { type: 'bench', steps, msPerStep: ms, engine: `${s.engine.name} (${s.engine.detail})` };
}
