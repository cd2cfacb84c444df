/**
 * A run's data given in memory, as Keras's fit(x, y) takes it, instead of a dataset by name:
 * rows (a typed array and its shape, [N, D] or [N, H, W, C] in HWC order), integer labels and the
 * class names, with optional val and test rows.
 *
 * The split and the preprocessing are the dataset path's (data/split.ts): without `val`, the
 * numVal rows after the first numTrain are the validation rows (numTrain "all": all but the last
 * numVal); with it, numTrain counts from the start of `x` ("all": every row). numTest counts from
 * the start of `test` (no test rows: no test accuracy). The mean image of the train rows is
 * subtracted, the rows scaled and, for the linear model, a bias column appended; numDev dev rows
 * are drawn from the train rows with cfg.seed. The same rows as a dataset's give the same run.
 */
import { type Config, ConfigError } from '../config/config.js';
import { checkAgainstData } from '../data/fits.js';
import type { Allocator } from '../linalg/alloc.js';
import { Rng } from '../linalg/rng.js';
import { takeRows, meanImage, preprocessRows, type PixelRows, type Preprocess, type Rows } from '../data/split.js';
import type { RunData } from './run.js';

/** Rows and their labels. */
export interface MemorySplit {
  /** The rows, row after row (an image in HWC order): pixel values or any finite numbers. */
  x: Float32Array | Uint8Array;
  /** [N, D], or [N, H, W, C] for images. */
  shape: readonly number[];
  /** N labels, each an index into `classes`. */
  y: Uint8Array | Int32Array;
}

/** The training rows, their class names, and (optionally) the val and test rows. */
export interface MemoryData extends MemorySplit {
  classes: readonly string[];
  val?: MemorySplit;
  test?: MemorySplit;
}

/** A split checked: its rows as the preprocessing reads them, and the shape of a row. */
interface CheckedSplit extends PixelRows {
  row: number[];
}

/** Refuse what is not a MemoryData, in one line naming the field and what it must be. `origin`: the caller ("train()"). */
export function checkMemoryData(mem: unknown, origin: string): MemoryData {
  const m = mem as Partial<MemoryData> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new ConfigError(`${origin}: data must be an object { x, shape, y, classes, val?, test? }, not ${describe(mem)}`);
  const classes = m.classes;
  if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string' && c !== '') || new Set(classes).size !== classes.length) {
    throw new ConfigError(`${origin}: data.classes must be a list of at least 2 different class names, not ${describe(classes)}`);
  }
  const train = checkSplit(m as MemorySplit, 'data', origin, classes.length);
  for (const which of ['val', 'test'] as const) {
    const s = m[which];
    if (s === undefined) continue;
    const checked = checkSplit(s, `data.${which}`, origin, classes.length);
    if (checked.row.join('×') !== train.row.join('×'))
      throw new ConfigError(`${origin}: data.${which}'s rows are ${checked.row.join('×')}, but data's are ${train.row.join('×')}: give rows of one shape`);
  }
  return m as MemoryData;
}

/** One split's checks: the array types, the shape against the lengths, finite numbers, labels that are classes. */
function checkSplit(s: MemorySplit, name: string, origin: string, C: number): CheckedSplit {
  if (typeof s !== 'object' || s === null) throw new ConfigError(`${origin}: ${name} must be an object { x, shape, y }, not ${describe(s)}`);
  const { x, shape, y } = s;
  if (!(x instanceof Float32Array || x instanceof Uint8Array)) throw new ConfigError(`${origin}: ${name}.x must be a Float32Array or Uint8Array of the rows, not ${describe(x)}`);
  const okShape = Array.isArray(shape) && (shape.length === 2 || shape.length === 4) && shape.every((d) => Number.isInteger(d) && d >= 1);
  if (!okShape) throw new ConfigError(`${origin}: ${name}.shape must be [N, D] or [N, H, W, C] of whole numbers ≥ 1, not ${describe(shape)}`);
  const size = shape.reduce((a, b) => a * b, 1);
  if (x.length !== size) throw new ConfigError(`${origin}: ${name}.x has ${x.length} numbers, but ${name}.shape [${shape.join(', ')}] needs ${size}`);
  if (!(y instanceof Uint8Array || y instanceof Int32Array)) throw new ConfigError(`${origin}: ${name}.y must be a Uint8Array or Int32Array of class indices, not ${describe(y)}`);
  if (y.length !== shape[0]) throw new ConfigError(`${origin}: ${name}.y has ${y.length} labels, but ${name}.shape says ${shape[0]} rows`);
  const badLabel = y.findIndex((c) => c < 0 || c >= C);
  if (badLabel >= 0) throw new ConfigError(`${origin}: ${name}.y[${badLabel}] = ${y[badLabel]} is not a class: data.classes has ${C} (labels 0 to ${C - 1})`);
  const badNumber = x instanceof Float32Array ? x.findIndex((v) => !Number.isFinite(v)) : -1;
  if (badNumber >= 0) throw new ConfigError(`${origin}: ${name}.x[${badNumber}] is ${x[badNumber]}: rows must be finite numbers`);
  return { x, y, n: shape[0], row: shape.slice(1) };
}

