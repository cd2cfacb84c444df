/**
 * One training run in the worker, a step at a time: the config from the config table, the data
 * split and preprocessed by data/split.ts, the model, workspace, update rule and minibatches of
 * src/, and the loop of train/trainer.ts taken apart so that the page can pause it and step it.
 * Each step and each epoch end do what trainer.ts train() does, in its order (the same random
 * draws: model init, the dev rows, the train-accuracy rows, then the batches), so a page run is
 * the CLI's run of the same config.
 */
import { type Config, checkPartial, resolveConfig, scheduleOf, updateRuleOf } from '../src/config/config.js';
import { checkAgainstData } from '../src/data/fits.js';
import { modelSpecOf } from '../src/config/derive.js';
import type { RawDataset } from '../src/data/datasets.js';
import { type PreparedData, type Rows, takeRows, prepareData, resolveSplit } from '../src/data/split.js';
import type { Engine } from '../src/linalg/engines/types.js';
import { Rng } from '../src/linalg/rng.js';
import { type Workspace, createWorkspace } from '../src/models/buffers.js';
import { accuracy } from '../src/models/evaluate.js';
import { createModel } from '../src/models/index.js';
import type { Model } from '../src/models/model.js';
import { type Optimizer, createOptimizer } from '../src/optim/rules.js';
import { lrAtEpoch } from '../src/optim/schedule.js';
import type { CheckpointHeader } from '../src/runs/checkpoint.js';
import { Batcher } from '../src/train/batch.js';
import { DivergedError } from '../src/train/trainer.js';
import type { FormValues } from './protocol.js';

/** A browser tab's limits for data/fits.ts checkAgainstData (it asks Node's otherwise). */
const LIMITS = { maxArrayLength: 2 ** 31 - 1, memoryBytes: 4e9 };

/** The page's config: the form over its dataset's preset (MNIST unless it picks CIFAR-10), checked by the config table as a config file is. */
export function configOf(form: FormValues | Record<string, unknown>): Config {
  return resolveConfig(checkPartial({ dataset: 'mnist', ...form }, 'the form'), {});
}

/** The data of a config: split and preprocessed as train/run.ts loadRunData does, kept while the split stays the same. */
let prepared: { key: string; data: PreparedData } | null = null;
export function dataOf(cfg: Config, raw: RawDataset, engine: Engine): PreparedData {
  const split = resolveSplit(raw, { numTrain: cfg.numTrain, numVal: cfg.numVal, numTest: cfg.numTest, numDev: cfg.numDev });
  const pre = { bias: cfg.model === 'linear', scale: cfg.scale };
  checkAgainstData(cfg, split.numTrain, { dim: raw.dim + (pre.bias ? 1 : 0), classes: raw.classes.length }, LIMITS);
  const key = JSON.stringify([raw.name, raw.source, split, pre, cfg.seed, engine.alloc.shared]);
  if (prepared?.key !== key) {
    prepared = null; // let the old copy go first: a tab has less memory than a CLI process
    prepared = { key, data: prepareData(raw, split, pre, new Rng(cfg.seed), { alloc: engine.alloc }) };
  }
  return prepared.data;
}

export interface EpochRecord {
  epoch: number;
  it: number;
  trainAcc: number;
  valAcc: number;
}

export class Session {
  readonly rng: Rng;
  readonly model: Model<Float32Array>;
  readonly ws: Workspace<Float32Array>;
  readonly batcher: Batcher;
  readonly trainAccRows: Rows;
  readonly iterations: number;
  readonly perEpoch: number;
  private readonly opt: Optimizer;
  /** The trainable prefix of the parameters, which the update rule steps. */
  private readonly stepped: Float32Array;
  it = 0;
  epoch = 0;
  lr: number;
  best: Float32Array;
  bestValAcc = -1;
  bestEpoch = 0;
  bestIt = 0;
  readonly epochs: EpochRecord[] = [];
  /** Losses not yet sent to the page. */
  losses: [number, number][] = [];
  /** ‖ΔW‖/‖W‖ per weight matrix at the last step that measured them. */
  ratios: { name: string; value: number }[] = [];

