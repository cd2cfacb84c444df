/**
 * Chart.js figures. Each figure is a plain JSON Chart.js config, built once here: the HTML report
 * embeds Chart.js and draws it in the browser, and renderPng draws the same config in Node on a
 * @napi-rs/canvas for the PNG twin. Nothing here plots by hand.
 */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables } from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';

Chart.register(...registerables, MatrixController, MatrixElement);

/** A JSON-serialisable Chart.js config. */
export type ChartSpec = { type: string; data: unknown; options: Record<string, unknown> };

const axis = (title: string, extra: Record<string, unknown> = {}) => ({ title: { display: true, text: title }, ...extra });
const titled = (text: string) => ({ title: { display: true, text, font: { size: 14 } } });

/** Loss per iteration, raw and smoothed (exponential moving average, as TensorBoard shows). */
export function lossChart(losses: number[], smoothing = 0.98): ChartSpec {
  const smooth: number[] = [];
  let m = 0;
  for (let i = 0; i < losses.length; i++) {
    m = smoothing * m + (1 - smoothing) * losses[i];
    smooth.push(m / (1 - smoothing ** (i + 1))); // bias-corrected, so the start is not pulled to 0
  }
  const pts = (ys: number[]) => ys.map((y, i) => ({ x: i + 1, y: Number(y.toPrecision(5)) }));
  return {
    type: 'line',
    data: {
      datasets: [
        { label: 'loss', data: pts(losses), borderColor: 'rgba(31,119,180,0.35)', borderWidth: 1, pointRadius: 0 },
        { label: 'smoothed', data: pts(smooth), borderColor: '#d62728', borderWidth: 2, pointRadius: 0 },
      ],
    },
    options: {
      parsing: false,
      plugins: { ...titled('Training loss'), decimation: { enabled: true, algorithm: 'lttb', samples: 800 } },
      scales: { x: axis('iteration', { type: 'linear' }), y: axis('loss') },
    },
  };
}

/** Train and val accuracy per epoch. */
export function accuracyChart(epochs: { epoch: number; trainAcc: number; valAcc: number }[]): ChartSpec {
  return {
    type: 'line',
    data: {
      labels: epochs.map((e) => e.epoch),
      datasets: [
        { label: 'train', data: epochs.map((e) => round3(e.trainAcc)), borderColor: '#1f77b4', backgroundColor: '#1f77b4' },
        { label: 'val', data: epochs.map((e) => round3(e.valAcc)), borderColor: '#ff7f0e', backgroundColor: '#ff7f0e' },
      ],
    },
    options: { plugins: titled('Classification accuracy'), scales: { x: axis('epoch'), y: axis('accuracy') } },
  };
}

/**
 * Confusion matrix (rows: true class, columns: predicted), shaded by the row's fraction. Cells are
 * placed by class index on linear axes, and the names are only tick labels: two classes with the
 * same name still get a row and a column each (a category axis would merge them).
 */
export function confusionChart(counts: number[][], classes: string[]): ChartSpec {
  const data: { x: number; y: number; v: number }[] = [];
  const colors: string[] = [];
  counts.forEach((row, t) => {
    const total = row.reduce((s, v) => s + v, 0) || 1;
    row.forEach((v, p) => {
      data.push({ x: p, y: t, v });
      colors.push(`rgba(31,119,180,${(0.04 + 0.96 * (v / total)).toFixed(3)})`);
    });
  });
  const n = counts.length;
  // `labels` holds the names for the tick callback that hydrate adds (a linear axis ignores it).
  const classAxis = (title: string, reverse: boolean) =>
    axis(title, { type: 'linear', min: -0.5, max: n - 0.5, reverse, labels: classes, offset: false, grid: { display: false }, ticks: { stepSize: 1, autoSkip: false } });
  return {
    type: 'matrix',
    data: { datasets: [{ label: 'test records', data, backgroundColor: colors, borderWidth: 0 }] },
    options: {
      plugins: { ...titled('Confusion matrix on the test split'), legend: { display: false } },
      scales: { x: classAxis('predicted class', false), y: classAxis('true class', true) },
    },
  };
}

