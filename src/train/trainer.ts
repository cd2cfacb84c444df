/**
 * The training loop (cs231n Solver style). It reports through listeners and prints nothing:
 * the console, the progress bar, the run folder and the log file subscribe to its events.
 *
 * Each iteration: draw a minibatch, loss and gradients from the model, one step of the update
 * rule (optim/rules.ts: sgd, sgd_momentum, rmsprop, adam) over the trainable parameters. After each
 * epoch: decay the learning rate, measure train accuracy (on fixed training rows) and val
 * accuracy, and keep a copy of the parameters with the best val accuracy. At the end the best
 * parameters are swapped into the model, as the Solver does.
 */
import { type Allocator, PLAIN } from '../linalg/alloc.js';
import type { Mat } from '../linalg/mat.js';
import { createWorkspace } from '../models/buffers.js';
import type { Rng } from '../linalg/rng.js';
import type { Model } from '../models/model.js';
import { expectedInitialLoss, lossOf } from '../models/loss.js';
import type { Sampling } from '../config/config.js';
import { lrAtEpoch } from '../optim/schedule.js';
import { type RuleHyper, type UpdateRule, createOptimizer } from '../optim/rules.js';
import type { TrainerState } from '../runs/checkpoint.js';
import { Batcher } from './batch.js';
import { accuracy, type LabeledRows } from '../models/evaluate.js';

export interface TrainOptions {
  lr: number;
  lrDecay: number;
  /** The update rule and every hyperparameter it takes besides lr, as the config resolved them (config/config.ts updateRuleOf). */
  updateRule: UpdateRule;
  hyper: RuleHyper;
  batchSize: number;
  /** Total SGD steps. */
  iterations: number;
  /** Steps between end-of-epoch evaluations and learning-rate decays. */
  iterationsPerEpoch: number;
  sampling: Sampling;
  /** The memory of the workspace and the minibatch: the engine's (engine.alloc); plain arrays by default. */
  alloc?: Allocator;
}

export interface IterationEvent {
  it: number; // 1-based count of steps done
  epoch: number; // 0-based epoch this step belongs to
  loss: number;
  lr: number;
}

export interface EpochEvent {
  epoch: number; // 1-based count of epochs done (fractional last epoch counts as one)
  it: number;
  trainAcc: number;
  valAcc: number;
  /** Learning rate for the next epoch. */
  lr: number;
  /** Val accuracy improved on every earlier epoch: these are the new best parameters. */
  best: boolean;
  seconds: number;
}

/**
 * A snapshot to resume from: the state (with the update rule and its step count, state.optimizer),
 * the best parameters so far, the optimizer's state blocks (optim/rules.ts RULE_BLOCKS, one value
 * per trainable parameter), the losses so far.
 */
export interface ResumePoint {
  state: TrainerState;
  best: Float32Array;
  optimizer: Record<string, Float32Array>;
  lossHistory: ArrayLike<number>;
}

export interface TrainListener {
  onIteration?(e: IterationEvent): void;
  /**
   * `snapshot` captures the loop's state to carry on from, for a resumable checkpoint: the state
   * right now, except after a fractional last epoch, whose evaluation it leaves out (a longer run
   * has none there).
   */
  onEpoch?(e: EpochEvent, model: Model<Float32Array>, snapshot: () => Omit<ResumePoint, 'lossHistory'>): void;
  /** Asked after every step; true stops the loop with an InterruptedError carrying a snapshot. */
  shouldStop?(): boolean;
}

/** Stopped on request (Ctrl-C) after a whole step; `point` resumes it. */
export class InterruptedError extends Error {
  /** The run folder, filled in by the runner. */
  dir?: string;
  constructor(readonly point: Omit<ResumePoint, 'lossHistory'>) {
    super(`interrupted after step ${point.state.it}`);
  }
}

export interface TrainResult {
  lossHistory: Float64Array;
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestEpoch: number;
  /** Train and val accuracy of the last parameters (before the best were swapped in). */
  finalTrainAcc: number;
  finalValAcc: number;
  iterations: number;
  seconds: number;
}

/** Stopped because the loss became NaN or infinite. */
export class DivergedError extends Error {
  constructor(
    readonly it: number,
    readonly loss: number,
    readonly lr: number,
  ) {
    super(
      `the loss became ${loss} at iteration ${it} (lr ${lr.toExponential(2)}). ` +
        'Training diverged: lower --lr (try 10× smaller) or check --reg and --init-std.',
    );
  }
}

/**
 * Train `model` in place. `trainAcc` is the fixed subsample of training rows that train accuracy
 * is measured on. Throws DivergedError on a NaN/Inf loss (after the listener has seen every
 * finished epoch, so the best checkpoint is already on disk).
 */
