/**
 * What a run builds from its config, written once for the CLI's run (train/run.ts) and the
 * playground's (web/session.ts): the model spec (the update rule with its hyperparameters:
 * config.ts updateRuleOf). No Node modules here (only a type from config.ts), so the page's bundle
 * imports it as it is.
 */
import type { Config } from './config.js';
import type { ModelSpec } from '../models/model.js';

/**
 * The spec's kind of a config's model: the linear model is kind 'softmax' in a spec (and so in
 * every checkpoint's header, export and summary.json, as before the config called it linear),
 * whichever its loss; the loss is the spec's own field.
 */
export function specKindOf(model: Config['model']): ModelSpec['kind'] {
  if (model !== 'linear' && model !== 'mlp') throw new Error(`modelSpecOf: a ${model} config has no SGD model (kNN runs through train/knn_fit.ts)`);
  return model === 'linear' ? 'softmax' : 'mlp';
}

/** The model spec of a linear or MLP config for data of `dim` columns (with the bias column, if any) and `numClasses` classes. */
export function modelSpecOf(cfg: Config, dim: number, numClasses: number): ModelSpec {
  return {
    kind: specKindOf(cfg.model),
    inputDim: dim,
    hidden: cfg.model === 'mlp' ? cfg.hidden : [],
    numClasses,
    ...(cfg.loss === 'softmax' ? {} : { loss: cfg.loss }), // absent: softmax
    // Absent when off: a spec names only what the model has.
    ...(cfg.model === 'mlp' && cfg.normalization !== 'none' ? { normalization: cfg.normalization } : {}),
    ...(cfg.model === 'mlp' && cfg.dropoutKeep !== 1 ? { dropoutKeep: cfg.dropoutKeep } : {}),
  };
}
