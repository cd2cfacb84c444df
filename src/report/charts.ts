/**
 * Chart.js figures. Each figure is a plain JSON Chart.js config, built once here: the HTML report
 * embeds Chart.js and draws it in the browser, and renderPng draws the same config in Node on a
 * @napi-rs/canvas for the PNG twin. Only the confusion matrix's counts and colour bar are drawn by
 * hand, by two small Chart.js plugins in HYDRATE_JS.
 */
import { createCanvas } from '@napi-rs/canvas';
import { Chart, registerables } from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';

Chart.register(...registerables, MatrixController, MatrixElement);

/** A JSON-serialisable Chart.js config. */
export type ChartSpec = { type: string; data: unknown; options: Record<string, unknown> };

const axis = (title: string, extra: Record<string, unknown> = {}) => ({ title: { display: true, text: title }, ...extra });
const titled = (text: string) => ({ title: { display: true, text, font: { size: 14 } } });
/** An x axis that ends at the data (Chart.js's default stretches a linear axis to the next round tick). */
const dataX = (title: string, extra: Record<string, unknown> = {}) => axis(title, { type: 'linear', bounds: 'data', ...extra });

/**
 * A line dataset whose legend swatch is its line: Chart.js fills the swatch with backgroundColor
 * and strokes it with borderColor, so a line given only a borderColor gets a grey swatch.
 */
function line(label: string, data: unknown[], color: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { label, data, borderColor: color, backgroundColor: color, ...extra };
}

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
      datasets: [line('loss', pts(losses), 'rgba(31,119,180,0.35)', { borderWidth: 1, pointRadius: 0 }), line('smoothed', pts(smooth), '#d62728', { borderWidth: 2, pointRadius: 0 })],
    },
    options: {
      parsing: false,
      plugins: { ...titled('Training loss'), decimation: { enabled: true, algorithm: 'lttb', samples: 800 } },
      scales: { x: dataX('iteration'), y: axis('loss') },
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
        line(
          'train',
          epochs.map((e) => round3(e.trainAcc)),
          '#1f77b4',
        ),
        line(
          'val',
          epochs.map((e) => round3(e.valAcc)),
          '#ff7f0e',
        ),
      ],
    },
    options: { plugins: titled('Classification accuracy'), scales: { x: axis('epoch'), y: axis('accuracy') } },
  };
}

/** The confusion matrix's shade of a fraction of the row (the colour bar runs over the same). */
const shade = (f: number) => `rgba(31,119,180,${(0.04 + 0.96 * f).toFixed(3)})`;

/**
 * Confusion matrix (rows: true class, columns: predicted), shaded by the row's fraction. Cells are
 * placed by class index on linear axes, and the names are only tick labels: two classes with the
 * same name still get a row and a column each (a category axis would merge them). hydrate writes
 * each cell's count in it and draws the colour bar.
 */
