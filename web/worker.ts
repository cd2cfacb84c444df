/**
 * The training worker: the page's Web Worker, so that training never blocks the page. It loads
 * MNIST, starts the engine, runs the session in slices of about 50 ms between which it reads the
 * page's messages (pause, step, inspect, …), and sends a snapshot at most SNAPSHOT_HZ times a
 * second while it runs, and after every command.
 */
import type { RawDataset } from '../src/data/datasets.js';
import type { Engine } from '../src/linalg/engines/types.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/runs/checkpoint.js';
import { fetchCifar, fetchMnist } from './data.js';
import { initWebEngine } from './engine.js';
import type { FromWorker, Snapshot, ToWorker } from './protocol.js';
import { Session, configOf, dataOf } from './session.js';
import { filtersOf, gradcheck, inspect, layerHistograms, predictPixels, shapeOf } from './views.js';
import { probe, timeSteps } from './probe.js';

const SNAPSHOT_HZ = 10;
const SLICE_MS = 50;

interface WorkerScope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

/** Each dataset once loaded (MNIST, and CIFAR-10 when the page picks it). */
const raws = new Map<string, RawDataset>();
let engine: Engine | null = null;
let session: Session | null = null;
let running = false;
let inspected = 0;
let lastSnapshot = 0;

async function ready(dataset = 'mnist'): Promise<{ raw: RawDataset; engine: Engine }> {
  if (!engine) engine = await initWebEngine();
  let raw = raws.get(dataset);
  if (!raw) {
    const cifar = dataset === 'cifar';
    post({ type: 'status', text: `loading ${cifar ? 'CIFAR-10' : 'MNIST'}…` });
    const base = new URL(`data/${dataset}/`, location.href).href; // beside worker.js
    raw = cifar ? await fetchCifar(base) : await fetchMnist(base);
    raws.set(dataset, raw);
  }
  return { raw, engine };
}

function snapshot(s: Session): Snapshot {
  const losses = s.losses;
  s.losses = [];
  return {
    type: 'snapshot',
    it: s.it,
    iterations: s.iterations,
    epoch: s.epoch,
    lr: s.lr,
    running,
    done: s.done,
    losses,
    epochs: s.epochs,
    bestValAcc: s.bestValAcc >= 0 ? s.bestValAcc : null,
    filters: filtersOf(s),
    shape: shapeOf(s),
    layers: layerHistograms(s),
    ratios: s.ratios,
    inspect: inspect(s, inspected),
    engine: `${s.engine.name} (${s.engine.detail})`,
    config: { ...s.cfg },
  };
}

const send = (s: Session) => {
  lastSnapshot = performance.now();
  post(snapshot(s));
};

/** Train for one slice, then come back for messages; a snapshot when the last is 1/SNAPSHOT_HZ old. */
function loop(): void {
  if (!running || !session) return;
  const s = session;
  const t0 = performance.now();
  try {
    while (running && !s.done && performance.now() - t0 < SLICE_MS) {
      const due = performance.now() - lastSnapshot >= 1000 / SNAPSHOT_HZ;
      s.step(due);
      if (due) send(s);
    }
  } catch (e) {
    running = false;
    post({ type: 'error', message: (e as Error).message });
  }
  if (s.done) running = false;
  if (!running) send(s);
  else setTimeout(loop, 0);
}

async function setup(form: Record<string, unknown>, params?: Float32Array): Promise<Session> {
  running = false;
  session = null;
  const cfg = configOf(form);
  const r = await ready(cfg.dataset);
  post({ type: 'status', text: 'preparing the split…' });
  const s = new Session(cfg, r.raw, dataOf(cfg, r.raw, r.engine), r.engine);
  if (params) {
    s.model.params.flat.set(params);
    s.best.set(params);
  }
  session = s;
  return s;
}

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'setup') return send(await setup(m.form));
  if (m.type === 'load') return loadCheckpoint(m.bytes, m.name);
  if (m.type === 'probe') return post(await probe(await ready(), m.rows));
  const s = session ?? (await setup({}));
  switch (m.type) {
    case 'run':
      if (running) return; // one loop at a time
      running = !s.done;
      return loop();
    case 'pause':
      running = false;
      return send(s);
    case 'step':
      running = false;
      if (!s.done) s.step(true);
      return send(s);
    case 'inspect':
      inspected = m.index;
      return send(s);
    case 'gradcheck':
      return post(gradcheck(s));
    case 'predict':
      return post(predictPixels(s, m.pixels));
    case 'checkpoint': {
      const ck = s.checkpoint();
      const bytes = encodeCheckpoint(ck);
      return post({ type: 'checkpoint', bytes, name: 'best.ckpt', valAcc: ck.header.valAcc }, [bytes.buffer]);
    }
    case 'bench':
      return post(timeSteps(s, m.steps));
  }
}

/** A run folder's best.ckpt: the page's session becomes that run's config, data and parameters. */
async function loadCheckpoint(bytes: Uint8Array, name: string): Promise<void> {
  const ck = decodeCheckpoint(bytes, name);
  const h = ck.header;
  if (h.preprocess.features) throw new Error(`${name} was trained on ${h.dataset} features; the playground trains on pixels: load a best.ckpt of a run on MNIST or CIFAR-10 pixels`);
  const { name: _n, runsDir: _r, dataDir: _dd, backend: _b, ...cfg } = h.config;
  const s = await setup({ ...cfg, dataset: h.dataset, numTrain: h.split.numTrain, numVal: h.split.numVal, numTest: h.split.numTest }, ck.params);
  post({ type: 'status', text: `loaded ${name}: ${h.model.kind}${h.model.hidden.length ? ` hidden ${h.model.hidden.join(',')}` : ''}, epoch ${h.epoch}, val ${h.valAcc ?? 'n/a'}` });
  send(s);
}

/** Messages are handled one at a time, in order (a Start sent while the data loads waits for it); training slices run between them. */
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  queue = queue.then(() => handle(e.data)).catch((err: unknown) => post({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
};
