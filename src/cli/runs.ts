/**
 * `train runs [folder]`: the runs of a runs folder as a table on the console (name, dataset,
 * model, engine, best val, test, time, status), and <folder>/index.html with the same table,
 * sortable, linking every run's report (report/runs_index.ts). --json prints the rows instead.
 * A run folder that cannot be read is listed as unreadable, its reason goes to stderr, and the
 * exit code is 1; the other rows are listed as usual.
 */
import * as fs from 'node:fs';
import { ConfigError } from '../config/config.js';
import { RUN_COLUMNS, listRuns, writeRunsIndex } from '../report/runs_index.js';
import type { Output } from './output.js';

/** Rows as aligned text columns, cut to `width`. */
function textTable(head: string[], rows: string[][], width: number): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(w[i]))
      .join('  ')
      .trimEnd()
      .slice(0, Math.max(20, width - 1));
  return [line(head), ...rows.map(line)];
}

export function runsCommand(runsDir: string, o: Output): void {
  if (!fs.existsSync(runsDir) || !fs.statSync(runsDir).isDirectory()) throw new ConfigError(`runs folder ${runsDir} does not exist: give the folder your runs are in (--runs-dir, default runs)`);
  const list = listRuns(runsDir);
  const index = writeRunsIndex(runsDir, list);
  o.result({ runsDir, index, runs: list.runs, sweeps: list.sweeps }, () => {
    const lines = list.runs.length
      ? textTable(
          RUN_COLUMNS.map((c) => c[0]),
          list.runs.map((r) => RUN_COLUMNS.map(([, , t]) => t(r))),
          o.stream.columns || 200,
        )
      : [`no run folders in ${runsDir}`];
    for (const s of list.sweeps) lines.push(`sweep ${s.folder}: ${s.trials ?? '?'} trials, best val ${s.bestValAcc === null ? '–' : s.bestValAcc.toFixed(3)}`);
    lines.push(`index: ${index}`);
    return lines;
  });
  // A run folder whose files cannot be read (a FIFO, /dev/zero behind a symlink, torn JSON) is listed as unreadable; why, on stderr, and the exit code says so.
  for (const r of list.runs) if (r.reason !== null) process.stderr.write(`error: run ${r.folder} is unreadable: ${r.reason}\n`);
  if (list.runs.some((r) => r.reason !== null)) process.exitCode = 1;
}
