/**
 * Hyperparameter importance by fANOVA (Hutter et al. 2014), as Optuna's default evaluator does it
 * (Optuna 3.1, `optuna/importance/_fanova/`): a random forest regresses the metric on the
 * parameters, and each tree's prediction, a constant on each leaf's box, is decomposed by
 * functional ANOVA. A parameter's importance is the variance of the tree's marginal over that
 * parameter divided by the tree's total variance, averaged over the trees, then normalised to sum 1.
 *
 * As in Optuna: parameters are used on their raw scale (a log-uniform key is not logged,
 * `transform_log=False`), a categorical key is one-hot encoded and its columns marginalised
 * together, and the forest is sklearn's RandomForestRegressor's (64 trees, depth 64, bootstrap,
 * best split by squared error over every feature, min_samples_split 2, min_samples_leaf 1).
 * The forest's random numbers differ from sklearn's, so figures differ by the forest's noise.
 *
 * Pure: the space, the finished trials and a seeded Rng in, the importances out.
 */
import type { Rng } from '../linalg/rng.js';

/** One axis: a number in [low, high] (floats and integers alike), or a choice. */
export type ImportanceParam = { type: 'float' | 'int'; low: number; high: number } | { type: 'categorical'; choices: readonly unknown[] };
export type ImportanceSpace = Record<string, ImportanceParam>;
export interface ImportanceTrial {
  params: Record<string, unknown>;
  value: number;
}

export interface ForestOptions {
  trees: number; // n_trees
  maxDepth: number; // max_depth
  minSamplesSplit: number; // min_samples_split
  minSamplesLeaf: number; // min_samples_leaf
}
/** Optuna 3.1's FanovaImportanceEvaluator defaults. */
export const FANOVA_DEFAULTS: ForestOptions = { trees: 64, maxDepth: 64, minSamplesSplit: 2, minSamplesLeaf: 1 };

/** A fitted tree as flat arrays; feature −1 marks a leaf. */
interface Tree {
  feature: number[];
  threshold: number[];
  left: number[];
  right: number[];
  value: number[];
}
type Box = [number, number][];

/**
 * Importance of every key of `space`, normalised to sum 1, largest first. Trials must have a
 * finite value and every key; others are left out, as Optuna leaves them out.
 */
export function fanovaImportance(space: ImportanceSpace, trials: ImportanceTrial[], rng: Rng, options: Partial<ForestOptions> = {}): Record<string, number> {
  const opts = { ...FANOVA_DEFAULTS, ...options };
  const keys = Object.keys(space).filter((k) => !isSingle(space[k]));
  const used = trials.filter((t) => Number.isFinite(t.value) && keys.every((k) => k in t.params));
  if (used.length < 2) throw new Error(`importance: needs at least 2 finished trials with every swept key, got ${used.length}`);
  const { bounds, columns } = encodeSpace(space, keys);
  const X = used.map((t) => encodeTrial(space, keys, t.params));
  const y = used.map((t) => t.value);
  const trees = Array.from({ length: opts.trees }, () => fitTree(X, y, bootstrap(used.length, rng), rng, opts));
  const stats = trees.map((t) => treeStats(t, bounds));
  if (stats.every((s) => s.variance === 0)) throw new Error('importance: the metric does not vary over the trials; nothing to attribute');
  const raw = keys.map((_, j) => mean(stats.filter((s) => s.variance > 0).map((s) => Math.max(0, marginalVariance(s, columns[j])) / s.variance)));
  const total = raw.reduce((a, b) => a + b, 0);
  const out: [string, number][] = keys.map((k, j) => [k, total > 0 ? raw[j] / total : 0]);
  for (const k of Object.keys(space)) if (isSingle(space[k])) out.push([k, 0]);
  return Object.fromEntries(out.sort((a, b) => b[1] - a[1]));
}

const isSingle = (p: ImportanceParam) => (p.type === 'categorical' ? p.choices.length <= 1 : p.low === p.high);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Each key's columns and their bounds: one for a number, one per choice (bounds [0, 1]) for a categorical. */
function encodeSpace(space: ImportanceSpace, keys: string[]): { bounds: Box; columns: number[][] } {
  const bounds: Box = [];
  const columns = keys.map((k) => {
    const p = space[k];
    const cols: number[] = [];
    if (p.type === 'categorical') p.choices.forEach(() => (cols.push(bounds.length), bounds.push([0, 1])));
    else (cols.push(bounds.length), bounds.push([p.low, p.high]));
    return cols;
  });
  return { bounds, columns };
}

