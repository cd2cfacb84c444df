/**
 * The training loop (cs231n Solver style). It reports through listeners and prints nothing:
 * the console, the progress bar, the run folder and the log file subscribe to its events.
 *
 * Each iteration: draw a minibatch, loss and gradients from the model, one step of the update
 * rule (optim/rules.ts: sgd, sgd_momentum, rmsprop, adam) over the trainable parameters. After each
 * epoch: decay the learning rate, measure train accuracy (on fixed training rows) and val
 * accuracy, and keep a copy of the parameters with the best val accuracy. At the end the best
 * parameters are swapped into the model, as the Solver does. With a patience, the loop stops
 * after that many epochs without a new best val accuracy (early stopping).
 */
import { type Allocator, PLAIN } from '../linalg/alloc.js';
import type { Mat } from '../linalg/mat.js';
import { createWorkspace, type Workspace } from '../models/buffers.js';
import type { Rng } from '../linalg/rng.js';
import type { Model } from '../models/model.js';
import type { Sampling } from '../config/config.js';
import { lrAtEpoch } from '../optim/schedule.js';
import { type Optimizer, type RuleHyper, type UpdateRule, createOptimizer } from '../optim/rules.js';
import type { TrainerState } from '../runs/checkpoint.js';
import { Batcher } from './batch.js';
import { accuracy, evaluate, type LabeledRows } from '../models/evaluate.js';

export interface LoopOptions {
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
  /** Early stopping: stop after this many epochs without a new best val accuracy (0 or absent: never). */
  patience?: number;
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
  /** The mean of the epoch's minibatch losses (data loss plus the L2 term, as the loss curve). */
  trainLoss: number;
  /** The data loss on the val split (test mode, without the L2 term, so trials with different reg compare). */
  valLoss: number;
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
  /**
   * The loop resumes at the end of epoch `epoch` (val accuracy `valAcc`): what is decided after an
   * epoch's checkpoint (a scheduler's word) is asked again, as a kill may have come in between.
   */
  onEpochResumed?(epoch: number, valAcc: number): void;
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
  /** Stopped by `patience` after this epoch (at step `it`), short of opts.iterations; null: ran them all. */
  stoppedEarly: { epoch: number; it: number } | null;
}

/** Stopped because the loss became NaN or infinite. */
export class DivergedError extends Error {
  constructor(
    readonly it: number,
    readonly loss: number,
    readonly lr: number,
  ) {
    super(`the loss became ${loss} at iteration ${it} (lr ${lr.toExponential(2)}). ` + 'Training diverged: lower --lr (try 10× smaller) or check --reg and --init-std.');
  }
}

/** Everything the loop keeps between steps: what a snapshot saves and a resume restores. */
interface Loop {
  model: Model<Float32Array>;
  data: { train: LabeledRows; val: LabeledRows; trainAcc: LabeledRows };
  opts: LoopOptions;
  rng: Rng;
  listener: TrainListener;
  t0: number;
  params: Float32Array;
  /** The trainable prefix of `params` (running statistics, which have no gradient, come after it). */
  stepped: Float32Array;
  best: Float32Array;
  batcher: Batcher;
  ws: Workspace<Float32Array>;
  rule: UpdateRule;
  opt: Optimizer<Float32Array>;
  lossHistory: Float64Array;
  trainAccHistory: number[];
  valAccHistory: number[];
  bestValAcc: number;
  bestEpoch: number;
  epoch: number;
  lr: number;
  /** The step the loop starts from (a resume's). */
  start: number;
}

/**
 * Train `model` in place, as cs231n's Solver.train: each step draws a minibatch, takes the loss
 * and its gradients and updates the parameters; each epoch's end decays the learning rate,
 * measures train and val accuracy and keeps the best parameters. `trainAcc` is the fixed
 * subsample of training rows that train accuracy is measured on. Stops early after
 * `opts.patience` epochs without a new best val accuracy. Throws DivergedError on a NaN/Inf loss
 * (after the listener has seen every finished epoch, so the best checkpoint is already on disk).
 */
