/** `train compare <runs..>`: one page overlaying the curves and configs of run folders, or the best-so-far curves of sweep folders. */
import type { Argv } from 'yargs';
import { compareCommand } from '../compare.js';
import { writeLines } from '../output.js';
import { once } from '../options.js';

export const builder = (y: Argv) =>
  y
    .positional('runs', { type: 'string', array: true, describe: 'two or more run folders, or two or more sweep folders', demandOption: true })
    .option('out', { type: 'string', requiresArg: true, describe: 'the page to write (.html)', defaultDescription: 'compare-<a>-vs-<b>.html beside the first folder' });

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const out = await compareCommand({ runs: (argv.runs as unknown[]).map(String), out: once('out', argv.out) as string | undefined });
  writeLines(process.stdout, `compare: ${out}`);
}
