/**
 * Does a run's config fit its data and this machine? The checks of a config that need the
 * dataset's size, here beside the data rather than in config/ (which knows no data, no model
 * sizes and no run folders). Every run, sweep trial and playground run makes them.
 */
import { type Config, ConfigError, MAX_MEMORY_ENV, type MachineLimits, bytesInWords, machineLimits, scheduleOf } from '../config/config.js';
import { specKindOf } from '../config/derive.js';
import { runMemory } from '../models/memory.js';
import type { ModelSpec } from '../models/model.js';
import { RULE_BLOCKS } from '../optim/rules.js';

/** Shape of the data a run trains on, known once it is loaded (before any run folder exists). */
export interface DataShape {
  /** Numbers per row, bias column included. */
  dim: number;
  classes: number;
  /** Rows held in memory (train, val, test, dev), when known: counted in the memory a run needs. */
  rows?: number;
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
  if (!shape || cfg.model === 'knn') return; // knn has no parameters (train/knn_fit.ts checks its k)
  checkRunMemory(cfg, steps, shape, limits);
}

/**
 * checkAgainstData for data already prepared (rows (N,D) of each split): every run calls it as it
 * starts training (train/run.ts runTraining), a sweep's and a queue's trials too, whose config
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
    kind: specKindOf(cfg.model),
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
    const parts = Object.entries(m.bytes)
      .filter(([, b]) => b > 0)
      .map(([k, b]) => `${k} ${bytesInWords(b)}`)
      .join(', ');
    throw new ConfigError(
      `${what} ${m.params} parameters; with batch ${cfg.batchSize} a run needs about ${bytesInWords(m.total)} of memory, and this machine has ${bytesInWords(limits.memoryBytes)} for a run` +
        `${limits.memorySource ? ` (${limits.memorySource})` : ''}. Needed: ${parts}; the largest layer, ${largest.name}, is ${largest.rows}×${largest.cols}. ` +
        `Use smaller hidden sizes or a smaller --batch-size, or allow more memory with --max-memory (or ${MAX_MEMORY_ENV}), e.g. --max-memory 90%`,
    );
  }
}
