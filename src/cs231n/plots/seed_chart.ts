/**
 * Curves over several seeds on shared axes, as the notebooks draw one seed's: each group (an
 * update rule, a net, a batch size) is one colour, its first seed drawn bold and named in the
 * legend, the other seeds thin in the same colour and left out of the legend (hydrate's filter
 * of `faint` datasets). Plain Chart.js specs of report/charts.ts's kind, not a chart library.
 */
import { type ChartSpec, legendRows, offScale, roundAbove, seriesColor, type Series } from '../../report/charts.js';
import type { PageBlock } from '../../report/html.js';

/** A point of a curve; y null leaves a gap. */
export type Pt = { x: number; y: number | null };

/** One named group of curves: one per seed, in seed order. */
export interface Group {
  name: string;
  perSeed: Pt[][];
  /** Its own colour (default: the i-th of tab10). */
  color?: string;
  /** Drawn dashed (the runs without the normalization, say). */
  dash?: boolean;
}

export interface ChartOpts {
  logX?: boolean;
  logY?: boolean;
  integerX?: boolean;
  /** Markers on the bold curves. */
  points?: boolean;
  /** A group far above the others (a diverged run) runs off the top of an axis cut at the others' largest value. */
  clip?: boolean;
  /** The seeds, in the order of each group's curves (named in the faint curves' tooltips). */
  seeds?: number[];
}

/** `color` with opacity `a`: #rrggbb or hsl(…) (seriesColor's two forms), or any colour left as it is. */
export function faded(color: string, a: number): string {
  if (/^#[0-9a-f]{6}$/i.test(color))
    return `${color}${Math.round(a * 255)
      .toString(16)
      .padStart(2, '0')}`;
  if (color.startsWith('hsl(')) return color.replace('hsl(', 'hsla(').replace(')', `,${a})`);
  return color;
}

/** Legend swatches drawn as short lines in each dataset's colour, width and dash (a dashed group's swatch is dashed too). */
const LEGEND_LINES = { usePointStyle: true, pointStyle: 'line', pointStyleWidth: 36 };
/**
 * Tick labels of a log axis: 0.0005, 100, 5K, 250M (Chart.js's own print 100.0000 beside 0.0005),
 * level and thinned where they would overlap. Two significant digits, so ticks below 1e-5 stay
 * apart (0.0000015, not a second 0.000002).
 */
export const LOG_TICKS = { ticks: { format: { notation: 'compact', maximumSignificantDigits: 2 }, maxRotation: 0, autoSkipPadding: 10 } };
const title = (text: string) => ({ display: true, text, font: { size: 14 } });
const rounded = (pts: Pt[]) => pts.map((p) => ({ x: p.x, y: p.y === null || !Number.isFinite(p.y) ? null : Number(p.y.toPrecision(5)) }));

/** The datasets of group `g` in colour `color`: its first seed bold and named, the others faint. */
function groupDatasets(g: Group, color: string, opts: ChartOpts, offTheTop: boolean): Record<string, unknown>[] {
  const dash = g.dash || offTheTop ? { borderDash: [6, 4] } : {};
  const [first, ...rest] = g.perSeed;
  const bold = { label: g.name, data: rounded(first ?? []), borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: opts.points ? 3 : 0, order: 1, ...dash };
  const thin = rest.map((pts, s) => ({
    label: `${g.name}, seed ${opts.seeds?.[s + 1] ?? s + 2}`,
    data: rounded(pts),
    borderColor: faded(color, 0.35),
    backgroundColor: faded(color, 0.35),
    borderWidth: 1,
    pointRadius: 0,
    faint: true,
    order: 2,
    ...dash,
  }));
  return [bold, ...thin];
}

/** The y axis: logarithmic, or cut above the in-scale groups when some run off it. */
function yAxis(text: string, groups: Group[], off: Set<number>, opts: ChartOpts): Record<string, unknown> {
  if (opts.logY) return { type: 'logarithmic', title: { display: true, text }, ...LOG_TICKS };
  const inY = groups.flatMap((g, i) => (off.has(i) ? [] : g.perSeed.flat().map((p) => p.y))).filter((y): y is number => y !== null && Number.isFinite(y));
  const cut = off.size > 0 && inY.length > 0 ? { max: roundAbove(Math.min(...inY), Math.max(...inY)) } : {};
  return { type: 'linear', title: { display: true, text }, ...cut };
}

/** The groups' first seeds as report/charts.ts's Series, for its off-scale rule. */
const firstSeeds = (groups: Group[]): Series[] => groups.map((g) => ({ name: g.name, points: (g.perSeed[0] ?? []).filter((p): p is { x: number; y: number } => p.y !== null) }));

/** Groups of curves over seeds on shared axes; `note` goes under the title (say, what is off the axis). */
export function seedChart(chartTitle: string, xTitle: string, yTitle: string, groups: Group[], opts: ChartOpts = {}): ChartSpec {
  const off = opts.clip ? offScale(firstSeeds(groups)) : new Set<number>();
  const datasets = groups.flatMap((g, i) => groupDatasets(g, g.color ?? seriesColor(i, groups.length), opts, off.has(i)));
  const offNote = off.size > 0 ? { subtitle: { display: true, text: `dashed: ${[...off].map((i) => groups[i].name).join(', ')}, off the top of the axis` } } : {};
  const x = {
    type: opts.logX ? 'logarithmic' : 'linear',
    bounds: 'data',
    title: { display: true, text: xTitle },
    ...(opts.logX ? LOG_TICKS : {}),
    ...(opts.integerX ? { ticks: { precision: 0 } } : {}),
  };
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      plugins: { title: title(chartTitle), ...offNote, legend: { display: true, position: 'bottom', labels: LEGEND_LINES } },
      scales: { x, y: yAxis(yTitle, groups, off, opts) },
    },
  };
}

/** Which seeds are drawn how, for a block's note. */
export function seedNote(seeds: number[]): string {
  if (seeds.length <= 1) return `Seed ${seeds[0] ?? 0}.`;
  return `Seed ${seeds[0]} drawn bold and named; seed${seeds.length > 2 ? 's' : ''} ${seeds.slice(1).join(', ')} thin in the same colour.`;
}

/** A chart block tall enough for its legend (the named datasets' labels, at 600 px, as overlay.ts counts them). */
export function chartBlock(id: string, blockTitle: string, spec: ChartSpec, note: string): PageBlock {
  const labels = (spec.data as { datasets: { label: string; faint?: boolean }[] }).datasets.filter((d) => !d.faint).map((d) => d.label);
  const height = Math.max(320, 270 + 24 * legendRows(labels, 600));
  return { kind: 'chart', id, title: blockTitle, spec, height, note };
}
