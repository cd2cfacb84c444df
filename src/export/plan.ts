/**
 * What an exported model computes, step by step, read off a checkpoint: the one description that
 * the ONNX writer (onnx.ts) turns into graph nodes, kept apart from any file format.
 *
 *   pixel run    pixels (N,H,W,C) 0-255 → flatten (N,D) → float64: (x − mean)·scale → float32
 *   feature run  features (N,F) float64 (HOG + hue of data/features.ts) → (f − mean)/std → float32
 *   softmax/svm  scores = rows·W[0:D] + W[D]   (the bias trick: the bias column's row of W is the bias)
 *   mlp          h1 = relu(rows·W1 + b1), …, scores = hL·W(L+1) + b(L+1)
 *   softmax loss probabilities = softmax(scores) along the classes; an SVM gives scores only
 *
 * The normalisation runs in float64 and is cast to float32 afterwards, as data/split.ts and
 * data/feature_data.ts compute training rows, so the rows are the very numbers training saw.
 *
 * Later layers slot in as steps of their own: a batch norm in test mode (its running mean and
 * variance among the checkpoint's `stat` entries) becomes { op: 'batchnorm', gamma, beta, mean,
 * variance, eps } after its affine step (ONNX BatchNormalization on (N,H)), or is folded into the
 * affine step before it here (W' = W·γ/√(var+ε), b' = (b − mean)·γ/√(var+ε) + β); a layer norm
 * maps to LayerNormalization (opset 17); dropout is the identity at test time and adds no step.
 */
import type { Checkpoint } from '../runs/checkpoint.js';
import { lossOf } from '../models/loss.js';
import { viewsOf } from '../models/params.js';

/** A float32 matrix with its checkpoint name. */
export interface NamedMat {
  name: string;
  rows: number;
  cols: number;
  data: Float32Array;
}

export type Step =
  | { op: 'normalize-pixels'; mean: Float32Array; scale: number }
  | { op: 'normalize-features'; mean: Float32Array; std: Float64Array }
  | { op: 'affine'; W: NamedMat; b: NamedMat }
  | { op: 'relu' }
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
  const named = (name: string, rows: number, cols: number, data: Float32Array): NamedMat => ({ name, rows, cols, data });
  const steps: Step[] = [];
  const f = h.preprocess.features;
  const input: ExportPlan['input'] = f ? { name: 'features', dim: h.meanLength, dtype: 'float64' } : { name: 'pixels', shape: h.imageShape, dtype: 'float32' };
  steps.push(f ? { op: 'normalize-features', mean: ck.mean, std: Float64Array.from(f.std) } : { op: 'normalize-pixels', mean: ck.mean, scale: h.preprocess.scale });
  const D = h.meanLength;
  if (spec.kind === 'softmax') {
    const W = v.W;
    const C = W.cols;
    if (h.preprocess.bias) {
      // rows carry a trailing 1: X·W = X[:, :D]·W[:D] + W[D], so the last row of W is the bias.
      steps.push({ op: 'affine', W: named('W[0:D]', D, C, W.data.slice(0, D * C)), b: named('W[D]', 1, C, W.data.slice(D * C, (D + 1) * C)) });
    } else {
      steps.push({ op: 'affine', W: named('W', D, C, W.data.slice()), b: named('zero_bias', 1, C, new Float32Array(C)) });
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
        steps.push({ op: 'affine', W: named('W1[0:D]', Dw, W.cols, W.data.slice(0, Dw * W.cols)), b: named('b1+W1[D]', 1, W.cols, b1) });
      } else {
        steps.push({ op: 'affine', W: named(`W${l}`, W.rows, W.cols, W.data.slice()), b: named(`b${l}`, 1, b.cols, b.data.slice()) });
      }
      if (l <= L) steps.push({ op: 'relu' });
    }
  }
  const svm = lossOf(spec) === 'svm';
  if (!svm) steps.push({ op: 'softmax' });
  return { input, steps, numClasses: spec.numClasses, output: svm ? 'scores' : 'probabilities' };
}
