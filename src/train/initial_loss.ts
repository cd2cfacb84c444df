/**
 * The cs231n sanity check of the initial loss: with small weights and reg 0 the loss is near
 * ln C for the softmax and C − 1 for the SVM. A run logs the check and warns when it is far off.
 */
import type { Model } from '../models/model.js';
import { expectedInitialLoss, lossOf } from '../models/loss.js';
import type { LabeledRows } from '../models/evaluate.js';
import type { Logger } from 'pino';
import type { Notes } from './recorder.js';

/**
 * Loss at initialization with reg 0 against what small weights give, the cs231n sanity check:
 * −ln(1/C) = ln C for the softmax, C − 1 for the SVM (models/loss.ts). `formula` says which.
 */
export function initialLossCheck(model: Model<Float32Array>, rows: LabeledRows, numClasses: number) {
  const reg = model.reg;
  model.reg = 0;
  // The train-mode loss would move batch norm's running statistics and the run's Rng (dropout
  // masks): both are put back, so the check leaves the run as it found it.
  const restore = model.saveTrainState?.();
  try {
    const { loss } = model.loss(rows.X, rows.y);
    const { value: expected, formula } = expectedInitialLoss(lossOf(model.spec), numClasses);
    const relDiff = Math.abs(loss - expected) / expected;
    // The spread of the initial scores says why a loss is off: ln C needs scores near 0.
    const scores = model.loss(rows.X).data;
    let sum = 0;
    let sq = 0;
    for (const v of scores) {
      sum += v;
      sq += v * v;
    }
    const scoreStd = Math.sqrt(Math.max(0, sq / scores.length - (sum / scores.length) ** 2));
    return { loss, expected, formula, relDiff, scoreStd, ok: relDiff <= 0.1 };
  } finally {
    restore?.();
    model.reg = reg;
  }
}

/**
 * The check on a run's dev rows, in the log and to the person, with a warning and what to do
 * when the loss is far off. The SVM's line also gives the softmax's figure, as svm.ipynb sets the
 * two side by side.
 */
export function checkInitialLoss(model: Model<Float32Array>, dev: LabeledRows & { n: number }, out: { log: Logger; ui: Notes }): ReturnType<typeof initialLossCheck> {
  const C = model.spec.numClasses;
  const loss = lossOf(model.spec);
  const check = initialLossCheck(model, dev, C);
  const softmaxWould = loss === 'svm' ? `; a softmax would start at ${expectedInitialLoss('softmax', C).formula}` : '';
  const checkLine = `initial loss ${check.loss.toFixed(4)} with reg 0 on ${dev.n} dev rows; expected ${check.formula}${loss === 'svm' ? ' for the SVM' : ''} (${(100 * check.relDiff).toFixed(1)}% off)${softmaxWould}`;
  out.log.info({ initialLoss: check.loss, expected: check.expected, loss, relDiff: check.relDiff, scoreStd: check.scoreStd }, 'initial loss check');
  out.ui.info(checkLine);
  if (!check.ok) {
    const w =
      `the initial loss is ${(100 * check.relDiff).toFixed(0)}% away from ${loss === 'svm' ? `C − 1 = ${C - 1}` : `ln(${C})`}: the initial scores have std ${check.scoreStd.toPrecision(2)}, ` +
      "not near 0, so the weights start large for this data (cs231n's 0.001 on raw pixels does this; the run can still train). Lower --init-std, or check the preprocessing.";
    out.log.warn({ scoreStd: check.scoreStd }, w);
    out.ui.warn(w);
  }
  return check;
}
