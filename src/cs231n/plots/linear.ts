/**
 * softmax.ipynb's and svm.ipynb's search figure: val accuracy over the learning rate ×
 * regularization search (a random search here, so a scatter on two log axes rather than the
 * notebook's grid), each trial a point coloured by its val accuracy: viridis over five equal bands
 * of the trials' range, one legend entry per band, so the legend's swatches are the points' colours.
 */
import { type ChartSpec, viridis } from '../../report/charts.js';
import type { PageBlock } from '../../report/html.js';
import { type Trial, sweepTrials } from './folders.js';
import { LOG_TICKS } from './seed_chart.js';
import type { NotebookPlot, PlotInput } from './types.js';

/** Bands of val accuracy in the legend. */
export const BANDS = 5;

/** The trials as one scatter dataset per band of val accuracy (empty bands left out), darkest the lowest. */
function bandDatasets(trials: Trial[]): Record<string, unknown>[] {
  const accs = trials.map((t) => t.result.valAcc!);
  const [lo, hi] = [Math.min(...accs), Math.max(...accs)];
  const width = (hi - lo) / BANDS;
  const band = (a: number) => (width > 0 ? Math.min(BANDS - 1, Math.floor((a - lo) / width)) : BANDS - 1);
  return Array.from({ length: BANDS }, (_, b) => {
    const mine = trials.filter((t) => band(t.result.valAcc!) === b);
    const color = viridis((b + 0.5) / BANDS);
    const label = width > 0 ? `val ${(lo + b * width).toFixed(3)}–${(lo + (b + 1) * width).toFixed(3)}` : `val ${hi.toFixed(3)}`;
    const data = mine.map((t) => ({ x: t.config.lr, y: t.config.reg, acc: Number(t.result.valAcc!.toFixed(4)), trial: t.result.index }));
    return { label, data, showLine: false, pointRadius: 7, borderColor: color, backgroundColor: color };
  }).filter((d) => d.data.length > 0);
}

/** Val accuracy over learning rate × regularization strength, log axes. */
export function lrRegChart(trials: Trial[]): ChartSpec {
  const logAxis = (text: string) => ({ type: 'logarithmic', title: { display: true, text }, grace: '5%', ...LOG_TICKS });
  return {
    type: 'scatter',
    data: { datasets: bandDatasets(trials) },
    options: {
      parsing: false,
      plugins: { title: { display: true, text: 'Val accuracy by learning rate and regularization', font: { size: 14 } }, legend: { display: true, position: 'bottom' } },
      scales: { x: logAxis('learning rate'), y: logAxis('regularization strength') },
    },
  };
}

/** `which`-grid: the first seed's search, one point per finished trial. */
export function lrRegGrid(which: 'softmax' | 'svm'): NotebookPlot {
  return (input: PlotInput): PageBlock[] => {
    const trials = sweepTrials(input.folders[0]).filter((t) => t.result.status === 'ok' && t.result.valAcc !== null && t.config.lr > 0 && t.config.reg > 0);
    const note = `Seed ${input.seeds[0] ?? 0}'s search: ${trials.length} trials, each a point at its learning rate and regularization strength (log axes), coloured by its best val accuracy (dark purple the lowest, yellow the highest).`;
    return [{ kind: 'chart', id: `${which}-grid`, title: 'Val accuracy over learning rate and regularization', spec: lrRegChart(trials), height: 400, note }];
  };
}