/** Sweep trials: log10 lr against log10 reg, each point coloured by accuracy (and sized by hidden size when swept). */
export function sweepScatter(points: { lr: number; reg: number; acc: number; hidden?: number[]; label: string }[], which: string): ChartSpec {
  const accs = points.map((p) => p.acc);
  const lo = Math.min(...accs);
  const hi = Math.max(...accs);
  const hiddens = [...new Set(points.map((p) => (p.hidden ? p.hidden.join(',') : '')))];
  const radius = (h: string) => (hiddens.length > 1 ? 5 + (8 * hiddens.indexOf(h)) / Math.max(1, hiddens.length - 1) : 8);
  return {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: `${which} accuracy (dark = ${lo.toFixed(3)}, bright = ${hi.toFixed(3)})${hiddens.length > 1 ? `; size = hidden ${hiddens.join(' < ')}` : ''}`,
          data: points.map((p) => ({ x: round3(Math.log10(p.lr)), y: round3(Math.log10(Math.max(p.reg, 1e-12))), acc: round3(p.acc), name: p.label })),
          backgroundColor: accs.map((a) => viridis(hi > lo ? (a - lo) / (hi - lo) : 1)),
          pointRadius: points.map((p) => radius(p.hidden ? p.hidden.join(',') : '')),
        },
      ],
    },
    options: { plugins: titled(`${which} accuracy by learning rate and regularization`), scales: { x: axis('log10 learning rate', { grace: '8%' }), y: axis('log10 regularization strength', { grace: '8%' }) } },
  };
}

/**
 * kNN cross-validation, as knn.ipynb plots it: accuracy against k, every fold's accuracy a point,
 * the mean over folds a line with error bars of ± one standard deviation (each bar a two-point
 * line segment, the segments kept apart by null points).
 */
export function knnCvChart(cv: { ks: number[]; accuracy: number[][]; mean: number[]; std: number[] }): ChartSpec {
  const folds = cv.ks.flatMap((k, q) => cv.accuracy[q].map((a) => ({ x: k, y: round3(a) })));
  const bars = cv.ks.flatMap((k, q) => [{ x: k, y: round3(cv.mean[q] - cv.std[q]) }, { x: k, y: round3(cv.mean[q] + cv.std[q]) }, { x: k, y: null }]);
  return {
    type: 'scatter',
    data: {
      datasets: [
        { label: 'fold accuracy', data: folds, backgroundColor: 'rgba(31,119,180,0.6)', pointRadius: 3 },
        { type: 'line', label: 'mean over folds', data: cv.ks.map((k, q) => ({ x: k, y: round3(cv.mean[q]) })), borderColor: '#d62728', backgroundColor: '#d62728', pointRadius: 3 },
        { type: 'line', label: '± std', data: bars, borderColor: '#d62728', borderWidth: 1, pointRadius: 0, spanGaps: false },
      ],
    },
    options: { plugins: titled('Cross-validation on k'), scales: { x: axis('k', { type: 'linear' }), y: axis('Cross-validation accuracy') } },
  };
}

