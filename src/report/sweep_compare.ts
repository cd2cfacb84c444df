/**
 * The compare page of sweeps (`train compare SWEEP SWEEP …`): every sweep's best so far of its
 * metric against the trial number on one chart, one colour per kind of search (tpe, random, grid,
 * list) and one dash per sweep seed within a kind, as Optuna's
 * `plot_optimization_history([study_tpe, study_random])` overlays studies; and a table of each
 * sweep's kind, seed, finished trials, best value, and the trials it took to come within WITHIN
 * of the best any of them found. The sweeps must share their metric and mode. One self-contained
 * page (html.ts: offline, the same Content-Security-Policy), its chart's PNG twin beside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { writeFileAtomic } from '../runs/atomic.js';
import { sweepFile } from '../runs/layout.js';
import { type SearchKind, readSweepKind, readSweepResults } from '../runs/read.js';
import { type Metric, METRICS, bestOf, describeMetric, metricOfResults, within } from '../sweep/metric.js';
import { type ChartSpec, legendRows, renderPng } from './charts.js';
import { type PageBlock, esc, page } from './html.js';
import { bestSoFarPoints, chartPoints, finishedTrials } from './sweep_plots.js';
import { SORT_JS } from './sweep_report.js';

/** "Within 0.005 of the best": the margin of the table's trial count, in the metric's own units. */
export const WITHIN = 0.005;

/** Each kind of search's colour (matplotlib's tab10) and its name in the chart's note. */
export const KIND_COLORS: Record<SearchKind, { color: string; word: string }> = {
  tpe: { color: '#1f77b4', word: 'blue' },
  random: { color: '#ff7f0e', word: 'orange' },
  grid: { color: '#2ca02c', word: 'green' },
  list: { color: '#9467bd', word: 'purple' },
};
/** The dash of the i-th seed of a kind (solid first). */
const DASHES: number[][] = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 2]];

/** One sweep as the page draws it: what it is, and its metric's best so far after each finished trial. */
export interface SweepCurve {
  name: string;
  dir: string;
  kind: SearchKind;
  seed: number | null;
  metric: Metric;
  curve: { x: number; y: number }[];
  /** Finished trials of the sweep's trials. */
  finished: number;
  trials: number;
}

/** A sweep folder's curve, read (and checked) from its results.json and sweep.json. */
export function readSweepCurve(dir: string, name: string): SweepCurve {
  const results = readSweepResults(sweepFile(dir, 'results'));
  const { kind, seed } = readSweepKind(sweepFile(dir, 'spec'));
  const metric = metricOfResults(results);
  const done = finishedTrials(results.trials, metric);
  return { name, dir, kind, seed, metric, curve: bestSoFarPoints(done, metric), finished: done.length, trials: results.trials.length };
}

/** The metric every sweep shares; two that differ are refused, naming both. */
export function commonMetric(sweeps: SweepCurve[]): Metric {
  const [first] = sweeps;
  const other = sweeps.find((s) => s.metric.name !== first.metric.name || s.metric.mode !== first.metric.mode);
  if (other)
    throw new ConfigError(`compare: ${first.dir} is a sweep by ${describeMetric(first.metric)} and ${other.dir} by ${describeMetric(other.metric)}; compare sweeps of the same metric and mode`);
  return first.metric;
}

/** The best value of a curve (its last point), null when no trial finished. */
const lastOf = (s: SweepCurve): number | null => s.curve.at(-1)?.y ?? null;

/** The first trial number at which `s`'s best so far is within WITHIN of `target` (or better), null when it never is. */
export function trialsToWithin(s: SweepCurve, target: number): number | null {
  return s.curve.find((p) => within(s.metric, p.y, target, WITHIN))?.x ?? null;
}

/** "tpe, seed 0 (sweep-a)" or "grid (sweep-g)": a sweep in the legend. */
const labelOf = (s: SweepCurve) => `${s.seed === null ? s.kind : `${s.kind}, seed ${s.seed}`} (${s.name})`;
/** A value as the page shows it. */
const show = (v: number | null) => (v === null ? '—' : v.toFixed(4));

