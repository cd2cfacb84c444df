/**
 * What an exported model computes, step by step, read off a checkpoint: the one description that
 * the ONNX writer (onnx.ts) turns into graph nodes, kept apart from any file format.
 *
 *   pixel run    pixels (N,H,W,C) 0-255 → flatten (N,D) → float64: (x − mean)·scale → float32
 *   feature run  features (N,F) float64 (HOG + hue of data/features.ts) → (f − mean)/std → float32
 *   softmax/svm  scores = rows·W[0:D] + W[D]   (the bias trick: the bias column's row of W is the bias)
 *   mlp          h1 = relu(rows·W1 + b1), …, scores = hL·W(L+1) + b(L+1)
 *   + batchnorm  h_l = relu(batchnorm(h_{l-1}·W_l + b_l)): test mode, the running statistics,
 *                γ·(a − running_mean)/√(running_var + 1e-5) + β (layers/batchnorm.ts)
 *   + layernorm  h_l = relu(layernorm(h_{l-1}·W_l + b_l)): per row, eps 1e-5 (layers/layernorm.ts)
 *   + dropout    nothing: inverted dropout is the identity in test mode (layers/dropout.ts)
 *   softmax loss probabilities = softmax(scores) along the classes; an SVM gives scores only
 *
 * The normalisation runs in float64 and is cast to float32 afterwards, as data/split.ts and
 * data/feature_data.ts compute training rows, so the rows are the very numbers training saw.
 *
 * A batch norm is a step of its own after its affine step (ONNX BatchNormalization on (N,H), with
 * the running mean and variance of the checkpoint's `stat` entries), not folded into the affine
 * weights: folding would round W·γ/√(var+ε) to float32 and differ from what eval computes. A
 * layer norm is LayerNormalization (opset 17, last axis). Every parameter of the checkpoint must
 * be used by some step, and a model spec with anything this file does not know is refused
 * (ExportError) rather than exported without it.
 */
import { ConfigError } from '../config/config.js';
import type { Checkpoint } from '../runs/checkpoint.js';
import { lossOf } from '../models/loss.js';
import { viewsOf } from '../models/params.js';
import { BN_EPS } from '../layers/batchnorm.js';
import { LN_EPS } from '../layers/layernorm.js';

/** A model this exporter cannot write faithfully; the message says why (a ConfigError: the CLI prints it, exit 2). */
export class ExportError extends ConfigError {
  override name = 'ExportError';
}

/** A float32 matrix with its checkpoint name. */
export interface NamedMat {
  name: string;
  rows: number;
  cols: number;
  data: Float32Array;
  /** The checkpoint parameters it is made of (W1 for W1[0:D]; W1 and b1 for b1+W1[D]). */
  from: string[];
}

export type Step =
  | { op: 'normalize-pixels'; mean: Float32Array; scale: number }
  | { op: 'normalize-features'; mean: Float32Array; std: Float64Array }
  | { op: 'affine'; W: NamedMat; b: NamedMat }
  | { op: 'relu' }
  /** Test-mode batch norm over the columns of (N,H): γ·(x − mean)/√(variance + eps) + β. */
  | { op: 'batchnorm'; gamma: NamedMat; beta: NamedMat; mean: NamedMat; variance: NamedMat; eps: number }
  /** Layer norm along each row of (N,H): γ·(x − μ_row)/√(σ²_row + eps) + β. */
  | { op: 'layernorm'; gamma: NamedMat; beta: NamedMat; eps: number }
  | { op: 'softmax' };

export interface ExportPlan {
  input: { name: 'pixels'; shape: [number, number, number]; dtype: 'float32' } | { name: 'features'; dim: number; dtype: 'float64' };
  steps: Step[];
  numClasses: number;
  /** What the last step gives: probabilities (softmax loss) or scores (svm). */
  output: 'probabilities' | 'scores';
}

