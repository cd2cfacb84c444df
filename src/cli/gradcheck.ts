/**
 * `train gradcheck`: compare a model's analytic gradients with centered differences in float64,
 * printed as cs231n's grad_check_sparse does, then the max relative error per parameter.
 * The problem is small and random, or (--dev) the dev rows of the real data, preprocessed as
 * training does. --loss svm checks the multiclass SVM's hinge instead of the softmax. --compare-naive
 * also runs cs231n's looped softmax (or SVM) loss beside the vectorized
 * one and prints both losses, the gradient difference and both timings.
 * Returns the exit code: 0 when every judged error is below the threshold (and some coordinate
 * is large enough to resolve it), 4 otherwise. The verdict is cs231n's rel_error with
 * its floor raised to what the centred difference can resolve (linalg/gradcheck.ts judgedError),
 * so a correct gradient is not failed for round-off at coordinates whose gradient is tiny.
 */
import { ConfigError, DEFAULTS, KEY_BY_NAME, checkValue, configKey, resolveConfig } from '../config/config.js';
import { type Values, keyKinds } from '../config/keys.js';
import { softmaxLossNaive, softmaxLossVectorized } from '../layers/softmax_naive.js';
import { svmLossNaive, svmLossVectorized } from '../layers/svm_naive.js';
import type { Mat } from '../linalg/mat.js';
import { loadRunData } from '../train/run.js';
import { NOISE_FACTOR, REL_ERROR_FLOOR, gradCheckSparse, isResolved, judgedError } from '../linalg/gradcheck.js';
import type { Model } from '../models/model.js';
import { Rng } from '../linalg/rng.js';
import { createModel } from '../models/index.js';
import type { ModelSpec } from '../models/model.js';
import { specKindOf } from '../config/derive.js';
import { writeLines } from './output.js';

/** Problem size: small enough to be instant, big enough that every path is exercised. */
const N = 10; // examples
const D = 15; // input features (+1 bias column for the linear model)
const C = 10; // classes
const H = 1e-5; // centered-difference step on unit-scale inputs, as cs231n uses
const INIT_STD = 0.1; // weights of the random problem
const INIT_STD_DEV = 1e-4; // weights on the dev rows, as cs231n

const { str, bool, num, int } = keyKinds();

/**
 * gradcheck's options: `train gradcheck --help` and the checks of what is typed come from here.
 * model, dataset, data-dir and num-dev are the config keys of that name (--dev builds a config from them).
 */
export const GRADCHECK_OPTIONS = {
  model: { ...configKey('model', 'model to check'), default: DEFAULTS.model },
  loss: {
    ...configKey('loss', 'data loss of the model: softmax, or svm (the hinge, whose kinks a sampled coordinate may sit near: the verdict then only asks agreement within δ)'),
    default: DEFAULTS.loss,
  },
  normalization: {
    ...configKey('normalization', 'MLP: none, batchnorm or layernorm after each hidden affine layer (checked in train mode; the running statistics are skipped: they have no gradient)'),
    default: DEFAULTS.normalization,
  },
  dropoutKeep: {
    ...configKey('dropoutKeep', "MLP: dropout keep probability after each hidden ReLU (1: none); the mask is fixed by --seed, as cs231n's dropout_param seed, so every loss call draws the same one"),
    default: DEFAULTS.dropoutKeep,
  },
  /** Checked as the config's hidden, with --model mlp only. */
  hidden: str({ default: '7', doc: 'MLP hidden sizes, comma-separated' }),
  reg: num({ default: 0.1, min: 0, doc: 'L2 strength (reg·ΣW²)' }),
  numChecks: int({ default: 10, min: 1, doc: 'sampled coordinates per parameter' }),
  threshold: num({ default: 1e-7, min: 0, exclusiveMin: true, doc: 'fail (exit 4) above this max relative error' }),
  seed: int({ default: 0, min: 0, doc: 'random seed' }),
  /** Use the dev rows of the real data instead of a random problem. */
  dev: bool({
    doc:
      'check on the dev rows of the real data (preprocessed as training does) instead of a random problem; as in cs231n, meant for softmax ' +
      '(an MLP on real rows has ReLU kinks within a nudge of the step, which the check then reports as unresolved)',
  }),
  dataset: { ...configKey('dataset', 'dataset for --dev'), default: DEFAULTS.dataset },
  dataDir: configKey('dataDir', 'dataset location for --dev'),
  numDev: { ...configKey('numDev', 'dev rows for --dev'), default: DEFAULTS.numDev },
  initStd: num({ min: 0, exclusiveMin: true, defaultText: `${INIT_STD}; ${INIT_STD_DEV.toExponential()} with --dev`, doc: 'weights start as init-std·N(0,1)' }),
  step: num({ min: 0, exclusiveMin: true, defaultText: `${H.toExponential()}, or ${H.toExponential()}/max|x| when inputs exceed 1 (raw pixels)`, doc: 'centered-difference step h' }),
  compareNaive: bool({ doc: 'also run the looped softmax (or --loss svm: SVM) loss beside the vectorized one: both losses, the gradient difference, both timings' }),
};

