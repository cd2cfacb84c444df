/**
 * Conditional search spaces: a key that takes part in a trial only when other keys have given
 * values, and `hidden` built from a depth and a width per layer. The sweep file says it on the
 * key's own entry (spec.ts parses it, this file checks and applies it):
 *
 *   "momentum": { "uniform": [0.5, 0.99], "when": { "updateRule": "sgd_momentum" } }      // random, tpe
 *   "momentum": { "values": [0.5, 0.9], "when": { "updateRule": ["sgd_momentum"] } }     // grid
 *   "hidden": { "layers": { "depth": { "choice": [1, 2, 3] }, "width": { "logUniform": [32, 512] } } }
 *   "hidden": { "layers": { "depth": [1, 2], "width": [100, 500] } }                     // grid
 *
 * A "when" names keys that are swept or set in "base", each with a value or a list of values it
 * must take (several keys: all must hold). A key whose condition names a key that did not take
 * part does not take part either. The keys are decided in the file's order, each after the keys
 * its condition names; a trial's params hold only the keys that took part.
 *
 * A layers key draws its depth, then one width per layer, each on its own (TPE sees them as the
 * axes `hidden.depth`, `hidden.1`, `hidden.2`, …, layer i taking part when the depth is at least i).
 */
import { type Config, ConfigError, KEY_BY_NAME, checkValue } from '../config/config.js';
import { isObj } from '../config/keys.js';
import type { Rng } from '../linalg/rng.js';
import type { SweepKey } from '../config/config.js';

/** A key's condition: each named key takes one of the listed values (compared as JSON). */
export type Condition = Record<string, unknown[]>;
/** The conditional keys of a sweep: what each one's taking part depends on. */
export type When = Partial<Record<SweepKey, Condition>>;

export type PlainDistribution = { logUniform: [number, number] } | { uniform: [number, number] } | { choice: unknown[] };
/** `hidden` as a depth and a width per layer (random, tpe). */
export type LayersDistribution = { layers: { depth: PlainDistribution; width: PlainDistribution } };

/** The deepest net a layers key builds. */
export const MAX_DEPTH = 10;

/** A number as a trial takes it: integers rounded, others to 6 significant digits (readable in tables and files, still distinct). */
export function roundValue(v: number, isInt: boolean): number {
  return isInt ? Math.round(v) : Number(v.toPrecision(6));
}

/** A key's entry without its "when", and the condition ("when" absent: null). */
export function splitWhen(entry: unknown, where: string): { body: unknown; when: Condition | null } {
  if (!isObj(entry) || !('when' in entry)) return { body: entry, when: null };
  const { when, ...body } = entry;
  if (!isObj(when) || Object.keys(when).length === 0) throw new ConfigError(`${where}.when must be an object of key → value (or list of values), e.g. {"updateRule": "sgd_momentum"}`);
  const cond: Condition = {};
  for (const [k, v] of Object.entries(when)) {
    const def = KEY_BY_NAME.get(k);
    if (!def) throw new ConfigError(`${where}.when names "${k}", which is not a config key`);
    const allowed = Array.isArray(v) ? v : [v];
    if (allowed.length === 0) throw new ConfigError(`${where}.when.${k} must be a value or a non-empty list of values`);
    cond[k] = allowed.map((x) => checkValue(def, x, `${where}.when`));
  }
  return { body, when: cond };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Whether `cond` holds for the values decided so far (a key not among them did not take part: it does not hold). */
export function holds(cond: Condition | undefined, values: Record<string, unknown>): boolean {
  if (!cond) return true;
  return Object.entries(cond).every(([k, allowed]) => k in values && allowed.some((a) => same(a, values[k])));
}

/**
 * Check the sweep's conditions against its keys (`keys`, in the file's order) and its base, and
 * return the keys in the order they are decided: the file's, each after the keys its condition
 * names. A condition on a key of the base is decided here, once: one that fails leaves its key
 * out of every trial (`never`). Names a bad condition in one line.
 */
export function orderKeys(keys: readonly string[], when: When, base: Partial<Config>, origin: string): { order: SweepKey[]; when: When; never: Set<string> } {
  const swept: When = {};
  const never = new Set<string>();
  for (const [k, cond] of Object.entries(when) as [SweepKey, Condition][]) {
    const own: Condition = {};
    for (const [ck, allowed] of Object.entries(cond)) {
      if (ck === k) throw new ConfigError(`${origin}: ${k}.when names ${k} itself: a key cannot depend on its own value`);
      if (keys.includes(ck)) own[ck] = allowed;
      else if (ck in base) {
        if (!allowed.some((a) => same(a, (base as Record<string, unknown>)[ck]))) never.add(k);
      } else throw new ConfigError(`${origin}: ${k}.when names "${ck}", which is neither swept nor set in "base": sweep it, or set it in "base"`);
    }
    if (Object.keys(own).length > 0) swept[k] = own;
  }
  return { order: topoOrder(keys, swept, origin), when: swept, never };
}

/** The keys in file order, each moved after the keys its condition names; a cycle is named. */
function topoOrder(keys: readonly string[], when: When, origin: string): SweepKey[] {
  const order: string[] = [];
  const left = [...keys];
  while (left.length > 0) {
    const i = left.findIndex((k) => Object.keys(when[k as SweepKey] ?? {}).every((ck) => order.includes(ck)));
    if (i < 0) throw new ConfigError(`${origin}: the conditions form a cycle: ${cycleOf(left, when).join(' → ')}; a key's "when" may name only keys that do not depend on it`);
    order.push(...left.splice(i, 1));
  }
  return order as SweepKey[];
}

/** A cycle among `left` (every one of which waits on another of them), as a path back to its start. */
function cycleOf(left: string[], when: When): string[] {
  const path = [left[0]];
  for (;;) {
    const next = Object.keys(when[path[path.length - 1] as SweepKey] ?? {}).find((ck) => left.includes(ck))!;
    const at = path.indexOf(next);
    if (at >= 0) return [...path.slice(at), next];
    path.push(next);
  }
}

/** A layers key's "layers": its depth (positive integers) and its width (hidden sizes); `parse` reads a plain distribution. */
export function parseLayers(raw: unknown, where: string, parse: (d: unknown, where: string) => PlainDistribution): LayersDistribution {
  const shape = `${where} must be {"layers": {"depth": <distribution>, "width": <distribution>}}`;
  if (!isObj(raw) || Object.keys(raw).length !== 1 || !isObj(raw.layers)) throw new ConfigError(shape);
  const { depth, width, ...rest } = raw.layers;
  if (depth === undefined || width === undefined || Object.keys(rest).length > 0) throw new ConfigError(shape);
  const d = parse(depth, `${where}.layers.depth`);
  for (const x of 'choice' in d ? d.choice : 'uniform' in d ? d.uniform : d.logUniform) checkDepth(x, `${where}.layers.depth`);
  return { layers: { depth: d, width: parse(width, `${where}.layers.width`) } };
}

function checkDepth(x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x) || Math.round(x) < 1 || Math.round(x) > MAX_DEPTH) {
    throw new ConfigError(`${where}: a depth is a number of hidden layers, 1 to ${MAX_DEPTH}; got ${JSON.stringify(x)}`);
  }
  return Math.round(x);
}

