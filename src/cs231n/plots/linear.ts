/**
 * softmax.ipynb's and svm.ipynb's search figure: val accuracy over the learning rate ×
 * regularization search (a random search here, so a scatter on log axes coloured by val accuracy,
 * as the sweep report draws it with report/charts.ts's sweepScatter).
 */
import { sweepScatter } from '../../report/charts.js';
import type { PageBlock } from '../../report/html.js';
import { sweepTrials } from './folders.js';
import type { NotebookPlot, PlotInput } from './types.js';

/** `which`-grid: the first seed's search, one point per finished trial at (log lr, log reg), coloured by val accuracy. */
export function lrRegGrid(which: 'softmax' | 'svm'): NotebookPlot {
  return (input: PlotInput): PageBlock[] => {
    const trials = sweepTrials(input.folders[0]).filter((t) => t.result.status === 'ok' && t.result.valAcc !== null && t.config.lr > 0 && t.config.reg > 0);
    const spec = sweepScatter(
      trials.map((t) => ({ lr: t.config.lr, reg: t.config.reg, acc: t.result.valAcc!, label: `trial ${t.result.index}` })),
      'val',
    );
    const note = `Seed ${input.seeds[0] ?? 0}'s search: ${trials.length} trials, each a point at its learning rate and regularization strength (log axes), coloured by its best val accuracy.`;
    return [{ kind: 'chart', id: `${which}-grid`, title: 'Val accuracy over learning rate and regularization', spec, height: 380, note }];
  };
}