function encodeTrial(space: ImportanceSpace, keys: string[], params: Record<string, unknown>): number[] {
  return keys.flatMap((k) => {
    const p = space[k];
    if (p.type !== 'categorical') return [Number(params[k])];
    const at = p.choices.findIndex((c) => JSON.stringify(c) === JSON.stringify(params[k]));
    if (at < 0) throw new Error(`importance: ${k} = ${JSON.stringify(params[k])} is not one of its choices ${JSON.stringify(p.choices)}`);
    return p.choices.map((_, i) => (i === at ? 1 : 0));
  });
}

/** How many times each row is drawn in a bootstrap sample of n rows (sklearn's sample weights). */
function bootstrap(n: number, rng: Rng): number[] {
  const w = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) w[rng.int(n)]++;
  return w;
}

/** A regression tree grown depth-first as sklearn's BestSplitter and DepthFirstTreeBuilder grow it. */
function fitTree(X: number[][], y: number[], w: number[], rng: Rng, opts: ForestOptions): Tree {
  const tree: Tree = { feature: [], threshold: [], left: [], right: [], value: [] };
  const grow = (rows: number[], depth: number): number => {
    const id = tree.feature.length;
    let sw = 0,
      s = 0,
      s2 = 0;
    for (const r of rows) ((sw += w[r]), (s += w[r] * y[r]), (s2 += w[r] * y[r] * y[r]));
    (tree.feature.push(-1), tree.threshold.push(0), tree.left.push(-1), tree.right.push(-1), tree.value.push(s / sw));
    const impurity = s2 / sw - (s / sw) ** 2;
    if (depth >= opts.maxDepth || rows.length < opts.minSamplesSplit || rows.length < 2 * opts.minSamplesLeaf || impurity <= Number.EPSILON) return id;
    const split = bestSplit(X, y, w, rows, rng, opts.minSamplesLeaf);
    if (!split) return id;
    tree.feature[id] = split.feature;
    tree.threshold[id] = split.threshold;
    const l = grow(
      rows.filter((r) => X[r][split.feature] <= split.threshold),
      depth + 1,
    );
    tree.left[id] = l;
    tree.right[id] = grow(
      rows.filter((r) => X[r][split.feature] > split.threshold),
      depth + 1,
    );
    return id;
  };
  grow(
    w.flatMap((c, r) => (c > 0 ? [r] : [])),
    0,
  );
  return tree;
}

