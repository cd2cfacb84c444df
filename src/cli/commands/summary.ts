/** `train summary`: a model's layers, output shapes and parameter counts from --config and the flags, as Keras's model.summary(). */
import type { Argv } from 'yargs';
import { readConfigFile } from '../../config/config.js';
import { summary } from '../../index.js';
import { formatSummary } from '../../models/summary.js';
import { jsonLine, writeLines } from '../output.js';
import { configFlags, configOptions, once } from '../options.js';
import { refuseSweepFile } from '../file_kind.js';

export const builder = (y: Argv) => configOptions(y).option('json', { type: 'boolean', describe: 'print the summary as one JSON object' });

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const file = once('config', argv.config) as string | undefined;
  if (file !== undefined) refuseSweepFile(file);
  const s = await summary({ ...(file !== undefined ? readConfigFile(file) : {}), ...configFlags(argv) });
  if (argv.json === true) process.stdout.write(jsonLine(s) + '\n');
  else writeLines(process.stdout, ...formatSummary(s));
}
