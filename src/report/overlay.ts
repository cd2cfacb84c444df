/**
 * Curves of several runs on shared axes: the training loss (smoothed, per iteration), the train
 * accuracy and the val accuracy (per epoch), one line per run, coloured by run and named in the
 * legend, as FullyConnectedNets.ipynb compares its update rules. The sweep report overlays its
 * trials with it and `train compare` its runs. Each run's curves come from its metrics.jsonl.
 */
import * as fs from 'node:fs';
import { type ChartSpec, legendRows, NAMED_ALL, NAMED_BEST, overlayChart, renderPng, type Series, smoothedPoints } from './charts.js';
import type { PageBlock } from './html.js';
import { runFile } from '../runs/layout.js';
import { readMetrics } from '../runs/read.js';

type Pt = { x: number; y: number };

/** One run's curves: the minibatch loss per iteration (finite values only) and the accuracies per epoch. */
export interface RunCurves {
  loss: Pt[];
  trainAcc: Pt[];
  valAcc: Pt[];
}

/** The curves of run folder `dir`, read (and checked) from its metrics.jsonl; none when it has none (a knn run). */
export function readCurves(dir: string): RunCurves {
  const file = runFile(dir, 'metrics');
  const rows = fs.existsSync(file) ? readMetrics(file) : [];
  const curves: RunCurves = { loss: [], trainAcc: [], valAcc: [] };
  for (const m of rows) {
    if (m.type === 'iter' && typeof m.loss === 'number' && Number.isFinite(m.loss)) curves.loss.push({ x: m.it as number, y: m.loss });
    if (m.type === 'epoch') {
      curves.trainAcc.push({ x: m.epoch as number, y: m.trainAcc as number });
      curves.valAcc.push({ x: m.epoch as number, y: m.valAcc as number });
    }
  }
  return curves;
}

/** The smoothing of the loss line: lighter for short runs, so that their shape still shows. */
function smoothingFor(n: number): number {
  return n < 500 ? 0.9 : 0.98;
}

/** A run of an overlay: its name, curves and score (its best val accuracy: with many runs, the best few are named). */
export interface OverlayRun {
  name: string;
  curves: RunCurves;
  score?: number | null;
}

/** The three overlay charts (ids `<prefix>-loss`, `<prefix>-train`, `<prefix>-val`) of named runs; a diverged run's loss runs off a clipped axis. */
export function overlaySpecs(runs: OverlayRun[]): { id: string; title: string; note: string; spec: ChartSpec }[] {
  const longest = Math.max(0, ...runs.map((r) => r.curves.loss.length));
  const s = smoothingFor(longest);
  const loss: Series[] = runs.map((r) => ({ name: r.name, score: r.score, points: smoothedPoints(r.curves.loss, s) }));
  const train: Series[] = runs.map((r) => ({ name: r.name, score: r.score, points: r.curves.trainAcc }));
  const val: Series[] = runs.map((r) => ({ name: r.name, score: r.score, points: r.curves.valAcc }));
  return [
    {
      id: 'loss',
      title: 'Training loss per iteration',
      note: `Minibatch loss per iteration, smoothed (exponential moving average, weight ${s}), one line per run.`,
      spec: overlayChart('Training loss', 'iteration', 'loss', loss, { clip: true }),
    },
    {
      id: 'train',
      title: 'Train accuracy per epoch',
      note: 'Train accuracy per epoch (on the fixed training sample of each run), one line per run.',
      spec: overlayChart('Train accuracy', 'epoch', 'accuracy', train, { points: true, integerX: true }),
    },
    {
      id: 'val',
      title: 'Validation accuracy per epoch',
      note: 'Val accuracy per epoch, on the whole val split, one line per run.',
      spec: overlayChart('Validation accuracy', 'epoch', 'accuracy', val, { points: true, integerX: true }),
    },
  ];
}

/**
 * A height at which the legend fits: Chart.js gives a bottom legend at most half the canvas and
 * cuts off what does not fit. Rows are counted at 600 px, narrower than the PNG (760) and the page's
 * card, with the names the legend shows (overlayChart names the best few of many).
 */
function overlayHeight(runs: OverlayRun[]): number {
  const shown = runs.length <= NAMED_ALL ? runs : [...runs].sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity)).slice(0, NAMED_BEST);
  const legend =
    24 *
      legendRows(
        shown.map((r) => r.name),
        600,
      ) +
    16;
  return Math.max(320, 250 + legend, 2 * legend + 40);
}

/**
 * The overlay charts as page blocks (canvas ids `overlay-loss`, `overlay-train`, `overlay-val`)
 * and their PNG twins, named `<pngPrefix>loss.png` and so on.
 */
export async function overlayBlocks(runs: OverlayRun[], pngPrefix: string): Promise<{ blocks: PageBlock[]; files: [string, Buffer][] }> {
  const blocks: PageBlock[] = [];
  const files: [string, Buffer][] = [];
  const height = overlayHeight(runs);
  for (const c of overlaySpecs(runs)) {
    blocks.push({ kind: 'chart', id: `overlay-${c.id}`, title: c.title, note: c.note, spec: c.spec, height });
    files.push([`${pngPrefix}${c.id}.png`, await renderPng(c.spec, 760, height + 40)]);
  }
  return { blocks, files };
}
