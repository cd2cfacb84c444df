/**
 * The sweep report's figures for a random or TPE search, where the sweep file gives every swept
 * key its range and scale, all by the sweep's metric and mode (results.json's `metric`, val
 * accuracy max for older results; sweep/metric.ts): parallel coordinates (one line per finished
 * trial over the swept keys and the metric, coloured by it, yellow the best), hyperparameter
 * importance of the metric (fANOVA, as Optuna's default; src/sweep/importance.ts) and the
 * metric's best so far against the trial number (a TPE sweep's random startup trials apart from
 * its suggested ones). Plain JSON Chart.js specs.
 */
import type { TrialResult } from '../runs/results.js';
import type { SweepSearch } from '../runs/read.js';
import { fanovaImportance, type ImportanceSpace, type ImportanceTrial } from '../sweep/importance.js';
import { DEFAULT_METRIC, METRICS, type Metric, bestOf, describeMetric, resultValue } from '../sweep/metric.js';
import { Rng } from '../linalg/rng.js';
import { type ChartSpec, viridis } from './charts.js';
import { type PageBlock, fmt } from './html.js';

type Distribution = SweepSearch['params'][string];
const axis = (text: string, extra: Record<string, unknown> = {}) => ({ title: { display: true, text }, ...extra });
const titled = (text: string) => ({ title: { display: true, text, font: { size: 14 } } });
/** A trial's value of the metric (results.json's `value`, or val accuracy in older results). */
const valueOf = (m: Metric, t: TrialResult) => resultValue(m, t) as number;

/** The finished trials that have a value of the metric, in index order: what every figure here counts. */
export function finishedTrials(trials: TrialResult[], m: Metric): TrialResult[] {
  return trials.filter((t) => t.status === 'ok' && t.valAcc !== null && Number.isFinite(resultValue(m, t))).sort((a, b) => a.index - b.index);
}

/** The metric's best so far (in its mode) after each of the finished trials `done` (index order): x the trial number. */
export function bestSoFarPoints(done: TrialResult[], m: Metric): { x: number; y: number }[] {
  let best: number | null = null;
  return done.map((t) => ({ x: t.index, y: (best = bestOf(m, [best ?? NaN, valueOf(m, t)])!) }));
}

/** Points as a chart's data: values to 4 decimals. */
export const chartPoints = (pts: { x: number; y: number }[]) => pts.map((p) => ({ x: p.x, y: Number(p.y.toFixed(4)) }));

/** The blocks for the sweep report (none for a grid or list sweep, or before a trial has finished). */
export function sweepPlotBlocks(search: SweepSearch | null, trials: TrialResult[], m: Metric = DEFAULT_METRIC): PageBlock[] {
  const done = finishedTrials(trials, m);
  if (!search || done.length === 0) return [];
  const blocks: PageBlock[] = [
    {
      kind: 'chart',
      id: 'parallel',
      title: 'Parallel coordinates',
      spec: parallelChart(search.params, done, m),
      height: 380,
      note: `One line per finished trial; each axis runs from its low end (0) to its high end (1) of the range under its name, on a log scale for log-uniform keys; the last is ${describeMetric(m)}, from its lowest to its highest value. Colour: ${describeMetric(m)}, from dark purple (the worst) to yellow (the best, the ${m.mode === 'min' ? 'lowest' : 'highest'}).`,
    },
  ];
  blocks.push(importanceBlock(search, done, m));
  blocks.push({ kind: 'chart', id: 'best-so-far', title: 'Best so far', spec: bestSoFarChart(done, search.kind === 'tpe' ? search.startup : 0, m), height: 340 });
  return blocks;
}

/** The importance chart, or a note saying why there is none. */
function importanceBlock(search: SweepSearch, done: TrialResult[], m: Metric): PageBlock {
  const imp = importanceOf(search.params, done, search.seed, m);
  if (typeof imp === 'string') return { kind: 'html', title: 'Hyperparameter importance', html: `<p class="note">${imp}</p>` };
  return {
    kind: 'chart',
    id: 'importance',
    title: 'Hyperparameter importance',
    spec: importanceChart(imp, m),
    height: 80 + 34 * Object.keys(imp).length,
    note: `fANOVA over a 64-tree random forest fitted to the ${done.length} finished trials' ${describeMetric(m)}, as Optuna's get_param_importances computes it: each key's share of the variance, summing to 1.`,
  };
}

/** Where v sits on a key's axis, 0 at its low end and 1 at its high end. */
function position(d: Distribution, v: unknown): number {
  if ('choice' in d) return d.choice.length > 1 ? d.choice.findIndex((c) => JSON.stringify(c) === JSON.stringify(v)) / (d.choice.length - 1) : 0.5;
  const [lo, hi] = 'logUniform' in d ? d.logUniform.map(Math.log) : d.uniform;
  const x = 'logUniform' in d ? Math.log(Number(v)) : Number(v);
  return hi > lo ? (x - lo) / (hi - lo) : 0.5;
}

/** An axis's name and range, as a two-line tick label. */
function axisLabel(key: string, d: Distribution): string[] {
  if ('choice' in d) return [key, d.choice.map((c) => fmt(c)).join(' · ')];
  const [lo, hi] = 'logUniform' in d ? d.logUniform : d.uniform;
  return [key, `${'logUniform' in d ? 'log ' : ''}${fmt(lo)} – ${fmt(hi)}`];
}

