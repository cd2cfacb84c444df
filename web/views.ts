/**
 * What the page shows, computed in the worker from the session's model and workspace with src/'s
 * own layers: weight templates or first-layer filters, per-layer histograms, one image through the
 * softmax (layers/softmax.ts: P and its Jacobian), the float64 gradient check
 * (linalg/gradcheck.ts), a drawn digit's prediction.
 */
import { preprocessRows } from '../src/data/split.js';
import { judgedError, gradCheckSparse, isResolved } from '../src/linalg/gradcheck.js';
import type { Mat } from '../src/linalg/mat.js';
import { Rng } from '../src/linalg/rng.js';
import { softmaxForward, softmaxJacobian } from '../src/layers/softmax.js';
import { modelFromParams } from '../src/models/index.js';
import { actPlan, backwardActs, forwardActs } from '../src/models/act_plan.js';
import { viewsOf } from '../src/models/params.js';
import type { FromWorker, Histogram, Inspection, Snapshot } from './protocol.js';
import type { Session } from './session.js';

const BINS = 30;
/** First-layer filters shown for an MLP. */
const MAX_FILTERS = 32;

export function histogram(a: ArrayLike<number>): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < lo) lo = a[i];
    if (a[i] > hi) hi = a[i];
  }
  const counts = new Array<number>(BINS).fill(0);
  if (!(hi >= lo)) return { lo: 0, hi: 0, counts };
  const w = (hi - lo) / BINS || 1;
  for (let i = 0; i < a.length; i++) counts[Math.min(BINS - 1, Math.floor((a[i] - lo) / w))]++;
  return { lo, hi, counts };
}

/**
 * Each layer's output and the gradient at it, on the last minibatch: the workspace's matrices of
 * the model's activation plan (models/act_plan.ts; hidden layer l: its sandwich's output, after
 * the ReLU, and da, the gradient at its affine output; then the scores).
 */
export function layerHistograms(s: Session): Snapshot['layers'] {
  const plan = actPlan(s.model.spec);
  const B = s.batcher.batchSize;
  const fwd = forwardActs(s.ws, plan, B, Float32Array);
  const bwd = backwardActs(s.ws, plan, B, Float32Array);
  const out: Snapshot['layers'] = fwd.hidden.map((acts, i) => ({ name: `hidden ${i + 1}`, acts: histogram(acts.out.data), grads: histogram(bwd.hidden[i].da.data) }));
  out.push({ name: 'scores', acts: histogram(fwd.scores.data), grads: histogram(bwd.dscores.data) });
  return out;
}

/** Softmax: the ten weight templates (W's columns without the bias row); MLP: the first layer's filters. */
export function filtersOf(s: Session): Snapshot['filters'] {
  const [side, , channels] = s.data.imageShape;
  const pixels = s.data.mean.length;
  const linear = s.model.spec.kind === 'softmax';
  const W = s.model.params.views[linear ? 'W' : 'W1'];
  const count = Math.min(W.cols, linear ? W.cols : MAX_FILTERS);
  const data = new Float32Array(count * pixels);
  for (let c = 0; c < count; c++) for (let j = 0; j < pixels; j++) data[c * pixels + j] = W.data[j * W.cols + c];
  return { side, channels, count, data, title: linear ? 'weight templates (W, one column per class)' : `first-layer filters (W1, ${count} of ${W.cols})` };
}