export async function train(
  model: Model<Float32Array>,
  data: { train: LabeledRows; val: LabeledRows; trainAcc: LabeledRows },
  opts: TrainOptions,
  rng: Rng,
  listener: TrainListener = {},
  resume?: ResumePoint,
): Promise<TrainResult> {
  const t0 = performance.now();
  const params = model.params.flat;
  const best = params.slice();
  const alloc = opts.alloc ?? PLAIN;
  const batcher = new Batcher(data.train, opts.batchSize, opts.sampling, alloc);
  // Each step uses its scores and grads at once, so one workspace serves every step (and the evaluations).
  const ws = createWorkspace(model.params, alloc);
  // The optimizer steps the trainable parameters only: the gradient's length, a prefix of the
  // buffer (running statistics, which have no gradient, come after every trainable parameter).
  const trainable = ws.grads.flat.length;
  const stepped = trainable === params.length ? params : params.subarray(0, trainable);
  const rule = opts.updateRule;
  const opt = createOptimizer(rule, trainable, opts.hyper, Float32Array, alloc);
  const lossHistory = new Float64Array(opts.iterations);
  let trainAccHistory: number[] = [];
  let valAccHistory: number[] = [];
  let bestValAcc = -1;
  let bestEpoch = 0;
  let epoch = 0;
  let lr = opts.lr;
  let start = 0;
  if (resume) {
    // Carry on exactly where the snapshot was taken: same random stream, same batch order.
    const st = resume.state;
    ({ it: start, epoch, lr, bestValAcc, bestEpoch } = st);
    trainAccHistory = [...st.trainAccHistory];
    valAccHistory = [...st.valAccHistory];
    rng.setState(st.rng);
    batcher.setState(st.batcher);
    best.set(resume.best);
    // Throws if the saved state is not the one this rule keeps (run.ts refuses such a checkpoint first, in words).
    const saved = st.optimizer ?? { rule, t: start }; // (train/run.ts records the rule of a checkpoint from before the rules)
    if (saved.rule !== rule) throw new Error(`the checkpoint's optimizer state is of update rule ${saved.rule}, this run's rule is ${rule}`);
    opt.restore(resume.optimizer, saved.t);
    lossHistory.set(Array.from(resume.lossHistory).slice(0, start));
  }
  const snapshot = (it: number) => (): Omit<ResumePoint, 'lossHistory'> => ({
    state: {
      it, epoch, lr, bestValAcc, bestEpoch, trainAccHistory: [...trainAccHistory], valAccHistory: [...valAccHistory], rng: rng.getState(), batcher: batcher.getState(),
      optimizer: { rule, t: opt.t },
    },
    best: best.slice(),
    optimizer: Object.fromEntries(Object.entries(opt.blocks()).map(([k, v]) => [k, Float32Array.from(v)])),
  });

  // After each whole epoch, and once at the end of a fractional last epoch: measure, keep the best, report.
  const evaluate = (done: number, it: number, point: () => Omit<ResumePoint, 'lossHistory'>) => {
    const trainAcc = accuracy(model, data.trainAcc, ws);
    const valAcc = accuracy(model, data.val, ws);
    trainAccHistory.push(trainAcc);
    valAccHistory.push(valAcc);
    const isBest = valAcc > bestValAcc;
    if (isBest) {
      bestValAcc = valAcc;
      bestEpoch = done;
      best.set(params);
    }
    listener.onEpoch?.({ epoch: done, it, trainAcc, valAcc, lr, best: isBest, seconds: (performance.now() - t0) / 1000 }, model, point);
  };

  // The loop hands the event loop a turn every 50 ms, so a Ctrl-C handler can run and ask it to stop.
  let lastYield = performance.now();
  for (let it = start; it < opts.iterations; it++) {
    if (listener.shouldStop && performance.now() - lastYield > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    batcher.next(rng);
    const { loss, grads } = model.loss(batcher.X as Mat<Float32Array>, batcher.y, ws);
    if (!Number.isFinite(loss)) throw new DivergedError(it + 1, loss, lr);
    opt.step(stepped, grads.flat, lr);
    lossHistory[it] = loss;
    listener.onIteration?.({ it: it + 1, epoch, loss, lr });
    if ((it + 1) % opts.iterationsPerEpoch === 0) {
      epoch++;
      lr = lrAtEpoch(opts.lr, opts.lrDecay, epoch);
      evaluate(epoch, it + 1, snapshot(it + 1));
    }
    if (it + 1 < opts.iterations && listener.shouldStop?.()) throw new InterruptedError(snapshot(it + 1)());
  }
  // A fractional last epoch is evaluated once more at the end (also when a resume starts there).
  // A longer run would not evaluate at this step, so the state to carry on from is the one before
  // the evaluation: a resume with a larger budget then goes on exactly as that run does.
  if (opts.iterations % opts.iterationsPerEpoch !== 0) {
    const before = snapshot(opts.iterations)();
    evaluate(epoch + 1, opts.iterations, () => before);
  }
  const finalTrainAcc = trainAccHistory.at(-1) ?? NaN;
  const finalValAcc = valAccHistory.at(-1) ?? NaN;
  params.set(best);
  return {
    lossHistory,
    trainAccHistory,
    valAccHistory,
    bestValAcc,
    bestEpoch,
    finalTrainAcc,
    finalValAcc,
    iterations: opts.iterations,
    seconds: (performance.now() - t0) / 1000,
  };
}

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
