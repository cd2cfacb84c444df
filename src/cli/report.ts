/** `train report <folder>`: rebuild the report of a run folder or a sweep folder from its files. */
import * as fs from 'node:fs';
import { ConfigError } from '../config/config.js';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import { buildRunReport } from '../report/run_report.js';
import { buildSweepReport } from '../report/sweep_report.js';
import { readRunConfig } from '../runs/read.js';
import { testRowsForReport } from '../sweep/trial_report_build.js';
import { writeLines } from './output.js';
import { RUN_FILES, runFile, SWEEP_FILES, sweepFile } from '../runs/layout.js';

export async function reportCommand(folder: string, backend: string): Promise<string> {
  if (fs.existsSync(sweepFile(folder, 'results')) && fs.existsSync(sweepFile(folder, 'spec'))) return buildSweepReport(folder);
  if (fs.existsSync(runFile(folder, 'config')) && fs.existsSync(runFile(folder, 'summary'))) {
    await initEngine(backend as BackendChoice);
    // A sweep trial whose report was left for later has no predictions.json: its test rows come from its dataset where that is found.
    const test = (await testRowsForReport(folder, readRunConfig(runFile(folder, 'config')))) ?? undefined;
    // Else from the folder alone: what it lacks is left out of the report and said here.
    return buildRunReport(folder, test, { warn: (line) => writeLines(process.stderr, `warning: ${line}`) });
  }
  throw new ConfigError(`${folder} is neither a run folder (${RUN_FILES.config} and ${RUN_FILES.summary}) nor a sweep folder (${SWEEP_FILES.results} and ${SWEEP_FILES.spec})`);
}