function describe(v: unknown): string {
  if (Array.isArray(v))
    return `[${v
      .slice(0, 5)
      .map((e) => JSON.stringify(e))
      .join(', ')}${v.length > 5 ? ', …' : ''}]`;
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (typeof v === 'object' && v !== null) return v.constructor?.name && v.constructor !== Object ? v.constructor.name : 'an object';
  return JSON.stringify(v) ?? String(v);
}

/** The split sizes of `mem` under cfg's numTrain, numVal, numTest and numDev, refused in one line when the rows cannot hold them. */
function memorySplit(cfg: Config, mem: MemoryData): { numTrain: number; numVal: number; numTest: number; numDev: number } {
  const N = mem.shape[0];
  const numVal = mem.val ? mem.val.shape[0] : cfg.numVal;
  const rest = mem.val ? N : N - numVal; // rows there are for training
  if (rest < 1) throw new ConfigError(`numVal = ${numVal} leaves no training rows: data has ${N} rows in all; lower numVal, or give data.val`);
  const numTrain = cfg.numTrain === 'all' ? rest : cfg.numTrain;
  if (numTrain > rest)
    throw new ConfigError(`numTrain = ${numTrain}, but data has ${rest} training rows${mem.val ? '' : ` besides its last ${numVal} (the validation rows)`}: lower numTrain, or use all`);
  const have = mem.test ? mem.test.shape[0] : 0;
  const numTest = cfg.numTest === 'all' ? have : cfg.numTest;
  if (numTest > have)
    throw new ConfigError(
      mem.test ? `numTest = ${numTest}, but data.test has ${have} rows: use numTest ≤ ${have} or all` : `numTest = ${numTest}, but data has no test rows: give data.test, or use numTest all`,
    );
  if (cfg.numDev > numTrain) throw new ConfigError(`numDev = ${cfg.numDev} is more than the ${numTrain} training rows: use numDev ≤ ${numTrain}`);
  return { numTrain, numVal, numTest, numDev: cfg.numDev };
}

/** `mem` (checked by checkMemoryData) split and preprocessed for a run of `cfg`, in `alloc`'s memory (the engine's). */
export function memoryRunData(mem: MemoryData, cfg: Config, alloc?: Allocator): RunData {
  const t0 = performance.now();
  if (cfg.features !== 'none') throw new ConfigError(`features = ${cfg.features} is computed from a named dataset's images; with data given in memory, leave features out`);
  const split = memorySplit(cfg, mem);
  const pixels = mem.shape.slice(1).reduce((a, b) => a * b, 1);
  const pre: Preprocess = { bias: cfg.model === 'linear', scale: cfg.scale };
  const dim = pixels + (pre.bias ? 1 : 0);
  checkAgainstData(cfg, split.numTrain, { dim, classes: mem.classes.length, rows: split.numTrain + split.numVal + split.numTest + split.numDev });
  const src: PixelRows = { x: mem.x, y: mem.y, n: mem.shape[0] };
  const mean = meanImage(src, split.numTrain, pixels);
  const rows = (from: PixelRows, start: number, count: number): Rows => preprocessRows(from, start, count, mean, pre, dim, alloc);
  const train = rows(src, 0, split.numTrain);
  const val = mem.val ? rows({ x: mem.val.x, y: mem.val.y, n: split.numVal }, 0, split.numVal) : rows(src, split.numTrain, split.numVal);
  const test = mem.test ? rows({ x: mem.test.x, y: mem.test.y, n: mem.test.shape[0] }, 0, split.numTest) : rows({ x: [], y: [], n: 0 }, 0, 0);
  const dev = takeRows(train, new Rng(cfg.seed).choice(split.numTrain, split.numDev));
  const s = mem.shape;
  const imageShape: [number, number, number] = s.length === 4 ? [s[1], s[2], s[3]] : [1, s[1], 1];
  const data = { dataset: cfg.dataset, train, val, test, dev, mean, preprocess: { ...pre }, dim, classes: [...mem.classes], imageShape };
  return { data, source: 'memory', loadSeconds: (performance.now() - t0) / 1000 };
}
