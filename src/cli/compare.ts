/**
 * `train compare RUN RUN … [--out FILE]`: one page overlaying the runs' loss and accuracy curves
 * and showing their configs side by side (report/compare_report.ts). Without --out the page is
 * written beside the first run, in its runs folder, as compare-<run>-vs-<run>….html.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { buildComparePage } from '../report/compare_report.js';
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
  if (fs.existsSync(sweepFile(dir, 'results')) && fs.existsSync(sweepFile(dir, 'spec'))) {
    throw new ConfigError(`compare: ${dir} is a sweep folder; its report (npx train report ${dir}) overlays its trials, or compare trial folders from ${path.join(dir, SWEEP_FILES.trials)}`);
  }
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

export async function compareCommand(opts: { runs: string[]; out?: string }): Promise<string> {
  const { runs } = opts;
  if (runs.length < 2) throw new ConfigError(`compare needs two or more run folders (given ${runs.length}: ${runs.join(' ') || 'none'}): npx train compare RUN RUN …`);
  const seen = new Set<string>();
  for (const r of runs) {
    const key = path.resolve(r);
    if (seen.has(key)) throw new ConfigError(`compare: ${r} is given twice; give each run folder once`);
    seen.add(key);
    checkRun(r);
  }
  let out = opts.out;
  if (out !== undefined) {
    if (!/\.html$/i.test(out)) throw new ConfigError(`--out ${out}: give the page's file name, ending in .html (for example --out runs/compare.html)`);
    const dir = path.dirname(path.resolve(out));
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ConfigError(`--out ${out}: the folder ${dir} does not exist; create it or write the page elsewhere`);
  } else out = defaultComparePath(runs);
  const names = namesOf(runs);
  return buildComparePage(
    runs.map((dir, i) => ({ dir, name: names[i] })),
    out,
  );
}
