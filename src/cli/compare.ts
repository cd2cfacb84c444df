/**
 * `train compare RUN RUN … [--out FILE]`: one page overlaying the runs' loss and accuracy curves
 * and showing their configs side by side (report/compare_report.ts). `train compare SWEEP SWEEP …`:
 * one page overlaying the sweeps' best-so-far curves of their (shared) metric, with a table of
 * what each found and how soon (report/sweep_compare.ts). Run and sweep folders are not mixed.
 * Without --out the page is written beside the first folder, in its runs folder, as
 * compare-<a>-vs-<b>….html.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { buildComparePage } from '../report/compare_report.js';
import { buildSweepComparePage } from '../report/sweep_compare.js';
import { RUN_FILES, runFile, SWEEP_FILES, sweepFile } from '../runs/layout.js';
import { readSummary } from '../runs/read.js';

const WHAT = `a run folder (runs/<time>-<name>, holding ${RUN_FILES.config}, ${RUN_FILES.summary} and ${RUN_FILES.metrics})`;

/** Refuse anything that is not a run folder with training curves, naming what was given and what would work. */
function checkRun(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new ConfigError(`compare: ${dir} does not exist; give ${WHAT}`);
  }
  if (!st.isDirectory()) throw new ConfigError(`compare: ${dir} is a file, not a folder; give ${WHAT}`);
  for (const f of ['config', 'summary', 'metrics'] as const) {
    if (!fs.existsSync(runFile(dir, f))) throw new ConfigError(`compare: ${dir} is not a run folder: it has no ${RUN_FILES[f]}; give ${WHAT}`);
  }
  const s = readSummary(runFile(dir, 'summary'));
  if ((s.model.kind as string) === 'knn') throw new ConfigError(`compare: ${dir} is a knn run, which has no training curves to compare; give runs trained by SGD (softmax or mlp)`);
}

/** The runs' names in legends and columns: their folder names, with the parent folder's name where two are the same. */
function namesOf(dirs: string[]): string[] {
  const base = dirs.map((d) => path.basename(path.resolve(d)));
  return base.map((b, i) => (base.indexOf(b) !== base.lastIndexOf(b) ? `${path.basename(path.dirname(path.resolve(dirs[i])))}/${b}` : b));
}

/** The page's default path: compare-<a>-vs-<b>….html in the first run's runs folder (a short hash when that name would be long). */
export function defaultComparePath(dirs: string[]): string {
  const names = dirs.map((d) => path.basename(path.resolve(d)).replace(/[^A-Za-z0-9._-]/g, '_'));
  let stem = `compare-${names.join('-vs-')}`;
  if (stem.length > 120)
    stem = `compare-${dirs.length}-runs-${createHash('sha256')
      .update(dirs.map((d) => path.resolve(d)).join('\n'))
      .digest('hex')
      .slice(0, 12)}`;
  return path.join(path.dirname(path.resolve(dirs[0])), `${stem}.html`);
}

/** A sweep folder: one with its results.json and sweep.json. */
function isSweepFolder(dir: string): boolean {
  return fs.existsSync(sweepFile(dir, 'results')) && fs.existsSync(sweepFile(dir, 'spec'));
}

/** Two or more folders, each given once, all runs or all sweeps; refused in one line otherwise. */
function checkFolders(dirs: string[], sweeps: string[]): void {
  if (dirs.length < 2 && sweeps.length > 0) throw new ConfigError(`compare needs two or more sweep folders (given ${dirs.length}: ${dirs.join(' ')}): npx train compare SWEEP SWEEP …`);
  if (dirs.length < 2) throw new ConfigError(`compare needs two or more run folders (given ${dirs.length}: ${dirs.join(' ') || 'none'}): npx train compare RUN RUN …`);
  const seen = new Set<string>();
  for (const d of dirs) {
    if (seen.has(path.resolve(d))) throw new ConfigError(`compare: ${d} is given twice; give each ${sweeps.length > 0 ? 'sweep' : 'run'} folder once`);
    seen.add(path.resolve(d));
  }
  const run = dirs.find((d) => !sweeps.includes(d));
  if (sweeps.length > 0 && run !== undefined) {
    const s = sweeps[0];
    throw new ConfigError(
      `compare: ${s} is a sweep folder; its report (npx train report ${s}) overlays its trials, and ${run} is not: compare sweep folders with sweep folders (npx train compare SWEEP SWEEP …) or run folders with run folders, such as trial folders from ${path.join(s, SWEEP_FILES.trials)}`,
    );
  }
}

/** --out checked (an .html file in a folder that exists), or the default path beside the first folder. */
function outPath(out: string | undefined, dirs: string[]): string {
  if (out === undefined) return defaultComparePath(dirs);
  if (!/\.html$/i.test(out)) throw new ConfigError(`--out ${out}: give the page's file name, ending in .html (for example --out runs/compare.html)`);
  const dir = path.dirname(path.resolve(out));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ConfigError(`--out ${out}: the folder ${dir} does not exist; create it or write the page elsewhere`);
  return out;
}

export async function compareCommand(opts: { runs: string[]; out?: string }): Promise<string> {
  const { runs } = opts;
  const sweeps = runs.filter(isSweepFolder);
  checkFolders(runs, sweeps);
  const all = sweeps.length === runs.length;
  if (!all) for (const r of runs) checkRun(r);
  const out = outPath(opts.out, runs);
  const names = namesOf(runs);
  const folders = runs.map((dir, i) => ({ dir, name: names[i] }));
  return all ? buildSweepComparePage(folders, out) : buildComparePage(folders, out);
}