/** The chart: one stepped line per sweep, coloured by its kind, dashed by its seed's rank within the kind. */
export function sweepCompareChart(sweeps: SweepCurve[], m: Metric): ChartSpec {
  const datasets = sweeps.map((s) => {
    const rank = sweeps.filter((o) => o.kind === s.kind).indexOf(s);
    const { color } = KIND_COLORS[s.kind];
    return { label: labelOf(s), data: chartPoints(s.curve), stepped: 'before', borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: 2, borderDash: DASHES[rank % DASHES.length] };
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      plugins: { title: { display: true, text: `${describeMetric(m)}: best so far by trial`, font: { size: 14 } }, legend: { display: true, position: 'bottom' } },
      scales: {
        x: { title: { display: true, text: 'trial' }, type: 'linear', bounds: 'data', ticks: { precision: 0 } },
        y: { title: { display: true, text: `best ${METRICS[m.name].label} so far` } },
      },
    },
  };
}

/** The table: each sweep's search, finished trials, best value and trials to within WITHIN of `overall`; the best sweep's row highlighted. */
function summaryTable(sweeps: SweepCurve[], m: Metric, overall: number | null, outDir: string): string {
  const head = ['sweep', 'search', 'seed', 'trials finished', `best ${METRICS[m.name].label} (${m.mode})`, `trials to within ${WITHIN} of the best`];
  const rows = sweeps.map((s) => {
    const best = lastOf(s);
    const to = overall === null ? null : trialsToWithin(s, overall);
    const report = sweepFile(s.dir, 'report');
    const name = fs.existsSync(report) ? `<a href="${esc(path.relative(outDir, report).split(path.sep).map(encodeURIComponent).join('/'))}">${esc(s.name)}</a>` : esc(s.name);
    const cells: [unknown, string, boolean][] = [
      [s.kind, s.kind, false],
      [s.seed ?? '', s.seed === null ? '—' : String(s.seed), true],
      [s.finished, `${s.finished} of ${s.trials}`, true],
      [best ?? '', show(best), true],
      [to ?? '', to === null ? '—' : String(to), true],
    ];
    const tds = cells.map(([v, text, num]) => `<td${num ? ' class="num"' : ''} data-v="${esc(v)}">${esc(text)}</td>`).join('');
    return `<tr${best !== null && best === overall ? ' class="best"' : ''}><td data-v="${esc(s.name)}">${name}</td>${tds}</tr>`;
  });
  const note = `<p class="note">"Trials to within ${WITHIN}": the first trial number whose best so far is within ${WITHIN} (in ${esc(METRICS[m.name].label)}) of the best any of these sweeps found (${show(overall)}); — when it never came that close. Only finished trials count. Click a column to sort.</p>`;
  return `${note}<table class="trials"><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * Write the compare page of the sweep folders `sweeps` (each with its results.json and sweep.json)
 * to `out` (an .html file); `name`s label them. The chart's PNG twin goes beside it as
 * `<out without .html>_best_so_far.png`. Sweeps of different metrics are refused (a ConfigError).
 */
export async function buildSweepComparePage(sweeps: { dir: string; name: string }[], out: string): Promise<string> {
  const curves = sweeps.map((s) => readSweepCurve(s.dir, s.name));
  const m = commonMetric(curves);
  const overall = bestOf(
    m,
    curves.map((s) => lastOf(s) ?? NaN),
  );
  const spec = sweepCompareChart(curves, m);
  // As tall as the legend needs (rows counted at 600 px, narrower than the PNG and the card).
  const height = Math.max(360, 276 + 24 * legendRows(curves.map(labelOf), 600));
  const colours = Object.entries(KIND_COLORS).map(([k, c]) => `${k} ${c.word}`);
  const note = `Each sweep's best ${METRICS[m.name].label} so far (${m.mode}) after each finished trial, against the trial number. Colour: the search (${colours.join(', ')}); within a kind, each further sweep seed dashed.`;
  const blocks: PageBlock[] = [
    { kind: 'chart', id: 'sweeps-best-so-far', title: 'Best so far', spec, height, note },
    { kind: 'html', title: `Sweeps (${curves.length})`, html: summaryTable(curves, m, overall, path.dirname(path.resolve(out))) },
  ];
  const sub = `${curves.length} sweeps · ${describeMetric(m)} · best ${show(overall)}`;
  const html = page('Compare sweeps', sub, blocks, SORT_JS);
  const png = path.join(path.dirname(path.resolve(out)), `${path.basename(out).replace(/\.html$/i, '')}_best_so_far.png`);
  writeFileAtomic(png, await renderPng(spec, 760, height + 40));
  writeFileAtomic(out, html);
  return out;
}
