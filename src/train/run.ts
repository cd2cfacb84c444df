/**
 * One training run, from a resolved config to a run folder: load and split the data, build the
 * model, check the initial loss, train, keep the best checkpoint, evaluate on test, summarise.
 * Everything a person sees goes through `ui`; everything on record goes to the run folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import pino from 'pino';
import { type Config, ConfigError, scheduleOf, updateRuleOf } from '../config/config.js';
import { checkAgainstData, checkRunFits } from '../data/fits.js';
import { initEngine } from '../linalg/engine.js';
import type { Allocator } from '../linalg/alloc.js';
import type { Engine } from '../linalg/matmul.js';
import { Rng } from '../linalg/rng.js';
import { expectedInitialLoss } from '../models/loss.js';
import { createModel } from '../models/index.js';
import { lrAtEpoch } from '../optim/schedule.js';
import { RULE_BLOCKS } from '../optim/rules.js';
import { modelSpecOf } from '../config/derive.js';
import type { Model, ModelSpec } from '../models/model.js';
import { loadDataset } from '../data/datasets.js';
import { gatherRows, prepareData, resolveSplit, type PreparedData } from '../data/split.js';
import { prepareFeatureData } from '../data/feature_data.js';
import { featureDim } from '../data/features.js';
import { isTempFile, writeFileAtomic, writeJsonAtomic } from '../runs/atomic.js';
import { type Checkpoint, CheckpointError, encodeCheckpoint, loadCheckpoint, saveCheckpoint, type CheckpointHeader } from '../runs/checkpoint.js';
import { accuracy } from '../models/evaluate.js';
import { createRunDir, RUN_FILES, runFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import { makeSummary, writeSummary, type RunFacts, type Summary } from '../runs/summary.js';
import { JsonlWriter } from '../runs/jsonl.js';
import { readSegments, runSeconds, SEGMENT_LOG, type SegmentEnd, type SegmentSeconds } from '../runs/segments.js';
import { type Lease, takeRunFolder } from '../runs/owner.js';
import { DivergedError, InterruptedError, initialLossCheck, train, type EpochEvent, type IterationEvent, type ResumePoint } from './trainer.js';

/** What the console layer implements (progress bar on a TTY, plain lines otherwise). */
export interface RunUi {
  info(line: string): void;
  warn(line: string): void;
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
export async function loadRunData(cfg: Config, opts: { shared?: boolean; alloc?: Allocator; warn?: (line: string) => void } = {}): Promise<RunData> {
  const t0 = performance.now();
  const raw = await loadDataset(cfg.dataset, cfg.dataDir || undefined, { verify: cfg.verify });
  const split = resolveSplit(raw, { numTrain: cfg.numTrain, numVal: cfg.numVal, numTest: cfg.numTest, numDev: cfg.numDev });
  const pre = { bias: cfg.model === 'softmax', scale: cfg.scale };
  const inputDim = cfg.features === 'none' ? raw.dim : featureDim(raw.imageShape, { hueBins: cfg.hueBins });
  checkAgainstData(cfg, split.numTrain, { dim: inputDim + (pre.bias ? 1 : 0), classes: raw.classes.length, rows: split.numTrain + split.numVal + split.numTest + split.numDev });
  if (cfg.features === 'none') return { data: prepareData(raw, split, pre, new Rng(cfg.seed), opts), source: raw.source, loadSeconds: (performance.now() - t0) / 1000 };
  const { data, features } = await prepareFeatureData(raw, split, { kind: cfg.features, hueBins: cfg.hueBins }, pre, new Rng(cfg.seed), opts);
  return { data, source: raw.source, loadSeconds: (performance.now() - t0) / 1000, features: { file: features.file, fromCache: features.fromCache } };
}

/**
 * Peak resident memory of this process so far, in MB. On Linux it is VmHWM from /proc/self/status:
 * getrusage's maxRSS of a process started by another carries over the parent's resident size at
 * the fork (a 1.6 GB benchmark made its 0.9 GB child report 1.6 GB).
 */
export function peakRssMB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    /* not Linux */
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** A single run ready to train: its engine started, its data loaded, its run folder made (or the folder a resume carries on). */
export interface StartedRun {
  cfg: Config;
  runData: RunData;
  dir: string;
  engine: Engine;
  skipped: { name: string; reason: string }[];
  /** When the run started (performance.now()), for the total time. */
  t0: number;
  resume: boolean;
}

/**
 * Start a run per `cfg`: the engine, the data, the run folder. Throws ConfigError/DataError
 * before any run folder is made.
 *
 * With `resumeDir`, the run carries on that run folder from its last.ckpt. `cfg` is then the
 * folder's config.json with whatever the caller lets a resume change merged in: the engine
 * (`backend`) and a longer run (`epochs`/`iterations`) are honoured, and the folder's config.json
 * is rewritten (atomically) when `cfg` differs from it. Everything else must be the folder's own,
 * and a last.ckpt that does not fit it (model, data, schedule) is refused with a CheckpointError.
 */
export async function startRun(cfg: Config, resumeDir?: string): Promise<StartedRun> {
  const t0 = performance.now();
  if (resumeDir !== undefined) refuseFinished(resumeDir, cfg);
  // The engine first: the data goes into the memory it wants (shared, for the threads of the simd and wasm engines).
  const { engine, skipped } = await initEngine(cfg.backend);
  const runData = await loadRunData(cfg, { alloc: engine.alloc });
  const dir = resumeDir ?? createRunDir(cfg.runsDir, cfg.name);
  return { cfg, runData, dir, engine, skipped, t0, resume: resumeDir !== undefined };
}

/** A resume of a run that has finished, with no more steps asked for: there is nothing to do. */
export class RunFinishedError extends Error {
  constructor(
    readonly dir: string,
    readonly summary: Summary,
  ) {
    const best = summary.bestValAcc === null ? '' : `, best val acc ${summary.bestValAcc.toFixed(3)} (epoch ${summary.bestEpoch})`;
    super(`${dir} is finished (${summary.iterations} iterations, ${summary.epochs} epochs${best}); nothing to do. To train it longer: npx train --resume ${dir} --epochs <more than ${summary.epochs}>`);
  }
}

/**
 * Throws RunFinishedError when run folder `dir` has finished (its summary says ok) and `cfg` asks
 * for no more steps than its config.json did. A resume that carries a finished run on removes
 * that summary (trainOnData), so a folder killed while it trains longer is not taken as finished.
 */
function refuseFinished(dir: string, cfg: Config): void {
  const summary = readJsonOrNull(runFile(dir, 'summary')) as Summary | null;
  const saved = readJsonOrNull(runFile(dir, 'config')) as Partial<Config> | null;
  if (summary?.status === 'ok' && saved?.epochs === cfg.epochs && saved?.iterations === cfg.iterations) throw new RunFinishedError(dir, summary);
}

/**
 * Train a started run, test accuracy included. Throws DivergedError after the summary is written.
 * `shouldStop` is asked after every step, whatever the reason (a signal) the caller has to stop.
 * The report is the caller's to ask for (buildRunReport), a diverged run's too.
 */
export function runTraining(run: StartedRun, ui: RunUi, control: Pick<TrainOnDataOptions, 'shouldStop' | 'afterEpoch'> = {}): Promise<RunOutcome> {
  const { cfg, runData, dir, engine, skipped, t0, resume } = run;
  return trainOnData(cfg, runData, ui, { dir, engine, skipped, evaluateTest: true, t0, resume, shouldStop: control.shouldStop, afterEpoch: control.afterEpoch });
}

export interface TrainOnDataOptions {
  /** The run folder (exists, empty). */
  dir: string;
  engine: Engine;
  /** Backends passed over before `engine`, for the log. */
  skipped: { name: string; reason: string }[];
  /** Measure test accuracy at the end (a sweep does it once, for its best trial only). */
  evaluateTest: boolean;
  /** When the run started (performance.now()), for the total time. */
  t0?: number;
  /** Carry on from the folder's last.ckpt instead of starting afresh (see startRun for what `cfg` may change). */
  resume?: boolean;
  /** Asked after every step; true stops the run with a resumable checkpoint (Ctrl-C or any other signal the caller handles). */
  shouldStop?: () => boolean;
  /** Called after each epoch's rows are in metrics.jsonl and its checkpoints written (the caller's live report). */
  afterEpoch?: (e: EpochEvent, progress: { iterations: number; epochs: number }) => void;
  /** What the run holds its folder for (a queue job's id): a live holder with the same claim is superseded (runs/owner.ts). */
  claim?: string;
  /** Empty the folder first, once held (a sweep trial's own folder, unfinished and without a checkpoint). */
  clear?: boolean;
}

/**
 * The resumable checkpoint of a run folder: last.ckpt holds the parameters, the trainer state,
 * the optimizer's state (blocks "optim.<name>") and the best parameters so far (block "best",
 * left out when they are the current ones), so one atomic write commits all a resume needs.
 */
const { last: LAST, legacyVelocity: LEGACY_VELOCITY, best: BEST, config: CONFIG } = RUN_FILES;
const OPTIM = 'optim.';

/**
 * Train on data already loaded (a single run, or one trial of a sweep) and fill the run folder,
 * which this run holds meanwhile: a second writer is refused, and should another process take the
 * folder over (holdRunFolder), this run stops at its next write without writing.
 */
export async function trainOnData(cfg: Config, runData: RunData, ui: RunUi, opts: TrainOnDataOptions): Promise<RunOutcome> {
  const lease = holdRunFolder(opts, ui);
  try {
    return await trainHeld(cfg, runData, ui, opts);
  } finally {
    lease.release();
  }
}

/** Where every run, started or resumed, takes its folder: before anything in it is read for a resume or written. */
function holdRunFolder(opts: TrainOnDataOptions, ui: RunUi): Lease {
  return takeRunFolder(opts.dir, { claim: opts.claim, clear: opts.clear, note: (line) => ui.warn(line) });
}

async function trainHeld(cfg: Config, runData: RunData, ui: RunUi, opts: TrainOnDataOptions): Promise<RunOutcome> {
  checkRunFits(cfg, runData.data); // a sweep's or queue's trial config is not the one its data was loaded by
  const t0 = opts.t0 ?? performance.now();
  const { data, source, loadSeconds } = runData;
  const { dir, engine } = opts;
  const split = { numTrain: data.train.n, numVal: data.val.n, numTest: data.test.n };

  // Run folder and log. A resume that changes the config (another engine, a longer run) records it.
  const cfgFile = runFile(dir, 'config');
  const earlier = opts.resume ? readSegments(runFile(dir, 'log')) : []; // before this segment's lines are added
  if (!opts.resume || !isDeepStrictEqual(readJsonOrNull(cfgFile), JSON.parse(JSON.stringify(cfg)))) writeJsonAtomic(cfgFile, cfg);
  const log = pino({ base: undefined }, pino.destination({ dest: runFile(dir, 'log'), sync: true }));
  log.info({ config: cfg }, SEGMENT_LOG.start);
  log.info({ pid: process.pid }, 'process'); // `train runs` tells a running run from a killed one by it
  ui.info(`run folder: ${dir}`);
  for (const s of opts.skipped) log.info({ backend: s.name, reason: s.reason }, 'backend unavailable');
  log.info({ engine: engine.name, detail: engine.detail }, 'engine');
  ui.info(`engine: ${engine.name} (${engine.detail})`);

  const shapes = `train ${data.train.n}, val ${data.val.n}, test ${data.test.n}, dev ${data.dev.n}; ${data.dim} numbers a row`;
  log.info({ source, train: data.train.n, val: data.val.n, test: data.test.n, dev: data.dev.n, dim: data.dim, seconds: loadSeconds }, SEGMENT_LOG.data);
  ui.info(`data: ${cfg.dataset} from ${source} (${shapes}), ${loadSeconds.toFixed(1)} s`);
  if (runData.features) {
    const f = runData.features;
    log.info({ features: cfg.features, hueBins: cfg.hueBins, cache: f.file, fromCache: f.fromCache }, 'features');
    ui.info(`features: ${cfg.features}, ${cfg.hueBins} hue bins, ${f.fromCache ? `read from ${f.file}` : f.file ? `computed and cached in ${f.file}` : 'computed (not cached)'}`);
  }
  const rng = new Rng(cfg.seed);

  if (cfg.model === 'knn') throw new ConfigError('a knn run has no SGD: it runs through runKnn (train/knn_run.ts)');
  // Model and the cs231n sanity check of the initial loss.
  const spec = modelSpecOf(cfg, data.dim, data.classes.length);
  // The model keeps `rng` for its dropout masks: the object whose state train() saves and, on --resume, restores.
  const model = createModel(spec, { initStd: cfg.initStd, reg: cfg.reg, alloc: engine.alloc }, rng) as Model<Float32Array>;
  const check = initialLossCheck(model, data.dev, spec.numClasses);
  // The SVM's line also gives the softmax's figure, as svm.ipynb sets the two side by side.
  const softmaxWould = cfg.loss === 'svm' ? `; a softmax would start at ${expectedInitialLoss('softmax', spec.numClasses).formula}` : '';
  const checkLine = `initial loss ${check.loss.toFixed(4)} with reg 0 on ${data.dev.n} dev rows; expected ${check.formula}${cfg.loss === 'svm' ? ' for the SVM' : ''} (${(100 * check.relDiff).toFixed(1)}% off)${softmaxWould}`;
  log.info({ initialLoss: check.loss, expected: check.expected, loss: cfg.loss, relDiff: check.relDiff, scoreStd: check.scoreStd }, 'initial loss check');
  ui.info(checkLine);
  if (!check.ok) {
    const w =
      `the initial loss is ${(100 * check.relDiff).toFixed(0)}% away from ${cfg.loss === 'svm' ? `C − 1 = ${spec.numClasses - 1}` : `ln(${spec.numClasses})`}: the initial scores have std ${check.scoreStd.toPrecision(2)}, ` +
      'not near 0, so the weights start large for this data (cs231n\'s 0.001 on raw pixels does this; the run can still train). Lower --init-std, or check the preprocessing.';
    log.warn({ scoreStd: check.scoreStd }, w);
    ui.warn(w);
  }

  // Train.
  const { perEpoch, steps: iterations } = scheduleOf(cfg, data.train.n);
  const epochs = Math.ceil(iterations / perEpoch);
  const trainAccRows = Math.min(cfg.trainAccSamples, data.train.n);
  const accIdx = rng.choice(data.train.n, trainAccRows);
  const trainAcc = gatherRows(data.train, accIdx);
  log.info({ iterations, iterationsPerEpoch: perEpoch, epochs, batchSize: cfg.batchSize }, 'schedule');
  ui.info(`training ${cfg.model}${cfg.loss === 'softmax' ? '' : ` (loss ${cfg.loss})`}${spec.hidden.length ? ` (hidden ${spec.hidden.join(',')})` : ''}: ${iterations} iterations, ${perEpoch} per epoch, batch ${cfg.batchSize}, lr ${cfg.lr}, reg ${cfg.reg}`);

  const ckptFile = runFile(dir, 'best');
  let savedCheckpoint: string | null = null;
  const header = (e: EpochEvent): CheckpointHeader => ({
    model: spec,
    params: model.params.specs,
    dataset: cfg.dataset,
    classes: data.classes,
    imageShape: data.imageShape,
    preprocess: data.preprocess,
    split: { numTrain: split.numTrain, numVal: split.numVal, numTest: split.numTest },
    meanLength: data.mean.length,
    epoch: e.epoch,
    iteration: e.it,
    trainAcc: e.trainAcc,
    valAcc: e.valAcc,
    config: { ...cfg },
  });

  const facts: RunFacts = {
    name: cfg.name,
    dataset: cfg.dataset,
    model: spec,
    engine: engine.name,
    engineDetail: engine.detail,
    iterations,
    epochs,
    initialLoss: check.loss,
    expectedInitialLoss: check.expected,
  };

  // Every checkpointEvery epochs (and on a stop request) the loop's whole state goes to last.ckpt, in one atomic write.
  const saveLast = (point: Omit<ResumePoint, 'lossHistory'>): void => {
    const st = point.state;
    const e: EpochEvent = { epoch: st.epoch, it: st.it, trainAcc: st.trainAccHistory.at(-1) ?? NaN, valAcc: st.valAccHistory.at(-1) ?? NaN, lr: st.lr, best: false, seconds: 0 };
    const params = model.params.flat as Float32Array;
    const blocks: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(point.optimizer)) blocks[OPTIM + k] = v;
    if (!sameBits(point.best, params)) blocks.best = point.best;
    saveCheckpoint(runFile(dir, 'last'), { header: { ...header(e), trainer: st }, params, mean: data.mean, blocks });
    fs.rmSync(runFile(dir, 'legacyVelocity'), { force: true }); // a version-1 folder's, now in last.ckpt
  };
  const metricsFile = runFile(dir, 'metrics');
  let metrics: JsonlWriter;
  let resumeFrom: ResumePoint | undefined;
  if (opts.resume) {
    const point = loadResumePoint(dir, { cfg, spec, data, model, iterations, perEpoch });
    const st = point.state;
    // Cut metrics.jsonl back to the checkpoint's state (the steps after it, and the evaluation of a
    // fractional last epoch that it leaves out, are done again, identically), in place, before any
    // line is appended to it.
    metrics = new JsonlWriter(metricsFile, (row) => rowStep(row) <= st.it && rowEpoch(row) <= st.epoch);
    const kept = metrics.kept as { type?: unknown; it?: unknown; epoch?: unknown; loss?: unknown }[];
    const lossHistory = new Float64Array(st.it);
    for (const m of kept) if (m.type === 'iter' && typeof m.loss === 'number') lossHistory[(m.it as number) - 1] = m.loss;
    const want = st.it + st.epoch;
    if (kept.length !== want || !kept.every((m, i) => isDeepStrictEqual([m.type, m.it, m.epoch], expectedRow(i, perEpoch)))) {
      const w = `${metricsFile} holds ${kept.length} well-formed rows in order before step ${st.it}, where the run wrote ${want}: its loss curve will have gaps`;
      log.warn(w);
      ui.warn(w);
    }
    resumeFrom = { ...point, lossHistory };
    // best.ckpt must hold the best parameters of the state resumed from: a run killed after writing
    // a new best.ckpt but before its last.ckpt (or between last.ckpts) would otherwise keep
    // parameters that the resumed run may not find again (on another engine, say).
    if (st.bestEpoch > 0) {
      const bestEvent: EpochEvent = { epoch: st.bestEpoch, it: st.bestEpoch * perEpoch, trainAcc: st.trainAccHistory[st.bestEpoch - 1], valAcc: st.bestValAcc, lr: 0, best: true, seconds: 0 };
      // Byte for byte as this run writes it: a longer run's header also names its own config.
      const want = encodeCheckpoint({ header: header(bestEvent), params: point.best, mean: data.mean });
      if (!sameFileBytes(ckptFile, want)) writeFileAtomic(ckptFile, want);
      savedCheckpoint = ckptFile;
    } else {
      fs.rmSync(ckptFile, { force: true }); // newer than the state resumed from; the run writes it again
    }
    // A finished run carried on is no longer finished: its summary is written again at the end.
    if ((readJsonOrNull(runFile(dir, 'summary')) as Summary | null)?.status === 'ok') fs.rmSync(runFile(dir, 'summary'), { force: true });
    log.info({ it: st.it, epoch: st.epoch }, 'resumed');
    ui.info(`resuming at step ${st.it} of ${iterations} (epoch ${st.epoch})`);
  } else {
    metrics = new JsonlWriter(metricsFile);
  }

