/**
 * The plot builders' contract with the `train cs231n` command (src/cs231n/*), declared as its
 * src/cs231n/types.ts declares it: a builder gets one experiment's output folders (a run folder
 * or a sweep folder each), one per seed in seed order, and returns the page blocks it draws.
 */
import type { PageBlock } from '../../report/html.js';

/** What a plot builder reads: the experiment's output folders (a run or sweep folder each), one per seed, in seed order. */
export interface PlotInput {
  folders: string[];
  seeds: number[];
}

/** A notebook's plot: the page blocks drawn from an experiment's folders (async where it renders PNG images). */
export type NotebookPlot = (input: PlotInput) => PageBlock[] | Promise<PageBlock[]>;
