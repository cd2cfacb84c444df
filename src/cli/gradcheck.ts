/**
 * `train gradcheck`: compare a model's analytic gradients with centered differences in float64,
 * printed as cs231n's grad_check_sparse does, then the max relative error per parameter.
 * Returns the exit code: 0 when every error is below the threshold, 4 otherwise.
 */
import { ConfigError, checkValue, KEYS } from '../config/config.js';
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
}

/** Problem size: small enough to be instant, big enough that every path is exercised. */
const N = 10; // examples
const D = 15; // input features (+1 bias column for softmax)
const C = 10; // classes
const H = 1e-5; // centered-difference step

export function gradcheckCommand(args: GradcheckArgs, write: (s: string) => void = (s) => process.stdout.write(s + '\n')): number {
  const hiddenDef = KEYS.find((k) => k.key === 'hidden')!;
  const hidden = args.model === 'mlp' ? (checkValue(hiddenDef, args.hidden, 'gradcheck') as number[]) : [];
  if (!(args.reg >= 0) || !Number.isFinite(args.reg)) throw new ConfigError(`gradcheck: reg = ${args.reg} is not allowed: expected a number ≥ 0`);
  if (!Number.isInteger(args.numChecks) || args.numChecks < 1) throw new ConfigError(`gradcheck: num-checks = ${args.numChecks} is not allowed: expected an integer ≥ 1`);
  if (!(args.threshold > 0)) throw new ConfigError(`gradcheck: threshold = ${args.threshold} is not allowed: expected a number > 0`);

  const rng = new Rng(args.seed);
  const inputDim = args.model === 'softmax' ? D + 1 : D;
  const X = { rows: N, cols: inputDim, data: new Float64Array(N * inputDim) };
  rng.fillNormal(X.data);
  if (args.model === 'softmax') for (let i = 0; i < N; i++) X.data[i * inputDim + D] = 1; // bias trick
  const y = Int32Array.from({ length: N }, () => rng.int(C));
  const spec: ModelSpec = { kind: args.model, inputDim, hidden, numClasses: C };
  const model = createModel(spec, { initStd: 0.1, reg: args.reg, dtype: Float64Array }, rng);

  write(`gradcheck: ${args.model}${hidden.length ? ` hidden ${hidden.join(',')}` : ''}, X (${N},${inputDim}), ${C} classes, reg ${args.reg}, float64, h ${H}`);
  const { grads } = model.loss(X, y);
  const worst: [string, number][] = [];
  for (const p of model.params.specs) {
    const x = model.params.views[p.name].data;
    const analytic = grads.views[p.name].data;
    const f = () => model.loss(X, y).loss;
    write(`${p.name} (${p.rows},${p.cols}):`);
    const res = gradCheckSparse(f, x, analytic, Math.min(args.numChecks, x.length), H, rng);
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
