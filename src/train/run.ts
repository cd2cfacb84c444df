/**
 * One training run, from a resolved config to a run folder: load and split the data, build the
 * model, check the initial loss, train, keep the best checkpoint, evaluate on test, summarise.
 * Everything a person sees goes through `ui`; everything on record goes to the run folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { type Config, checkAgainstData } from '../config/config.js';
import { initEngine } from '../linalg/engine.js';
import type { Engine } from '../linalg/matmul.js';
import { Rng } from '../linalg/rng.js';
import { createModel } from '../models/index.js';
import type { Model, ModelSpec } from '../models/model.js';
import { loadDataset } from '../data/datasets.js';
import { gatherRows, prepareData, resolveSplit, type PreparedData } from '../data/split.js';
import { buildRunReport } from '../report/run_report.js';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint, type CheckpointHeader } from './checkpoint.js';
import { accuracy } from './evaluate.js';
import { createRunDir, JsonlWriter, readJsonl } from './rundir.js';
import { DivergedError, InterruptedError, initialLossCheck, iterationsPerEpoch, train, type EpochEvent, type IterationEvent, type ResumePoint, type TrainerState } from './trainer.js';

/** What the console layer implements (progress bar on a TTY, plain lines otherwise). */
export interface RunUi {
  info(line: string): void;
  warn(line: string): void;
  startTraining(totalIterations: number): void;
  iteration(e: IterationEvent): void;
  epoch(e: EpochEvent): void;
  endTraining(): void;
}

export interface Summary {
  status: 'ok' | 'diverged' | 'interrupted';
  error?: string;
  name: string;
  dataset: string;
  model: ModelSpec;
  engine: string;
  engineDetail: string;
  iterations: number;
  epochs: number;
  initialLoss: number;
  expectedInitialLoss: number;
  finalLoss: number | null;
  finalTrainAcc: number | null;
  finalValAcc: number | null;
  bestValAcc: number | null;
  /** Train accuracy of the best parameters (measured in the same epoch as bestValAcc). */
  bestTrainAcc: number | null;
  bestEpoch: number | null;
  testAcc: number | null;
  seconds: { load: number; train: number; total: number };
  examplesPerSecond: number | null;
  /** Peak resident memory of the process when the run ended, in MB (a sweep's trials share one process). */
  peakRssMB?: number;
  checkpoint: string | null;
}

export interface RunOutcome {
  dir: string;
  summary: Summary;
  /** report.html in the run folder (runTraining writes it; trainOnData leaves it to the caller). */
  report?: string;
}

/** The dataset of a run, split and preprocessed, with where it was read from. */
export interface RunData {
  data: PreparedData;
  source: string;
  loadSeconds: number;
}

/**
 * Load, split and preprocess the data `cfg` asks for. Throws ConfigError/DataError on nonsense
 * before any work is done. The dev rows are drawn with their own generator seeded by cfg.seed,
 * so training draws the same numbers whether the data was prepared here or shared by a sweep.
 * `shared` allocates the rows in SharedArrayBuffers, for worker threads.
 */
