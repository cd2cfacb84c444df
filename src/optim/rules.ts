/**
 * The update rules by name, for the trainer and the config: cs231n optim.py's four rules, each a
 * pair of functions (init, step) in its own file beside its math:
 *
 *   sgd           sgd.ts           w ← w − lr·dw
 *   sgd_momentum  sgd_momentum.ts  v ← μ·v − lr·dw; w ← w + v
 *   rmsprop       rmsprop.ts       cache ← d·cache + (1 − d)·dw²; w ← w − lr·dw/(√cache + eps)
 *   adam          adam.ts          bias-corrected moments, t incremented before use
 *
 * An Optimizer holds one rule's state for a parameter buffer; its state goes into last.ckpt as
 * named blocks (one value per trainable parameter) plus the step count t, so a resume carries on
 * bit for bit. RULE_DEFAULTS are cs231n's defaults; which rule a config means and the values of its
 * hyperparameters are decided once, by config.ts resolveUpdateRule (docs/optimizers.md), and
 * createOptimizer takes them as given.
 */
import type { Allocator } from '../linalg/alloc.js';
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';
import { getEngine } from '../linalg/matmul.js';
import { ADAM_DEFAULTS, type AdamState, adamInit, adamStep } from './adam.js';
import { RMSPROP_DEFAULTS, type RmspropState, rmspropInit, rmspropStep } from './rmsprop.js';
import { SGD_DEFAULTS, sgdStep } from './sgd.js';
import { SGD_MOMENTUM_DEFAULTS, type SgdMomentumState, sgdMomentumInit, sgdMomentumStep } from './sgd_momentum.js';

export const UPDATE_RULES = ['sgd', 'sgd_momentum', 'rmsprop', 'adam'] as const;
export type UpdateRule = (typeof UPDATE_RULES)[number];

/** Every rule's hyperparameters besides the learning rate. */
export interface Hyper {
  momentum: number;
  decayRate: number;
  beta1: number;
  beta2: number;
  eps: number;
}
export type HyperKey = keyof Hyper;

/** cs231n optim.py's defaults, per rule. */
export const RULE_DEFAULTS = {
  sgd: SGD_DEFAULTS,
  sgd_momentum: SGD_MOMENTUM_DEFAULTS,
  rmsprop: RMSPROP_DEFAULTS,
  adam: ADAM_DEFAULTS,
} as const satisfies Record<UpdateRule, { lr: number } & Partial<Hyper>>;

/** The hyperparameters each rule uses (any other given to it is a mistake). */
export const RULE_KEYS = {
  sgd: [],
  sgd_momentum: ['momentum'],
  rmsprop: ['decayRate', 'eps'],
  adam: ['beta1', 'beta2', 'eps'],
} as const satisfies Record<UpdateRule, readonly HyperKey[]>;

/** Every hyperparameter rule R takes besides lr (adam: beta1, beta2, eps). */
export type RuleHyper<R extends UpdateRule = UpdateRule> = R extends UpdateRule ? Pick<Hyper, (typeof RULE_KEYS)[R][number]> : never;

/** The state blocks each rule keeps, sorted (one value per trainable parameter each). */
export const RULE_BLOCKS: Record<UpdateRule, readonly string[]> = {
  sgd: [],
  sgd_momentum: ['velocity'],
  rmsprop: ['cache'],
  adam: ['m', 'v'],
};

/** One rule with its state, for a parameter buffer of n values. */
export interface Optimizer<T extends FloatArray = FloatArray> {
  readonly rule: UpdateRule;
  /** Steps taken (Adam's t; counted by every rule). */
  readonly t: number;
  /** One step in place: w and dw of the optimizer's length. */
  step(w: FloatArray, dw: FloatArray, lr: number): void;
  /** The state's buffers by name (RULE_BLOCKS order), the live arrays. */
  blocks(): Record<string, T>;
  /** Put back a state saved from blocks() and t; throws naming what is missing, extra or mis-sized. */
  restore(blocks: Record<string, ArrayLike<number>>, t: number): void;
}

/**
 * A fresh optimizer for `rule` over n parameters, with every hyperparameter the rule takes
 * (RULE_KEYS; a config's: config/config.ts updateRuleOf; cs231n's: RULE_DEFAULTS[rule]). Keys the
 * rule does not take are not read. Throws naming a missing one: nothing is defaulted here.
 */
export function createOptimizer<T extends FloatArray = Float32Array>(rule: UpdateRule, n: number, hyper: RuleHyper, Ctor: FloatArrayCtor = Float32Array, alloc?: Allocator): Optimizer<T> {
  const given = hyper as Partial<Hyper>;
  const missing = RULE_KEYS[rule].filter((k) => typeof given[k] !== 'number');
  if (missing.length)
    throw new Error(
      `createOptimizer: update rule ${rule} takes ${RULE_KEYS[rule].join(', ')}, and ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not given (cs231n's: RULE_DEFAULTS.${rule})`,
    );
  const h = given as Hyper; // (the keys this rule reads are there)
  let t = 0;
  let step: (w: FloatArray, dw: FloatArray, lr: number) => void;
  let blocks: Record<string, T>;
  switch (rule) {
    case 'sgd': {
      step = sgdStep;
      blocks = {};
      break;
    }
    case 'sgd_momentum': {
      if (!(h.momentum > 0)) throw new Error(`sgd_momentum needs a momentum > 0, not ${h.momentum}`);
      const st: SgdMomentumState<T> = sgdMomentumInit<T>(n, Ctor, alloc);
      step = (w, dw, lr) => sgdMomentumStep(w, dw, lr, h.momentum, st, getEngine());
      blocks = { velocity: st.velocity };
      break;
    }
    case 'rmsprop': {
      const st: RmspropState<T> = rmspropInit<T>(n, Ctor, alloc);
      step = (w, dw, lr) => rmspropStep(w, dw, lr, h, st, getEngine());
      blocks = { cache: st.cache };
      break;
    }
    case 'adam': {
      const st: AdamState<T> = adamInit<T>(n, Ctor, alloc); // (in the engine's memory, alloc, for its threads)
      step = (w, dw, lr) => {
        st.t = t; // the count restore() put back
        adamStep(w, dw, lr, h, st, getEngine());
      };
      blocks = { m: st.m, v: st.v };
      break;
    }
  }
  return {
    rule,
    get t() {
      return t;
    },
    step(w, dw, lr) {
      step(w, dw, lr);
      t++;
    },
    blocks: () => blocks,
    restore(saved, savedT) {
      const want = RULE_BLOCKS[rule];
      const got = Object.keys(saved).sort();
      if (got.join(',') !== want.join(',')) throw new Error(`the optimizer state holds [${got.join(', ')}], update rule ${rule} keeps [${want.join(', ')}]`);
      for (const k of want) {
        if (saved[k].length !== n) throw new Error(`the saved ${k} has ${saved[k].length} values for ${n} parameters`);
      }
      if (!Number.isInteger(savedT) || savedT < 0) throw new Error(`the saved step count ${savedT} is not a whole number ≥ 0`);
      for (const k of want) blocks[k].set(saved[k]);
      t = savedT;
    },
  };
}
