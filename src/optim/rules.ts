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
 * bit for bit. The library functions take cs231n's defaults (RULE_DEFAULTS); how the config's lr
 * relates to them is config.ts's business (docs/optimizers.md).
 */
import type { Allocator } from '../linalg/alloc.js';
import type { FloatArray, FloatArrayCtor } from '../linalg/mat.js';
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
export const RULE_KEYS: Record<UpdateRule, readonly HyperKey[]> = {
  sgd: [],
  sgd_momentum: ['momentum'],
  rmsprop: ['decayRate', 'eps'],
  adam: ['beta1', 'beta2', 'eps'],
};

/** The state blocks each rule keeps, sorted (one value per trainable parameter each). */
export const RULE_BLOCKS: Record<UpdateRule, readonly string[]> = {
  sgd: [],
  sgd_momentum: ['velocity'],
  rmsprop: ['cache'],
  adam: ['m', 'v'],
};

/** The rule a config from before updateRule meant: momentum > 0 was SGD with momentum. */
export function impliedRule(momentum: number): UpdateRule {
  return momentum > 0 ? 'sgd_momentum' : 'sgd';
}

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

/** A fresh optimizer for `rule` over n parameters; hyperparameters not given take cs231n's defaults. */
export function createOptimizer<T extends FloatArray = Float32Array>(rule: UpdateRule, n: number, hyper: Partial<Hyper> = {}, Ctor: FloatArrayCtor = Float32Array, alloc?: Allocator): Optimizer<T> {
  const d = RULE_DEFAULTS[rule] as Partial<Hyper>;
  const h: Hyper = {
    momentum: hyper.momentum ?? d.momentum ?? 0,
    decayRate: hyper.decayRate ?? d.decayRate ?? 0,
    beta1: hyper.beta1 ?? d.beta1 ?? 0,
    beta2: hyper.beta2 ?? d.beta2 ?? 0,
    eps: hyper.eps ?? d.eps ?? 0,
  };
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
      step = (w, dw, lr) => sgdMomentumStep(w, dw, lr, h.momentum, st);
      blocks = { velocity: st.velocity };
      break;
    }
    case 'rmsprop': {
      const st: RmspropState<T> = rmspropInit<T>(n, Ctor, alloc);
      step = (w, dw, lr) => rmspropStep(w, dw, lr, h, st);
      blocks = { cache: st.cache };
      break;
    }
    case 'adam': {
      const st: AdamState<T> = adamInit<T>(n, Ctor, alloc); // (in the engine's memory, alloc, for its threads)
      step = (w, dw, lr) => {
        st.t = t; // the count restore() put back
        adamStep(w, dw, lr, h, st);
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
