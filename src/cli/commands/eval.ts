/** `train eval <run>`: a checkpoint's accuracy on a split (predict/evaluate.ts). */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../config/config.js';
import { RUN_ARG } from '../../predict/trained.js';
import { EVAL_OPTIONS, evaluateCheckpoint } from '../../predict/evaluate.js';
import { outputOf, writeLines } from '../output.js';
import { configFlags, configOption, flagValue, optionsOf } from '../options.js';

export const builder = (y: Argv) =>
  y
    .positional('run', { type: 'string', describe: RUN_ARG.doc, demandOption: true })
    .options(optionsOf({ split: EVAL_OPTIONS.split }))
    .options(configOption('dataDir', { describe: 'dataset location, if not where training read it', defaultDescription: undefined }))
    .options(configOption('backend'))
    .option('json', { type: 'boolean', describe: 'print one JSON object on stdout: {checkpoint, accuracies: {split: {acc, n}}}' });

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const { dataDir, backend } = configFlags(argv, ['dataDir', 'backend']);
  const args = { run: argv.run as string, split: flagValue(argv, 'split', EVAL_OPTIONS.split), dataDir, backend: backend ?? DEFAULTS.backend };
  const { file, accuracies } = await evaluateCheckpoint(args);
  if (argv.json === true) outputOf(argv).result({ checkpoint: file, accuracies });
  else writeLines(process.stdout, `checkpoint: ${file}`, ...Object.entries(accuracies).map(([name, { acc, n }]) => `${name} accuracy: ${acc.toFixed(4)} (${n} records)`));
}
