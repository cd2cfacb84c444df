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

/** A number read from an experiment's folder (one seed's): an accuracy, or null when the folder has none. */
export type Measure = (folder: string) => number | null;

/** One experiment of a notebook: a committed config run (or swept) into <out>/<notebook>/<id>/seed-<s>/. */
export interface Experiment {
  /** The folder name under the notebook's, and how the page and the progress line name it. */
  id: string;
  title: string;
  /** The config file, relative to configs/: a run config, or a sweep file when `sweep`. */
  config: string;
  sweep: boolean;
  /** Trained once per seed (the seed overrides the config's); false: once, on the config's own seed (deterministic, or a plot only). */
  seeded: boolean;
  /** Keys the notebook sets differently from the committed config (e.g. its first SGD's lr and reg), each explained in `note`. */
  overrides?: Record<string, unknown>;
  /** A tuning sweep that chose a committed config: run only with --tuning. */
  tuning?: boolean;
  note?: string;
}

/** The figure a target is judged against on this machine's data, where it differs from the course's. */
export interface CopyFigure {
  value: number;
  /** Within this of `value` counts as met. */
  tolerance: number;
  /** Where the figure comes from (the numpy peer on the same copy). */
  source: string;
}

/** One of the course's targets, measured on one experiment. */
export interface Target {
  id: string;
  /** What is measured, as the page's row says it. */
  what: string;
  experiment: string;
  measure: Measure;
  /** met: mean > value ('>'), mean ≥ value ('>='), mean ≤ value ('<='), or |mean − value| ≤ tolerance ('≈'). */
  op: '>' | '>=' | '<=' | '≈';
  value: number;
  /** For '≈': how far counts as about. */
  tolerance?: number;
  /** The editions that state it. */
  editions: ('2024' | '2026')[];
  /** Where the project aims above the course: shown beside the target, not judged. */
  aim?: number;
  /** Where the shared CIFAR-10 copy moves the target: judged against this instead, the course's figure shown beside it. */
  onThisCopy?: CopyFigure;
  note?: string;
}

/** A plot of the notebook's, drawn from one experiment's folders, headed by the inline question it informs. */
export interface PlotRef {
  /** A name in src/cs231n/plots/index.ts's PLOTS. */
  plot: string;
  experiment: string;
  /** The inline question's id (notebook.questions). */
  question?: string;
}

/** An inline question of the notebook, paraphrased, with where it is asked. */
export interface Question {
  id: string;
  text: string;
  /** e.g. "knn.ipynb, Inline Question 1". */
  cite: string;
}

/** A check computed when the page is built, not trained: e.g. an update rule against the notebook's expected arrays. */
export interface Check {
  id: string;
  /** What is checked, and the target as the course states it. */
  what: string;
  target: string;
  /** The number shown (e.g. the rel_error now), whether it meets the target, and how it was judged. */
  compute: () => { value: number; met: boolean; detail: string };
  editions: ('2024' | '2026')[];
}

/** One notebook of the course: its experiments, plots, targets, checks and inline questions. */
export interface Notebook {
  id: string;
  file: string;
  title: string;
  /** The editions that have this notebook. */
  editions: ('2024' | '2026')[];
  experiments: Experiment[];
  plots: PlotRef[];
  targets: Target[];
  checks: Check[];
  questions: Question[];
}
