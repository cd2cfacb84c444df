/**
 * One SGD run, from a resolved config to a run folder: the one way into training, which the CLI,
 * the sweep's training threads and the library all take.
 *
 *   startRun      the data (loaded per the config, or given) and the run folder (new, or the
 *                 folder a resume carries on), on an engine the caller has already chosen
 *   runTraining   build the model, check the initial loss, train (trainer.ts), keep the best
 *                 checkpoint, evaluate on test, summarise
 *
 * Everything a person sees goes through `ui`; everything on record goes to the run folder
 * (recorder.ts). Resume is resume.ts; the summaries of every ending, summaries.ts. A kNN run has
 * no SGD: it is knn_fit.ts.
 */
import { type Config, ConfigError, scheduleOf, updateRuleOf } from '../config/config.js';
import { checkAgainstData, checkRunFits } from '../data/fits.js';
import type { EngineSelection } from '../linalg/engine.js';
import type { Allocator } from '../linalg/alloc.js';
import { Rng } from '../linalg/rng.js';
import { createModel } from '../models/index.js';
import { modelSpecOf } from '../config/derive.js';
import type { Model } from '../models/model.js';
import { loadDataset } from '../data/datasets.js';
import { takeRows, prepareData, resolveSplit, type PreparedData } from '../data/split.js';
import { prepareFeatureData } from '../data/feature_data.js';
import { featureDim } from '../data/features.js';
import { accuracy } from '../models/evaluate.js';
import { createRunDir, runFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import type { RunFacts, Summary } from '../runs/summary.js';
import { takeRunFolder } from '../runs/owner.js';
import { checkInitialLoss } from './initial_loss.js';
import { type Notes, RunRecorder } from './recorder.js';
import { resumeRun } from './resume.js';
import { recordFailure, recordSuccess } from './summaries.js';
import { train, type EpochEvent, type IterationEvent, type ResumePoint, type TrainListener, type LoopOptions } from './trainer.js';

/** What the console layer implements (progress bar on a TTY, plain lines otherwise). */
export interface RunUi extends Notes {
  /** `perEpoch`: steps an epoch, for the bar's epoch k/N. */
  startTraining(totalIterations: number, perEpoch?: number): void;
  iteration(e: IterationEvent): void;
  epoch(e: EpochEvent): void;
  endTraining(): void;
}

export interface RunOutcome {
  dir: string;
  summary: Summary;
}

/** The dataset of a run, split and preprocessed, with where it was read from. */
export interface RunData {
  data: PreparedData;
  source: string;
  loadSeconds: number;
  /** Of a features run: the cache file (null: not writable) and whether the features were read from it. */
  features?: { file: string | null; fromCache: boolean };
}

/**
 * Load, split and preprocess the data `cfg` asks for. Throws ConfigError/DataError on nonsense
 * before any work is done. The dev rows are drawn with their own generator seeded by cfg.seed,
 * so training draws the same numbers whether the data was prepared here or shared by a sweep.
 * `shared` allocates the rows in SharedArrayBuffers, for worker threads.
 */
/** The numbers in a row the model sees: image features or pixels, plus the bias column for the linear model. */
export function rowWidth(cfg: Config, raw: { dim: number; imageShape: readonly [number, number, number] }): number {
  return (cfg.features === 'none' ? raw.dim : featureDim(raw.imageShape, { hueBins: cfg.hueBins })) + (cfg.model === 'linear' ? 1 : 0);
}

export async function loadRunData(cfg: Config, opts: { shared?: boolean; alloc?: Allocator; warn?: (line: string) => void } = {}): Promise<RunData> {
  const t0 = performance.now();
  const raw = await loadDataset(cfg.dataset, cfg.dataDir || undefined, { verify: cfg.verify });
  const split = resolveSplit(raw, { numTrain: cfg.numTrain, numVal: cfg.numVal, numTest: cfg.numTest, numDev: cfg.numDev });
  const pre = { bias: cfg.model === 'linear', scale: cfg.scale };
  checkAgainstData(cfg, split.numTrain, { dim: rowWidth(cfg, raw), classes: raw.classes.length, rows: split.numTrain + split.numVal + split.numTest + split.numDev });
  if (cfg.features === 'none') return { data: prepareData(raw, split, pre, new Rng(cfg.seed), opts), source: raw.source, loadSeconds: (performance.now() - t0) / 1000 };
  const { data, features } = await prepareFeatureData(raw, split, { kind: cfg.features, hueBins: cfg.hueBins }, pre, new Rng(cfg.seed), opts);
  return { data, source: raw.source, loadSeconds: (performance.now() - t0) / 1000, features: { file: features.file, fromCache: features.fromCache } };
}

/** A run ready to train: its data loaded, its run folder chosen (new, or the one a resume carries on). */
export interface StartedRun {
  cfg: Config;
  runData: RunData;
  dir: string;
  /** The engine the caller chose (initEngine) at its process's or thread's start; the run records its name. */
  engine: EngineSelection;
  /** When the run started (performance.now()), for the total time; default: when runTraining is called. */
  t0?: number;
  /** Carry on from the folder's last.ckpt instead of starting afresh (see startRun for what `cfg` may change). */
  resume?: boolean;
}

/**
 * Start a run per `cfg` on `engine`: the data (`data`, or loaded into the engine's memory) and
 * the run folder. Throws ConfigError/DataError before any run folder is made.
 *
 * With `resumeDir`, the run carries on that run folder from its last.ckpt. `cfg` is then the
 * folder's config.json with whatever the caller lets a resume change merged in: the engine
 * (`backend`) and a longer run (`epochs`/`iterations`) are honoured, and the folder's config.json
 * is rewritten (atomically) when `cfg` differs from it. Everything else must be the folder's own,
 * and a last.ckpt that does not fit it (model, data, schedule) is refused with a CheckpointError.
 */
export async function startRun(cfg: Config, engine: EngineSelection, opts: { resumeDir?: string; data?: RunData } = {}): Promise<StartedRun> {
  const t0 = performance.now();
  const { resumeDir } = opts;
  if (resumeDir !== undefined) refuseFinished(resumeDir, cfg);
  const runData = opts.data ?? (await loadRunData(cfg, { alloc: engine.engine.alloc }));
  const dir = resumeDir ?? createRunDir(cfg.runsDir, cfg.name);
  return { cfg, runData, dir, engine, t0, resume: resumeDir !== undefined };
}

/** A resume of a run that has finished, with no more steps asked for: there is nothing to do. */
export class RunFinishedError extends Error {
  constructor(
    readonly dir: string,
    readonly summary: Summary,
  ) {
    const best = summary.bestValAcc === null ? '' : `, best val acc ${summary.bestValAcc.toFixed(3)} (epoch ${summary.bestEpoch})`;
    super(
      `${dir} is finished (${summary.iterations} iterations, ${summary.epochs} epochs${best}); nothing to do. To train it longer: npx train --resume ${dir} --epochs <more than ${summary.epochs}>`,
    );
  }
}

/**
 * Throws RunFinishedError when run folder `dir` has finished (its summary says ok) and `cfg` asks
 * for no more steps than its config.json did. A resume that carries a finished run on removes
 * that summary (resume.ts), so a folder killed while it trains longer is not taken as finished.
 */
function refuseFinished(dir: string, cfg: Config): void {
  const summary = readJsonOrNull(runFile(dir, 'summary')) as Summary | null;
  const saved = readJsonOrNull(runFile(dir, 'config')) as Partial<Config> | null;
  if (summary?.status === 'ok' && saved?.epochs === cfg.epochs && saved?.iterations === cfg.iterations) throw new RunFinishedError(dir, summary);
}

/** What the caller of a run controls besides its config. */
export interface RunControl {
  /** Measure test accuracy at the end (default true; a sweep does it once, for its best trial only). */
  evaluateTest?: boolean;
  /** Asked after every step; true stops the run with a resumable checkpoint (Ctrl-C or any other signal the caller handles). */
  shouldStop?: () => boolean;
  /** Called after each epoch's rows are in metrics.jsonl and its checkpoints written (the caller's live report). */
  afterEpoch?: (e: EpochEvent, progress: { iterations: number; epochs: number }) => void;
  /** A resume that starts at the end of epoch `epoch`: what the caller decides after an epoch (a sweep's rung) is asked again, as a kill may have come between the checkpoint and it. */
  afterEpochResumed?: (epoch: number, valAcc: number) => void;
  /** What the run holds its folder for (a queue job's id): a live holder with the same claim is superseded (runs/owner.ts). */
  claim?: string;
  /** Empty the folder first, once held (a sweep trial's own folder, unfinished and without a checkpoint). */
  clear?: boolean;
}

/**
 * Train a started run and fill its run folder, which this run holds meanwhile: a second writer is
 * refused, and should another process take the folder over, this run stops at its next write
 * without writing. Throws DivergedError and InterruptedError after the summary is written. The
 * report is the caller's to ask for (buildRunReport), a diverged run's too.
 */
export async function runTraining(run: StartedRun, ui: RunUi, control: RunControl = {}): Promise<RunOutcome> {
  // Taken before anything in the folder is read for a resume or written.
  const lease = takeRunFolder(run.dir, { claim: control.claim, clear: control.clear, note: (line) => ui.warn(line) });
  try {
    return await trainHeld(run, ui, control);
  } finally {
    lease.release();
  }
}

/** The run, as cs231n's notebooks go: the model, its initial loss, the schedule, the Solver, the test accuracy of the best parameters. */
async function trainHeld(run: StartedRun, ui: RunUi, control: RunControl): Promise<RunOutcome> {
  const { cfg, runData, dir, engine } = run;
  const { data } = runData;
  if (cfg.model === 'knn') throw new ConfigError('a knn run has no SGD: it runs through fitKnn (train/knn_fit.ts)');
  checkRunFits(cfg, data); // a sweep's or queue's trial config is not the one its data was loaded by
  const rec = new RunRecorder(dir, cfg, runData, { t0: run.t0 ?? performance.now(), resume: run.resume === true });
  rec.describe(engine, ui);
  const rng = new Rng(cfg.seed);
  const spec = modelSpecOf(cfg, data.dim, data.classes.length);
  // The model keeps `rng` for its dropout masks: the object whose state train() saves and, on --resume, restores.
  const model = createModel(spec, { initStd: cfg.initStd, reg: cfg.reg, alloc: engine.engine.alloc }, rng) as Model<Float32Array>;
  rec.holdModel(model);
  const check = checkInitialLoss(model, data.dev, { log: rec.log, ui });
  const schedule = scheduleFor(cfg, data, rng, engine.engine.alloc, { rec, ui });
  const { iterations, perEpoch, epochs } = schedule;
  const facts: RunFacts = {
    name: cfg.name,
    dataset: cfg.dataset,
    model: spec,
    engine: engine.engine.name,
    engineDetail: engine.engine.detail,
    iterations,
    epochs,
    initialLoss: check.loss,
    expectedInitialLoss: check.expected,
  };
  const resumed = run.resume ? resumeRun(rec, { cfg, spec, data, model, iterations, perEpoch }, ui) : undefined;
  rec.startTraining(resumed?.metrics);
  ui.startTraining(iterations, perEpoch);
  let result;
  try {
    result = await train(model, { train: data.train, val: data.val, trainAcc: schedule.trainAcc }, schedule.opts, rng, listenerOf(rec, ui, control, schedule), resumed?.point);
  } catch (err) {
    ui.endTraining();
    rec.endTraining();
    recordFailure(err, rec, facts);
    throw err;
  }
  ui.endTraining();
  rec.endTraining();
  const trainSeconds = rec.trainSeconds();
  // Test accuracy of the best parameters (now in the model), evaluated once.
  const testAcc = control.evaluateTest === false || data.test.n === 0 ? null : accuracy(model, data.test);
  const summary = recordSuccess(rec, facts, result, { testAcc, startIt: resumed?.point.state.it ?? 0, trainSeconds, ui });
  return { dir, summary };
}

/** A run's length and how it is trained, from its config and data. */
interface Schedule {
  iterations: number;
  perEpoch: number;
  epochs: number;
  /** The fixed training rows train accuracy is measured on. */
  trainAcc: PreparedData['train'];
  opts: LoopOptions;
}

/** The schedule (steps, steps an epoch), the rows train accuracy is measured on (drawn from `rng`), the trainer's options; logged and said. */
function scheduleFor(cfg: Config, data: PreparedData, rng: Rng, alloc: Allocator, out: { rec: RunRecorder; ui: Notes }): Schedule {
  const { rec, ui } = out;
  const { perEpoch, steps: iterations } = scheduleOf(cfg, data.train.n);
  const epochs = Math.ceil(iterations / perEpoch);
  const trainAcc = takeRows(data.train, rng.choice(data.train.n, Math.min(cfg.trainAccSamples, data.train.n)));
  rec.log.info({ iterations, iterationsPerEpoch: perEpoch, epochs, batchSize: cfg.batchSize }, 'schedule');
  const hidden = cfg.model === 'mlp' && cfg.hidden.length ? ` (hidden ${cfg.hidden.join(',')})` : '';
  const patience = cfg.patience ? `, stopping after ${cfg.patience} epochs without a better val acc` : '';
  ui.info(
    `training ${cfg.model}${cfg.loss === 'softmax' ? '' : ` (loss ${cfg.loss})`}${hidden}: ${iterations} iterations, ${perEpoch} per epoch, batch ${cfg.batchSize}, lr ${cfg.lr}, reg ${cfg.reg}${patience}`,
  );
  const opts: LoopOptions = {
    lr: cfg.lr,
    lrDecay: cfg.lrDecay,
    ...updateRuleOf(cfg),
    batchSize: cfg.batchSize,
    iterations,
    iterationsPerEpoch: perEpoch,
    sampling: cfg.sampling,
    alloc,
    patience: cfg.patience ?? 0,
  };
  return { iterations, perEpoch, epochs, trainAcc, opts };
}

/** The trainer's listener: every event to the run folder, then the person, then the caller. */
function listenerOf(rec: RunRecorder, ui: RunUi, control: RunControl, s: Schedule): TrainListener {
  return {
    onIteration: (e) => {
      rec.iteration(e);
      ui.iteration(e);
    },
    onEpoch: (e, _model, snapshot: () => Omit<ResumePoint, 'lossHistory'>) => {
      rec.epoch(e, snapshot, s.iterations);
      ui.epoch(e);
      control.afterEpoch?.(e, { iterations: s.iterations, epochs: s.epochs });
    },
    ...(control.shouldStop ? { shouldStop: control.shouldStop } : {}),
    ...(control.afterEpochResumed ? { onEpochResumed: control.afterEpochResumed } : {}),
  };
}