/** Parallel coordinates over the swept keys and the metric (its lowest value at 0), each trial coloured by its score (yellow the best). */
export function parallelChart(params: Record<string, Distribution>, done: TrialResult[], m: Metric = DEFAULT_METRIC): ChartSpec {
  const keys = Object.keys(params);
  const values = done.map((t) => valueOf(m, t));
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const scale = (v: number) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  // viridis from the worst to the best: for mode min the lowest value is the brightest.
  const colour = (v: number) => viridis(m.mode === 'max' ? scale(v) : 1 - scale(v));
  return {
    type: 'line',
    data: {
      labels: [...keys.map((k) => axisLabel(k, params[k])), [METRICS[m.name].axis, `${m.mode} · ${fmt(lo)} – ${fmt(hi)}`]],
      datasets: done.map((t) => ({
        label: `trial ${t.index}`,
        // A key that did not take part in a trial (a conditional key, sweep/space.ts): a gap in its line.
        data: [...keys.map((k) => (k in t.params ? Number(position(params[k], (t.params as Record<string, unknown>)[k]).toFixed(4)) : null)), Number(scale(valueOf(m, t)).toFixed(4))],
        borderColor: colour(valueOf(m, t)),
        backgroundColor: colour(valueOf(m, t)),
        borderWidth: 1.5,
        pointRadius: 2,
      })),
    },
    options: {
      plugins: { ...titled(`Trials over the swept keys, coloured by ${describeMetric(m)}`), legend: { display: false } },
      scales: { x: axis('swept key (its range under it)', { grid: { lineWidth: 2 } }), y: axis('position in the range (0 low, 1 high)', { min: 0, max: 1 }) },
    },
  };
}

/** fANOVA importances of the swept keys, or why there are none. */
export function importanceOf(params: Record<string, Distribution>, done: TrialResult[], seed: number, m: Metric = DEFAULT_METRIC): Record<string, number> | string {
  const input = importanceInput(params, done, m);
  return typeof input === 'string' ? input : fanovaImportance(input.space, input.trials, new Rng(seed));
}

/** What importance is fitted to: the space of the keys every finished trial has, and each trial's values of them and of the metric; or why there is nothing to fit. */
export function importanceInput(params: Record<string, Distribution>, done: TrialResult[], m: Metric = DEFAULT_METRIC): { space: ImportanceSpace; trials: ImportanceTrial[] } | string {
  // The keys every finished trial has (Optuna's intersection search space): a conditional key that some lack is left out.
  const shared = Object.entries(params).filter(([k]) => done.every((t) => k in t.params));
  if (shared.length === 0) return 'No swept key took part in every finished trial: importance is computed over the keys all of them have.';
  const space: ImportanceSpace = Object.fromEntries(
    shared.map(([k, d]) => [
      k,
      'choice' in d ? { type: 'categorical', choices: d.choice } : { type: 'float', low: ('logUniform' in d ? d.logUniform : d.uniform)[0], high: ('logUniform' in d ? d.logUniform : d.uniform)[1] },
    ]),
  );
  if (done.length < 2) return 'Importance needs at least two finished trials.';
  if (new Set(done.map((t) => valueOf(m, t))).size < 2) return `Every finished trial has the same ${METRICS[m.name].label}: no key explains anything.`;
  return { space, trials: done.map((t) => ({ params: t.params as Record<string, unknown>, value: valueOf(m, t) })) };
}

export function importanceChart(imp: Record<string, number>, m: Metric = DEFAULT_METRIC): ChartSpec {
  return {
    type: 'bar',
    data: { labels: Object.keys(imp), datasets: [{ label: 'importance', data: Object.values(imp).map((v) => Number(v.toFixed(4))), backgroundColor: '#1f77b4' }] },
    options: {
      indexAxis: 'y',
      plugins: { ...titled(`Share of the variance of ${describeMetric(m)} (fANOVA)`), legend: { display: false } },
      scales: { x: axis('importance (sums to 1)', { min: 0, max: 1 }), y: axis('swept key') },
    },
  };
}

/**
 * The metric's best so far (in its mode) against the trial number, with every trial's own value as
 * a point; in a TPE sweep the first `startup` trials (random) and the suggested ones apart.
 */
export function bestSoFarChart(done: TrialResult[], startup: number, m: Metric = DEFAULT_METRIC): ChartSpec {
  const pts = (ts: TrialResult[]) => chartPoints(ts.map((t) => ({ x: t.index, y: valueOf(m, t) })));
  const dot = (label: string, ts: TrialResult[], colour: string) => ({ label, data: pts(ts), showLine: false, borderColor: colour, backgroundColor: colour, pointRadius: 4 });
  const datasets: Record<string, unknown>[] = [
    { label: `best so far (${m.mode})`, data: chartPoints(bestSoFarPoints(done, m)), stepped: 'before', borderColor: '#d62728', backgroundColor: '#d62728', borderWidth: 2, pointRadius: 0 },
  ];
  if (startup > 0) {
    datasets.push(
      dot(
        `random startup trials (1–${startup})`,
        done.filter((t) => t.index <= startup),
        '#7f7f7f',
      ),
    );
    datasets.push(
      dot(
        'TPE-suggested trials',
        done.filter((t) => t.index > startup),
        '#1f77b4',
      ),
    );
  } else datasets.push(dot('trials (random search)', done, '#7f7f7f'));
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      plugins: { ...titled(`${describeMetric(m)}: best so far by trial`), legend: { display: true, position: 'bottom' } },
      scales: { x: axis('trial', { type: 'linear', ticks: { precision: 0 } }), y: axis(METRICS[m.name].label) },
    },
  };
}
