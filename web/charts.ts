/**
 * The page's Chart.js charts (bundled, as the run reports bundle it): the loss, the accuracies,
 * the update-to-weight ratios with cs231n's 1e-3 line, an image's scores and probabilities, and a
 * drawn digit's probabilities. Updated without animation, at most as often as snapshots come.
 */
import { Chart, registerables } from 'chart.js';

Chart.register(...registerables);
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.responsive = false;

/** Most points a line gets: longer histories are thinned to every k-th point. */
const MAX_POINTS = 1500;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
/** cs231n's rule of thumb for ‖ΔW‖/‖W‖. */
export const RATIO_RULE = 1e-3;

export { Chart };

type XY = { x: number; y: number };

export function thin(points: XY[]): XY[] {
  const k = Math.ceil(points.length / MAX_POINTS);
  return k <= 1 ? points : points.filter((_, i) => i % k === 0 || i === points.length - 1);
}

const line = (label: string, color: string, dashed = false) => ({
  label,
  data: [] as XY[],
  borderColor: color,
  backgroundColor: color,
  borderWidth: 1.5,
  pointRadius: 0,
  borderDash: dashed ? [6, 4] : [],
});

export function lossChart(c: HTMLCanvasElement): Chart<'line', XY[]> {
  return new Chart(c, {
    type: 'line',
    data: { datasets: [line('training loss', COLORS[0])] },
    options: { parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'iteration' } }, y: { title: { display: true, text: 'loss' } } } },
  });
}

export function accuracyChart(c: HTMLCanvasElement): Chart<'line', XY[]> {
  const withPoints = (l: string, col: string) => ({ ...line(l, col), pointRadius: 3 });
  return new Chart(c, {
    type: 'line',
    data: { datasets: [withPoints('train', COLORS[0]), withPoints('val', COLORS[1])] },
    options: { parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'epoch' } }, y: { title: { display: true, text: 'accuracy' } } } },
  });
}

/** One line per weight matrix, made as they appear, and the 1e-3 line across. */
export function ratioChart(c: HTMLCanvasElement): Chart<'line', XY[]> {
  return new Chart(c, {
    type: 'line',
    data: { datasets: [line('1e-3 (rule of thumb)', '#888', true)] },
    options: { parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'iteration' } }, y: { type: 'logarithmic', title: { display: true, text: '‖ΔW‖ / ‖W‖' } } } },
  });
}

/** Add this step's ratios to the chart's lines (one per weight matrix) and stretch the 1e-3 line under them. */
export function addRatios(ch: Chart<'line', XY[]>, history: Map<string, XY[]>, it: number, ratios: { name: string; value: number }[]): void {
  for (const r of ratios) {
    if (!(r.value > 0)) continue;
    let h = history.get(r.name);
    if (!h) {
      history.set(r.name, (h = []));
      ch.data.datasets.push(line(r.name, COLORS[history.size % COLORS.length]));
    }
    if (h.at(-1)?.x !== it) h.push({ x: it, y: r.value });
  }
  const all = [...history.values()].flat();
  if (all.length === 0) return;
  const xs = all.map((p) => p.x);
  ch.data.datasets[0].data = [
    { x: Math.min(...xs), y: RATIO_RULE },
    { x: Math.max(...xs), y: RATIO_RULE },
  ];
  ch.data.datasets.forEach((d) => {
    const h = history.get(String(d.label));
    if (h) d.data = thin(h);
  });
}

export function barChart(c: HTMLCanvasElement, labels: string[], series: string[]): Chart<'bar', number[]> {
  return new Chart(c, {
    type: 'bar',
    data: { labels, datasets: series.map((s, i) => ({ label: s, data: [] as number[], backgroundColor: COLORS[i] })) },
    options: { scales: { x: { title: { display: true, text: 'class' } } } },
  });
}
