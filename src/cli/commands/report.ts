/** `train report <folder>`: rebuild the report and figures of a run folder or a sweep folder. */
import type { Argv } from 'yargs';
import { DEFAULTS } from '../../config/config.js';
import { reportCommand } from '../report.js';
import { writeLines } from '../output.js';
import { configFlags, configOption } from '../options.js';

export const builder = (y: Argv) => y.positional('folder', { type: 'string', describe: 'a run folder or a sweep folder', demandOption: true }).options(configOption('backend'));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const { backend } = configFlags(argv, ['backend']);
  const out = await reportCommand(argv.folder as string, backend ?? DEFAULTS.backend);
  writeLines(process.stdout, `report: ${out}`);
}
