/**
 * Resuming a run from its folder's last.ckpt, bit for bit: the state to carry on from, checked
 * against the run it resumes; metrics.jsonl cut back to that state; best.ckpt made the one of
 * that state. A resumed run then takes exactly the steps the uninterrupted run would have.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../config/config.js';
import type { PreparedData } from '../data/split.js';
import type { Model, ModelSpec } from '../models/model.js';
import { lrAtEpoch } from '../optim/schedule.js';
import { RULE_BLOCKS } from '../optim/rules.js';
import { isTempFile, writeFileAtomic } from '../runs/atomic.js';
import { type Checkpoint, CheckpointError, encodeCheckpoint, loadCheckpoint, type TrainerState } from '../runs/checkpoint.js';
import { JsonlWriter } from '../runs/jsonl.js';
import { RUN_FILES, runFile } from '../runs/layout.js';
import { readJsonOrNull } from '../runs/read.js';
import type { Summary } from '../runs/summary.js';
import { type Notes, OPTIM_BLOCK, type RunRecorder, sameBits } from './recorder.js';
import type { ResumePoint } from './trainer.js';
import { readRegularFile } from '../io/files.js';

const { last: LAST, best: BEST, config: CONFIG } = RUN_FILES;

/** The run a checkpoint is checked against. */
export interface ResumedRun {
  cfg: Config;
  spec: ModelSpec;
  data: PreparedData;
  model: Model<Float32Array>;
  iterations: number;
  perEpoch: number;
}

/**
 * Carry run folder `rec.dir` on from its last.ckpt: the parameters go into `run.model`; the
 * returned writer appends to metrics.jsonl cut back to the checkpoint's step (the steps after it,
 * and the evaluation of a fractional last epoch that it leaves out, are done again, identically).
 */
export function resumeRun(rec: RunRecorder, run: ResumedRun, ui: Notes): { point: ResumePoint; metrics: JsonlWriter } {
  const { dir } = rec;
  const point = loadResumePoint(dir, run);
  const st = point.state;
  const metricsFile = runFile(dir, 'metrics');
  const metrics = new JsonlWriter(metricsFile, (row) => rowStep(row) <= st.it && rowEpoch(row) <= st.epoch);
  const kept = metrics.kept as { type?: unknown; it?: unknown; epoch?: unknown; loss?: unknown }[];
  const lossHistory = new Float64Array(st.it);
  for (const m of kept) if (m.type === 'iter' && typeof m.loss === 'number') lossHistory[(m.it as number) - 1] = m.loss;
  const want = st.it + st.epoch;
  if (kept.length !== want || !kept.every((m, i) => isDeepStrictEqual([m.type, m.it, m.epoch], expectedRow(i, run.perEpoch)))) {
    const w = `${metricsFile} holds ${kept.length} well-formed rows in order before step ${st.it}, where the run wrote ${want}: its loss curve will have gaps`;
    rec.log.warn(w);
    ui.warn(w);
  }
  keepBestOf(rec, st, point.best, run.perEpoch);
  // A finished run carried on is no longer finished: its summary is written again at the end.
  if ((readJsonOrNull(runFile(dir, 'summary')) as Summary | null)?.status === 'ok') fs.rmSync(runFile(dir, 'summary'), { force: true });
  rec.log.info({ it: st.it, epoch: st.epoch }, 'resumed');
  ui.info(`resuming at step ${st.it} of ${run.iterations} (epoch ${st.epoch})`);
  return { point: { ...point, lossHistory }, metrics };
}

/**
 * best.ckpt must hold the best parameters of the state resumed from: a run killed after writing
 * a new best.ckpt but before its last.ckpt (or between last.ckpts) would otherwise keep
 * parameters that the resumed run may not find again (on another engine, say).
 */