  ui.startTraining(iterations, perEpoch);
  const tTrain = performance.now();
  const startIt = resumeFrom?.state.it ?? 0;
  // This process's time on the run, logged as its segment, and the run's seconds over every segment.
  const seconds = (ended: SegmentEnd) => {
    const now: SegmentSeconds = { load: round(loadSeconds), train: round((performance.now() - tTrain) / 1000), total: round((performance.now() - t0) / 1000), ended };
    log.info({ ended, seconds: now }, SEGMENT_LOG.end);
    return runSeconds(earlier, now);
  };
  let result;
  try {
    result = await train(
      model,
      { train: data.train, val: data.val, trainAcc },
      { lr: cfg.lr, lrDecay: cfg.lrDecay, ...updateRuleOf(cfg), batchSize: cfg.batchSize, iterations, iterationsPerEpoch: perEpoch, sampling: cfg.sampling, alloc: engine.alloc },
      rng,
      {
        onIteration: (e) => {
          metrics.write({ type: 'iter', it: e.it, epoch: e.epoch, loss: e.loss, lr: e.lr });
          ui.iteration(e);
        },
        onEpoch: (e, m, snapshot) => {
          metrics.write({ type: 'epoch', epoch: e.epoch, it: e.it, trainAcc: e.trainAcc, valAcc: e.valAcc, lr: e.lr, best: e.best, seconds: e.seconds });
          metrics.flush();
          log.info({ epoch: e.epoch, it: e.it, trainAcc: e.trainAcc, valAcc: e.valAcc, lr: e.lr, best: e.best }, 'epoch');
          if (e.best) {
            saveCheckpoint(ckptFile, { header: header(e), params: m.params.flat as Float32Array, mean: data.mean });
            savedCheckpoint = ckptFile;
          }
          // last.ckpt is always the latest state: every checkpointEvery epochs, and the end.
          if (e.it === iterations || e.epoch % cfg.checkpointEvery === 0) saveLast(snapshot());
          ui.epoch(e);
          opts.afterEpoch?.(e, { iterations, epochs });
        },
        ...(opts.shouldStop ? { shouldStop: opts.shouldStop } : {}),
      },
      resumeFrom,
    );
  } catch (err) {
    ui.endTraining();
    metrics.close();
    if (err instanceof InterruptedError) {
      saveLast(err.point);
      const st = err.point.state;
      const summary = makeSummary(facts, {
        status: 'interrupted',
        error: `stopped at step ${st.it} of ${iterations}; resume with: npx train --resume ${dir}`,
        bestValAcc: st.bestValAcc >= 0 ? st.bestValAcc : null,
        bestEpoch: st.bestEpoch || null,
        seconds: seconds('interrupted'),
        checkpoint: savedCheckpoint,
      });
      writeSummary(dir, summary);
      log.warn({ it: st.it }, 'interrupted');
      err.dir = dir;
    }
    if (err instanceof DivergedError) {
      const summary = makeSummary(facts, {
        status: 'diverged',
        error: err.message,
        finalLoss: err.loss,
        seconds: seconds('diverged'),
        checkpoint: savedCheckpoint,
      });
      writeSummary(dir, summary);
      log.error({ it: err.it, loss: err.loss, lr: err.lr }, err.message);
    }
    throw err;
  }
  ui.endTraining();
  metrics.close();
  const trainSeconds = (performance.now() - tTrain) / 1000;