/** The steps of checkpoint `ck`'s model, preprocessing first. */
export function planOf(ck: Checkpoint): ExportPlan {
  const h = ck.header;
  const spec = h.model;
  const v = viewsOf(h.params, ck.params);
  const named = (name: string, rows: number, cols: number, data: Float32Array, from: string[]): NamedMat => ({ name, rows, cols, data, from });
  const steps: Step[] = [];
  const f = h.preprocess.features;
  const input: ExportPlan['input'] = f ? { name: 'features', dim: h.meanLength, dtype: 'float64' } : { name: 'pixels', shape: h.imageShape, dtype: 'float32' };
  steps.push(f ? { op: 'normalize-features', mean: ck.mean, std: Float64Array.from(f.std) } : { op: 'normalize-pixels', mean: ck.mean, scale: h.preprocess.scale });
  const D = h.meanLength;
  checkExportable(ck);
  const vec = (name: string): NamedMat => named(name, 1, v[name].cols, v[name].data.slice(), [name]);
  if (spec.kind === 'softmax') {
    const W = v.W;
    const C = W.cols;
    if (h.preprocess.bias) {
      // rows carry a trailing 1: X·W = X[:, :D]·W[:D] + W[D], so the last row of W is the bias.
      steps.push({ op: 'affine', W: named('W[0:D]', D, C, W.data.slice(0, D * C), ['W']), b: named('W[D]', 1, C, W.data.slice(D * C, (D + 1) * C), ['W']) });
    } else {
      steps.push({ op: 'affine', W: named('W', D, C, W.data.slice(), ['W']), b: named('zero_bias', 1, C, new Float32Array(C), []) });
    }
  } else {
    const L = spec.hidden.length;
    for (let l = 1; l <= L + 1; l++) {
      const W = v[`W${l}`];
      const b = v[`b${l}`];
      if (l === 1 && h.preprocess.bias) {
        // An MLP trained with a bias column: its ones row of W1 adds to b1.
        const Dw = W.rows - 1;
        const b1 = Float32Array.from(b.data, (x, j) => x + W.data[Dw * W.cols + j]);
        steps.push({ op: 'affine', W: named('W1[0:D]', Dw, W.cols, W.data.slice(0, Dw * W.cols), ['W1']), b: named('b1+W1[D]', 1, W.cols, b1, ['b1', 'W1']) });
      } else {
        steps.push({ op: 'affine', W: named(`W${l}`, W.rows, W.cols, W.data.slice(), [`W${l}`]), b: named(`b${l}`, 1, b.cols, b.data.slice(), [`b${l}`]) });
      }
      if (l <= L) {
        if (spec.normalization === 'batchnorm') {
          steps.push({ op: 'batchnorm', gamma: vec(`gamma${l}`), beta: vec(`beta${l}`), mean: vec(`running_mean${l}`), variance: vec(`running_var${l}`), eps: BN_EPS });
        } else if (spec.normalization === 'layernorm') {
          steps.push({ op: 'layernorm', gamma: vec(`gamma${l}`), beta: vec(`beta${l}`), eps: LN_EPS });
        }
        steps.push({ op: 'relu' });
        // dropout (spec.dropoutKeep): the identity in test mode, no step.
      }
    }
  }
  // Every checkpoint array must feed some step: one left over would be a layer the export skips.
  const used = new Set(steps.flatMap((s) => Object.values(s).flatMap((x) => (typeof x === 'object' && x !== null && 'from' in x ? (x as NamedMat).from : []))));
  const unused = h.params.filter((p) => !used.has(p.name)).map((p) => p.name);
  if (unused.length > 0) throw new ExportError(`cannot export this ${spec.kind} model: the export would leave out its ${unused.join(', ')}, so it would compute something else than eval`);
  const svm = lossOf(spec) === 'svm';
  if (!svm) steps.push({ op: 'softmax' });
  return { input, steps, numClasses: spec.numClasses, output: svm ? 'scores' : 'probabilities' };
}

/** The model spec keys this exporter knows how to write; anything else is refused with its name. */
const KNOWN_SPEC_KEYS = new Set(['kind', 'inputDim', 'hidden', 'numClasses', 'loss', 'normalization', 'dropoutKeep']);

/** Throws an ExportError naming what in `ck`'s model this file cannot export. */
function checkExportable(ck: Checkpoint): void {
  const spec = ck.header.model;
  const unknown = Object.keys(spec).filter((k) => !KNOWN_SPEC_KEYS.has(k));
  if (unknown.length > 0)
    throw new ExportError(`cannot export this ${spec.kind} model: its ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not known to the exporter (src/export/plan.ts)`);
  if (spec.kind !== 'softmax' && spec.kind !== 'mlp') throw new ExportError(`cannot export a ${spec.kind} model: only softmax, svm and mlp models are exported`);
  const n = spec.normalization;
  if (n !== undefined && n !== 'batchnorm' && n !== 'layernorm') throw new ExportError(`cannot export an mlp with normalization ${String(n)}: batchnorm and layernorm are exported`);
}