  constructor(
    readonly cfg: Config,
    readonly raw: RawDataset,
    readonly data: PreparedData,
    readonly engine: Engine,
  ) {
    this.rng = new Rng(cfg.seed);
    this.model = createModel(modelSpecOf(cfg, data.dim, data.classes.length), { initStd: cfg.initStd, reg: cfg.reg, alloc: engine.alloc }, this.rng);
    const sched = scheduleOf(cfg, data.train.n);
    this.perEpoch = sched.perEpoch;
    this.iterations = sched.steps;
    this.trainAccRows = takeRows(data.train, this.rng.choice(data.train.n, Math.min(cfg.trainAccSamples, data.train.n)));
    this.batcher = new Batcher(data.train, cfg.batchSize, cfg.sampling, engine.alloc);
    this.ws = createWorkspace(this.model.params, engine.alloc);
    const trainable = this.ws.grads.flat.length;
    const params = this.model.params.flat;
    this.stepped = trainable === params.length ? params : params.subarray(0, trainable);
    const { updateRule, hyper } = updateRuleOf(cfg);
    this.opt = createOptimizer(updateRule, trainable, hyper, Float32Array, engine.alloc);
    this.lr = cfg.lr;
    this.best = params.slice();
  }

  get done(): boolean {
    return this.it >= this.iterations;
  }

  /** One SGD step (trainer.ts's loop body); with `measure`, also each weight matrix's ‖ΔW‖/‖W‖. */
  step(measure: boolean): void {
    this.batcher.next(this.rng);
    const { loss, grads } = this.model.loss(this.batcher.X, this.batcher.y, this.ws);
    if (!Number.isFinite(loss)) throw new DivergedError(this.it + 1, loss, this.lr);
    const before = measure ? this.stepped.slice() : null;
    this.opt.step(this.stepped, grads.flat, this.lr);
    if (before) this.ratios = this.updateRatios(before);
    this.it++;
    this.losses.push([this.it, loss]);
    const epochEnd = this.it % this.perEpoch === 0;
    if (epochEnd || this.it === this.iterations) this.endEpoch(epochEnd);
  }

  /** trainer.ts's end of an epoch: decay the learning rate, measure train and val accuracy, keep the best parameters. */
  private endEpoch(whole: boolean): void {
    if (whole) {
      this.epoch++;
      this.lr = lrAtEpoch(this.cfg.lr, this.cfg.lrDecay, this.epoch);
    }
    const trainAcc = accuracy(this.model, this.trainAccRows, this.ws);
    const valAcc = accuracy(this.model, this.data.val, this.ws);
    const epoch = whole ? this.epoch : this.epoch + 1;
    this.epochs.push({ epoch, it: this.it, trainAcc, valAcc });
    if (valAcc > this.bestValAcc) {
      this.bestValAcc = valAcc;
      this.bestEpoch = epoch;
      this.bestIt = this.it;
      this.best.set(this.model.params.flat);
    }
  }

  /** ‖W_after − W_before‖ / ‖W_after‖ for each weight matrix (cs231n: about 1e-3 is healthy). */
  private updateRatios(before: Float32Array): { name: string; value: number }[] {
    const p = this.model.params;
    let off = 0;
    const out: { name: string; value: number }[] = [];
    for (const s of p.specs) {
      const n = s.rows * s.cols;
      if (/^W\d*$/.test(s.name)) {
        let d2 = 0;
        let w2 = 0;
        for (let i = off; i < off + n; i++) {
          const w = p.flat[i];
          d2 += (w - before[i]) ** 2;
          w2 += w * w;
        }
        out.push({ name: s.name, value: Math.sqrt(d2) / Math.max(Math.sqrt(w2), 1e-30) });
      }
      off += n;
    }
    return out;
  }

  /** A best.ckpt of this run (as train/run.ts writes it): the best parameters so far, else the current ones. */
  checkpoint(): { header: CheckpointHeader; params: Float32Array; mean: Float32Array } {
    const d = this.data;
    const rec = this.epochs.find((e) => e.it === this.bestIt);
    const header: CheckpointHeader = {
      model: this.model.spec,
      params: this.model.params.specs,
      dataset: this.cfg.dataset,
      classes: d.classes,
      imageShape: d.imageShape,
      preprocess: d.preprocess,
      split: { numTrain: d.train.n, numVal: d.val.n, numTest: d.test.n },
      meanLength: d.mean.length,
      epoch: rec ? this.bestEpoch : this.epoch,
      iteration: rec ? this.bestIt : this.it,
      trainAcc: rec ? rec.trainAcc : null,
      valAcc: rec ? rec.valAcc : null,
      config: { ...this.cfg },
    };
    return { header, params: rec ? this.best.slice() : this.model.params.flat.slice(), mean: d.mean };
  }
}
