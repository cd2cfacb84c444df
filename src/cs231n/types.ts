/**
 * The types shared by the `train cs231n` command (src/cs231n/*) and the notebooks' plot
 * builders (src/cs231n/plots/*).
 */
import type { PageBlock } from '../report/html.js';

/** What a plot builder reads: the experiment's output folders (a run or sweep folder each), one per seed, in seed order. */
export interface PlotInput {
  folders: string[];
  seeds: number[];
}

/**
 * A notebook's plot: the page blocks drawn from an experiment's folders. It may be async (a
 * builder that renders PNG thumbnails awaits them); the page awaits either.
 */
export type NotebookPlot = (input: PlotInput) => PageBlock[] | Promise<PageBlock[]>;
