/**
 * BatchNormalization.ipynb's two experiments, from their sweeps (one sweep folder per seed):
 *   bn-weight-scale  best train and val accuracy and the final training loss against the weight
 *                    scale (log axis), with and without batch norm, as the notebook's three plots
 *   bn-batch-size    train and val accuracy per epoch at batch sizes 5, 10 and 50, with and
 *                    without batch norm, and the same for layer norm (run_batchsize_experiments)
 */
import { seriesColor } from '../../report/charts.js';
import type { PageBlock } from '../../report/html.js';
import type { RunCurves } from '../../report/overlay.js';
import { type TrialOverSeeds, trialsOverSeeds } from './folders.js';
import { chartBlock, type Group, type Pt, seedChart, seedNote } from './seed_chart.js';
import type { PlotInput } from './types.js';

/** The notebook's final training loss: the mean of the last 100 minibatch losses (np.mean(loss_history[-100:])). */
export const FINAL_LOSS_STEPS = 100;

const maxY = (pts: { y: number }[]) => (pts.length ? Math.max(...pts.map((p) => p.y)) : null);
const finalLoss = (c: RunCurves) => {
  const last = c.loss.slice(-FINAL_LOSS_STEPS);
  return last.length ? last.reduce((s, p) => s + p.y, 0) / last.length : null;
};

type Measure = (c: RunCurves) => number | null;
const MEASURES: { id: string; title: string; y: string; of: Measure }[] = [
  { id: 'train', title: 'Best train accuracy against weight scale', y: 'best train accuracy', of: (c) => maxY(c.trainAcc) },
  { id: 'val', title: 'Best val accuracy against weight scale', y: 'best val accuracy', of: (c) => maxY(c.valAcc) },
  { id: 'loss', title: 'Final training loss against weight scale', y: 'final training loss', of: finalLoss },
];

/** The two lines of a measure: its value per weight scale in each seed, without and with batch norm; diverged trials left as gaps. */
function scaleGroups(trials: TrialOverSeeds[], of: Measure, seeds: number): Group[] {
  return [
    ['none', 'without batch norm'],
    ['batchnorm', 'with batch norm'],
  ].map(([norm, name]) => {
    const mine = trials.filter((t) => t.trial.config.normalization === norm).sort((a, b) => a.trial.config.initStd - b.trial.config.initStd);
    const perSeed = Array.from({ length: seeds }, (_, s) => mine.map((t): Pt => ({ x: t.trial.config.initStd, y: t.results[s]?.status === 'diverged' ? null : of(t.curves[s]) })));
    return { name, perSeed };
  });
}

/** The diverged trials' points of a measure (any seed), drawn apart as red crosses at their last finite value. */
function divergedDataset(trials: TrialOverSeeds[], of: Measure): Record<string, unknown> | null {
  const data = trials.flatMap((t) =>
    t.results.flatMap((r, s) => (r?.status === 'diverged' && of(t.curves[s]) !== null ? [{ x: t.trial.config.initStd, y: Number(of(t.curves[s])!.toPrecision(5)) }] : [])),
  );
  if (data.length === 0) return null;
  return { label: 'diverged (last finite value)', data, showLine: false, pointStyle: 'crossRot', pointRadius: 7, borderWidth: 2, borderColor: '#d62728', backgroundColor: '#d62728', order: 0 };
}

/** bn-weight-scale: the three measures against the weight scale. */
export function bnWeightScale(input: PlotInput): PageBlock[] {
  const trials = trialsOverSeeds(input.folders);
  const seeds = seedNote(input.seeds);
  return MEASURES.map((m) => {
    const loss = m.id === 'loss';
    const spec = seedChart(m.title, 'weight initialization scale', m.y, scaleGroups(trials, m.of, input.folders.length), { logX: true, logY: loss, points: true, seeds: input.seeds });
    const diverged = divergedDataset(trials, m.of);
    if (diverged) (spec.data as { datasets: unknown[] }).datasets.push(diverged);
    const axis = loss
      ? ` Final training loss: the mean of the last ${FINAL_LOSS_STEPS} minibatch losses, as the notebook takes it. The loss axis is logarithmic, so a net whose loss exploded does not flatten the others; a diverged trial is a red cross.`
      : '';
    return chartBlock(`bn-weight-scale-${m.id}`, m.title, spec, `One point per weight scale (initStd, log axis), the 8-layer net with and without batch norm.${axis} ${seeds}`);
  });
}

const NORMS = [
  ['batchnorm', 'batch norm'],
  ['layernorm', 'layer norm'],
] as const;

/** The lines of one normalization's charts: each batch size without it (dashed) and with it, coloured by batch size. */
function batchGroups(trials: TrialOverSeeds[], norm: string, label: string, which: 'trainAcc' | 'valAcc'): Group[] {
  const sizes = [...new Set(trials.map((t) => t.trial.config.batchSize))].sort((a, b) => a - b);
  return trials
    .filter((t) => t.trial.config.normalization === 'none' || t.trial.config.normalization === norm)
    .sort((a, b) => Number(a.trial.config.normalization !== 'none') - Number(b.trial.config.normalization !== 'none') || a.trial.config.batchSize - b.trial.config.batchSize)
    .map((t) => {
      const none = t.trial.config.normalization === 'none';
      return {
        name: `${none ? 'no normalization' : label}, batch ${t.trial.config.batchSize}`,
        perSeed: t.curves.map((c) => c[which]),
        color: seriesColor(sizes.indexOf(t.trial.config.batchSize), sizes.length),
        dash: none,
      };
    });
}

/** bn-batch-size: train and val accuracy per epoch by batch size, for batch norm, then for layer norm. */
export function bnBatchSize(input: PlotInput): PageBlock[] {
  const trials = trialsOverSeeds(input.folders);
  const seeds = seedNote(input.seeds);
  const opts = { points: true, integerX: true, seeds: input.seeds };
  return NORMS.filter(([norm]) => trials.some((t) => t.trial.config.normalization === norm)).flatMap(([norm, label]) =>
    (['trainAcc', 'valAcc'] as const).map((which) => {
      const what = which === 'trainAcc' ? 'Train accuracy' : 'Val accuracy';
      const spec = seedChart(`${what}: ${label} against batch size`, 'epoch', which === 'trainAcc' ? 'train accuracy' : 'val accuracy', batchGroups(trials, norm, label, which), opts);
      return chartBlock(
        `bn-batch-size-${norm}-${which === 'trainAcc' ? 'train' : 'val'}`,
        `${what} by batch size, ${label}`,
        spec,
        `Dashed: no normalization; solid: ${label}; one colour per batch size. ${seeds}`,
      );
    }),
  );
}