export function confusionChart(counts: number[][], classes: string[]): ChartSpec {
  const data: { x: number; y: number; v: number; f: number }[] = [];
  const colors: string[] = [];
  counts.forEach((row, t) => {
    const total = row.reduce((s, v) => s + v, 0) || 1;
    row.forEach((v, p) => {
      data.push({ x: p, y: t, v, f: round3(v / total) });
      colors.push(shade(v / total));
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
      plugins: { ...titled('Confusion matrix on the test split'), legend: { display: false }, colourBar: { from: shade(0), to: shade(1), ticks: [0, 0.5, 1], label: 'fraction of the row' } },
      layout: { padding: { right: 64 } },
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
    options: {
      plugins: titled(`${which} accuracy by learning rate and regularization`),
      scales: { x: axis('log10 learning rate', { grace: '8%' }), y: axis('log10 regularization strength', { grace: '8%' }) },
    },
  };
}

/**
 * kNN cross-validation, as knn.ipynb plots it: accuracy against k, every fold's accuracy a point,
 * the mean over folds a line with error bars of ± one standard deviation (each bar a two-point
 * line segment, the segments kept apart by null points).
 */
export function knnCvChart(cv: { ks: number[]; accuracy: number[][]; mean: number[]; std: number[] }): ChartSpec {
  const folds = cv.ks.flatMap((k, q) => cv.accuracy[q].map((a) => ({ x: k, y: round3(a) })));
  const bars = cv.ks.flatMap((k, q) => [
    { x: k, y: round3(cv.mean[q] - cv.std[q]) },
    { x: k, y: round3(cv.mean[q] + cv.std[q]) },
    { x: k, y: null },
  ]);
  return {
    type: 'scatter',
    data: {
      datasets: [
        line('fold accuracy', folds, 'rgba(31,119,180,0.6)', { pointRadius: 3 }),
        line(
          'mean over folds',
          cv.ks.map((k, q) => ({ x: k, y: round3(cv.mean[q]) })),
          '#d62728',
          { type: 'line', pointRadius: 3 },
        ),
        line('± std', bars, '#d62728', { type: 'line', borderWidth: 1, pointRadius: 0, spanGaps: false }),
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
 * The parts of a config that must be functions, written once as page script: the page runs it,
 * and `hydrate` below is the same text compiled in Node, so the PNG and the page draw alike.
 *   every chart  the legend leaves out datasets marked `faint` (overlayChart's unnamed series)
 *   matrix       cell sizes from the chart area; one tick per class index, named by the class;
 *                each cell's count written in it; a colour bar of the shade (options.plugins.colourBar)
 */
export const HYDRATE_JS = `function hydrate(spec) {
  var plugins = spec.options.plugins = spec.options.plugins || {};
  var legend = plugins.legend = plugins.legend || {};
  legend.labels = Object.assign({}, legend.labels, { filter: function (item, data) { return !data.datasets[item.datasetIndex].faint; } });
  if (spec.type === 'matrix') {
    var ds = spec.data.datasets[0], n = Math.sqrt(ds.data.length), bar = plugins.colourBar;
    ds.width = function (c) { return ((c.chart.chartArea || {}).width || 0) / n - 1; };
    ds.height = function (c) { return ((c.chart.chartArea || {}).height || 0) / n - 1; };
    Object.keys(spec.options.scales).forEach(function (k) {
      var ax = spec.options.scales[k], names = ax.labels;
      ax.afterBuildTicks = function (scale) { scale.ticks = names.map(function (_, i) { return { value: i }; }); };
      ax.ticks.callback = function (v) { return v % 1 === 0 && v >= 0 && v < names.length ? names[v] : ''; };
    });
    var counts = { id: 'cellCounts', afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx, data = chart.data.datasets[0].data;
      ctx.save(); ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      chart.getDatasetMeta(0).data.forEach(function (el, i) {
        var d = data[i], text = String(d.v), c = el.getCenterPoint();
        var size = Math.floor(Math.min(13, el.height * 0.5, el.width / (0.62 * text.length + 0.4)));
        if (size < 6) return;
        ctx.font = size + 'px sans-serif';
        ctx.fillStyle = d.f > 0.5 ? '#ffffff' : '#1d1f23';
        ctx.fillText(text, c.x, c.y);
      });
      ctx.restore();
    } };
    var colourBar = { id: 'colourBar', afterDraw: function (chart) {
      var a = chart.chartArea, ctx = chart.ctx, x = a.right + 12, w = 14, h = a.bottom - a.top;
      var g = ctx.createLinearGradient(0, a.bottom, 0, a.top);
      g.addColorStop(0, bar.from); g.addColorStop(1, bar.to);
      ctx.save();
      ctx.fillStyle = g; ctx.fillRect(x, a.top, w, h);
      ctx.strokeStyle = '#999999'; ctx.lineWidth = 1; ctx.strokeRect(x, a.top, w, h);
      ctx.fillStyle = '#444444'; ctx.font = '11px sans-serif'; ctx.textAlign = 'left'; ctx.textBaseline = 'middle';
      bar.ticks.forEach(function (t) { ctx.fillText(String(t), x + w + 4, a.bottom - t * h); });
      ctx.translate(x + w + 34, a.top + h / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = 'center';
      ctx.fillText(bar.label, 0, 0);
      ctx.restore();
    } };
    spec.plugins = [counts, colourBar];
  }
  return spec;
}`;

/** The same rules as the page's, for renderPng. */
export const hydrate: (spec: ChartSpec) => ChartSpec = new Function(`${HYDRATE_JS}\nreturn hydrate;`)();

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

/** One named curve of an overlay chart: a trial or a run; `score` (val accuracy, higher is better) picks the ones named when there are many. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
  score?: number | null;
}

/** Matplotlib's tab10, then evenly spread hues: the colour of the i-th of n series. */
export function seriesColor(i: number, n: number): string {
  const tab10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  return n <= tab10.length ? tab10[i] : `hsl(${Math.round((360 * i) / n)},70%,42%)`;
}

/** Up to this many series are all named in the legend; beyond it only the best NAMED_BEST are, the rest drawn faint. */
export const NAMED_ALL = 10;
export const NAMED_BEST = 5;
/** The colour of the unnamed series. */
export const FAINT = 'rgba(140,140,140,0.35)';
/** A series whose largest value is this many times the median series' largest is off the scale (a diverged trial). */
const OFF_SCALE = 10;

/**
 * A round axis end at or just above `hi` for data from `lo` to `hi`: a multiple of a round step
 * (1, 2, 2.5 or 5 × a power of ten) of about an eighth of the range, as Chart.js picks its ticks.
 */
export function roundAbove(lo: number, hi: number): number {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / 8;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  return Number((Math.ceil(hi / step - 1e-9) * step).toPrecision(12));
}

/** The indices of series far above the others (a diverged trial): largest value > OFF_SCALE × the median series' largest. */
export function offScale(series: Series[]): Set<number> {
  const maxes = series.map((s) => Math.max(...s.points.map((p) => p.y).filter(Number.isFinite)));
  const sorted = maxes.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length < 2) return new Set();
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  return new Set(maxes.flatMap((m, i) => (median > 0 && m > OFF_SCALE * median ? [i] : [])));
}

/** The series named in the legend: all up to NAMED_ALL, else the NAMED_BEST best by score (ties and unscored by order). */
function namedSeries(series: Series[]): number[] {
  const order = series.map((_, i) => i);
  if (series.length <= NAMED_ALL) return order;
  const score = (i: number) => series[i].score ?? -Infinity;
  return order
    .sort((a, b) => score(b) - score(a) || a - b)
    .slice(0, NAMED_BEST)
    .sort((a, b) => a - b);
}

/**
 * Several curves on shared axes, one dataset per series, as the cs231n notebooks overlay their
 * update rules or weight scales. Readable at 40 series: beyond NAMED_ALL only the best NAMED_BEST
 * (by score) are coloured and named, the others faint grey and out of the legend (the dataset's
 * `faint`, which hydrate's legend filter reads). With `clip`, a series far above the others (a
 * diverged trial) is dashed and runs off the top of an axis cut at the others' largest value, so
 * it cannot flatten them. `xTitle` is 'iteration' or 'epoch'; with `points` the markers are drawn.
 */
export function overlayChart(title: string, xTitle: string, yTitle: string, series: Series[], opts: { points?: boolean; integerX?: boolean; clip?: boolean } = {}): ChartSpec {
  const named = namedSeries(series);
  const off = opts.clip ? offScale(series) : new Set<number>();
  const inY = series.flatMap((s, i) => (off.has(i) ? [] : s.points.map((p) => p.y))).filter(Number.isFinite);
  const [inMin, inMax] = [Math.min(...inY), Math.max(...inY)];
  const offMax = Math.max(...[...off].flatMap((i) => series[i].points.map((p) => p.y)).filter(Number.isFinite));
  const notes: string[] = [];
  const by = series.some((s) => typeof s.score === 'number') ? ' by val accuracy' : '';
  if (named.length < series.length) notes.push(`the best ${named.length} of ${series.length}${by} named; the other ${series.length - named.length} faint grey`);
  if (off.size > 0) notes.push(`${off.size} diverged (dashed) run${off.size > 1 ? '' : 's'} off the top of the axis, up to ${Number(offMax.toPrecision(3)).toExponential(1)}`);
  return {
    type: 'line',
    data: {
      datasets: series.map((s, i) => {
        const rank = named.indexOf(i);
        const color = rank < 0 ? FAINT : seriesColor(rank, named.length);
        return line(
          s.name,
          s.points.map((p) => ({ x: p.x, y: Number(p.y.toPrecision(5)) })),
          color,
          { borderWidth: rank < 0 ? 1 : 2, pointRadius: opts.points && rank >= 0 ? 3 : 0, faint: rank < 0, order: rank < 0 ? 2 : 1, ...(off.has(i) ? { borderDash: [6, 4] } : {}) },
        );
      }),
    },
    options: {
      parsing: false,
      plugins: { ...titled(title), ...(notes.length ? { subtitle: { display: true, text: notes.join('; ') } } : {}), legend: { display: true, position: 'bottom' } },
      scales: {
        x: dataX(xTitle, opts.integerX ? { ticks: { precision: 0 } } : {}),
        y: axis(yTitle, off.size > 0 && Number.isFinite(inMax) ? { max: roundAbove(inMin, inMax) } : {}),
      },
    },
  };
}

/** Rows the legend of these labels takes at `width` px (Chart.js's 12-px font: about 7 px a character, 40 px of swatch and gap an item). */
export function legendRows(labels: string[], width: number): number {
  let rows = labels.length > 0 ? 1 : 0;
  let used = 0;
  for (const l of labels) {
    const w = 40 + 7 * l.length;
    if (used > 0 && used + w > width) [rows, used] = [rows + 1, 0];
    used += w;
  }
  return rows;
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
