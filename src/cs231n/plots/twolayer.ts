/**
 * two_layer_net.ipynb's training history: the loss per iteration (smoothed) and the train and val
 * accuracy per epoch, every seed's run drawn (the first bold), from each run's metrics.jsonl.
 */
import { smoothedPoints } from '../../report/charts.js';
import type { PageBlock } from '../../report/html.js';
import { readCurves } from '../../report/overlay.js';
import { runFolderOf } from './folders.js';
import { chartBlock, seedChart, seedNote } from './seed_chart.js';
import type { PlotInput } from './types.js';

/** The loss's exponential moving average weight (as the run report's red line). */
const SMOOTHING = 0.98;

/** twolayer-history: loss history, then train and val accuracy per epoch. */
export function twolayerHistory(input: PlotInput): PageBlock[] {
  const curves = input.folders.map((f) => readCurves(runFolderOf(f)));
  const opts = { seeds: input.seeds };
  const loss = seedChart('Loss history', 'iteration', 'training loss', [{ name: 'training loss (smoothed)', perSeed: curves.map((c) => smoothedPoints(c.loss, SMOOTHING)) }], opts);
  const acc = seedChart(
    'Classification accuracy history',
    'epoch',
    'accuracy',
    [
      { name: 'train', perSeed: curves.map((c) => c.trainAcc) },
      { name: 'val', perSeed: curves.map((c) => c.valAcc) },
    ],
    { ...opts, points: true, integerX: true },
  );
  const seeds = seedNote(input.seeds);
  return [
    chartBlock('twolayer-loss', 'Loss history', loss, `Minibatch loss per iteration, smoothed (exponential moving average, weight ${SMOOTHING}). ${seeds}`),
    chartBlock('twolayer-accuracy', 'Classification accuracy history', acc, `Train accuracy (on a fixed sample of training rows) and val accuracy after each epoch. ${seeds}`),
  ];
}
