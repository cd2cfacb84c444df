/**
 * What an SGD run writes into its folder (runs/layout.ts names the files): config.json and
 * train.log as it starts, a row of metrics.jsonl per step and per epoch, best.ckpt at each new
 * best, last.ckpt (everything a resume needs, in one atomic write) every checkpointEvery epochs,
 * and summary.json at the end. The trainer emits events; the recorder is one of their listeners.
 */
import { isDeepStrictEqual } from 'node:util';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { PreparedData } from '../data/split.js';
import type { Model, ModelSpec } from '../models/model.js';
import { writeJsonAtomic } from '../runs/atomic.js';
import { type CheckpointHeader, saveCheckpoint } from '../runs/checkpoint.js';
import { JsonlWriter } from '../runs/jsonl.js';
import { runFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import { readSegments, runSeconds, SEGMENT_LOG, type RunSeconds, type SegmentEnd, type SegmentSeconds } from '../runs/segments.js';
import { writeSummary, type Summary } from '../runs/summary.js';
import type { EngineSelection } from '../linalg/engine.js';
import type { EpochEvent, IterationEvent, ResumePoint } from './trainer.js';

/** The lines a person sees: the console (cli/ui.ts), the library's callbacks, or nothing (a sweep's trials). */
export interface Notes {
  info(line: string): void;
  warn(line: string): void;
}

/** The block name prefix of the optimizer's state in last.ckpt ("optim.<name>"). */
export const OPTIM_BLOCK = 'optim.';

/** A run's data as the run folder records it: the rows, where they came from, how long loading took. */
export interface RecordedData {
  data: PreparedData;
  source: string;
  loadSeconds: number;
  features?: { file: string | null; fromCache: boolean };
}

export class RunRecorder {
  readonly log: Logger;
  /** The segments of earlier processes on this run (a resume's), for the run's total seconds. */
  private readonly earlier: SegmentSeconds[];
  private metrics: JsonlWriter | null = null;
  private model: Model<Float32Array> | null = null;
  private spec: ModelSpec | null = null;
  /** best.ckpt, once written (or kept by a resume). */
  savedCheckpoint: string | null = null;
  private tTrain = 0;

  /**
   * Start this process's segment of run folder `dir`: config.json (rewritten on a resume only
   * when `cfg` differs from it: another engine, a longer run), train.log's opening lines.
   */
  constructor(
    readonly dir: string,
    readonly cfg: Config,
    readonly data: RecordedData,
    private readonly times: { t0: number; resume: boolean },
  ) {
    const cfgFile = runFile(dir, 'config');
    this.earlier = times.resume ? readSegments(runFile(dir, 'log')) : []; // before this segment's lines are added
    if (!times.resume || !isDeepStrictEqual(readJsonOrNull(cfgFile), JSON.parse(JSON.stringify(cfg)))) writeJsonAtomic(cfgFile, cfg);
    this.log = pino({ base: undefined }, pino.destination({ dest: runFile(dir, 'log'), sync: true }));
    this.log.info({ config: cfg }, SEGMENT_LOG.start);
    this.log.info({ pid: process.pid }, 'process'); // `train runs` tells a running run from a killed one by it
  }

  /** The engine and the data, in the log and to the person. */
  describe(engine: EngineSelection, ui: Notes): void {
    const { log, cfg } = this;
    const { data, source, loadSeconds, features } = this.data;
    ui.info(`run folder: ${this.dir}`);
    for (const s of engine.skipped) log.info({ backend: s.name, reason: s.reason }, 'backend unavailable');
    log.info({ engine: engine.engine.name, detail: engine.engine.detail }, 'engine');
    ui.info(`engine: ${engine.engine.name} (${engine.engine.detail})`);
    const shapes = `train ${data.train.n}, val ${data.val.n}, test ${data.test.n}, dev ${data.dev.n}; ${data.dim} numbers a row`;
    log.info({ source, train: data.train.n, val: data.val.n, test: data.test.n, dev: data.dev.n, dim: data.dim, seconds: loadSeconds }, SEGMENT_LOG.data);
    ui.info(`data: ${cfg.dataset} from ${source} (${shapes}), ${loadSeconds.toFixed(1)} s`);
    if (features) {
      log.info({ features: cfg.features, hueBins: cfg.hueBins, cache: features.file, fromCache: features.fromCache }, 'features');
      ui.info(
        `features: ${cfg.features}, ${cfg.hueBins} hue bins, ${features.fromCache ? `read from ${features.file}` : features.file ? `computed and cached in ${features.file}` : 'computed (not cached)'}`,
      );
    }
  }

  /** The model whose parameters the checkpoints hold. */
  holdModel(model: Model<Float32Array>): void {
    this.model = model;
    this.spec = model.spec;
  }

  /** Training starts: metrics.jsonl opened (a resume's: the writer that cut it back). */
  startTraining(metrics?: JsonlWriter): void {
    this.metrics = metrics ?? new JsonlWriter(runFile(this.dir, 'metrics'));
    this.tTrain = performance.now();
  }

  /** What every checkpoint of this run says about it, at the end of epoch event `e`. */
  header(e: Pick<EpochEvent, 'epoch' | 'it' | 'trainAcc' | 'valAcc'>): CheckpointHeader {
    const { data } = this.data;
    return {
      model: this.spec!,
      params: this.model!.params.specs,
      dataset: this.cfg.dataset,
      classes: data.classes,
      imageShape: data.imageShape,
      preprocess: data.preprocess,
      split: { numTrain: data.train.n, numVal: data.val.n, numTest: data.test.n },
      meanLength: data.mean.length,
      epoch: e.epoch,
      iteration: e.it,
      trainAcc: e.trainAcc,
      valAcc: e.valAcc,
      config: { ...this.cfg },
    };
  }

  iteration(e: IterationEvent): void {
    this.metrics!.write({ type: 'iter', it: e.it, epoch: e.epoch, loss: e.loss, lr: e.lr });
  }

  /** An epoch's row and log line; best.ckpt when it is the best; last.ckpt every checkpointEvery epochs and at the last step. */
  epoch(e: EpochEvent, snapshot: () => Omit<ResumePoint, 'lossHistory'>, iterations: number): void {
    this.metrics!.write({ type: 'epoch', epoch: e.epoch, it: e.it, trainAcc: e.trainAcc, valAcc: e.valAcc, trainLoss: e.trainLoss, valLoss: e.valLoss, lr: e.lr, best: e.best, seconds: e.seconds });
    this.metrics!.flush();
    this.log.info({ epoch: e.epoch, it: e.it, trainAcc: e.trainAcc, valAcc: e.valAcc, lr: e.lr, best: e.best }, 'epoch');
    if (e.best) {
      saveCheckpoint(runFile(this.dir, 'best'), { header: this.header(e), params: this.model!.params.flat as Float32Array, mean: this.data.data.mean });
      this.savedCheckpoint = runFile(this.dir, 'best');
    }
    if (e.it === iterations || e.epoch % this.cfg.checkpointEvery === 0) this.saveLast(snapshot());
  }

  /** The loop's whole state to last.ckpt, in one atomic write: the parameters, the trainer state, the optimizer's blocks and the best parameters (unless they are the current ones). */
  saveLast(point: Omit<ResumePoint, 'lossHistory'>): void {
    const st = point.state;
    const e = { epoch: st.epoch, it: st.it, trainAcc: st.trainAccHistory.at(-1) ?? NaN, valAcc: st.valAccHistory.at(-1) ?? NaN };
    const params = this.model!.params.flat as Float32Array;
    const blocks: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(point.optimizer)) blocks[OPTIM_BLOCK + k] = v;
    if (!sameBits(point.best, params)) blocks.best = point.best;
    saveCheckpoint(runFile(this.dir, 'last'), { header: { ...this.header(e), trainer: st }, params, mean: this.data.data.mean, blocks });
  }

  /** Training has ended, however: metrics.jsonl written out and closed. */
  endTraining(): void {
    this.metrics?.close();
  }

  /** Seconds since training started in this process. */
  trainSeconds(): number {
    return (performance.now() - this.tTrain) / 1000;
  }

  /** This process's time on the run, logged as its segment, and the run's seconds over every segment. */
  seconds(ended: SegmentEnd): RunSeconds {
    const now: SegmentSeconds = { load: round(this.data.loadSeconds), train: round(this.trainSeconds()), total: round((performance.now() - this.times.t0) / 1000), ended };
    this.log.info({ ended, seconds: now }, SEGMENT_LOG.end);
    return runSeconds(this.earlier, now);
  }

  summary(summary: Summary): void {
    writeSummary(this.dir, summary);
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