/**
 * A grid's layers key: every `hidden` its depths and widths make, shallowest first, the last layer
 * fastest; `check` checks one hidden list. Counted before any list is built.
 */
export function gridLayers(raw: unknown, where: string, maxTrials: number, check: (v: unknown) => unknown): unknown[] {
  const shape = `${where} must be {"layers": {"depth": [depths], "width": [widths]}}`;
  if (!isObj(raw) || Object.keys(raw).length !== 1 || !isObj(raw.layers)) throw new ConfigError(shape);
  const { depth, width, ...rest } = raw.layers;
  if (!Array.isArray(depth) || !Array.isArray(width) || depth.length === 0 || width.length === 0 || Object.keys(rest).length > 0) throw new ConfigError(shape);
  const depths = depth.map((d) => checkDepth(d, `${where}.layers.depth`));
  const count = depths.reduce((n, d) => n + width.length ** d, 0);
  if (count > maxTrials) throw new ConfigError(`${where}: the layers make ${count.toLocaleString('en-US')} hidden lists; a sweep holds at most ${maxTrials.toLocaleString('en-US')} trials`);
  const out: unknown[] = [];
  for (const d of depths) {
    let lists: number[][] = [[]];
    for (let l = 0; l < d; l++) lists = lists.flatMap((h) => width.map((w) => [...h, w as number]));
    out.push(...lists);
  }
  return out.map((h) => check(h));
}

/** A grid's combinations in `order`, each key only where its condition holds; at most `limit` of them. */
export function gridCombos(grid: Partial<Record<SweepKey, unknown[]>>, order: SweepKey[], when: When, never: Set<string>, limit: number): Partial<Config>[] {
  const keys = order.filter((k) => !never.has(k));
  let combos: Record<string, unknown>[] = [{}];
  for (const k of keys) {
    const next: Record<string, unknown>[] = [];
    for (const c of combos) {
      if (!holds(when[k], c)) next.push(c);
      else for (const v of grid[k]!) next.push({ ...c, [k]: v });
      if (next.length > limit) return next.slice(0, limit) as Partial<Config>[];
    }
    combos = next;
  }
  return combos as Partial<Config>[];
}

/** One random trial: each key of `order` drawn where its condition holds (a layers key: its depth, then each layer's width). */
export function sampleTrial(params: Partial<Record<SweepKey, PlainDistribution | LayersDistribution>>, order: SweepKey[], when: When, never: Set<string>, rng: Rng): Partial<Config> {
  const p: Record<string, unknown> = {};
  for (const k of order) {
    if (never.has(k) || !holds(when[k], p)) continue;
    const d = params[k]!;
    const isInt = KEY_BY_NAME.get(k)!.kind === 'int';
    if ('layers' in d) {
      const depth = drawValue(d.layers.depth, true, rng) as number;
      p[k] = Array.from({ length: depth }, () => drawValue(d.layers.width, true, rng));
    } else p[k] = drawValue(d, isInt, rng);
  }
  return p as Partial<Config>;
}

/** One value of `d`: a choice, or uniform on a linear or a log axis, rounded as a trial takes it. */
export function drawValue(d: PlainDistribution, isInt: boolean, rng: Rng): unknown {
  let v: unknown;
  if ('choice' in d) v = d.choice[rng.int(d.choice.length)];
  else if ('uniform' in d) v = d.uniform[0] + (d.uniform[1] - d.uniform[0]) * rng.uniform();
  else v = Math.exp(Math.log(d.logUniform[0]) + (Math.log(d.logUniform[1]) - Math.log(d.logUniform[0])) * rng.uniform());
  return typeof v === 'number' ? roundValue(v, isInt) : v;
}
