/** `train report <folder>`: rebuild the report of a run folder or a sweep folder from its files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../config/config.js';
import { initEngine, type BackendChoice } from '../linalg/engine.js';
import { buildRunReport } from '../report/run_report.js';
import { buildSweepReport } from '../report/sweep_report.js';

export async function reportCommand(folder: string, backend: string): Promise<string> {
  const has = (f: string) => fs.existsSync(path.join(folder, f));
  if (has('results.json') && has('sweep.json')) return buildSweepReport(folder);
  if (has('config.json') && has('summary.json')) {
    await initEngine(backend as BackendChoice);
    return buildRunReport(folder);
  }
  throw new ConfigError(`${folder} is neither a run folder (config.json and summary.json) nor a sweep folder (results.json and sweep.json)`);
}
