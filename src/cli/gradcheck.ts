/**
 * `train gradcheck`: compare a model's analytic gradients with centered differences in float64,
 * printed as cs231n's grad_check_sparse does, then the max relative error per parameter.
 * The problem is small and random, or (--dev) the dev rows of the real data, preprocessed as
 * training does. --compare-naive also runs cs231n's looped softmax loss beside the vectorized
 * one and prints both losses, the gradient difference and both timings.
 * Returns the exit code: 0 when every error is below the threshold, 4 otherwise.
 */
import { ConfigError, checkValue, KEYS, resolveConfig, type DatasetName } from '../config/config.js';
import { softmaxLossNaive, softmaxLossVectorized } from '../layers/softmax_naive.js';
import type { Mat } from '../linalg/mat.js';
import { loadRunData } from '../train/run.js';
import { gradCheckSparse } from '../linalg/gradcheck.js';
import { Rng } from '../linalg/rng.js';
import { createModel } from '../models/index.js';
import type { ModelSpec } from '../models/model.js';

export interface GradcheckArgs {
  model: 'softmax' | 'mlp';
  hidden: string;
  reg: number;
  numChecks: number;
  threshold: number;
  seed: number;
  /** Use the dev rows of the real data instead of a random problem. */
  dev?: boolean;
  dataset?: DatasetName;
  dataDir?: string;
  numDev?: number;
  /** Weights start as initStd·N(0,1); default 0.1 (random problem) or 1e-4 (--dev, as cs231n). */
  initStd?: number;
  compareNaive?: boolean;
  /** Centered-difference step; default 1e-5, divided by max|x| when inputs exceed 1. */
  h?: number;
}

/** Problem size: small enough to be instant, big enough that every path is exercised. */
const N = 10; // examples
const D = 15; // input features (+1 bias column for softmax)
const C = 10; // classes
const H = 1e-5; // centered-difference step on unit-scale inputs, as cs231n uses