export async function train(
  model: Model<Float32Array>,
  data: { train: LabeledRows; val: LabeledRows; trainAcc: LabeledRows },
  opts: LoopOptions,
  rng: Rng,
  listener: TrainListener = {},
  resume?: ResumePoint,
): Promise<TrainResult> {
  const s = createLoop(model, data, opts, rng, listener);
  let stoppedEarly = resume ? resumeLoop(s, resume) : null;
  // The loop hands the event loop a turn every 50 ms, so a Ctrl-C handler can run and ask it to stop.
  let lastYield = performance.now();
  for (let it = s.start; !stoppedEarly && it < opts.iterations; it++) {
    if (listener.shouldStop && performance.now() - lastYield > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
    step(s, it);
    if ((it + 1) % opts.iterationsPerEpoch === 0) {
      s.epoch++;
      s.lr = lrAtEpoch(opts.lr, opts.lrDecay, s.epoch);
      endOfEpoch(s, s.epoch, it + 1, () => snapshot(s, it + 1));
      if (patienceRanOut(s)) {
        stoppedEarly = { epoch: s.epoch, it: it + 1 };
        break;
      }
    }
    if (it + 1 < opts.iterations && listener.shouldStop?.()) throw new InterruptedError(snapshot(s, it + 1));
  }
  // A fractional last epoch is evaluated once more at the end (also when a resume starts there).
  // A longer run would not evaluate at this step, so the state to carry on from is the one before
  // the evaluation: a resume with a larger budget then goes on exactly as that run does.
  if (!stoppedEarly && opts.iterations % opts.iterationsPerEpoch !== 0) {
    const before = snapshot(s, opts.iterations);
    endOfEpoch(s, s.epoch + 1, opts.iterations, () => before);
  }
  return finish(s, stoppedEarly);
}

/** The loop's buffers, allocated once: the minibatch, the workspace, the optimizer's state, the histories. */
function createLoop(model: Model<Float32Array>, data: Loop['data'], opts: LoopOptions, rng: Rng, listener: TrainListener): Loop {
  const params = model.params.flat;
  const alloc = opts.alloc ?? PLAIN;
  // Each step uses its scores and grads at once, so one workspace serves every step (and the evaluations).
  const ws = createWorkspace(model.params, alloc);
  // The optimizer steps the trainable parameters only: the gradient's length, a prefix of the buffer.
  const trainable = ws.grads.flat.length;
  const rule = opts.updateRule;
  const opt = createOptimizer(rule, trainable, opts.hyper, Float32Array, alloc);
  return {
    model,
    data,
    opts,
    rng,
    listener,
    t0: performance.now(),
    params,
    stepped: trainable === params.length ? params : params.subarray(0, trainable),
    best: params.slice(),
    batcher: new Batcher(data.train, opts.batchSize, opts.sampling, alloc),
    ws,
    rule,
    opt,
    lossHistory: new Float64Array(opts.iterations),
    trainAccHistory: [],
    valAccHistory: [],
    bestValAcc: -1,
    bestEpoch: 0,
    epoch: 0,
    lr: opts.lr,
    start: 0,
  };
}

/**
 * Restore `resume`. At an epoch's end, what follows that epoch's checkpoint in the loop is done
 * again, as a kill may have come between them: the listener's word, patience, a stop asked for.
 * So a run killed there and resumed stops where it would have stopped.
 */
function resumeLoop(s: Loop, resume: ResumePoint): TrainResult['stoppedEarly'] {
  restoreLoop(s, resume);
  const { iterations, iterationsPerEpoch } = s.opts;
  if (s.epoch === 0 || s.start % iterationsPerEpoch !== 0 || s.start >= iterations) return null;
  s.listener.onEpochResumed?.(s.epoch, s.valAccHistory[s.epoch - 1]);
  if (patienceRanOut(s)) return { epoch: s.epoch, it: s.start };
  if (s.listener.shouldStop?.()) throw new InterruptedError(snapshot(s, s.start));
  return null;
}

/** Carry on exactly where the snapshot was taken: same random stream, same batch order, same optimizer state. */
function restoreLoop(s: Loop, resume: ResumePoint): void {
  const st = resume.state;
  ({ it: s.start, epoch: s.epoch, lr: s.lr, bestValAcc: s.bestValAcc, bestEpoch: s.bestEpoch } = st);
  s.trainAccHistory = [...st.trainAccHistory];
  s.valAccHistory = [...st.valAccHistory];
  s.rng.setState(st.rng);
  s.batcher.setState(st.batcher);
  s.best.set(resume.best);
  // Throws if the saved state is not the one this rule keeps (train/resume.ts refuses such a checkpoint first, in words).
  const saved = st.optimizer ?? { rule: s.rule, t: s.start }; // train/resume.ts records the rule of a checkpoint without one
  if (saved.rule !== s.rule) throw new Error(`the checkpoint's optimizer state is of update rule ${saved.rule}, this run's rule is ${s.rule}`);
  s.opt.restore(resume.optimizer, saved.t);
  s.lossHistory.set(Array.from(resume.lossHistory).slice(0, s.start));
}

/** Step `it` (0-based): a minibatch, its loss and gradients, one update. */
function step(s: Loop, it: number): void {
  s.batcher.next(s.rng);
  const { loss, grads } = s.model.loss(s.batcher.X as Mat<Float32Array>, s.batcher.y, s.ws);
  if (!Number.isFinite(loss)) throw new DivergedError(it + 1, loss, s.lr);
  s.opt.step(s.stepped, grads.flat, s.lr);
  s.lossHistory[it] = loss;
  s.listener.onIteration?.({ it: it + 1, epoch: s.epoch, loss, lr: s.lr });
}

/** After `done` epochs, at step `it`: measure train and val accuracy, keep the best parameters, report. */
function endOfEpoch(s: Loop, done: number, it: number, point: () => Omit<ResumePoint, 'lossHistory'>): void {
  const trainAcc = accuracy(s.model, s.data.trainAcc, s.ws);
  const { accuracy: valAcc, loss: valLoss } = evaluate(s.model, s.data.val, s.ws);
  const trainLoss = epochMeanLoss(s, done, it);
  s.trainAccHistory.push(trainAcc);
  s.valAccHistory.push(valAcc);
  const isBest = valAcc > s.bestValAcc;
  if (isBest) {
    s.bestValAcc = valAcc;
    s.bestEpoch = done;
    s.best.set(s.params);
  }
  s.listener.onEpoch?.({ epoch: done, it, trainAcc, valAcc, trainLoss, valLoss, lr: s.lr, best: isBest, seconds: (performance.now() - s.t0) / 1000 }, s.model, point);
}

/** The mean of epoch `done`'s minibatch losses (steps after epoch done − 1 up to step `it`): the loss curve's value for the epoch. */
function epochMeanLoss(s: Loop, done: number, it: number): number {
  const from = (done - 1) * s.opts.iterationsPerEpoch;
  let sum = 0;
  for (let i = from; i < it; i++) sum += s.lossHistory[i];
  return it > from ? sum / (it - from) : NaN;
}

/** Early stopping: `patience` epochs (> 0) have passed without a new best val accuracy. */
function patienceRanOut(s: Loop): boolean {
  const patience = s.opts.patience ?? 0;
  return patience > 0 && s.epoch - s.bestEpoch >= patience;
}

/** The loop's state after `it` steps, to carry on from (copies, so the loop may go on). */
function snapshot(s: Loop, it: number): Omit<ResumePoint, 'lossHistory'> {
  const { epoch, lr, bestValAcc, bestEpoch } = s;
  return {
    state: {
      it,
      epoch,
      lr,
      bestValAcc,
      bestEpoch,
      trainAccHistory: [...s.trainAccHistory],
      valAccHistory: [...s.valAccHistory],
      rng: s.rng.getState(),
      batcher: s.batcher.getState(),
      optimizer: { rule: s.rule, t: s.opt.t },
    },
    best: s.best.slice(),
    optimizer: Object.fromEntries(Object.entries(s.opt.blocks()).map(([k, v]) => [k, Float32Array.from(v)])),
  };
}

/** The histories, and the best parameters swapped into the model, as the Solver ends. */
function finish(s: Loop, stoppedEarly: TrainResult['stoppedEarly']): TrainResult {
  const finalTrainAcc = s.trainAccHistory.at(-1) ?? NaN;
  const finalValAcc = s.valAccHistory.at(-1) ?? NaN;
  s.params.set(s.best);
  const { lossHistory, trainAccHistory, valAccHistory, bestValAcc, bestEpoch } = s;
  return { lossHistory, trainAccHistory, valAccHistory, bestValAcc, bestEpoch, finalTrainAcc, finalValAcc, iterations: s.opts.iterations, seconds: (performance.now() - s.t0) / 1000, stoppedEarly };
}
