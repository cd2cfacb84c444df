/** `train runs [folder]`: list the runs of a runs folder and write its index page. */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../config/config.js';
import { runsCommand } from '../runs.js';
import { outputOf } from '../output.js';
import { configFlags, configOption } from '../options.js';

export const builder = (y: Argv) =>
  y
    .positional('folder', { type: 'string', describe: 'the runs folder (default: --runs-dir, runs)' })
    .options(configOption('runsDir', { describe: 'the runs folder, when no folder is given' }))
    .option('json', { type: 'boolean', describe: 'print the rows as one JSON object on stdout' });

export function handler(argv: Record<string, unknown>): void {
  const folder = (argv.folder as string | undefined) ?? configFlags(argv, ['runsDir']).runsDir ?? DEFAULTS.runsDir;
  runsCommand(folder, outputOf(argv));
}