/** The split with the largest drop in weighted squared error, over every feature in a random order. */
function bestSplit(X: number[][], y: number[], w: number[], rows: number[], rng: Rng, minLeaf: number): { feature: number; threshold: number } | null {
  const order = Array.from({ length: X[0].length }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  let best: { feature: number; threshold: number } | null = null;
  let bestProxy = -Infinity;
  let sw = 0,
    s = 0;
  for (const r of rows) ((sw += w[r]), (s += w[r] * y[r]));
  for (const f of order) {
    const sorted = [...rows].sort((a, b) => X[a][f] - X[b][f]);
    if (X[sorted[sorted.length - 1]][f] <= X[sorted[0]][f] + 1e-7) continue; // constant here
    let lw = 0,
      ls = 0;
    for (let p = 1; p < sorted.length; p++) {
      const prev = sorted[p - 1];
      ((lw += w[prev]), (ls += w[prev] * y[prev]));
      const a = X[prev][f],
        b = X[sorted[p]][f];
      if (b <= a + 1e-7 || p < minLeaf || sorted.length - p < minLeaf) continue;
      const proxy = (ls * ls) / lw + ((s - ls) * (s - ls)) / (sw - lw);
      if (proxy > bestProxy) {
        bestProxy = proxy;
        const mid = (a + b) / 2;
        best = { feature: f, threshold: mid === b ? a : mid };
      }
    }
  }
  return best;
}

interface TreeStats {
  tree: Tree;
  bounds: Box;
  /** Per node: the mean prediction over its box and the box's volume. */
  value: number[];
  weight: number[];
  /** Per feature: the midpoints and widths of the cells between its split points. */
  midpoints: number[][];
  sizes: number[][];
  /** Per node: the features split on in its subtree. */
  active: Set<number>[];
  variance: number;
}

const volume = (box: Box) => box.reduce((v, [lo, hi]) => v * (hi - lo), 1);
const withBound = (box: Box, f: number, side: 0 | 1, t: number): Box => box.map((b, i) => (i === f ? (side === 0 ? [t, b[1]] : [b[0], t]) : b));

/** Optuna's _FanovaTree precomputations: node statistics, split cells, subtree features, total variance. */
function treeStats(tree: Tree, bounds: Box): TreeStats {
  const n = tree.feature.length;
  const value = new Array<number>(n).fill(0),
    weight = new Array<number>(n).fill(0);
  const boxes: Box[] = [bounds];
  for (let i = 0; i < n; i++) {
    const f = tree.feature[i];
    if (f < 0) ((value[i] = tree.value[i]), (weight[i] = volume(boxes[i])));
    else ((boxes[tree.left[i]] = withBound(boxes[i], f, 1, tree.threshold[i])), (boxes[tree.right[i]] = withBound(boxes[i], f, 0, tree.threshold[i])));
  }
  const active = Array.from({ length: n }, () => new Set<number>());
  for (let i = n - 1; i >= 0; i--) {
    if (tree.feature[i] < 0) continue;
    const [l, r] = [tree.left[i], tree.right[i]];
    weight[i] = weight[l] + weight[r];
    value[i] = weight[i] > 0 ? (value[l] * weight[l] + value[r] * weight[r]) / weight[i] : (value[l] + value[r]) / 2;
    active[i] = new Set([tree.feature[i], ...active[l], ...active[r]]);
  }
  const midpoints: number[][] = [],
    sizes: number[][] = [];
  bounds.forEach(([lo, hi], f) => {
    const splits = [...new Set(tree.threshold.filter((_, i) => tree.feature[i] === f))].sort((a, b) => a - b);
    const edges = [lo, ...splits, hi];
    midpoints.push(edges.slice(1).map((e, i) => (e + edges[i]) / 2));
    sizes.push(edges.slice(1).map((e, i) => e - edges[i]));
  });
  const leaves = tree.feature.flatMap((f, i) => (f < 0 ? [i] : []));
  const variance = weightedVariance(
    leaves.map((i) => value[i]),
    leaves.map((i) => weight[i]),
  );
  return { tree, bounds, value, weight, midpoints, sizes, active, variance };
}

function weightedVariance(values: number[], weights: number[]): number {
  const W = weights.reduce((a, b) => a + b, 0);
  const m = values.reduce((a, v, i) => a + v * weights[i], 0) / W;
  return values.reduce((a, v, i) => a + weights[i] * (v - m) ** 2, 0) / W;
}

/** The variance of the tree's marginal over `features`, over the grid of their split cells. */
function marginalVariance(s: TreeStats, features: number[]): number {
  const values: number[] = [],
    weights: number[] = [];
  const point = new Array<number>(s.bounds.length).fill(NaN);
  const walk = (k: number, size: number) => {
    if (k === features.length) {
      const [v, wt] = marginalized(s, point);
      (values.push(v), weights.push(wt * size));
      return;
    }
    const f = features[k];
    s.midpoints[f].forEach((m, c) => ((point[f] = m), walk(k + 1, size * s.sizes[f][c])));
  };
  walk(0, 1);
  return weightedVariance(values, weights);
}

/** The tree's mean prediction with the set features of `point` fixed and the NaN ones averaged out, and its weight. */
function marginalized(s: TreeStats, point: number[]): [number, number] {
  const { tree } = s;
  const activeFeatures = point.flatMap((x, i) => (Number.isNaN(x) ? [] : [i]));
  const start: Box = s.bounds.map((b, i) => (Number.isNaN(point[i]) ? [0, 1] : b));
  const stack: [number, Box][] = [[0, start]];
  let sum = 0,
    total = 0;
  while (stack.length > 0) {
    const [node, box] = stack.pop()!;
    const f = tree.feature[node];
    if (f >= 0) {
      if (!Number.isNaN(point[f])) {
        const t = tree.threshold[node];
        stack.push(point[f] <= t ? [tree.left[node], withBound(box, f, 1, t)] : [tree.right[node], withBound(box, f, 0, t)]);
        continue;
      }
      if (activeFeatures.some((a) => s.active[node].has(a))) {
        stack.push([tree.left[node], box], [tree.right[node], box]);
        continue;
      }
    }
    const w = s.weight[node] / volume(box);
    sum += s.value[node] * w;
    total += w;
  }
  return [sum / total, total];
}