export async function gradcheckCommand(args: GradcheckArgs, write: (s: string) => void = (s) => process.stdout.write(s + '\n')): Promise<number> {
  const hiddenDef = KEYS.find((k) => k.key === 'hidden')!;
  const hidden = args.model === 'mlp' ? (checkValue(hiddenDef, args.hidden, 'gradcheck') as number[]) : [];
  if (!(args.reg >= 0) || !Number.isFinite(args.reg)) throw new ConfigError(`gradcheck: reg = ${args.reg} is not allowed: expected a number ≥ 0`);
  if (!Number.isInteger(args.numChecks) || args.numChecks < 1) throw new ConfigError(`gradcheck: num-checks = ${args.numChecks} is not allowed: expected an integer ≥ 1`);
  if (!(args.threshold > 0)) throw new ConfigError(`gradcheck: threshold = ${args.threshold} is not allowed: expected a number > 0`);
  if (args.compareNaive && args.model !== 'softmax') throw new ConfigError('gradcheck: --compare-naive compares the softmax loss; use it with --model softmax');
  if (args.numDev !== undefined && (!Number.isInteger(args.numDev) || args.numDev < 1)) throw new ConfigError(`gradcheck: num-dev = ${args.numDev} is not allowed: expected an integer ≥ 1`);
  const initStd = args.initStd ?? (args.dev ? 1e-4 : 0.1);
  if (!(initStd > 0) || !Number.isFinite(initStd)) throw new ConfigError(`gradcheck: init-std = ${initStd} is not allowed: expected a number > 0`);

  const rng = new Rng(args.seed);
  let X: Mat<Float64Array>;
  let y: Int32Array;
  let numClasses = C;
  let where: string;
  if (args.dev) {
    // The dev rows exactly as training prepares them (mean image subtracted, bias column for softmax), in float64.
    const cfg = resolveConfig({ dataset: args.dataset ?? 'mnist', model: args.model, ...(args.dataDir ? { dataDir: args.dataDir } : {}), ...(args.numDev ? { numDev: args.numDev } : {}), seed: args.seed }, {});
    const { data, source } = await loadRunData(cfg);
    X = { rows: data.dev.n, cols: data.dim, data: Float64Array.from(data.dev.X.data) };
    y = data.dev.y;
    numClasses = data.classes.length;
    where = `${data.dev.n} dev rows of ${cfg.dataset} (${source})`;
  } else {
    const inputDim = args.model === 'softmax' ? D + 1 : D;
    X = { rows: N, cols: inputDim, data: new Float64Array(N * inputDim) };
    rng.fillNormal(X.data);
    if (args.model === 'softmax') for (let i = 0; i < N; i++) X.data[i * inputDim + D] = 1; // bias trick
    y = Int32Array.from({ length: N }, () => rng.int(C));
    where = 'a random problem';
  }
  // The centered difference's truncation error grows with the change a nudge makes to the scores,
  // h·|x|. Raw CIFAR pixels reach ±150, so a fixed h = 1e-5 moves scores by 1e-3 and leaves errors
  // near 1e-7 from truncation alone; the step is scaled so no score moves by more than 1e-5.
  let maxAbs = 0;
  for (const v of X.data) maxAbs = Math.max(maxAbs, Math.abs(v));
  const h = args.h ?? (maxAbs > 1 ? H / maxAbs : H);
  if (!(h > 0) || !Number.isFinite(h)) throw new ConfigError(`gradcheck: h = ${h} is not allowed: expected a number > 0`);
  const inputDim = X.cols;
  const spec: ModelSpec = { kind: args.model, inputDim, hidden, numClasses };
  const model = createModel(spec, { initStd, reg: args.reg, dtype: Float64Array }, rng);

  write(`gradcheck: ${args.model}${hidden.length ? ` hidden ${hidden.join(',')}` : ''} on ${where}: X (${X.rows},${inputDim}), ${numClasses} classes, W = ${initStd}·randn, reg ${args.reg}, float64, h ${Number(h.toPrecision(3))}${args.h === undefined && h !== H ? ` (1e-5 / max|x| = ${Number(maxAbs.toPrecision(4))})` : ''}`);
  if (args.compareNaive) compareNaive(model.params.views.W, X, y, args.reg, write);
  const { grads } = model.loss(X, y);
  const worst: [string, number][] = [];
  for (const p of model.params.specs) {
    const x = model.params.views[p.name].data;
    const analytic = grads.views[p.name].data;
    const f = () => model.loss(X, y).loss;
    write(`${p.name} (${p.rows},${p.cols}):`);
    const res = gradCheckSparse(f, x, analytic, Math.min(args.numChecks, x.length), h, rng);
    for (const r of res.rows) {
      write(`  numerical: ${r.numeric.toFixed(6)} analytic: ${r.analytic.toFixed(6)}, relative error: ${r.relError.toExponential(6)}`);
    }
    worst.push([p.name, res.maxRelError]);
  }
  write(`max relative error per parameter (threshold ${args.threshold.toExponential(0)}):`);
  let ok = true;
  for (const [name, e] of worst) {
    const pass = e < args.threshold;
    ok &&= pass;
    write(`  ${name.padEnd(4)} ${e.toExponential(2)}  ${pass ? 'ok' : 'FAIL'}`);
  }
  write(ok ? 'gradient check passed' : 'gradient check FAILED: analytic and numerical gradients disagree');
  return ok ? 0 : 4;
}

/** cs231n's comparison: the looped loss and the vectorized one, their difference and their times. */
function compareNaive(W: Mat<Float64Array>, X: Mat<Float64Array>, y: Int32Array, reg: number, write: (s: string) => void): void {
  const time = <R>(f: () => R): [R, number] => {
    const t = performance.now();
    const r = f();
    return [r, (performance.now() - t) / 1000];
  };
  const [naive, tNaive] = time(() => softmaxLossNaive(W, X, y, reg));
  const [vec, tVec] = time(() => softmaxLossVectorized(W, X, y, reg));
  let diff = 0;
  for (let i = 0; i < naive.dW.data.length; i++) diff += (naive.dW.data[i] - vec.dW.data[i]) ** 2;
  write(`naive loss: ${naive.loss.toExponential(6)} computed in ${tNaive.toFixed(6)}s`);
  write(`vectorized loss: ${vec.loss.toExponential(6)} computed in ${tVec.toFixed(6)}s`);
  write(`Loss difference: ${Math.abs(naive.loss - vec.loss).toExponential(6)}`);
  write(`Gradient difference: ${Math.sqrt(diff).toExponential(6)} (Frobenius norm)`);
}
