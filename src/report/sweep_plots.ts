/**
 * The sweep report's figures for a random or TPE search, where the sweep file gives every swept
 * key its range and scale: parallel coordinates (one line per finished trial over the swept keys
 * and val accuracy, coloured by val accuracy), hyperparameter importance (fANOVA, as Optuna's
 * default; src/sweep/importance.ts) and val accuracy's best so far against the trial number (a TPE
 * sweep's random startup trials apart from its suggested ones). Plain JSON Chart.js specs.
 */
import type { TrialResult } from '../runs/results.js';
import type { SweepSearch } from '../runs/read.js';
import { fanovaImportance, type ImportanceSpace } from '../sweep/importance.js';
import { Rng } from '../linalg/rng.js';
import { type ChartSpec, viridis } from './charts.js';
import { type PageBlock, fmt } from './html.js';

type Done = TrialResult & { valAcc: number };
type Distribution = SweepSearch['params'][string];
const axis = (text: string, extra: Record<string, unknown> = {}) => ({ title: { display: true, text }, ...extra });
const titled = (text: string) => ({ title: { display: true, text, font: { size: 14 } } });

/** The blocks for the sweep report (none for a grid or list sweep, or before a trial has finished). */
export function sweepPlotBlocks(search: SweepSearch | null, trials: TrialResult[]): PageBlock[] {
  const done = trials.filter((t): t is Done => t.status === 'ok' && t.valAcc !== null).sort((a, b) => a.index - b.index);
  if (!search || done.length === 0) return [];
  const blocks: PageBlock[] = [
    {
      kind: 'chart',
      id: 'parallel',
      title: 'Parallel coordinates',
      spec: parallelChart(search.params, done),
      height: 380,
      note: 'One line per finished trial; each axis runs from its low end (0) to its high end (1) of the range under its name, on a log scale for log-uniform keys. Colour: val accuracy, from dark purple (lowest) to yellow (highest).',
    },
  ];
  const imp = importanceOf(search.params, done, search.seed);
  if (typeof imp === 'string') blocks.push({ kind: 'html', title: 'Hyperparameter importance', html: `<p class="note">${imp}</p>` });
  else
    blocks.push({
      kind: 'chart',
      id: 'importance',
      title: 'Hyperparameter importance',
      spec: importanceChart(imp),
      height: 80 + 34 * Object.keys(imp).length,
      note: `fANOVA over a 64-tree random forest fitted to the ${done.length} finished trials' val accuracy, as Optuna's get_param_importances computes it: each key's share of the variance, summing to 1.`,
    });
  blocks.push({ kind: 'chart', id: 'best-so-far', title: 'Best so far', spec: bestSoFarChart(done, search.kind === 'tpe' ? search.startup : 0), height: 340 });
  return blocks;
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

export function parallelChart(params: Record<string, Distribution>, done: Done[]): ChartSpec {
  const keys = Object.keys(params);
  const accs = done.map((t) => t.valAcc);
  const [lo, hi] = [Math.min(...accs), Math.max(...accs)];
  const scale = (a: number) => (hi > lo ? (a - lo) / (hi - lo) : 0.5);
  return {
    type: 'line',
    data: {
      labels: [...keys.map((k) => axisLabel(k, params[k])), ['val acc', `${fmt(lo)} – ${fmt(hi)}`]],
      datasets: done.map((t) => ({
        label: `trial ${t.index}`,
        // A key that did not take part in a trial (a conditional key, sweep/space.ts): a gap in its line.
        data: [...keys.map((k) => (k in t.params ? Number(position(params[k], (t.params as Record<string, unknown>)[k]).toFixed(4)) : null)), Number(scale(t.valAcc).toFixed(4))],
        borderColor: viridis(scale(t.valAcc)),
        backgroundColor: viridis(scale(t.valAcc)),
        borderWidth: 1.5,
        pointRadius: 2,
      })),
    },
    options: {
      plugins: { ...titled('Trials over the swept keys, coloured by val accuracy'), legend: { display: false } },
      scales: { x: axis('swept key (its range under it)', { grid: { lineWidth: 2 } }), y: axis('position in the range (0 low, 1 high)', { min: 0, max: 1 }) },
    },
  };
}

/** fANOVA importances of the swept keys, or why there are none. */
export function importanceOf(params: Record<string, Distribution>, done: Done[], seed: number): Record<string, number> | string {
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
  if (new Set(done.map((t) => t.valAcc)).size < 2) return 'Every finished trial has the same val accuracy: no key explains anything.';
  return fanovaImportance(
    space,
    done.map((t) => ({ params: t.params as Record<string, unknown>, value: t.valAcc })),
    new Rng(seed),
  );
}

export function importanceChart(imp: Record<string, number>): ChartSpec {
  return {
    type: 'bar',
    data: { labels: Object.keys(imp), datasets: [{ label: 'importance', data: Object.values(imp).map((v) => Number(v.toFixed(4))), backgroundColor: '#1f77b4' }] },
    options: {
      indexAxis: 'y',
      plugins: { ...titled("Share of val accuracy's variance (fANOVA)"), legend: { display: false } },
      scales: { x: axis('importance (sums to 1)', { min: 0, max: 1 }), y: axis('swept key') },
    },
  };
}

/**
 * Val accuracy's best so far against the trial number, with every trial's own val accuracy as a
 * point; in a TPE sweep the first `startup` trials (random) and the suggested ones apart.
 */
export function bestSoFarChart(done: Done[], startup: number): ChartSpec {
  let best = -Infinity;
  const curve = done.map((t) => ({ x: t.index, y: Number((best = Math.max(best, t.valAcc)).toFixed(4)) }));
  const pts = (ts: Done[]) => ts.map((t) => ({ x: t.index, y: Number(t.valAcc.toFixed(4)) }));
  const datasets: Record<string, unknown>[] = [{ label: 'best so far', data: curve, stepped: 'before', borderColor: '#d62728', backgroundColor: '#d62728', borderWidth: 2, pointRadius: 0 }];
  if (startup > 0) {
    datasets.push({
      label: `random startup trials (1–${startup})`,
      data: pts(done.filter((t) => t.index <= startup)),
      showLine: false,
      borderColor: '#7f7f7f',
      backgroundColor: '#7f7f7f',
      pointRadius: 4,
    });
    datasets.push({ label: 'TPE-suggested trials', data: pts(done.filter((t) => t.index > startup)), showLine: false, borderColor: '#1f77b4', backgroundColor: '#1f77b4', pointRadius: 4 });
  } else datasets.push({ label: 'trials (random search)', data: pts(done), showLine: false, borderColor: '#7f7f7f', backgroundColor: '#7f7f7f', pointRadius: 4 });
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      plugins: { ...titled('Val accuracy: best so far by trial'), legend: { display: true, position: 'bottom' } },
      scales: { x: axis('trial', { type: 'linear', ticks: { precision: 0 } }), y: axis('val accuracy') },
    },
  };
}
