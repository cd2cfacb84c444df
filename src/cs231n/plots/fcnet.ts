/**
 * FullyConnectedNets.ipynb's and Dropout.ipynb's curves, from their sweeps (one sweep folder per
 * seed, trials matched by index): the 3- and 5-layer nets overfitting 50 images, the four update
 * rules compared, and the nets with and without dropout. Each trial is a colour, its first seed
 * bold (seed_chart.ts).
 */
import { smoothedPoints } from '../../report/charts.js';
import type { PageBlock } from '../../report/html.js';
import type { RunCurves } from '../../report/overlay.js';
import { type TrialOverSeeds, trialsOverSeeds } from './folders.js';
import { chartBlock, type Group, seedChart, seedNote } from './seed_chart.js';
import type { PlotInput } from './types.js';

type Curve = 'loss' | 'trainAcc' | 'valAcc';

/** One group per trial: its name, and its curve `which` in every seed (the loss smoothed with weight `smoothing`; 0 leaves it raw). */
function groups(trials: TrialOverSeeds[], name: (t: TrialOverSeeds) => string, which: Curve, smoothing = 0): Group[] {
  const pick = (c: RunCurves) => (which === 'loss' && smoothing > 0 ? smoothedPoints(c.loss, smoothing) : c[which]);
  return trials.map((t) => ({ name: name(t), perSeed: t.curves.map(pick) }));
}

const EPOCH = { points: true, integerX: true };

/** overfit: training loss and train accuracy of the 3- and 5-layer nets on 50 images. */
export function overfit(input: PlotInput): PageBlock[] {
  const trials = trialsOverSeeds(input.folders);
  const name = (t: TrialOverSeeds) => `${t.trial.config.hidden.length + 1}-layer net (hidden ${t.trial.config.hidden.join(', ')})`;
  const seeds = seedNote(input.seeds);
  const n = trials[0]?.trial.config.numTrain;
  return [
    chartBlock(
      'overfit-loss',
      'Training loss history',
      seedChart('Training loss history', 'iteration', 'training loss', groups(trials, name, 'loss'), { seeds: input.seeds, logY: true }),
      `Minibatch loss per iteration, on ${n} training images (log axis: it falls towards 0 as the nets memorise them). ${seeds}`,
    ),
    chartBlock(
      'overfit-train',
      'Train accuracy',
      seedChart('Train accuracy', 'epoch', 'train accuracy', groups(trials, name, 'trainAcc'), { ...EPOCH, seeds: input.seeds }),
      `Accuracy on the ${n} training images after each epoch: both nets reach 100%. ${seeds}`,
    ),
  ];
}

/** update-rules: loss, train accuracy and val accuracy of sgd, sgd_momentum, rmsprop and adam. */
export function updateRules(input: PlotInput): PageBlock[] {
  const trials = trialsOverSeeds(input.folders);
  const name = (t: TrialOverSeeds) => t.trial.config.updateRule;
  const seeds = seedNote(input.seeds);
  const opts = { seeds: input.seeds };
  return [
    chartBlock(
      'update-rules-loss',
      'Training loss',
      seedChart('Training loss', 'iteration', 'training loss', groups(trials, name, 'loss', 0.9), { ...opts, clip: true }),
      `Minibatch loss per iteration, smoothed (exponential moving average, weight 0.9). ${seeds}`,
    ),
    chartBlock(
      'update-rules-train',
      'Training accuracy',
      seedChart('Training accuracy', 'epoch', 'train accuracy', groups(trials, name, 'trainAcc'), { ...opts, ...EPOCH }),
      `Train accuracy after each epoch. ${seeds}`,
    ),
    chartBlock(
      'update-rules-val',
      'Validation accuracy',
      seedChart('Validation accuracy', 'epoch', 'val accuracy', groups(trials, name, 'valAcc'), { ...opts, ...EPOCH }),
      `Val accuracy after each epoch. ${seeds}`,
    ),
  ];
}

/** dropout-curves: train and val accuracy per epoch with and without dropout. */
export function dropoutCurves(input: PlotInput): PageBlock[] {
  const trials = trialsOverSeeds(input.folders);
  const name = (t: TrialOverSeeds) => (t.trial.config.dropoutKeep === 1 ? 'no dropout' : `dropout, keep ${t.trial.config.dropoutKeep}`);
  const seeds = seedNote(input.seeds);
  const opts = { ...EPOCH, seeds: input.seeds };
  return [
    chartBlock('dropout-train', 'Train accuracy', seedChart('Train accuracy', 'epoch', 'train accuracy', groups(trials, name, 'trainAcc'), opts), `Train accuracy after each epoch. ${seeds}`),
    chartBlock('dropout-val', 'Validation accuracy', seedChart('Validation accuracy', 'epoch', 'val accuracy', groups(trials, name, 'valAcc'), opts), `Val accuracy after each epoch. ${seeds}`),
  ];
}