function keepBestOf(rec: RunRecorder, st: TrainerState, best: Float32Array, perEpoch: number): void {
  const ckptFile = runFile(rec.dir, 'best');
  if (st.bestEpoch > 0) {
    const bestEvent = { epoch: st.bestEpoch, it: st.bestEpoch * perEpoch, trainAcc: st.trainAccHistory[st.bestEpoch - 1], valAcc: st.bestValAcc };
    // Byte for byte as this run writes it: a longer run's header also names its own config.
    const want = encodeCheckpoint({ header: rec.header(bestEvent), params: best, mean: rec.data.data.mean });
    if (!sameFileBytes(ckptFile, want)) writeFileAtomic(ckptFile, want);
    rec.savedCheckpoint = ckptFile;
  } else {
    fs.rmSync(ckptFile, { force: true }); // newer than the state resumed from; the run writes it again
  }
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
    return readRegularFile(file, bytes.length, 'a checkpoint').equals(bytes);
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

/** Refuse to resume `dir`: what is wrong, and what to do. */
function refuse(dir: string, what: string, todo = 'start the run again without --resume'): never {
  throw new CheckpointError(`cannot resume ${dir}: ${what}; ${todo}`);
}

/**
 * The state to carry on from, read from last.ckpt (the parameters are copied into the model) and
 * checked against the run it resumes: the same model, data and schedule, a step this run has,
 * the optimizer state this optimizer keeps. Every refusal names the folder and what to do.
 */
function loadResumePoint(dir: string, run: ResumedRun): Omit<ResumePoint, 'lossHistory'> {
  const last = readLast(dir);
  const lastFile = runFile(dir, 'last');
  const state = last.header.trainer;
  if (!state) return refuse(dir, `${lastFile} holds no trainer state (is it a ${BEST} copied there?)`);
  checkSameRun(dir, last, run);
  checkSchedule(dir, state, run);
  const optimizer = optimizerBlocks(dir, last, state, run.cfg);
  run.model.params.flat.set(last.params);
  return { state, best: bestParams(last), optimizer };
}

/** last.ckpt, read; the temporary files a kill during an atomic write leaves beside it are cleared first. */
function readLast(dir: string): Checkpoint {
  for (const f of fs.readdirSync(dir)) if (isTempFile(f)) fs.rmSync(path.join(dir, f), { force: true });
  const lastFile = runFile(dir, 'last');
  if (!fs.existsSync(lastFile)) refuse(dir, `it has no ${LAST}: the run stopped before its first checkpoint`);
  try {
    return loadCheckpoint(lastFile);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    return refuse(dir, e.message);
  }
}

/** The checkpoint must belong to this run: the same model, data and preprocessing. */
function checkSameRun(dir: string, last: Checkpoint, run: ResumedRun): void {
  const { cfg, spec, data } = run;
  const h = last.header;
  const lastFile = runFile(dir, 'last');
  const same: [string, unknown, unknown][] = [
    ['model', h.model, spec],
    ['dataset', h.dataset, cfg.dataset],
    ['classes', h.classes, data.classes],
    ['split', h.split, { numTrain: data.train.n, numVal: data.val.n, numTest: data.test.n }],
    ['preprocessing', h.preprocess, data.preprocess],
  ];
  for (const [what, got, want] of same) {
    if (!isDeepStrictEqual(got, want))
      refuse(dir, `${lastFile} has ${what} ${JSON.stringify(got)}, but ${CONFIG} and the data give ${JSON.stringify(want)}`, 'resume with the data and config it was trained with');
  }
  if (!sameBits(last.mean, data.mean)) refuse(dir, `${lastFile} was trained on other data (its mean image differs from this data's)`, `resume with the data it was trained with (${CONFIG}'s dataDir)`);
}

/** The step must be one this run has, at the epoch and learning rate its schedule gives, in the batch order its sampling keeps. */
function checkSchedule(dir: string, state: TrainerState, run: ResumedRun): void {
  const { cfg, iterations, perEpoch } = run;
  const lastFile = runFile(dir, 'last');
  if (state.it > iterations) refuse(dir, `${lastFile} is at step ${state.it}, past the ${iterations} steps this config runs`, 'a resume can make a run longer, never shorter');
  if (state.epoch !== Math.floor(state.it / perEpoch))
    refuse(dir, `${lastFile} says step ${state.it} is in epoch ${state.epoch}, but with ${perEpoch} steps an epoch it is epoch ${Math.floor(state.it / perEpoch)}`);
  const lr = lrAtEpoch(cfg.lr, cfg.lrDecay, state.epoch);
  if (state.lr !== lr) refuse(dir, `${lastFile} has learning rate ${state.lr} at epoch ${state.epoch}, but ${CONFIG}'s lr and lrDecay give ${lr}`);
  if (cfg.sampling === 'replacement' ? state.batcher.perm !== null : state.it > 0 && state.batcher.perm === null) refuse(dir, `${lastFile}'s batch order does not fit sampling "${cfg.sampling}"`);
}

/**
 * The optimizer's state, in last.ckpt's optim.* blocks, and of the update rule this config trains
 * with (state.optimizer is set to it).
 */
function optimizerBlocks(dir: string, last: Checkpoint, state: TrainerState, cfg: Config): Record<string, Float32Array> {
  const lastFile = runFile(dir, 'last');
  const optimizer: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(last.blocks ?? {})) if (k.startsWith(OPTIM_BLOCK)) optimizer[k.slice(OPTIM_BLOCK.length)] = v;
  // The update rule it was trained with: as recorded, else sgd_momentum if it holds a velocity, else sgd.
  const saved = state.optimizer ?? { rule: optimizer.velocity ? 'sgd_momentum' : 'sgd', t: state.it };
  const want = RULE_BLOCKS[cfg.updateRule];
  if (saved.rule !== cfg.updateRule || Object.keys(optimizer).sort().join(',') !== want.join(',')) {
    const now = cfg.updateRule === 'sgd_momentum' || cfg.updateRule === 'sgd' ? ` (momentum ${cfg.momentum})` : '';
    refuse(
      dir,
      `${lastFile} holds optimizer state [${Object.keys(optimizer).join(', ')}] of update rule ${saved.rule}, but ${CONFIG}'s update rule ${cfg.updateRule}${now} keeps [${want.join(', ')}]`,
      'resume with the config it was trained with',
    );
  }
  state.optimizer = saved;
  return optimizer;
}

/** The best parameters so far: in last.ckpt unless they are its own parameters. */
function bestParams(last: Checkpoint): Float32Array {
  return last.blocks?.best ?? last.params;
}