/** gradcheck's arguments, each within the range its option allows (cli/options.ts flagValues checks them). */
export type GradcheckArgs = Values<typeof GRADCHECK_OPTIONS>;

export async function gradcheckCommand(args: GradcheckArgs, write: (s: string) => void = (s) => writeLines(process.stdout, s)): Promise<number> {
  if (args.model === 'knn') throw new ConfigError('gradcheck: a knn model has no parameters and no gradient; check --model linear or mlp');
  const hidden = args.model === 'mlp' ? (checkValue(KEY_BY_NAME.get('hidden')!, args.hidden, 'gradcheck') as number[]) : [];
  if (args.model !== 'mlp' && (args.normalization !== 'none' || args.dropoutKeep !== 1))
    throw new ConfigError(`gradcheck: --normalization and --dropout-keep are layers of the MLP's hidden layers; use them with --model mlp (got --model ${args.model})`);
  if (args.compareNaive && args.model !== 'linear')
    throw new ConfigError("gradcheck: --compare-naive compares the softmax loss (with --loss svm, the SVM's) of the linear model; use it with --model linear");
  const initStd = args.initStd ?? (args.dev ? INIT_STD_DEV : INIT_STD);

  const rng = new Rng(args.seed);
  let X: Mat<Float64Array>;
  let y: Int32Array;
  let numClasses = C;
  let where: string;
  if (args.dev) {
    // The dev rows exactly as training prepares them (mean image subtracted, bias column for the linear model), in float64.
    const cfg = resolveConfig({ dataset: args.dataset, model: args.model, ...(args.dataDir ? { dataDir: args.dataDir } : {}), numDev: args.numDev, seed: args.seed }, {});
    const { data, source } = await loadRunData(cfg);
    X = { rows: data.dev.n, cols: data.dim, data: Float64Array.from(data.dev.X.data) };
    y = data.dev.y;
    numClasses = data.classes.length;
    where = `${data.dev.n} dev rows of ${cfg.dataset} (${source})`;
  } else {
    const inputDim = args.model === 'linear' ? D + 1 : D;
    X = { rows: N, cols: inputDim, data: new Float64Array(N * inputDim) };
    rng.fillNormal(X.data);
    if (args.model === 'linear') for (let i = 0; i < N; i++) X.data[i * inputDim + D] = 1; // bias trick
    y = Int32Array.from({ length: N }, () => rng.int(C));
    where = 'a random problem';
  }
  // The centered difference's truncation error grows with the change a nudge makes to the scores,
  // h·|x|. Raw CIFAR pixels reach ±150, so a fixed h = 1e-5 moves scores by 1e-3 and leaves errors
  // near 1e-7 from truncation alone; the step is scaled so no score moves by more than 1e-5.
  let maxAbs = 0;
  for (const v of X.data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const h = args.step ?? (maxAbs > 1 ? H / maxAbs : H);
  const inputDim = X.cols;
  const spec: ModelSpec = {
    kind: specKindOf(args.model),
    inputDim,
    hidden,
    numClasses,
    ...(args.loss === 'softmax' ? {} : { loss: args.loss }),
    ...(args.normalization === 'none' ? {} : { normalization: args.normalization }),
    ...(args.dropoutKeep === 1 ? {} : { dropoutKeep: args.dropoutKeep }),
  };
  // A dropout mask fixed by the seed: the loss is then one function of the parameters.
  const model = createModel(spec, { initStd, reg: args.reg, dtype: Float64Array, dropoutSeed: args.seed }, rng);
  const layers = `${spec.normalization ? `, ${spec.normalization}` : ''}${spec.dropoutKeep !== undefined ? `, dropout keep ${spec.dropoutKeep} (mask fixed by seed ${args.seed})` : ''}`;

  write(
    `gradcheck: ${args.model}${args.loss === 'softmax' ? '' : ` (loss ${args.loss})`}${hidden.length ? ` hidden ${hidden.join(',')}` : ''}${layers} on ${where}: X (${X.rows},${inputDim}), ${numClasses} classes, W = ${initStd}·randn, reg ${args.reg}, float64, h ${Number(h.toPrecision(3))}${args.step === undefined && h !== H ? ` (1e-5 / max|x| = ${Number(maxAbs.toPrecision(4))})` : ''}`,
  );
  if (args.compareNaive) compareNaive(model.params.views.W, X, y, args.reg, args.loss, write);
  return checkModel(model, X, y, { numChecks: args.numChecks, threshold: args.threshold, h }, rng, write);
}

/**
 * Check `model.loss`'s gradients at numChecks random coordinates of every parameter, print the
 * cs231n lines and the verdict; 0 when it passes, 4 when it does not.
 */
export function checkModel(model: Model<Float64Array>, X: Mat<Float64Array>, y: Int32Array, opts: { numChecks: number; threshold: number; h: number }, rng: Rng, write: (s: string) => void): number {
  const { threshold, h } = opts;
  const { grads } = model.loss(X, y);
  const worst: { name: string; raw: number; judged: number; resolved: number; checked: number; finest: number }[] = [];
  for (const p of model.params.specs) {
    if (p.stat) continue; // a running statistic: no gradient (train mode does not read it)
    const x = model.params.views[p.name].data;
    const analytic = grads.views[p.name].data;
    const f = () => model.loss(X, y).loss;
    write(`${p.name} (${p.rows},${p.cols}):`);
    const res = gradCheckSparse(f, x, analytic, Math.min(opts.numChecks, x.length), h, rng);
    let judged = 0;
    let resolved = 0;
    let finest = Infinity;
    for (const r of res.rows) {
      const e = judgedError(r, threshold);
      judged = Number.isNaN(e) || Number.isNaN(judged) ? NaN : Math.max(judged, e);
      const ok = isResolved(r, threshold);
      if (ok) resolved++;
      // The smallest relative error the centred difference could show here.
      finest = Math.min(finest, r.noise / Math.max(Math.abs(r.analytic) + Math.abs(r.numeric), REL_ERROR_FLOOR));
      const note = ok ? '' : `  (|grad| below δ/threshold, δ ${r.noise.toExponential(1)}: judged ${e.toExponential(2)})`;
      write(`  numerical: ${r.numeric.toFixed(6)} analytic: ${r.analytic.toFixed(6)}, relative error: ${r.relError.toExponential(6)}${note}`);
    }
    worst.push({ name: p.name, raw: res.maxRelError, judged, resolved, checked: res.rows.length, finest });
  }
  write(
    `verdict: cs231n's rel_error |a − n| / max(|a| + |n|, 1e-8), with the floor raised to δ/threshold, where δ (${NOISE_FACTOR} × the spread of n over steps h/2, h, 2h, ` +
      "plus f's round-off) is the error of the centred difference n itself: a coordinate whose |a| + |n| is below δ/threshold only has to agree within δ. " +
      'The check passes when no coordinate is above the threshold; a threshold finer than the centred difference resolves at every coordinate cannot be passed.',
  );
  write(`max judged relative error per parameter (threshold ${threshold.toExponential(0)}):`);
  let ok = true;
  for (const w of worst) {
    const pass = w.judged < threshold;
    ok &&= pass;
    write(`  ${w.name.padEnd(4)} ${w.judged.toExponential(2)}  ${pass ? 'ok' : 'FAIL'}`);
  }
  for (const w of worst) {
    if (w.resolved === 0)
      write(`${w.name}: no coordinate of ${w.checked} is large enough to resolve ${threshold.toExponential(0)} (finest here ${w.finest.toExponential(1)}), so it was only asked to agree within δ`);
  }
  const anyResolved = worst.some((w) => w.resolved > 0);
  if (!anyResolved) {
    const finest = Math.min(...worst.map((w) => w.finest));
    write(
      `no coordinate is large enough to resolve a relative error of ${threshold.toExponential(0)}: the finest the centred difference resolves here is ${finest.toExponential(1)}; raise --threshold`,
    );
    ok = false;
  }
  write(
    `cs231n rel_error (floor 1e-8) per parameter: ${worst.map((w) => `${w.name} ${w.raw.toExponential(2)}`).join(', ')}; coordinates resolved: ${worst.map((w) => `${w.name} ${w.resolved}/${w.checked}`).join(', ')}`,
  );
  write(ok ? 'gradient check passed' : anyResolved ? 'gradient check FAILED: analytic and numerical gradients disagree' : 'gradient check FAILED: the threshold is finer than this check can resolve');
  return ok ? 0 : 4;
}

/** cs231n's comparison: the looped loss and the vectorized one (softmax or SVM), their difference and their times. */
function compareNaive(W: Mat<Float64Array>, X: Mat<Float64Array>, y: Int32Array, reg: number, loss: GradcheckArgs['loss'], write: (s: string) => void): void {
  const time = <R>(f: () => R): [R, number] => {
    const t = performance.now();
    const r = f();
    return [r, (performance.now() - t) / 1000];
  };
  const [naiveLoss, vectorizedLoss] = loss === 'svm' ? [svmLossNaive, svmLossVectorized] : [softmaxLossNaive, softmaxLossVectorized];
  const [naive, tNaive] = time(() => naiveLoss(W, X, y, reg));
  const [vec, tVec] = time(() => vectorizedLoss(W, X, y, reg));
  let diff = 0;
  for (let i = 0; i < naive.dW.data.length; i++) diff += (naive.dW.data[i] - vec.dW.data[i]) ** 2;
  write(`naive loss: ${naive.loss.toExponential(6)} computed in ${tNaive.toFixed(6)}s`);
  write(`vectorized loss: ${vec.loss.toExponential(6)} computed in ${tVec.toFixed(6)}s`);
  write(`Loss difference: ${Math.abs(naive.loss - vec.loss).toExponential(6)}`);
  write(`Gradient difference: ${Math.sqrt(diff).toExponential(6)} (Frobenius norm)`);
}
