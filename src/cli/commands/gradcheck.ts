/** `train gradcheck`: analytic gradients against centered differences in float64 (cli/gradcheck.ts). */
import type { Argv } from 'yargs';
import { GRADCHECK_OPTIONS, gradcheckCommand } from '../gradcheck.js';
import { flagValues, optionsOf } from '../options.js';

export const builder = (y: Argv) => y.options(optionsOf(GRADCHECK_OPTIONS));

export async function handler(argv: Record<string, unknown>): Promise<void> {
  const code = await gradcheckCommand(flagValues(argv, GRADCHECK_OPTIONS));
  if (code !== 0) process.exitCode = code;
}