export async function loadRunData(cfg: Config, opts: { shared?: boolean } = {}): Promise<RunData> {
  const t0 = performance.now();
  const raw = await loadDataset(cfg.dataset, cfg.dataDir || undefined, { verify: cfg.verify });
  const split = resolveSplit(raw, { numTrain: cfg.numTrain, numVal: cfg.numVal, numTest: cfg.numTest, numDev: cfg.numDev });
  checkAgainstData(cfg, split.numTrain, { dim: raw.dim + (cfg.model === 'softmax' ? 1 : 0), classes: raw.classes.length });
  const data = prepareData(raw, split, { bias: cfg.model === 'softmax', scale: cfg.scale }, new Rng(cfg.seed), opts);
  return { data, source: raw.source, loadSeconds: (performance.now() - t0) / 1000 };
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

/** Train per `cfg`. Throws ConfigError/DataError before any run folder is made; DivergedError after the summary is written. */
export async function runTraining(cfg: Config, ui: RunUi, control: { shouldStop?: () => boolean; resumeDir?: string } = {}): Promise<RunOutcome> {
  const t0 = performance.now();
  // The engine first: the data goes into the memory it wants (shared, for the threads of the simd and wasm engines).
  const selection = await initEngine(cfg.backend);
  const runData = await loadRunData(cfg);
  const dir = control.resumeDir ?? createRunDir(cfg.runsDir, cfg.name);
  let outcome: RunOutcome;
  try {
    outcome = await trainOnData(cfg, runData, ui, { dir, ...selection, evaluateTest: true, t0, resume: control.resumeDir !== undefined, shouldStop: control.shouldStop });
  } catch (err) {
    // A diverged run still gets its report: the loss curve shows where it went wrong.
    if (err instanceof DivergedError) ui.info(`report: ${await buildRunReport(dir, runData.data.test)}`);
    throw err;
  }
  outcome.report = await buildRunReport(dir, runData.data.test);
  return outcome;
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
  /** Carry on from the folder's last.ckpt instead of starting afresh. */
  resume?: boolean;
  /** Asked after every step; true stops the run with a resumable checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** The resumable checkpoint of a run folder: last.ckpt (parameters and trainer state), and with momentum last.velocity.ckpt. */
const LAST = 'last.ckpt';
const LAST_VELOCITY = 'last.velocity.ckpt';

/** Train on data already loaded (a single run, or one trial of a sweep) and fill the run folder. */
export async function trainOnData(cfg: Config, runData: RunData, ui: RunUi, opts: TrainOnDataOptions): Promise<RunOutcome> {
  const t0 = opts.t0 ?? performance.now();
  const { data, source, loadSeconds } = runData;
  const { dir, engine } = opts;
  const split = { numTrain: data.train.n, numVal: data.val.n, numTest: data.test.n };

  // Run folder and log. A resume writes the config too: it may have changed the engine or the length.
  writeJsonAtomic(path.join(dir, 'config.json'), cfg);
  const log = pino({ base: undefined }, pino.destination({ dest: path.join(dir, 'train.log'), sync: true }));
  log.info({ config: cfg }, 'config');
  ui.info(`run folder: ${dir}`);
  for (const s of opts.skipped) log.info({ backend: s.name, reason: s.reason }, 'backend unavailable');
  log.info({ engine: engine.name, detail: engine.detail }, 'engine');
  ui.info(`engine: ${engine.name} (${engine.detail})`);

  const shapes = `train ${data.train.n}, val ${data.val.n}, test ${data.test.n}, dev ${data.dev.n}; ${data.dim} numbers a row`;
  log.info({ source, train: data.train.n, val: data.val.n, test: data.test.n, dev: data.dev.n, dim: data.dim, seconds: loadSeconds }, 'data');
  ui.info(`data: ${cfg.dataset} from ${source} (${shapes}), ${loadSeconds.toFixed(1)} s`);
  const rng = new Rng(cfg.seed);

  // Model and the cs231n sanity check of the initial loss.
  const spec: ModelSpec = {
    kind: cfg.model,
    inputDim: data.dim,
    hidden: cfg.model === 'mlp' ? cfg.hidden : [],
    numClasses: data.classes.length,
  };
  const model = createModel(spec, { initStd: cfg.initStd, reg: cfg.reg }, rng) as Model<Float32Array>;
  const check = initialLossCheck(model, data.dev, spec.numClasses);
  const checkLine = `initial loss ${check.loss.toFixed(4)} with reg 0 on ${data.dev.n} dev rows; expected −ln(1/${spec.numClasses}) = ${check.expected.toFixed(4)} (${(100 * check.relDiff).toFixed(1)}% off)`;
  log.info({ initialLoss: check.loss, expected: check.expected, relDiff: check.relDiff, scoreStd: check.scoreStd }, 'initial loss check');
  ui.info(checkLine);
  if (!check.ok) {
    const w =
      `the initial loss is ${(100 * check.relDiff).toFixed(0)}% away from ln(${spec.numClasses}): the initial scores have std ${check.scoreStd.toPrecision(2)}, ` +
      'not near 0, so the weights start large for this data (cs231n\'s 0.001 on raw pixels does this; the run can still train). Lower --init-std, or check the preprocessing.';
    log.warn({ scoreStd: check.scoreStd }, w);
    ui.warn(w);
  }

  // Train.
  const perEpoch = iterationsPerEpoch(data.train.n, cfg.batchSize);
  const iterations = cfg.iterations > 0 ? cfg.iterations : Math.max(1, Math.round(cfg.epochs * perEpoch));
  const epochs = Math.ceil(iterations / perEpoch);
  const trainAccRows = Math.min(cfg.trainAccSamples, data.train.n);
  const accIdx = rng.choice(data.train.n, trainAccRows);
  const trainAcc = gatherRows(data.train, accIdx);
  log.info({ iterations, iterationsPerEpoch: perEpoch, epochs, batchSize: cfg.batchSize }, 'schedule');
  ui.info(`training ${cfg.model}${spec.hidden.length ? ` (hidden ${spec.hidden.join(',')})` : ''}: ${iterations} iterations, ${perEpoch} per epoch, batch ${cfg.batchSize}, lr ${cfg.lr}, reg ${cfg.reg}`);

  const metrics = new JsonlWriter(path.join(dir, 'metrics.jsonl'));
  const ckptFile = path.join(dir, 'best.ckpt');
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

  const base: Omit<Summary, 'status' | 'finalLoss' | 'finalTrainAcc' | 'finalValAcc' | 'bestValAcc' | 'bestTrainAcc' | 'bestEpoch' | 'testAcc' | 'seconds' | 'examplesPerSecond' | 'checkpoint'> = {
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

  // Every checkpointEvery epochs (and on Ctrl-C) the loop's whole state goes to last.ckpt, atomically.
  const saveLast = (point: Omit<ResumePoint, 'lossHistory'>): void => {
    const st = point.state;
    const e: EpochEvent = { epoch: st.epoch, it: st.it, trainAcc: st.trainAccHistory.at(-1) ?? NaN, valAcc: st.valAccHistory.at(-1) ?? NaN, lr: st.lr, best: false, seconds: 0 };
    if (point.velocity) saveCheckpoint(path.join(dir, LAST_VELOCITY), { header: header(e), params: point.velocity, mean: data.mean });
    saveCheckpoint(path.join(dir, LAST), { header: { ...header(e), trainer: st } as CheckpointHeader, params: model.params.flat as Float32Array, mean: data.mean });
  };
  let resumeFrom: ResumePoint | undefined;
  if (opts.resume) {
    resumeFrom = loadResumePoint(dir, model.params.flat as Float32Array, cfg.momentum > 0);
    if (fs.existsSync(ckptFile)) savedCheckpoint = ckptFile;
    log.info({ it: resumeFrom.state.it, epoch: resumeFrom.state.epoch }, 'resumed');
    ui.info(`resuming at step ${resumeFrom.state.it} of ${iterations} (epoch ${resumeFrom.state.epoch})`);
  }

  ui.startTraining(iterations);
  const tTrain = performance.now();
  let result;
  try {
    result = await train(
      model,
      { train: data.train, val: data.val, trainAcc },
      { lr: cfg.lr, lrDecay: cfg.lrDecay, momentum: cfg.momentum, batchSize: cfg.batchSize, iterations, iterationsPerEpoch: perEpoch, sampling: cfg.sampling },
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
          if (e.it < iterations && e.epoch % cfg.checkpointEvery === 0) saveLast(snapshot());
          ui.epoch(e);
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
      writeJsonAtomic(path.join(dir, 'summary.json'), {
        ...base,
        status: 'interrupted',
        error: `stopped at step ${err.point.state.it} of ${iterations}; resume with: npx train --resume ${dir}`,
        finalLoss: null,
        finalTrainAcc: null,
        finalValAcc: null,
        bestValAcc: err.point.state.bestValAcc >= 0 ? err.point.state.bestValAcc : null,
        bestTrainAcc: null,
        bestEpoch: err.point.state.bestEpoch || null,
        testAcc: null,
        seconds: { load: loadSeconds, train: (performance.now() - tTrain) / 1000, total: (performance.now() - t0) / 1000 },
        examplesPerSecond: null,
        checkpoint: savedCheckpoint,
      } satisfies Summary);
      log.warn({ it: err.point.state.it }, 'interrupted');
      err.dir = dir;
    }
    if (err instanceof DivergedError) {
      const summary: Summary = {
        ...base,
        status: 'diverged',
        error: err.message,
        finalLoss: err.loss,
        finalTrainAcc: null,
        finalValAcc: null,
        bestValAcc: null,
        bestTrainAcc: null,
        bestEpoch: null,
        testAcc: null,
        seconds: { load: loadSeconds, train: (performance.now() - tTrain) / 1000, total: (performance.now() - t0) / 1000 },
        examplesPerSecond: null,
        checkpoint: savedCheckpoint,
      };
      writeJsonAtomic(path.join(dir, 'summary.json'), summary);
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
  const summary: Summary = {
    ...base,
    status: 'ok',
    finalLoss: last.reduce((s, v) => s + v, 0) / last.length,
    finalTrainAcc: result.finalTrainAcc,
    finalValAcc: result.finalValAcc,
    bestValAcc: result.bestValAcc,
    bestTrainAcc: result.trainAccHistory[result.bestEpoch - 1] ?? null,
    bestEpoch: result.bestEpoch,
    testAcc,
    seconds: { load: round(loadSeconds), train: round(trainSeconds), total: round((performance.now() - t0) / 1000) },
    examplesPerSecond: Math.round((iterations * cfg.batchSize) / trainSeconds),
    peakRssMB: peakRssMB(),
    checkpoint: savedCheckpoint,
  };
  writeJsonAtomic(path.join(dir, 'summary.json'), summary);
  log.info(summary, 'summary');
  return { dir, summary };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * The state to carry on from: last.ckpt's parameters (copied into `params`) and trainer state,
 * best.ckpt's parameters, the momentum buffer, and the losses so far from metrics.jsonl, which
 * is cut back to the checkpoint's step (the steps after it are done again, identically).
 */
function loadResumePoint(dir: string, params: Float32Array, momentum: boolean): ResumePoint {
  // A kill during an atomic write leaves its temporary file beside the good one: clear them.
  for (const f of fs.readdirSync(dir)) if (f.startsWith('.') && f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
  const lastFile = path.join(dir, LAST);
  if (!fs.existsSync(lastFile)) throw new CheckpointError(`${dir} has no ${LAST} to resume from: the run stopped before its first checkpoint; start it again`);
  const last = loadCheckpoint(lastFile);
  const state = (last.header as CheckpointHeader & { trainer?: TrainerState }).trainer;
  if (!state) throw new CheckpointError(`${lastFile} holds no trainer state`);
  if (last.params.length !== params.length) throw new CheckpointError(`${lastFile} has ${last.params.length} parameters, the model ${params.length}`);
  params.set(last.params);
  const bestFile = path.join(dir, 'best.ckpt');
  const best = fs.existsSync(bestFile) ? loadCheckpoint(bestFile).params : last.params;
  let velocity: Float32Array | null = null;
  if (momentum) {
    const v = loadCheckpoint(path.join(dir, LAST_VELOCITY));
    if (v.header.iteration !== state.it) throw new CheckpointError(`${LAST_VELOCITY} is from step ${v.header.iteration}, ${LAST} from step ${state.it}: the folder is inconsistent`);
    velocity = v.params;
  }
  const metricsFile = path.join(dir, 'metrics.jsonl');
  const kept = (fs.existsSync(metricsFile) ? readJsonl(metricsFile) : []).filter((m) => typeof (m as { it?: number }).it === 'number' && (m as { it: number }).it <= state.it) as { type: string; it: number; loss?: number }[];
  writeFileAtomic(metricsFile, kept.map((m) => JSON.stringify(m)).join('\n') + (kept.length ? '\n' : ''));
  const lossHistory = new Float64Array(state.it);
  for (const m of kept) if (m.type === 'iter' && typeof m.loss === 'number') lossHistory[m.it - 1] = m.loss;
  return { state, best, velocity, lossHistory };
}