  // Test accuracy of the best parameters (now in the model), evaluated once.
  const testAcc = opts.evaluateTest ? accuracy(model, data.test) : null;
  const last = result.lossHistory.subarray(Math.max(0, iterations - 10));
  const summary = makeSummary(facts, {
    status: 'ok',
    finalLoss: last.reduce((s, v) => s + v, 0) / last.length,
    finalTrainAcc: result.finalTrainAcc,
    finalValAcc: result.finalValAcc,
    bestValAcc: result.bestValAcc,
    bestTrainAcc: result.trainAccHistory[result.bestEpoch - 1] ?? null,
    bestEpoch: result.bestEpoch,
    testAcc,
    seconds: seconds('ok'),
    examplesPerSecond: iterations > startIt ? Math.round(((iterations - startIt) * cfg.batchSize) / trainSeconds) : null,
    peakRssMB: peakRssMB(),
    checkpoint: savedCheckpoint,
  });
  writeSummary(dir, summary);
  log.info(summary, 'summary');
  return { dir, summary };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** The step a metrics row belongs to (Infinity for a row that is not one, which ends the kept prefix). */
function rowStep(row: unknown): number {
  const it = (row as { it?: unknown } | null)?.it;
  return Number.isInteger(it) && (it as number) >= 1 ? (it as number) : Infinity;
}

/** The epochs a metrics row says are done (0 for a step's row, whose `epoch` is the one it is in). */
function rowEpoch(row: unknown): number {
  const r = row as { type?: unknown; epoch?: unknown } | null;
  return r?.type === 'epoch' && typeof r.epoch === 'number' ? r.epoch : 0;
}

/** Whether `file` holds exactly `bytes` (false when it is missing or unreadable). */
function sameFileBytes(file: string, bytes: Uint8Array): boolean {
  try {
    return fs.readFileSync(file).equals(bytes);
  } catch {
    return false;
  }
}

/** [type, it, epoch] of row `i` (0-based) of a complete metrics.jsonl: each step's row, and after every perEpoch steps the epoch's. */
function expectedRow(i: number, perEpoch: number): [string, number, number] {
  const block = perEpoch + 1; // rows per whole epoch
  const e = Math.floor(i / block);
  const r = i % block;
  return r < perEpoch ? ['iter', e * perEpoch + r + 1, e] : ['epoch', (e + 1) * perEpoch, e + 1];
}

/**
 * The state to carry on from, read from last.ckpt (the parameters are copied into the model) and
 * checked against the run it resumes: the same model, data and schedule, a step this run has,
 * the optimizer state this optimizer keeps. Every refusal names the folder and what to do.
 */
function loadResumePoint(
  dir: string,
  run: { cfg: Config; spec: ModelSpec; data: PreparedData; model: Model<Float32Array>; iterations: number; perEpoch: number },
): Omit<ResumePoint, 'lossHistory'> {
  const { cfg, spec, data, model, iterations, perEpoch } = run;
  const refuse = (what: string, todo = 'start the run again without --resume'): never => {
    throw new CheckpointError(`cannot resume ${dir}: ${what}; ${todo}`);
  };
  // A kill during an atomic write leaves its temporary file beside the good one: clear them.
  for (const f of fs.readdirSync(dir)) if (isTempFile(f)) fs.rmSync(path.join(dir, f), { force: true });
  const lastFile = runFile(dir, 'last');
  if (!fs.existsSync(lastFile)) refuse(`it has no ${LAST}: the run stopped before its first checkpoint`);
  let last: Checkpoint;
  try {
    last = loadCheckpoint(lastFile);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    return refuse(e.message);
  }
  const h = last.header;
  const state = h.trainer;
  if (!state) return refuse(`${lastFile} holds no trainer state (is it a ${BEST} copied there?)`);
  // The checkpoint must belong to this run: the same model, data and preprocessing.
  const same: [string, unknown, unknown][] = [
    ['model', h.model, spec],
    ['dataset', h.dataset, cfg.dataset],
    ['classes', h.classes, data.classes],
    ['split', h.split, { numTrain: data.train.n, numVal: data.val.n, numTest: data.test.n }],
    ['preprocessing', h.preprocess, data.preprocess],
  ];
  for (const [what, got, want] of same) {
    if (!isDeepStrictEqual(got, want)) refuse(`${lastFile} has ${what} ${JSON.stringify(got)}, but ${CONFIG} and the data give ${JSON.stringify(want)}`, 'resume with the data and config it was trained with');
  }
  if (!sameBits(last.mean, data.mean)) refuse(`${lastFile} was trained on other data (its mean image differs from this data's)`, `resume with the data it was trained with (${CONFIG}'s dataDir)`);
  // The step must be one this run has, at the epoch and learning rate its schedule gives.
  if (state.it > iterations) refuse(`${lastFile} is at step ${state.it}, past the ${iterations} steps this config runs`, 'a resume can make a run longer, never shorter');
  if (state.epoch !== Math.floor(state.it / perEpoch)) refuse(`${lastFile} says step ${state.it} is in epoch ${state.epoch}, but with ${perEpoch} steps an epoch it is epoch ${Math.floor(state.it / perEpoch)}`);
  const lr = lrAtEpoch(cfg.lr, cfg.lrDecay, state.epoch);
  if (state.lr !== lr) refuse(`${lastFile} has learning rate ${state.lr} at epoch ${state.epoch}, but ${CONFIG}'s lr and lrDecay give ${lr}`);
  if (cfg.sampling === 'replacement' ? state.batcher.perm !== null : state.it > 0 && state.batcher.perm === null) refuse(`${lastFile}'s batch order does not fit sampling "${cfg.sampling}"`);
  // The optimizer's state: in last.ckpt itself (version 2), or beside it (a version-1 folder).
  const optimizer: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(last.blocks ?? {})) if (k.startsWith(OPTIM)) optimizer[k.slice(OPTIM.length)] = v;
  if (last.version === 1 && cfg.momentum > 0) {
    const vFile = runFile(dir, 'legacyVelocity');
    let v: Checkpoint | null = null;
    try {
      v = loadCheckpoint(vFile);
    } catch {
      /* refused below */
    }
    if (!v || v.header.iteration !== state.it || v.params.length !== last.params.length) {
      refuse(`its ${LAST} is from an older build (checkpoint version 1), which kept the momentum in ${LEGACY_VELOCITY}, and that file is missing, damaged or from another step`);
    }
    optimizer.velocity = v!.params;
  }
  // The update rule it was trained with: recorded since rules other than SGD exist; before, momentum's velocity said it.
  const saved = state.optimizer ?? { rule: optimizer.velocity ? 'sgd_momentum' : 'sgd', t: state.it };
  const want = RULE_BLOCKS[cfg.updateRule];
  if (saved.rule !== cfg.updateRule || Object.keys(optimizer).sort().join(',') !== want.join(',')) {
    const now = cfg.updateRule === 'sgd_momentum' || cfg.updateRule === 'sgd' ? ` (momentum ${cfg.momentum})` : '';
    refuse(`${lastFile} holds optimizer state [${Object.keys(optimizer).join(', ')}] of update rule ${saved.rule}, but ${CONFIG}'s update rule ${cfg.updateRule}${now} keeps [${want.join(', ')}]`, 'resume with the config it was trained with');
  }
  state.optimizer = saved;
  model.params.flat.set(last.params);
  // The best parameters so far: in last.ckpt unless they are its own parameters (version 1: best.ckpt).
  let best = last.blocks?.best ?? last.params;
  if (last.version === 1) {
    const bestFile = runFile(dir, 'best');
    try {
      if (fs.existsSync(bestFile)) best = loadCheckpoint(bestFile).params;
    } catch (e) {
      return refuse(`it is a version-1 folder, whose best parameters are in ${BEST}, and ${(e as Error).message}`);
    }
    if (best.length !== last.params.length) refuse(`its ${BEST} has ${best.length} parameters, its ${LAST} ${last.params.length}`);
  }
  return { state, best, optimizer };
}