/** Draw a spec in Node and return PNG bytes. */
export async function renderPng(spec: ChartSpec, width = 720, height = 400): Promise<Buffer> {
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  const config = hydrate(JSON.parse(JSON.stringify(spec)) as ChartSpec);
  config.options = { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 };
  const chart = new Chart(ctx as never, config as never);
  try {
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}

/**
 * The parts of a config that must be functions. The page applies the same rule (HYDRATE_JS), so
 * the PNG and the page draw alike.
 */
export function hydrate(spec: ChartSpec): ChartSpec {
  if (spec.type === 'matrix') {
    const ds = (spec.data as { datasets: Record<string, unknown>[] }).datasets[0];
    const n = Math.sqrt((ds.data as unknown[]).length);
    ds.width = ({ chart }: { chart: { chartArea?: { width: number } } }) => (chart.chartArea?.width ?? 0) / n - 1;
    ds.height = ({ chart }: { chart: { chartArea?: { height: number } } }) => (chart.chartArea?.height ?? 0) / n - 1;
    // One tick per class index (the axis runs from -0.5 to n - 0.5), named by the class.
    for (const ax of Object.values(spec.options.scales as Record<string, Record<string, unknown> & { labels: string[]; ticks: Record<string, unknown> }>)) {
      const names = ax.labels;
      ax.afterBuildTicks = (scale: { ticks: { value: number }[] }) => {
        scale.ticks = names.map((_, i) => ({ value: i }));
      };
      ax.ticks.callback = (v: number) => (Number.isInteger(v) && v >= 0 && v < names.length ? names[v] : '');
    }
  }
  return spec;
}

export const HYDRATE_JS = `function hydrate(spec) {
  if (spec.type === 'matrix') {
    var ds = spec.data.datasets[0], n = Math.sqrt(ds.data.length);
    ds.width = function (c) { return ((c.chart.chartArea || {}).width || 0) / n - 1; };
    ds.height = function (c) { return ((c.chart.chartArea || {}).height || 0) / n - 1; };
    Object.keys(spec.options.scales).forEach(function (k) {
      var ax = spec.options.scales[k], names = ax.labels;
      ax.afterBuildTicks = function (scale) { scale.ticks = names.map(function (_, i) { return { value: i }; }); };
      ax.ticks.callback = function (v) { return v % 1 === 0 && v >= 0 && v < names.length ? names[v] : ''; };
    });
  }
  return spec;
}`;

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A few stops of matplotlib's viridis, interpolated: t in [0, 1] → css colour. */
export function viridis(t: number): string {
  const stops = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i].map((v, k) => Math.round(v + f * (stops[i + 1][k] - v)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/** One named curve of an overlay chart: a trial or a run. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

/** Matplotlib's tab10, then evenly spread hues: the colour of the i-th of n series. */
export function seriesColor(i: number, n: number): string {
  const tab10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  return n <= tab10.length ? tab10[i] : `hsl(${Math.round((360 * i) / n)},70%,42%)`;
}

/**
 * Several curves on shared axes, one dataset per series, coloured by series and named in the
 * legend, as the cs231n notebooks overlay their update rules or weight scales. `xTitle` is
 * 'iteration' or 'epoch'; with `points` the markers are drawn (short per-epoch curves).
 */
export function overlayChart(title: string, xTitle: string, yTitle: string, series: Series[], opts: { points?: boolean; integerX?: boolean } = {}): ChartSpec {
  return {
    type: 'line',
    data: {
      datasets: series.map((s, i) => ({
        label: s.name,
        data: s.points.map((p) => ({ x: p.x, y: Number(p.y.toPrecision(5)) })),
        borderColor: seriesColor(i, series.length),
        backgroundColor: seriesColor(i, series.length),
        borderWidth: 2,
        pointRadius: opts.points ? 3 : 0,
      })),
    },
    options: {
      parsing: false,
      plugins: { ...titled(title), legend: { display: true, position: 'bottom' } },
      scales: { x: axis(xTitle, { type: 'linear', ...(opts.integerX ? { ticks: { precision: 0 } } : {}) }), y: axis(yTitle) },
    },
  };
}

/**
 * The bias-corrected exponential moving average of the curve `pts` (as lossChart draws its red
 * line), thinned to at most `maxPoints` evenly spaced points (the last always kept).
 */
export function smoothedPoints(pts: { x: number; y: number }[], smoothing = 0.98, maxPoints = 500): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  const stride = Math.max(1, Math.ceil(pts.length / maxPoints));
  let m = 0;
  for (let i = 0; i < pts.length; i++) {
    m = smoothing * m + (1 - smoothing) * pts[i].y;
    if (i % stride === 0 || i === pts.length - 1) out.push({ x: pts[i].x, y: m / (1 - smoothing ** (i + 1)) });
  }
  return out;
}
