/**
 * The data loss a model spec names (spec.loss, absent: softmax), and the cs231n sanity check's
 * expected initial loss for it. Both losses have the same API: scores (N,C), y (N), into? →
 * { loss, dscores }.
 *
 *   softmax: with W small every p_j ≈ 1/C, so L_i ≈ −ln(1/C) = ln C          (2.303 for C = 10)
 *   svm:     with W small every s_j ≈ 0, so each margin ≈ Δ = 1, L_i ≈ C − 1  (9 for C = 10)
 */
import { softmaxLoss } from '../layers/softmax_loss.js';
import { svmLoss } from '../layers/svm_loss.js';
import type { LossKind, ModelSpec } from './model.js';

/** The spec's loss, softmax when the spec has none (config/derive.ts leaves it out for softmax). */
export function lossOf(spec: Pick<ModelSpec, 'loss'>): LossKind {
  return spec.loss ?? 'softmax';
}

/** The layer that computes the spec's data loss and dscores. */
export function dataLossOf(spec: Pick<ModelSpec, 'loss'>): typeof softmaxLoss {
  return lossOf(spec) === 'svm' ? svmLoss : softmaxLoss;
}

/** The initial loss with small weights and reg 0, and how it is written. */
export function expectedInitialLoss(loss: LossKind, numClasses: number): { value: number; formula: string } {
  return loss === 'svm' ? { value: numClasses - 1, formula: `C − 1 = ${numClasses - 1}` } : { value: Math.log(numClasses), formula: `−ln(1/${numClasses}) = ${Math.log(numClasses).toFixed(4)}` };
}
