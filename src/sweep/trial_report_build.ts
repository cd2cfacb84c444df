/**
 * Building the run reports of a sweep's trials after they ended (trial_reports.ts says which):
 * the best trials' at the end of a sweep, and any trial's on demand (`train report`), with the
 * test rows read from the dataset, since such a trial has no predictions.json yet.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config/config.js';
import { loadDataset, loadTestSplit } from '../data/datasets.js';
import { DataError } from '../data/errors.js';
import { rowsOfCheckpoint } from '../data/feature_data.js';
import type { Rows } from '../data/split.js';
import { buildRunReport } from '../report/run_report.js';
import { type Checkpoint, loadCheckpoint } from '../runs/checkpoint.js';
import { runFile } from '../runs/layout.js';
import type { TrialResult } from '../runs/results.js';

/**
 * Build the reports of `trials` (folders under `sweepDir`) that have none yet, each with the test
 * rows `testOf` gives for its best checkpoint. A report that cannot be built costs only itself: a
 * line says so and how to build it later. Returns the reports written.
 */
export async function buildTrialReports(sweepDir: string, trials: TrialResult[], testOf: (ckFile: string) => Promise<Rows>, warn: (line: string) => void): Promise<string[]> {
  const written: string[] = [];
  for (const t of trials) {
    const dir = path.join(sweepDir, t.dir);
    if (fs.existsSync(runFile(dir, 'report'))) continue;
    try {
      written.push(await buildRunReport(dir, await testOf(runFile(dir, 'best'))));
    } catch (e) {
      warn(`note: trial ${t.index}'s report could not be built (${e instanceof Error ? e.message : String(e)}); train report ${dir} builds it`);
    }
  }
  return written;
}

/**
 * The test rows of checkpoint `ck` (read from `file`), from the data location `base` gives,
 * preprocessed as its training did (the mean image it stores). A features run's rows come from
 * the dataset's feature cache, which is kept for the whole dataset, so that one case reads the
 * dataset whole.
 */
export async function testRowsOf(ck: Checkpoint, file: string, base: Pick<Config, 'dataDir' | 'verify'>): Promise<Rows> {
  const h = ck.header;
  const from = { verify: base.verify };
  const raw = h.preprocess.features ? await loadDataset(h.dataset, base.dataDir || undefined, from) : await loadTestSplit(h.dataset, base.dataDir || undefined, from);
  return rowsOfCheckpoint(raw, 'test', h, ck.mean, file);
}

/**
 * The test rows for run folder `dir`'s report when it has no predictions.json (a sweep trial whose
 * report was not built as it ended): from the dataset its config names, where that is found (a
 * folder or an archive, never a URL); else null, and the report is built from the folder alone.
 */
export async function testRowsForReport(dir: string, cfg: Pick<Config, 'dataDir' | 'verify'>): Promise<Rows | null> {
  const ckFile = runFile(dir, 'best');
  if (fs.existsSync(runFile(dir, 'testPredictions')) || !fs.existsSync(ckFile)) return null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(cfg.dataDir)) return null; // a report never downloads a dataset
  try {
    return await testRowsOf(loadCheckpoint(ckFile), ckFile, cfg);
  } catch (e) {
    if (e instanceof DataError) return null;
    throw e;
  }
}
