/**
 * `train` (the default command): its flags, one per config key (cli/options.ts), and --resume.
 * This file is loaded by every `train --help` and `--version` (yargs builds the default command
 * first), so it loads no more than the config table; the run itself is in cli/train_cmd.ts.
 */
import type { Argv } from 'yargs';
import { KEYS, flagOf } from '../../config/config.js';
import { RUN_FILES } from '../../runs/layout.js';
import { configOptions, scriptingOptions } from '../options.js';

export const builder = (y: Argv) =>
  scriptingOptions(configOptions(y))
    .option('resume', { type: 'string', describe: `carry on an interrupted run from its folder's ${RUN_FILES.last} (its ${RUN_FILES.config} is used)`, requiresArg: true })
    .group(['resume'], 'Output:');

/** train's flags, for completion (yargs completes the sub-commands' own). */
export const TRAIN_FLAGS = () => [...KEYS.map((d) => `--${flagOf(d.key)}`), '--config', '--print-config', '--resume', '--json', '--quiet'];

export async function handler(argv: Record<string, unknown>): Promise<void> {
  await (await import('../train_cmd.js')).trainCommand(argv);
}