/** Training image `index` through the model: scores, P, the loss, P − onehot(y) and diag(p) − ppᵀ. */
export function inspect(s: Session, index: number): Inspection {
  const d = s.data;
  const i = Math.max(0, Math.min(d.train.n - 1, Math.floor(index)));
  const x: Mat<Float32Array> = { rows: 1, cols: d.dim, data: d.train.X.data.subarray(i * d.dim, (i + 1) * d.dim) };
  const scores = s.model.loss(x);
  const p = softmaxForward(scores).out.data;
  const y = d.train.y[i];
  const dp = Array.from(p, (v, k) => v - (k === y ? 1 : 0));
  const pixels = d.mean.length;
  const raw = s.raw.train.x.subarray(i * pixels, (i + 1) * pixels); // train is the first numTrain records
  return {
    index: i,
    label: y,
    pixels: raw.slice(),
    shape: d.imageShape,
    classes: d.classes,
    scores: Array.from(scores.data),
    p: Array.from(p),
    loss: -Math.log(p[y]),
    dp,
    jacobian: Array.from(softmaxJacobian(p).data),
  };
}

/** A drawn digit's bytes (28×28, white on black as MNIST), preprocessed as training did, through the model. */
export function predictPixels(s: Session, pixels: Uint8Array): FromWorker {
  const d = s.data;
  if (pixels.length !== d.mean.length) throw new Error(`a drawn digit is a 28×28 MNIST image, and this model reads ${d.imageShape.join('×')} ${s.cfg.dataset} images: pick MNIST to draw`);
  const row = preprocessRows({ x: pixels, y: new Uint8Array(1), n: 1 }, 0, 1, d.mean, d.preprocess, d.dim);
  const p = Array.from(softmaxForward(s.model.loss(row.X)).out.data);
  return { type: 'prediction', p, predicted: p.indexOf(Math.max(...p)) };
}

/** Rows the float64 check runs on, coordinates per parameter, step, threshold (as `train gradcheck`). */
const GC = { rows: 20, checks: 4, h: 1e-5, threshold: 1e-7 };

/**
 * The float64 gradient check of the current model (`train gradcheck --dev`'s check, on the model
 * being trained): its parameters in float64, a loss on the first dev rows, analytic gradients
 * against centred differences at a few coordinates of every trainable parameter.
 */
export function gradcheck(s: Session): FromWorker {
  const spec = s.model.spec;
  const p32 = s.model.params;
  const flat = Float64Array.from(p32.flat);
  const params = { specs: p32.specs, flat, views: viewsOf(p32.specs, flat) };
  // Dropout: the same mask on every call (the Rng put back before each), as the CLI's fixed seed.
  const rng = new Rng(s.cfg.seed);
  const state = rng.getState();
  const model = modelFromParams(spec, params, s.model.reg, rng);
  const n = Math.min(GC.rows, s.data.dev.n);
  const dev = s.data.dev;
  const X = { rows: n, cols: dev.X.cols, data: Float64Array.from(dev.X.data.subarray(0, n * dev.X.cols)) };
  const y = dev.y.subarray(0, n);
  const f = () => {
    rng.setState(state);
    return model.loss(X, y).loss;
  };
  rng.setState(state);
  const { grads } = model.loss(X, y);
  const pick = new Rng(s.cfg.seed + 1);
  const out = p32.specs
    .filter((p) => !p.stat)
    .map((p) => {
      const res = gradCheckSparse(f, params.views[p.name].data, grads.views[p.name].data, GC.checks, GC.h, pick);
      return { name: p.name, rows: res.rows.map((r) => ({ ...r, judged: judgedError(r, GC.threshold), resolved: isResolved(r, GC.threshold) })) };
    });
  const pass = out.every((p) => p.rows.every((r) => r.judged <= GC.threshold)) && out.some((p) => p.rows.some((r) => r.resolved));
  return { type: 'gradcheck', params: out, threshold: GC.threshold, pass, rowsUsed: n };
}

/** The model's layers as shapes, e.g. `softmax: W (3073,10)` (the bias row folded into W) or `mlp: W1 (3072,100) → W2 (100,10)`. */
export function shapeOf(s: Session): string {
  const ws = s.model.params.specs.filter((p) => /^W\d*$/.test(p.name));
  return `${s.model.spec.kind}: ${ws.map((p) => `${p.name} (${p.rows},${p.cols})`).join(' → ')}`;
}
